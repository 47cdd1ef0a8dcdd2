"""Pure builders of what the console shows about a market: numbers and plotly figures, no streamlit."""

from __future__ import annotations

import plotly.graph_objects as go


def candles_figure(ohlcv: list[list[float]], title: str) -> go.Figure:
    """A candlestick chart of ccxt OHLCV rows."""
    fig = go.Figure(go.Candlestick(
        x=[_utc(r[0]) for r in ohlcv], open=[r[1] for r in ohlcv], high=[r[2] for r in ohlcv],
        low=[r[3] for r in ohlcv], close=[r[4] for r in ohlcv], name=title))
    fig.update_layout(title=f"{title} · 1m", xaxis_rangeslider_visible=False, height=400, xaxis_title="time (UTC)")
    return readable(fig)


def readable(fig: go.Figure) -> go.Figure:
    """The layout every console chart shares: the title top left with room above the plot, the toolbar standing
    upright on the right (on a phone it covered the title), the legend under the plot."""
    fig.update_layout(title_x=0.0, title_y=0.97, title_yanchor="top", modebar_orientation="v",
                      margin=dict(l=10, r=40, t=56, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0))
    return fig


def _utc(ms: float) -> str:
    from engine.clock import iso8601

    return iso8601(int(ms))


def equity_figure(curve: list[dict]) -> go.Figure:
    """Equity and peak equity over time (rows of ``service.equity_curve``)."""
    x = [_utc(r["ts"]) for r in curve]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[r["peak"] for r in curve], name="peak", line=dict(color="#9e9e9e", dash="dot")))
    fig.add_trace(go.Scatter(x=x, y=[r["equity"] for r in curve], name="equity", line=dict(color="#1565c0")))
    fig.update_layout(title="Equity (USDT)", height=380, xaxis_title="time (UTC)")
    return readable(fig)


def ladder_figure(ohlcv: list[list[float]], ladder: dict, symbol: str) -> go.Figure:
    """Price candles with our resting bid/ask ladder as lines and our fills as markers."""
    fig = candles_figure(ohlcv, symbol)
    for o in ladder["orders"]:
        fig.add_hline(y=o["price"], line=dict(color="#2e7d32" if o["side"] == "buy" else "#c62828", width=1,
                                              dash="dot"), opacity=0.7)
    for side, color, symbol_ in (("buy", "#2e7d32", "triangle-up"), ("sell", "#c62828", "triangle-down")):
        fills = [f for f in ladder["fills"] if f["side"] == side]
        if fills:
            fig.add_trace(go.Scatter(x=[_utc(f["ts"]) for f in fills], y=[f["price"] for f in fills], mode="markers",
                                     name=f"our {side}s", marker=dict(color=color, symbol=symbol_, size=9)))
    fig.update_layout(title_text=f"{symbol} · 1m with our ladder (dotted) and fills")
    return fig


def strategy_figure(chart: dict, symbol: str, strategy: str) -> go.Figure:
    """Candles with the strategy's indicators as lines, its entries (approved: filled triangles; refused: hollow)
    and its exits (x), from ``service.strategy_chart``."""
    rows = chart["candles"]
    fig = candles_figure(rows, symbol)
    x = [_utc(r[0]) for r in rows]
    palette = ("#6a1b9a", "#ef6c00", "#00838f", "#5d4037")
    for (name, values), color in zip(chart["indicators"].items(), palette * 2, strict=False):
        fig.add_trace(go.Scatter(x=x, y=values, name=name, mode="lines", line=dict(color=color, width=1.4)))
    sigs = chart["signals"]
    for kind, color, marker in (("BUY", "#2e7d32", "triangle-up"), ("SELL", "#c62828", "triangle-down")):
        for decision, fill in (("approved", ""), ("refused", "-open")):
            chosen = [s for s in sigs if s["type"] == kind and s["decision"] == decision and s["entry"]]
            if chosen:
                fig.add_trace(go.Scatter(
                    x=[_utc(s["ts"]) for s in chosen], y=[s["entry"] for s in chosen], mode="markers",
                    name=f"{kind.lower()} {decision}", marker=dict(color=color, symbol=marker + fill, size=11),
                    text=[f"{s['confidence']:.0%} · {s['reason']}" for s in chosen], hoverinfo="text+x+y"))
    exits = [s for s in sigs if s.get("closed_ms") and s["status"] == "closed" and rows]
    if exits:
        closes = {int(r[0]) // 60_000: r[4] for r in rows}
        fig.add_trace(go.Scatter(
            x=[_utc(s["closed_ms"]) for s in exits],
            y=[closes.get(s["closed_ms"] // 60_000, rows[-1][4]) for s in exits], mode="markers", name="exits",
            marker=dict(color="#212121", symbol="x", size=10), text=[s["exit_reason"] for s in exits],
            hoverinfo="text+x"))
    fig.update_layout(title_text=f"{symbol} · 1m · {strategy}: indicators, entries and exits", height=440)
    return fig

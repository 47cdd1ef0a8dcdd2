"""The lab's charts of a kept run (plotly): equity, inventory, the price with our quotes and fills, the markout
curve; and a sweep's heat map of one metric over two params."""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.graph_objects as go

from engine.analytics import Fill, mean_markouts
from engine.charts import readable

MARKOUT_HORIZONS_S = (1, 2, 5, 10, 20, 30, 60)


def _t(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def equity_figure(series: dict) -> go.Figure:
    points = series.get("equity") or []
    fig = go.Figure(go.Scatter(x=[_t(t) for t, _ in points], y=[v for _, v in points], name="equity", mode="lines"))
    fig.update_layout(title="Equity (USD, every second)", height=280, yaxis_tickformat=",.2f")
    return readable(fig)


def inventory_figure(series: dict) -> go.Figure:
    fig = go.Figure()
    for symbol, points in (series.get("inventory") or {}).items():
        fig.add_trace(go.Scatter(x=[_t(t) for t, _ in points], y=[v for _, v in points], name=symbol,
                                 mode="lines", line_shape="hv"))
    fig.update_layout(title="Inventory (USD at the mid)", height=280, yaxis_tickformat=",.0f")
    return readable(fig)


def price_figure(series: dict, symbol: str) -> go.Figure:
    """The mid, our best bid and ask resting each second, and our fills (buys up, sells down)."""
    mids = (series.get("mids") or {}).get(symbol) or []
    quotes = (series.get("quotes") or {}).get(symbol) or []
    fills = [f for f in series.get("fills") or [] if f["symbol"] == symbol]
    fig = go.Figure(go.Scatter(x=[_t(t) for t, _ in mids], y=[m for _, m in mids], name="mid", mode="lines",
                               line=dict(color="#888", width=1)))
    fig.add_trace(go.Scatter(x=[_t(q[0]) for q in quotes], y=[q[1] for q in quotes], name="our bid", mode="lines",
                             line=dict(color="#2e8b57", width=1, shape="hv")))
    fig.add_trace(go.Scatter(x=[_t(q[0]) for q in quotes], y=[q[2] for q in quotes], name="our ask", mode="lines",
                             line=dict(color="#c0392b", width=1, shape="hv")))
    for side, marker, color in (("buy", "triangle-up", "#2e8b57"), ("sell", "triangle-down", "#c0392b")):
        mine = [f for f in fills if f["side"] == side]
        fig.add_trace(go.Scatter(x=[_t(f["timestamp"]) for f in mine], y=[f["price"] for f in mine],
                                 name=f"{side} fills", mode="markers",
                                 marker=dict(symbol=marker, size=9, color=color)))
    fig.update_layout(title=f"{symbol}: mid, our quotes and fills", height=360)
    return readable(fig)


def markout_curve(series: dict, horizons_s: tuple[int, ...] = MARKOUT_HORIZONS_S) -> list[tuple[int, float | None]]:
    """The notional-weighted mean markout (bps) of every fill at each horizon, all symbols together."""
    sums: dict[int, list[float]] = {h: [0.0, 0.0] for h in horizons_s}
    for symbol, mids in (series.get("mids") or {}).items():
        fills = [Fill(int(f["timestamp"]), f["side"], float(f["price"]), float(f["amount"]))
                 for f in series.get("fills") or [] if f["symbol"] == symbol]
        if not fills:
            continue
        weight = sum(f.price * f.amount for f in fills)
        for h, v in mean_markouts(fills, [tuple(m) for m in mids], horizons_s).items():
            if v is not None:
                sums[h][0] += v * weight
                sums[h][1] += weight
    return [(h, s / w if w else None) for h, (s, w) in sums.items()]


def markout_figure(series: dict) -> go.Figure:
    curve = [(h, v) for h, v in markout_curve(series) if v is not None]
    fig = go.Figure(go.Scatter(x=[h for h, _ in curve], y=[v for _, v in curve], mode="lines+markers",
                               name="mean markout"))
    fig.add_hline(y=0, line=dict(color="#888", dash="dot"))
    fig.update_layout(title="Markout after a fill (bps; above 0 the mid moved our way)", height=280,
                      xaxis_title="seconds after the fill", xaxis_type="log")
    return readable(fig)


def heatmap_figure(rows: list[dict], x: str, y: str, metric: str = "net_pnl") -> go.Figure:
    """``metric`` over the grid of two params (the mean where other params vary)."""
    xs = sorted({r[x] for r in rows})
    ys = sorted({r[y] for r in rows})
    cells: dict[tuple, list[float]] = {}
    for r in rows:
        if r.get(metric) is not None:
            cells.setdefault((r[x], r[y]), []).append(r[metric])
    z = [[(sum(cells[(a, b)]) / len(cells[(a, b)])) if (a, b) in cells else None for a in xs] for b in ys]
    fig = go.Figure(go.Heatmap(x=[str(a) for a in xs], y=[str(b) for b in ys], z=z, colorscale="RdYlGn",
                               texttemplate="%{z:.2f}", colorbar=dict(title=metric)))
    fig.update_layout(title=f"{metric} over {x} × {y}", height=360, xaxis_title=x, yaxis_title=y)
    return readable(fig)

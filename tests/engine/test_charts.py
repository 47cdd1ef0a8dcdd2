"""The console's figures (engine/charts.py) keep their titles clear of the toolbar, on any screen."""

from __future__ import annotations

from engine.charts import equity_figure, ladder_figure, strategy_figure

ROWS = [[60_000 * i, 100 + i, 101 + i, 99 + i, 100.5 + i, 1.0] for i in range(30)]


def test_every_chart_has_its_title_top_left_and_an_upright_toolbar():
    figs = [equity_figure([{"ts": 0, "equity": 1.0, "peak": 1.0}, {"ts": 60_000, "equity": 2.0, "peak": 2.0}]),
            ladder_figure(ROWS, {"orders": [{"side": "buy", "price": 99.0}], "fills": []}, "BTC/USDT"),
            strategy_figure({"candles": ROWS, "indicators": {"sma": [r[4] for r in ROWS]}, "signals": []},
                            "ETH/USDT", "momentum")]
    for fig in figs:
        layout = fig.layout
        assert layout.title.text and layout.title.x == 0 and layout.modebar.orientation == "v"
        assert layout.margin.t >= 50 and layout.legend.orientation == "h"

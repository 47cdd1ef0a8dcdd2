"""The engine paper trades a live market end to end: the console's engine on a simulated venue fed by the local
Binance imitation's books and prints quotes, gets filled by a print through its bid, records the fill, and the
dashboard says it is paper trading on live data."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from engine.exchanges.sim import SimExchange
from engine.store import TradeRecord
from tests.exchanges.test_sim_live_source import eventually
from tests.fakes.binance import FakeBinance
from tests.fakes.binance_market import ScriptedMarket
from tests.test_app import cdir, logged_in, running_engine  # noqa: F401 - cdir is the console fixture


def scripted_market() -> ScriptedMarket:
    m = ScriptedMarket()
    m.set_book("BTCUSDT", [(60_000.00 - i * 0.5, 0.8) for i in range(40)],
               [(60_000.10 + i * 0.5, 0.8) for i in range(40)])
    m.set_book("ETHUSDT", [(3_000.00 - i * 0.05, 6.0) for i in range(40)],
               [(3_000.02 + i * 0.05, 6.0) for i in range(40)])
    return m


def test_the_console_paper_trades_the_live_market_and_says_so(cdir, tmp_path):  # noqa: F811 - the console fixture
    market = scripted_market()
    with FakeBinance(SimExchange({}), market=market) as fake:
        cfg = json.loads((cdir / "config.json").read_text())
        cfg["sim"] = {"state_path": str(tmp_path / "paper_binance.sqlite"),
                      "source": {"type": "live", "exchange": "binance", "transport": "rest", "poll_ms": 100,
                                 "api_url": fake.url, "warmup_minutes": 0, "stale_after_s": 1.5}}
        cfg["symbols"] = {"sim": {"SOL/USDT": {"enabled": False}}}  # streamed: the enabled BTC/USDT and ETH/USDT
        (cdir / "config.json").write_text(json.dumps(cfg))
        engine = None
        try:
            engine = running_engine(cdir)
            venue = engine.trader.ex.raw  # under the request meter
            assert isinstance(venue, SimExchange) and venue.source.symbols == ["BTC/USDT", "ETH/USDT"]

            def quoted() -> list[dict]:
                engine.quote_cycle()
                return [o for o in venue.fetch_open_orders("BTC/USDT") if o["side"] == "buy"]

            bids = eventually(quoted, what="the engine's BTC/USDT bids")
            best = max(o["price"] for o in bids)
            assert best < 60_000.00  # quoted behind the real market's best bid
            # A sell sweeps down through our best bid: it fills at our price, as a maker.
            market.print_trade("BTCUSDT", round(best - 1.0, 2), 5.0, buyer_maker=True)

            def stored() -> list[TradeRecord]:
                engine.trader.poll_fills(force=True)
                with Session(engine.db) as s:
                    return list(s.exec(select(TradeRecord)))

            fills = eventually(stored, what="the fill in the store")
            assert fills[0].side == "buy" and fills[0].price == best and fills[0].client_order_id.startswith("mm")

            at = logged_in()
            at.switch_page("pages/dashboard.py").run()
            assert any("Paper trading on live data: Binance's BTC/USDT, ETH/USDT order books and trades" in i.value
                       and "none reaches Binance" in i.value for i in at.info)
            assert any("Paper trading" in c.value and "binance live data" in c.value for c in at.sidebar.caption)

            fake.down = True  # the stream drops: the dashboard says which market is not fresh
            eventually(lambda: all(venue.source.stale_reason(s) for s in ("BTC/USDT", "ETH/USDT")),
                       what="both books to go stale")
            at.run()
            assert any("Binance live data is not fresh for BTC/USDT, ETH/USDT: not quoted until it is" in w.value
                       for w in at.warning)
            fake.down = False
        finally:
            if engine is not None:
                engine.stop()
                engine.trader.ex.raw.close()

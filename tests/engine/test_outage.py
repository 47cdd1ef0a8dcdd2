"""An exchange outage (issue 14): quoting there stops, the operator is alerted once (and once when it is back), and
the store is reconciled with the exchange before anything is quoted again; no order is sent twice across it."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import Engine
from engine.store import Alert, OrderRecord
from tests.engine.test_runtime import make_config_dir

OUTAGE_AT_S, OUTAGE_S = 40, 90


def test_an_outage_stops_quoting_alerts_once_and_reconciles_before_quoting_again(tmp_path):
    sim = {"seed": 9, "events": [{"type": "outage", "after_s": OUTAGE_AT_S, "duration_s": OUTAGE_S}]}
    quick = {"breakers": {"error_rate": {"enabled": True, "threshold": 0.1, "cooldown_s": 30}}}  # trips in the outage
    cfg = load_config(make_config_dir(tmp_path, sim=sim, strategy={"risk_mode": "AGGRESSIVE"}, risk=quick), env={})
    clock = SimClock()
    venue = create_exchange("sim", cfg.sim, clock=clock)
    engine = Engine(cfg, exchange=venue, clock=clock)
    t0 = clock.now_ms()
    engine.start(schedule=False)
    reconciled: list[int] = []

    def watch(e: Engine) -> None:
        at = e.trader._last_reconcile_ms
        if not reconciled or at != reconciled[-1]:
            reconciled.append(at)

    engine.run_simulated(OUTAGE_AT_S + OUTAGE_S + 120, on_cycle=watch)
    start, end = t0 + OUTAGE_AT_S * 1000, t0 + (OUTAGE_AT_S + OUTAGE_S) * 1000
    with Session(engine.db) as s:
        alerts = s.exec(select(Alert).order_by(Alert.id)).all()
        orders = s.exec(select(OrderRecord).order_by(OrderRecord.created_ms)).all()
    down = [a for a in alerts if a.kind == "exchange disconnected"]
    back = [a for a in alerts if a.kind == "exchange back"]
    assert len(down) == 1 and start <= down[0].ts <= start + 31_000  # once, at the first health check inside it
    assert len(back) == 1 and end <= back[0].ts <= end + 31_000
    held = [o for o in orders if down[0].ts <= o.created_ms < end]
    assert held == []  # nothing is quoted there while it is known to be down
    after = [o for o in orders if o.created_ms >= end]
    assert after, "quoting never resumed"
    first_reconcile = min(r for r in reconciled if r >= end)
    assert after[0].created_ms >= first_reconcile  # reconciled with the exchange before the first new order
    assert max(Counter(o.client_order_id for o in orders).values()) == 1
    venue_ids = Counter(o.client_id for o in venue._orders.values() if o.client_id)
    assert max(venue_ids.values()) == 1  # no order reached the venue twice across the outage
    engine.stop()

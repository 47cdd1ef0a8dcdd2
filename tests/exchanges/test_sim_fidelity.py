"""The replay venue's fidelity: order latency, feed latency and the two queue models, on crafted captures."""

from __future__ import annotations

import ccxt
import pytest

from engine.exchanges import create_exchange
from engine.exchanges.sim.config import SimConfigError, parse_sim_config
from tests.exchanges.capture import simple_book

SYMBOL = "BTC/USDT"
NO_LATENCY = {"entry_ms": 0, "response_ms": 0}


def venue(tmp_path, cap, **cfg):
    path = cap.write(tmp_path / "btcusdt_fidelity.gz")
    return create_exchange("sim", {"source": {"type": "replay", "files": [path]},
                                   "balances": {"USDT": 100_000, "BTC": 10}, **cfg})


def at(ex, ms):
    ex.clock.set_ms(simple_book().t0 + ms)


def test_a_replay_defaults_to_10_ms_each_way_and_the_risk_averse_queue():
    cfg = parse_sim_config({"source": {"type": "replay", "files": [__file__]}})
    assert (cfg.latency.entry_ms, cfg.latency.response_ms, cfg.latency.feed) == (10, 10, "capture")
    assert cfg.queue.model == "risk_averse"
    assert not parse_sim_config({}).latency.active  # the synthetic market trades without added latency
    with pytest.raises(SimConfigError, match="queue.model"):
        parse_sim_config({"queue": {"model": "fifo"}})
    with pytest.raises(SimConfigError, match="latency: unknown key 'entry'"):
        parse_sim_config({"latency": {"entry": 5}})


def test_latency_moves_fills_later_an_order_that_fills_at_zero_latency_misses_at_50_ms(tmp_path):
    def run(latency):
        cap = simple_book().trade(30, "100.00", "8", buyer_is_maker=True)  # a seller takes the 5 ahead and 3 more
        cap.diff(40, bids=[("100.00", "0")])  # the level is gone afterwards
        ex = venue(tmp_path, cap, latency=latency)
        order = ex.create_order(SYMBOL, "limit", "buy", 1, 100.00, {"clientOrderId": "lat1"})
        sent_to_answer = ex.clock.now_ms() - simple_book().t0
        at(ex, 1_000)
        return ex.fetch_order(order["id"])["filled"], sent_to_answer

    assert run(NO_LATENCY) == (pytest.approx(1.0), 0)
    filled, round_trip = run({"entry_ms": 50, "response_ms": 50})
    assert filled == 0  # it reached the matching engine at 50 ms, after the print
    assert round_trip == 100  # the call returned after both legs


def test_a_cancel_in_flight_can_be_overtaken_by_a_fill(tmp_path):
    def cancel_with(latency):
        cap = simple_book().trade(40, "100.00", "6", buyer_is_maker=True)  # fills our 1 behind the 5
        ex = venue(tmp_path, cap, latency=latency)
        order = ex.create_order(SYMBOL, "limit", "buy", 1, 100.00)
        at(ex, 35)  # the cancel is sent 5 ms before the print
        try:
            ex.cancel_order(order["id"], SYMBOL)
        except ccxt.OrderNotFound:
            return "filled first"
        return ex.fetch_order(order["id"])["status"]

    assert cancel_with(NO_LATENCY) == "canceled"
    assert cancel_with({"entry_ms": 10, "response_ms": 10}) == "filled first"


def test_feed_latency_from_the_capture_delays_when_an_order_reaches_the_exchange(tmp_path):
    def filled(feed):
        cap = simple_book()
        cap.diff(100, bids=[("99.97", "1")])  # received on time: the capture's fastest messages
        cap.feed_delay_ms = 40  # from here on the feed lags the exchange by 40 ms
        cap.diff(500, bids=[("99.96", "1")])
        cap.trade(630, "100.00", "8", buyer_is_maker=True)
        cap.diff(640, bids=[("100.00", "0")])
        ex = venue(tmp_path, cap, latency={"entry_ms": 10, "response_ms": 10, "feed": feed})
        at(ex, 600)
        order = ex.create_order(SYMBOL, "limit", "buy", 1, 100.00)
        at(ex, 2_000)
        return ex.fetch_order(order["id"])["filled"]

    assert filled(0) == pytest.approx(1.0)  # arrives at 610 ms, ahead of the print at 630
    assert filled("capture") == 0  # arrives at 650 ms: the exchange was 40 ms ahead of what we saw


@pytest.mark.parametrize(("model", "ahead_after_cancels", "filled"), [
    ("risk_averse", 5.0, 0.0),  # cancellations are assumed behind us while the level stays above our place
    # before 9 = 5 ahead + 4 behind; 4 cancel; share ahead 5^2 / (5^2 + 4^2) = 25/41; 5 - 4 * 25/41 = 2.5610
    ("probabilistic", 5 - 4 * 25 / 41, 3 - (5 - 4 * 25 / 41)),
])
def test_queue_models_on_a_crafted_capture_with_known_answers(tmp_path, model, ahead_after_cancels, filled):
    cap = simple_book()
    cap.diff(100, bids=[("100.00", "9")])  # 4 join behind us
    cap.diff(200, bids=[("100.00", "5")])  # 4 cancel: where were they?
    cap.trade(300, "100.00", "3", buyer_is_maker=True)
    ex = venue(tmp_path, cap, latency=NO_LATENCY, queue={"model": model, "power": 2})
    order = ex.create_order(SYMBOL, "limit", "buy", 1, 100.00)
    at(ex, 250)
    assert ex.fetch_order(order["id"])["info"]["queueAhead"] == pytest.approx(ahead_after_cancels)
    at(ex, 400)
    assert ex.fetch_order(order["id"])["filled"] == pytest.approx(filled, abs=1e-4)

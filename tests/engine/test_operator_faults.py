"""Faults an operator hit (issue 15, point 5): the KuCoin tester names the real host, BEST_EXECUTION weighs load,
and FAILOVER is the default selection (with one exchange it behaves as SINGLE)."""

from __future__ import annotations

import socket

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.exchanges.selection import VenueHealth, choose
from engine.kucoin_check import _host, check_kucoin
from engine.runtime import Engine
from tests.engine.test_runtime import make_config_dir


def test_the_kucoin_tester_names_the_host_it_could_not_reach():
    assert _host("https://api.kucoin.com/api/v1/accounts") == "https://api.kucoin.com"  # not "https:/"
    assert _host("https://api-futures.kucoin.com/api/v1/account-overview?currency=USDT") == \
        "https://api-futures.kucoin.com"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    report = check_kucoin(creds=None, spot_url=url, futures_url=url)
    unreachable = [r.message for r in report.results if "cannot reach" in r.message]
    assert len(unreachable) == 2 and all(m.startswith(f"cannot reach {url} (") for m in unreachable), unreachable


def test_best_execution_weighs_each_exchanges_load():
    fast = frozenset({"BTC/USDT"})
    busy = VenueHealth("binance", True, 50.0, 1.0, fast, load=0.9)
    idle = VenueHealth("kucoin", True, 60.0, 1.0, fast, load=0.1)
    assert choose("BTC/USDT", [busy, idle], "BEST_EXECUTION") == "kucoin"  # 10 ms slower, far less loaded
    assert choose("BTC/USDT", [VenueHealth("binance", True, 50.0, 1.0, fast), VenueHealth("kucoin", True, 60.0, 1.0,
                                                                                          fast)],
                  "BEST_EXECUTION") == "binance"  # equal load: the faster one


def test_failover_is_the_default_and_with_one_exchange_it_is_single(tmp_path):
    cfg = load_config(make_config_dir(tmp_path), env={})
    assert cfg.engine.selection == "FAILOVER"
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    engine.run_simulated(5)
    assert engine.trader.gate.route_blocks == {} and engine.trader.orders  # quoting, nothing routed away
    engine.stop()

"""The simulated venue: a ``ccxt.Exchange`` trading a synthetic, replayed or candle market, or a live one.

It speaks ccxt's synchronous unified API and returns ccxt's unified structures, so the engine trades it
exactly as it trades a real exchange. Resting limit orders join the back of the queue at their price;
they fill when the other side trades through their price or when volume traded at their price exceeds
the queue ahead of them (partial fills). Market orders walk the book. Every call first brings the
market forward to the injected clock's time.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import replace
from typing import Any

import ccxt
from ccxt.base.decimal_to_precision import TICK_SIZE

from engine.clock import Clock, SimClock, WallClock
from engine.exchanges.sim.account import Account
from engine.exchanges.sim.api import MY_TRADES_KEPT, PUBLIC_TRADES_KEPT, _api  # noqa: F401 - _api re-exported
from engine.exchanges.sim.candles import CandleSource
from engine.exchanges.sim.config import ScriptedEvent, SimConfig, SimConfigError, parse_sim_config
from engine.exchanges.sim.derivatives_api import DerivativesApi
from engine.exchanges.sim.faults import FaultInjector
from engine.exchanges.sim.latency import OrderLatency
from engine.exchanges.sim.live_source import LiveSource
from engine.exchanges.sim.margin import MarginAndFunding
from engine.exchanges.sim.market_api import MarketDataApi
from engine.exchanges.sim.markets import (
    DEFAULT_MARKETS,
    EXTRA_MARKETS,
    MarketSpec,
    currencies_of,
    generic_market,
    known_market,
)
from engine.exchanges.sim.matching import Matching
from engine.exchanges.sim.orders_api import OrdersApi
from engine.exchanges.sim.persistence import SimStateFile
from engine.exchanges.sim.records import TIMEFRAMES_MS, CandleSeries, SimOrder
from engine.exchanges.sim.replay import BinanceReplaySource
from engine.exchanges.sim.state import StateKeeping
from engine.exchanges.sim.synthetic import SyntheticSource
from engine.exchanges.sim.underlyings import LISTED_BASES, listed_market, more_markets

log = logging.getLogger(__name__)



class SimExchange(MarketDataApi, OrdersApi, DerivativesApi, Matching, MarginAndFunding, StateKeeping,
                  ccxt.Exchange):
    """A simulated exchange (ccxt id ``sim``). See the module docstring."""

    def describe(self) -> dict:
        return self.deep_extend(super().describe(), {
            "id": "sim",
            "name": "Simulated venue",
            "countries": [],
            "version": "1",
            "rateLimit": 0,
            "certified": False,
            "pro": False,
            "precisionMode": TICK_SIZE,
            "has": {
                "CORS": None, "spot": True, "margin": False, "swap": True, "future": False, "option": False,
                "cancelAllOrders": True, "cancelOrder": True, "createOrder": True, "createMarketOrder": True,
                "createStopLossOrder": True, "createTakeProfitOrder": True, "createTriggerOrder": True,
                "createStopOrder": True, "createStopMarketOrder": True,
                "createLimitOrder": True, "createPostOnlyOrder": True, "createReduceOnlyOrder": True,
                "fetchBalance": True, "fetchClosedOrders": True, "fetchCurrencies": True, "fetchFundingRate": True,
                "fetchMarkets": True, "fetchMyTrades": True, "fetchOHLCV": True, "fetchOpenOrders": True,
                "fetchOrder": True, "fetchOrderBook": True, "fetchPositions": True, "fetchStatus": True,
                "fetchTicker": True, "fetchTickers": True, "fetchTime": True, "fetchTrades": True,
                "setLeverage": True, "setMarginMode": True, "setPositionMode": True, "fetchPositionMode": True,
                "fetchLeverage": True, "fetchMarginMode": True, "fetchFundingHistory": True,
            },
            "timeframes": {k: k for k in TIMEFRAMES_MS},
            "urls": {"www": "https://localhost/sim", "api": {}},
        })

    def __init__(self, config: dict | None = None, clock: Clock | None = None) -> None:
        self.sim_config: SimConfig = parse_sim_config(config)
        super().__init__({"enableRateLimit": False})
        cfg = self.sim_config
        self._lock = threading.RLock()
        self._depth = 0
        self.live_source: LiveSource | None = None  # paper trading on live data: the real exchange's streamed market
        if cfg.source.type == "synthetic":
            self.clock: Clock = clock or WallClock()
            self.source: Any = SyntheticSource(_synthetic_specs(cfg), cfg.seed, cfg.step_ms, self.clock.now_ms(),
                                               cfg.source.warmup_minutes)
        elif cfg.source.type == "live":
            self.clock = clock or WallClock()
            self.source = self.live_source = LiveSource(cfg.source, self.clock, cfg.maker_fee, cfg.taker_fee,
                                                        cfg.fees_given)
        else:
            self.source = (BinanceReplaySource(cfg.source.files) if cfg.source.type == "replay"
                           else CandleSource(cfg.source.files, seed=cfg.seed, step_ms=cfg.step_ms))
            self.clock = clock or SimClock(self.source.start_ms())
            if isinstance(self.source, CandleSource) and self.clock.now_ms() > (self.source.start_ms() or 0):
                self.source.jump_to(self.clock.now_ms())  # a window later in the files
        self.specs: dict[str, MarketSpec] = {  # a live source's markets keep the exchange's fees unless configured
            s: self.source.specs[s] if cfg.source.type == "live" else
            self.source.specs[s].with_fees(cfg.maker_fee, cfg.taker_fee) for s in self.source.symbols
        }
        self.quote = "USDT"
        self._created_ms = self.clock.now_ms()
        self._events = self._resolve_events()
        timed_faults = any(e.type in ("latency_spike", "error_burst", "outage") for e in self._events)
        self._faults = FaultInjector(cfg.faults, cfg.seed, self.clock) if cfg.faults.active or timed_faults else None
        self._latency = OrderLatency(cfg.latency, cfg.seed) if cfg.latency.active else None
        self._probabilistic_queue = cfg.queue.model == "probabilistic"
        self._queue_power = cfg.queue.power
        if isinstance(self.source, SyntheticSource):
            self.source.events = self._events
        self._state_file = SimStateFile(cfg.state_path) if cfg.state_path else None
        self._reset_memory()
        restored = self._state_file.load() if self._state_file else None
        if restored and restored.get("market", "synthetic") != cfg.source.identity():
            kept = restored.get("market", "synthetic")
            self.close()
            raise SimConfigError(
                f"sim.state_path: {cfg.state_path} holds a paper account kept on the {_market_name(kept)}; this "
                f"venue trades the {_market_name(cfg.source.identity())}: give it its own state_path (e.g. "
                f"data/paper_{cfg.source.exchange or cfg.source.type}.sqlite), or go back to the old source")
        if restored:
            self._restore(restored)
        else:
            self._open_books()
        self.set_markets([s.to_ccxt() for s in self.specs.values()], self._currencies())
        self._flush()

    # ------------------------------------------------------------------ construction helpers
    def _resolve_events(self) -> list[ScriptedEvent]:
        out = []
        for e in self.sim_config.events:
            at = e.at_ms if e.at_ms is not None else self._created_ms + int(e.after_s * 1000)
            if e.symbol is not None and e.symbol not in self.specs:
                raise ccxt.BadSymbol(f"sim.events: {e.type} names {e.symbol!r}, which this venue does not list")
            out.append(replace(e, at_ms=at))
        return out

    def _reset_memory(self) -> None:
        self.account = Account(self.quote, self.sim_config.balances)
        self._orders: dict[str, SimOrder] = {}
        self._open: dict[str, list[SimOrder]] = {s: [] for s in self.specs}
        self._edges: dict[str, tuple[int, int, bool]] = {}  # per symbol: best buy, best sell tick, any trigger
        self._by_client: dict[str, str] = {}
        self._my_trades: deque[dict] = deque(maxlen=MY_TRADES_KEPT)
        self._trades_by_order: dict[str, list[dict]] = {}
        self._closed_ids: deque[str] = deque()
        self._pruned_orders: list[str] = []
        self._public: dict[str, deque] = {s: deque(maxlen=PUBLIC_TRADES_KEPT) for s in self.specs}
        self._candles: dict[str, CandleSeries] = {s: CandleSeries() for s in self.specs}
        for s, rows in self.source.history().items():
            if s in self._candles:
                self._candles[s].extend(rows)
        self._leverage: dict[str, int] = {s: self.sim_config.leverage for s in self.specs if self.specs[s].contract}
        self._margin_mode: dict[str, str] = {s: self.sim_config.margin_mode for s in self._leverage}
        self._hedged = self.sim_config.position_mode == "hedge"
        self._next_order = 1_000_000
        self._next_trade = 1
        self._next_funding_ms = self._funding_after(self.clock.now_ms())
        self._last_funding: dict[str, tuple[float, int]] = {}
        self._funding_history: deque[dict] = deque(maxlen=MY_TRADES_KEPT)  # funding paid (-) and received (+)
        self._dirty_orders: set[str] = set()
        self._new_trades: list[dict] = []
        self._dirty_account = True
        self._last_sync_ms = self.clock.now_ms()

    def _open_books(self) -> None:
        """Value the starting holdings once every held currency has a price (a replay has none before its data)."""
        marks = self._asset_marks()
        held = [c for c, q in self.account.cash.items() if q and c != self.quote and c in marks_needed(self.specs)]
        if all(c in marks for c in held):
            self.account.open_books(marks)
            self._books_open = True
            self._dirty_account = True
        else:
            self._books_open = False

    def _currencies(self) -> dict:
        out = {}
        for code in currencies_of(self.specs):
            out[code] = {
                "id": code, "code": code, "name": code, "type": "crypto", "active": True, "deposit": True,
                "withdraw": True, "fee": 0.0, "precision": 1e-8, "networks": {}, "info": {"code": code},
                "limits": {"amount": {"min": None, "max": None}, "withdraw": {"min": None, "max": None}},
            }
        return out

    # ------------------------------------------------------------------ time and market sync
    def milliseconds(self) -> int:
        return self.clock.now_ms()

    def _sync(self) -> None:
        """Bring the market, funding and liquidations forward to the clock's time."""
        now = self.clock.now_ms()
        # Only a wall clock skips ahead after a long idle spell; a simulated clock is always simulated in full.
        catchup = int(self.sim_config.max_catchup_s * 1000) if isinstance(self.clock, WallClock) else None
        self.source.advance(now, self, catchup)
        if not self._books_open:
            self._open_books()
        while self._next_funding_ms <= now:
            self._settle_funding(self._next_funding_ms)
            self._next_funding_ms = self._funding_after(self._next_funding_ms)
        self._last_sync_ms = now

    def faults_active(self) -> bool:
        """Whether injected latency, errors or timed fault events (latency spikes, error bursts) are on."""
        return self._faults is not None

    def heal_network(self) -> None:
        """The network heals (a rehearsal's second act): no more injected latency or errors, and the timed latency
        spikes and error bursts still to come are dropped. Market events (crashes, halts) still happen."""
        self._faults = None
        self._events = [e for e in self._events if e.type not in ("latency_spike", "error_burst", "outage")]

    def _spike_s(self, ts_ms: int) -> float:
        return sum(e.ms for e in self._events if e.type == "latency_spike" and e.active(ts_ms)) / 1000.0

    def _burst_error(self, method: str) -> type[ccxt.BaseError] | None:
        now = self.clock.now_ms()
        for e in self._events:
            if e.type == "outage" and e.active(now):
                self._faults.injected["outage"] = self._faults.injected.get("outage", 0) + 1
                return ccxt.ExchangeNotAvailable
            if e.type == "error_burst" and e.active(now):
                return self._faults.draw_burst(method, e.rate)
        return None

    def _halted(self, symbol: str | None, ts_ms: int) -> bool:
        for e in self._events:
            if e.type == "halt" and (e.symbol is None or e.symbol == symbol):
                if e.at_ms <= ts_ms < e.at_ms + e.duration_s * 1000:
                    return True
        return False


def _market_name(identity: str) -> str:
    return f"{identity[5:]} live market" if identity.startswith("live:") else f"{identity} market"


def marks_needed(specs: dict[str, MarketSpec]) -> set[str]:
    """Currencies the venue can price (the bases of its markets)."""
    return {s.base for s in specs.values()}


def _synthetic_specs(cfg: SimConfig) -> dict[str, MarketSpec]:
    specs = {}
    names = list(cfg.markets or DEFAULT_MARKETS)
    names += more_markets(cfg.more_markets, set(names))
    for name in names:
        base = name.split("/")[0]
        listed = listed_market(base) if base in LISTED_BASES and name == f"{base}/USDT" else None
        spec = known_market(name) or listed or generic_market(name)
        if spec is None:
            raise SimConfigError(f"sim.markets: unknown market {name!r}: list BASE/USDT or BASE/USDT:USDT "
                                 f"(built-in: {', '.join([*DEFAULT_MARKETS, *EXTRA_MARKETS])})")
        specs[name] = spec
    return specs

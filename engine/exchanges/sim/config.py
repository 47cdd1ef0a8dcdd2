"""The simulated venue's configuration: one validated, frozen object built from a plain dict.

Every key is optional; ``{}`` gives a working default venue (synthetic market, 100,000 USDT plus some
BTC, ETH and SOL, no faults). A wrong key, type or value raises :class:`SimConfigError` naming the key,
the value and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE_TYPES = ("synthetic", "replay", "candles", "live")
TRANSPORTS = ("auto", "websocket", "rest")
ERROR_TYPES = ("NetworkError", "RequestTimeout", "RateLimitExceeded", "ExchangeNotAvailable")
EVENT_TYPES = ("flash_crash", "spread_blowout", "halt", "latency_spike", "error_burst", "outage")
POSITION_MODES = ("oneway", "hedge")
MARGIN_MODES = ("cross", "isolated")
QUEUE_MODELS = ("risk_averse", "probabilistic")


class SimConfigError(ValueError):
    """A simulated-venue setting is wrong; the message names the key, the value and the rule."""


@dataclass(frozen=True)
class SourceConfig:
    """Where the venue's market comes from. ``live`` (paper trading on live data) streams ``exchange``'s public books
    and trades of ``symbols`` over ``transport`` (``auto``: websocket where ccxt.pro offers it, else REST polled every
    ``poll_ms``; no ``symbols``: the engine streams the enabled symbols it trades there); a book older than
    ``stale_after_s`` is not served. ``api_url`` points at a gateway or a local
    imitation instead of the exchange's own host."""

    type: str = "synthetic"
    files: tuple[str, ...] = ()
    warmup_minutes: int = 120
    exchange: str | None = None
    symbols: tuple[str, ...] = ()
    transport: str = "auto"
    poll_ms: int = 1000
    depth: int = 50
    stale_after_s: float = 10.0
    api_url: str | None = None

    def identity(self) -> str:
        """What market a paper account was kept on: ``synthetic``, ``replay``, ``candles`` or ``live:<exchange>``."""
        return f"live:{self.exchange}" if self.type == "live" else self.type


@dataclass(frozen=True)
class ScriptedEvent:
    """An event on purpose: ``flash_crash`` (``pct`` down over ``duration_s``), ``spread_blowout`` (spread widened
    to ``bps``), ``halt`` (no new orders, no fills), ``latency_spike`` (every request ``ms`` slower),
    ``error_burst`` (a share ``rate`` of requests fail with network errors) or ``outage`` (every request fails with
    ExchangeNotAvailable). ``at_ms`` is absolute; configs may
    give ``after_s`` (seconds after the venue is created) instead."""

    type: str
    at_ms: int | None
    after_s: float | None
    duration_s: float
    symbol: str | None = None
    pct: float = 0.0
    bps: float = 0.0
    ms: float = 0.0
    rate: float = 0.0

    def active(self, ts_ms: int) -> bool:
        return self.at_ms is not None and self.at_ms <= ts_ms < self.at_ms + self.duration_s * 1000


@dataclass(frozen=True)
class FaultsConfig:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rates: dict[str, float] = field(default_factory=dict)
    error_types: tuple[str, ...] = ERROR_TYPES
    timeout_after_accept: float = 0.5
    rate_limit_per_minute: int = 0

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.jitter_ms or self.error_rates or self.rate_limit_per_minute)


@dataclass(frozen=True)
class LatencyConfig:
    """Order latency: ``entry_ms`` from our request to the matching engine, ``response_ms`` back; ``jitter`` the
    sigma of a mean-preserving lognormal draw per request (0: constant). ``feed`` is ``capture`` (a replay measures
    the feed's delay per message: its receive time minus the exchange's event time) or a constant in ms."""

    entry_ms: float = 0.0
    response_ms: float = 0.0
    jitter: float = 0.0
    feed: str | float = "capture"

    @property
    def active(self) -> bool:
        return bool(self.entry_ms or self.response_ms)

    def describe(self) -> str:
        feed = "feed as captured" if self.feed == "capture" else f"feed {self.feed:g} ms"
        shape = f", lognormal jitter sigma {self.jitter:g}" if self.jitter else " (constant)"
        return f"entry {self.entry_ms:g} ms, response {self.response_ms:g} ms{shape}, {feed}"


@dataclass(frozen=True)
class QueueConfig:
    """Where a resting order stands in its price level's queue. ``risk_averse``: only trades at our price move us
    up (a level that shrinks below the size ahead of us caps it); ``probabilistic``: a level's cancellations are
    shared between the size ahead of us and behind us by ``f(ahead) / (f(ahead) + f(behind))``, ``f(x) = x **
    power`` (hftbacktest's power-probability queue model)."""

    model: str = "risk_averse"
    power: float = 3.0

    def describe(self) -> str:
        return self.model if self.model == "risk_averse" else f"probabilistic (power {self.power:g})"


REPLAY_LATENCY = LatencyConfig(entry_ms=10.0, response_ms=10.0)  # a replay's default: 10 ms each way


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    source: SourceConfig = SourceConfig()
    markets: tuple[str, ...] | None = None
    more_markets: int = 0  # this many more spot markets from the listed bases (a venue for the symbol universe)
    maker_fee: float = 0.0002
    taker_fee: float = 0.0006
    balances: dict[str, float] = field(
        default_factory=lambda: {"USDT": 100_000.0, "BTC": 0.05, "ETH": 1.0, "SOL": 20.0}
    )
    step_ms: int = 100
    max_catchup_s: float = 600.0
    leverage: int = 10
    margin_mode: str = "cross"
    position_mode: str = "oneway"
    funding_interval_h: int = 8
    funding_rate: float = 0.0001
    faults: FaultsConfig = FaultsConfig()
    events: tuple[ScriptedEvent, ...] = ()
    state_path: str | None = None
    answers_with_fills: bool = True  # False: order answers carry no trades, as Binance's and OKX's do
    latency: LatencyConfig = LatencyConfig()
    queue: QueueConfig = QueueConfig()
    fees_given: tuple[str, ...] = ()  # which of maker / taker the config set (a live source uses the exchange's others)


_TOP_KEYS = {
    "seed", "source", "markets", "more_markets", "fees", "balances", "step_ms", "max_catchup_s", "leverage",
    "margin_mode", "position_mode", "funding_interval_h", "funding_rate", "faults", "events", "state_path",
    "answers_with_fills", "latency", "queue",
}


def parse_sim_config(raw: dict[str, Any] | None) -> SimConfig:
    """Validate ``raw`` (``None`` or ``{}`` for defaults) into a :class:`SimConfig`."""
    raw = dict(raw or {})
    _no_unknown("sim", raw, _TOP_KEYS)
    d = SimConfig()
    fees = raw.get("fees", {})
    _require_dict("fees", fees)
    _no_unknown("fees", fees, {"maker", "taker"})
    markets = raw.get("markets")
    if markets is not None:
        if not isinstance(markets, (list, tuple)) or not all(isinstance(m, str) for m in markets):
            raise SimConfigError(f"sim.markets = {markets!r}: must be a list of symbols like 'BTC/USDT'")
        markets = tuple(markets)
    balances = raw.get("balances", d.balances)
    _require_dict("balances", balances)
    for code, amount in balances.items():
        _number(f"balances.{code}", amount, minimum=0.0)
    source = _source(raw.get("source", {}))
    return SimConfig(
        seed=int(_number("seed", raw.get("seed", d.seed), integer=True)),
        source=source,
        markets=markets,
        more_markets=int(_number("more_markets", raw.get("more_markets", 0), integer=True, minimum=0, maximum=60)),
        maker_fee=_number("fees.maker", fees.get("maker", d.maker_fee), minimum=-0.01, maximum=0.01),
        taker_fee=_number("fees.taker", fees.get("taker", d.taker_fee), minimum=0.0, maximum=0.01),
        balances={str(k): float(v) for k, v in balances.items()},
        step_ms=int(_number("step_ms", raw.get("step_ms", d.step_ms), integer=True, minimum=10, maximum=60_000)),
        max_catchup_s=_number("max_catchup_s", raw.get("max_catchup_s", d.max_catchup_s), minimum=1.0),
        leverage=int(_number("leverage", raw.get("leverage", d.leverage), integer=True, minimum=1, maximum=125)),
        margin_mode=_choice("margin_mode", raw.get("margin_mode", d.margin_mode), MARGIN_MODES),
        position_mode=_choice("position_mode", raw.get("position_mode", d.position_mode), POSITION_MODES),
        funding_interval_h=int(
            _number("funding_interval_h", raw.get("funding_interval_h", d.funding_interval_h), integer=True,
                    minimum=1, maximum=24)
        ),
        funding_rate=_number("funding_rate", raw.get("funding_rate", d.funding_rate), minimum=-0.03, maximum=0.03),
        faults=_faults(raw.get("faults", {})),
        events=tuple(_event(i, e) for i, e in enumerate(_list("events", raw.get("events", [])))),
        state_path=_optional_str("state_path", raw.get("state_path")),
        answers_with_fills=_flag("answers_with_fills", raw.get("answers_with_fills", d.answers_with_fills)),
        latency=_latency(raw.get("latency", {}), REPLAY_LATENCY if source.type == "replay" else LatencyConfig()),
        queue=_queue(raw.get("queue", {})),
        fees_given=tuple(sorted(fees)),
    )


def _latency(raw: Any, default: LatencyConfig) -> LatencyConfig:
    _require_dict("latency", raw)
    _no_unknown("latency", raw, {"entry_ms", "response_ms", "jitter", "feed"})
    feed = raw.get("feed", default.feed)
    if feed != "capture":
        feed = _number("latency.feed", feed, minimum=0.0, maximum=10_000)
    return LatencyConfig(
        entry_ms=_number("latency.entry_ms", raw.get("entry_ms", default.entry_ms), minimum=0.0, maximum=10_000),
        response_ms=_number("latency.response_ms", raw.get("response_ms", default.response_ms), minimum=0.0,
                            maximum=10_000),
        jitter=_number("latency.jitter", raw.get("jitter", default.jitter), minimum=0.0, maximum=3.0),
        feed=feed)


def _queue(raw: Any) -> QueueConfig:
    _require_dict("queue", raw)
    _no_unknown("queue", raw, {"model", "power"})
    return QueueConfig(model=_choice("queue.model", raw.get("model", "risk_averse"), QUEUE_MODELS),
                       power=_number("queue.power", raw.get("power", 3.0), minimum=0.1, maximum=10.0))


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SimConfigError(f"sim.{key} = {value!r}: must be true or false")
    return value


def _source(raw: Any) -> SourceConfig:
    _require_dict("source", raw)
    live_keys = {"exchange", "symbols", "transport", "poll_ms", "depth", "stale_after_s", "api_url"}
    _no_unknown("source", raw, {"type", "files", "warmup_minutes", *live_keys})
    kind = _choice("source.type", raw.get("type", "synthetic"), SOURCE_TYPES)
    warmup = int(_number("source.warmup_minutes", raw.get("warmup_minutes", 120), integer=True, minimum=0,
                         maximum=10_080))
    if kind == "live":
        return _live_source(raw, warmup)
    stray = sorted(k for k in raw if k in live_keys)
    if stray:
        raise SimConfigError(f"sim.source.{stray[0]} is for paper trading on live data (source.type: live), "
                             f"not a {kind!r} source: remove it or set type: live")
    files = tuple(str(f) for f in _list("source.files", raw.get("files", [])))
    if kind != "synthetic" and not files:
        raise SimConfigError(f"sim.source.files is empty: a {kind!r} source needs at least one data file")
    for f in files:
        if not Path(f).is_file():
            raise SimConfigError(f"sim.source.files: {f!r} does not exist or is not a file")
    return SourceConfig(type=kind, files=files, warmup_minutes=warmup)


def _live_source(raw: dict, warmup: int) -> SourceConfig:
    import ccxt

    if raw.get("files"):
        raise SimConfigError("sim.source.files: a live source streams the exchange, it reads no files: remove files "
                             "or pick type: replay")
    exchange = raw.get("exchange")
    if not isinstance(exchange, str) or exchange not in ccxt.exchanges:
        raise SimConfigError(f"sim.source.exchange = {exchange!r}: name the exchange whose market to paper trade "
                             "by its ccxt id, e.g. binance, kucoin, okx, bybit, gate")
    symbols = tuple(_list("source.symbols", raw.get("symbols", [])))  # none: the engine streams what it trades
    if not all(isinstance(x, str) and "/" in x for x in symbols):
        raise SimConfigError(f"sim.source.symbols = {list(symbols)!r}: list the markets to stream as unified "
                             "symbols, e.g. [BTC/USDT, ETH/USDT] (perpetuals: BTC/USDT:USDT)")
    if len(set(symbols)) != len(symbols):
        raise SimConfigError(f"sim.source.symbols = {list(symbols)!r}: a symbol is listed twice")
    transport = _choice("source.transport", raw.get("transport", "auto"), TRANSPORTS)
    api_url = raw.get("api_url")
    if api_url is not None and not (isinstance(api_url, str) and api_url.startswith(("http://", "https://"))):
        raise SimConfigError(f"sim.source.api_url = {api_url!r}: must look like https://host[:port]")
    return SourceConfig(
        type="live", warmup_minutes=warmup, exchange=exchange, symbols=symbols, transport=transport,
        poll_ms=int(_number("source.poll_ms", raw.get("poll_ms", 1000), integer=True, minimum=100, maximum=60_000)),
        depth=int(_number("source.depth", raw.get("depth", 50), integer=True, minimum=5, maximum=1000)),
        stale_after_s=_number("source.stale_after_s", raw.get("stale_after_s", 10.0), minimum=1.0, maximum=600.0),
        api_url=api_url)


def _faults(raw: Any) -> FaultsConfig:
    _require_dict("faults", raw)
    keys = {"latency_ms", "jitter_ms", "error_rates", "error_types", "timeout_after_accept", "rate_limit_per_minute"}
    _no_unknown("faults", raw, keys)
    rates = raw.get("error_rates", {})
    _require_dict("faults.error_rates", rates)
    for method, rate in rates.items():
        _number(f"faults.error_rates.{method}", rate, minimum=0.0, maximum=1.0)
    types = tuple(_list("faults.error_types", raw.get("error_types", list(ERROR_TYPES))))
    for t in types:
        _choice("faults.error_types[]", t, ERROR_TYPES)
    if not types:
        raise SimConfigError(f"sim.faults.error_types is empty: name at least one of {', '.join(ERROR_TYPES)}")
    return FaultsConfig(
        latency_ms=_number("faults.latency_ms", raw.get("latency_ms", 0.0), minimum=0.0, maximum=60_000),
        jitter_ms=_number("faults.jitter_ms", raw.get("jitter_ms", 0.0), minimum=0.0, maximum=60_000),
        error_rates={str(k): float(v) for k, v in rates.items()},
        error_types=types,
        timeout_after_accept=_number("faults.timeout_after_accept", raw.get("timeout_after_accept", 0.5),
                                     minimum=0.0, maximum=1.0),
        rate_limit_per_minute=int(_number("faults.rate_limit_per_minute", raw.get("rate_limit_per_minute", 0),
                                          integer=True, minimum=0)),
    )


def _event(i: int, raw: Any) -> ScriptedEvent:
    key = f"events[{i}]"
    _require_dict(key, raw)
    _no_unknown(key, raw, {"type", "at_ms", "after_s", "duration_s", "symbol", "pct", "bps", "ms", "rate"})
    kind = _choice(f"{key}.type", raw.get("type"), EVENT_TYPES)
    at_ms = raw.get("at_ms")
    after_s = raw.get("after_s")
    if (at_ms is None) == (after_s is None):
        raise SimConfigError(f"sim.{key}: give exactly one of at_ms (epoch ms) or after_s (seconds after start)")
    if at_ms is not None:
        at_ms = int(_number(f"{key}.at_ms", at_ms, integer=True, minimum=0))
    if after_s is not None:
        after_s = _number(f"{key}.after_s", after_s, minimum=0.0)
    duration = _number(f"{key}.duration_s", raw.get("duration_s", 60.0), minimum=0.0)
    pct = _number(f"{key}.pct", raw.get("pct", 0.0), minimum=0.0, maximum=99.0)
    bps = _number(f"{key}.bps", raw.get("bps", 0.0), minimum=0.0, maximum=10_000.0)
    if kind == "flash_crash" and pct <= 0:
        raise SimConfigError(f"sim.{key}.pct = {pct}: a flash_crash needs pct > 0 (percent drop)")
    if kind == "spread_blowout" and bps <= 0:
        raise SimConfigError(f"sim.{key}.bps = {bps}: a spread_blowout needs bps > 0 (the blown-out spread)")
    ms = _number(f"{key}.ms", raw.get("ms", 0.0), minimum=0.0, maximum=600_000)
    rate = _number(f"{key}.rate", raw.get("rate", 0.0), minimum=0.0, maximum=1.0)
    if kind == "latency_spike" and ms <= 0:
        raise SimConfigError(f"sim.{key}.ms = {ms}: a latency_spike needs ms > 0 (the added latency)")
    if kind == "error_burst" and rate <= 0:
        raise SimConfigError(f"sim.{key}.rate = {rate}: an error_burst needs rate > 0 (share of failing requests)")
    symbol = raw.get("symbol")
    if kind in ("flash_crash", "spread_blowout") and not isinstance(symbol, str):
        raise SimConfigError(f"sim.{key}.symbol = {symbol!r}: a {kind} needs the symbol it hits")
    return ScriptedEvent(kind, at_ms, after_s, duration, symbol, pct, bps, ms, rate)


def _no_unknown(where: str, raw: dict, allowed: set[str]) -> None:
    for k in raw:
        if k not in allowed:
            raise SimConfigError(f"{where}: unknown key {k!r}; allowed keys: {', '.join(sorted(allowed))}")


def _require_dict(key: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise SimConfigError(f"sim.{key} = {value!r}: must be a mapping")


def _list(key: str, value: Any) -> list:
    if not isinstance(value, (list, tuple)):
        raise SimConfigError(f"sim.{key} = {value!r}: must be a list")
    return list(value)


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SimConfigError(f"sim.{key} = {value!r}: must be one of {', '.join(allowed)}")
    return value


def _optional_str(key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, (str, Path)):
        raise SimConfigError(f"sim.{key} = {value!r}: must be a path or null")
    return None if value is None else str(value)


def _number(key: str, value: Any, *, integer: bool = False, minimum: float | None = None,
            maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SimConfigError(f"sim.{key} = {value!r}: must be a {'whole ' if integer else ''}number")
    if integer and float(value) != int(value):
        raise SimConfigError(f"sim.{key} = {value!r}: must be a whole number")
    if minimum is not None and value < minimum:
        raise SimConfigError(f"sim.{key} = {value!r}: must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise SimConfigError(f"sim.{key} = {value!r}: must be <= {maximum}")
    return float(value)

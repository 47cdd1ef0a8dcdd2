"""The configuration's shape: every section as a frozen pydantic dataclass, with its defaults and its rules.

pydantic checks types and ranges; :mod:`engine.config.messages` turns what it finds into one line naming the file,
the key, the value and the rule. Scalars are strict (``"5"`` is not a number, ``1`` is not ``true``); a whole number
written as ``250.0`` is accepted where a whole number is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, field, is_dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Strict, StrictBool, StrictStr
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from engine.config.bounds import (
    BREAKER_COOLDOWN_S,
    BREAKER_THRESHOLDS,
    MAX_INVENTORY_GLOBAL_USD,
    MAX_INVENTORY_PER_EXCHANGE_USD,
    MAX_INVENTORY_PER_SYMBOL_USD,
    MAX_OPEN_ORDERS_GLOBAL,
    MAX_OPEN_ORDERS_PER_SYMBOL,
    MODE_MAX_INVENTORY_USD,
)

RISK_MODES = ("CONSERVATIVE", "AGGRESSIVE", "AGGRESSIVE_PLUS")
TIERS = ("STABLE", "VOLATILE", "MEME")
RULES = ConfigDict(extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True)


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _empty_if_none(value: Any) -> Any:
    return {} if value is None else value  # a section holding only comments


Whole = Annotated[int, BeforeValidator(_integral), Strict()]
Num = Annotated[float, Strict()]
Flag = StrictBool
Text = StrictStr


def one_of(*choices: str) -> Any:
    """A string that must be one of ``choices``."""
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value
    return Annotated[StrictStr, AfterValidator(check)]


def between(kind: Any = Num, *, gt: float | None = None, ge: float | None = None, le: float | None = None) -> Any:
    """A number within bounds."""
    return Annotated[kind, Field(gt=gt, ge=ge, le=le)]


Positive = between(gt=0)


def section(cls: type) -> Any:
    """A nested section: absent or empty gives its defaults."""
    return Annotated[cls, BeforeValidator(_empty_if_none)]


def named(defaults: Callable[[], dict[str, Any]], names: tuple[str, ...], what: str) -> Callable[[Any], Any]:
    """Before-validator for a table of named settings (risk modes, breakers): only known names, and a name given
    in part keeps the defaults of the keys it does not give."""
    def merge(value: Any) -> Any:
        value = _empty_if_none(value)
        if not isinstance(value, dict):
            return value  # pydantic says "must be a mapping"
        out: dict[str, Any] = dict(defaults())
        for name, given in value.items():
            if name not in names:
                raise PydanticCustomError("unknown_name", "unknown {what}; use {allowed}",
                                          {"name": name, "what": what, "allowed": ", ".join(names)})
            base = out[name]
            out[name] = {**asdict(base), **given} if isinstance(given, dict) and is_dataclass(base) else given
        return out
    return merge


# --------------------------------------------------------------------------------------------- sections
@dataclass(frozen=True, config=RULES)
class EngineSettings:
    exchange: Text = "sim"  # the venue to trade: sim or a ccxt exchange id
    quote_interval_ms: between(Whole, ge=50, le=60_000) = 250
    hygiene_interval_s: between(ge=1, le=3600) = 10.0
    risk_interval_s: between(ge=1, le=3600) = 5.0
    health_interval_s: between(ge=1, le=3600) = 30.0
    metrics_interval_s: between(ge=1, le=3600) = 5.0
    unknown_orders: one_of("cancel", "adopt") = "cancel"
    client_id_prefix: Text = "mm"
    autostart: Flag = True
    venues: list[Text] = field(default_factory=list)  # more exchanges to quote on besides `exchange`
    selection: one_of("FAILOVER", "LOAD_BALANCE", "BEST_EXECUTION", "SINGLE") = "FAILOVER"  # seed 000's default
    weights: dict[str, Num] = field(default_factory=dict)  # LOAD_BALANCE weights per exchange
    feed: one_of("auto", "on", "off") = "auto"  # websocket books: auto = real exchanges only


@dataclass(frozen=True, config=RULES)
class ModeSettings:
    levels: between(Whole, ge=1, le=20) = 1
    margin_pct: between(ge=0, le=100) = 1.0
    max_inventory_usd: between(gt=0, le=MODE_MAX_INVENTORY_USD.high) = 10_000.0


@dataclass(frozen=True, config=RULES)
class SkewSettings:
    enabled: Flag = True
    gamma: between(ge=0) = 0.1
    tau_s: Positive = 60.0
    size_shrink: between(ge=0, le=1) = 0.5


def _default_modes() -> dict[str, ModeSettings]:
    return {"CONSERVATIVE": ModeSettings(1, 1.0, 10_000.0), "AGGRESSIVE": ModeSettings(5, 5.0, 50_000.0),
            "AGGRESSIVE_PLUS": ModeSettings(7, 6.0, 50_000.0)}


@dataclass(frozen=True, config=RULES)
class StrategySettings:
    risk_mode: one_of(*RISK_MODES) = "CONSERVATIVE"
    spread_bps: Positive = 6.0
    step_bps: between(ge=0) = 1.6
    min_spread_bps: between(ge=0) = 2.0
    fee_aware: Flag = True
    volume_factor: Positive = 1.0
    usd_per_order: Positive = 50.0
    min_order_usd: Positive = 50.0
    max_order_usd: Positive = 500.0
    volatility_minutes: between(Whole, ge=5, le=1440) = 60
    modes: Annotated[dict[str, ModeSettings], BeforeValidator(named(_default_modes, RISK_MODES, "risk mode"))] = \
        field(default_factory=_default_modes)
    skew: section(SkewSettings) = field(default_factory=SkewSettings)


@dataclass(frozen=True, config=RULES)
class HygieneSettings:
    max_order_age_s: Positive = 90.0
    drift_bps: Positive = 3.0
    stale_depth_bps: Positive = 8.0
    max_replacements_per_cycle: between(Whole, ge=1) = 20
    min_requote_interval_ms: between(Whole, ge=0) = 150


@dataclass(frozen=True, config=RULES)
class TierSettings:
    """Defaults for every symbol of a tier (seed 004 "Safe List"); a symbol's own keys override them, except
    ``max_leverage``, the tier's ceiling."""

    leverage: between(Whole, ge=1, le=125) = 1
    max_leverage: between(Whole, ge=1, le=125) = 20
    max_position_size_usd: Positive = 50_000.0
    spread_multiplier: between(gt=0, le=20) = 1.0  # market making: strategy.spread_bps widened by this
    atr_multiplier: Positive = 1.5  # directional sizing: max_risk_usd / (ATR x this)


DEFAULT_TIERS = {
    "STABLE": TierSettings(1, 20, 50_000.0, 1.0, 1.5),
    "VOLATILE": TierSettings(1, 10, 20_000.0, 1.5, 2.0),
    "MEME": TierSettings(1, 3, 5_000.0, 2.5, 3.0),
}


@dataclass(frozen=True, config=RULES)
class SymbolConfig:
    """One symbol of the safe list (seed 004): whether it trades, its tier, leverage, position cap, strategy and the
    strategy's params. Leverage and position cap left out come from the tier (``tiers.<TIER>``)."""

    enabled: Flag = True
    tier: one_of(*TIERS) = "STABLE"
    leverage: between(Whole, ge=1, le=125) | None = None
    max_position_size_usd: Positive | None = None
    strategy: Text = "market_making"
    params: dict[str, Any] = field(default_factory=dict)
    max_position_usd: Positive | None = None  # the older name of max_position_size_usd, still read

    def __post_init__(self) -> None:
        tier = DEFAULT_TIERS[self.tier]  # loading fills these from the config's own tiers first
        if self.max_position_size_usd is None:
            object.__setattr__(self, "max_position_size_usd", self.max_position_usd or tier.max_position_size_usd)
        object.__setattr__(self, "max_position_usd", self.max_position_size_usd)
        if self.leverage is None:
            object.__setattr__(self, "leverage", tier.leverage)


@dataclass(frozen=True, config=RULES)
class BreakerSettings:
    enabled: Flag = True
    threshold: Positive = 1.0  # bounded per breaker (BREAKER_THRESHOLDS), checked on the whole table
    cooldown_s: between(ge=0, le=BREAKER_COOLDOWN_S.high) = 300.0


def _breaker_bounds(table: dict[str, BreakerSettings]) -> dict[str, BreakerSettings]:
    """Each breaker's threshold within its sane range: a huge one would switch the protection off silently."""
    for name, b in table.items():
        problem = BREAKER_THRESHOLDS[name].problem(b.threshold)
        if problem:
            hint = (f"; to switch the breaker off, set risk.breakers.{name}.enabled: false"
                    if "at most" in problem else "")
            unit = BREAKER_THRESHOLDS[name].unit
            raise PydanticCustomError("rule_at", "{rule}", {"path": f"{name}.threshold",
                                                            "rule": f"{problem}{' ' + unit if unit else ''}{hint}"})
    return table


@dataclass(frozen=True, config=RULES)
class CapSettings:
    max_open_orders_per_symbol: between(Whole, ge=1, le=MAX_OPEN_ORDERS_PER_SYMBOL.high) = 50
    max_open_orders_global: between(Whole, ge=1, le=MAX_OPEN_ORDERS_GLOBAL.high) = 1500
    max_inventory_per_symbol_usd: between(gt=0, le=MAX_INVENTORY_PER_SYMBOL_USD.high) = 50_000.0
    max_inventory_per_exchange_usd: between(gt=0, le=MAX_INVENTORY_PER_EXCHANGE_USD.high) = 200_000.0
    max_inventory_global_usd: between(gt=0, le=MAX_INVENTORY_GLOBAL_USD.high) = 400_000.0
    cancel_excess_orders: Flag = True
    clamp_side_on_excess: Flag = True


def _pairs(symbols: list[str]) -> list[str]:
    if not all("/" in s for s in symbols):
        raise ValueError("must be a list of symbols like BTC/USDT")
    return symbols


@dataclass(frozen=True, config=RULES)
class CorrelationGroup:
    symbols: Annotated[list[Text], AfterValidator(_pairs)] = field(default_factory=list)
    max_positions: between(Whole, ge=1) = 1


DEFAULT_BREAKERS = {  # seed 001 thresholds, each with a 300 s cooldown
    "latency": BreakerSettings(True, 500.0),  # ms
    "spread": BreakerSettings(True, 20.0),  # bps
    "volatility": BreakerSettings(True, 5.0),  # percent range over the window
    "error_rate": BreakerSettings(True, 0.10),  # share of failed requests
    "drawdown": BreakerSettings(True, 100.0),  # bps from peak equity; manual re-arm
}


@dataclass(frozen=True, config=RULES)
class RiskSettings:
    """Seed 000 "Sistema de gestión de riesgo", 001 "Circuit Breakers", 004 "Portfolio Risk Manager"."""

    breakers: Annotated[dict[str, BreakerSettings],
                        BeforeValidator(named(lambda: DEFAULT_BREAKERS, tuple(DEFAULT_BREAKERS), "breaker")),
                        AfterValidator(_breaker_bounds)] = \
        field(default_factory=lambda: dict(DEFAULT_BREAKERS))
    volatility_window_min: between(Whole, ge=2, le=1440) = 60
    volatility_size_factor: between(gt=0, le=1) = 0.5
    error_window_s: Positive = 60.0
    error_min_requests: between(Whole, ge=1) = 20
    close_positions_on_drawdown: Flag = True
    caps: section(CapSettings) = field(default_factory=CapSettings)
    max_exposure_fraction: between(gt=0, le=100) = 0.10
    correlation_groups: section(dict[str, CorrelationGroup]) = field(default_factory=dict)
    large_loss_usd: Positive = 1_000.0
    stale_after_intervals: between(Whole, ge=1) = 3


def _yaml_switch(value: Any) -> Any:
    """YAML reads a bare ``on`` / ``off`` as true / false: take them back as the words."""
    return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


@dataclass(frozen=True, config=RULES)
class AlertSettings:
    min_level: one_of("info", "warning", "error", "critical") = "info"
    dedupe_s: between(ge=0) = 300.0
    max_per_minute: between(Whole, ge=1) = 20
    retries: between(Whole, ge=0, le=10) = 3
    backoff_s: between(ge=0) = 1.0
    api_url: Text = "https://api.telegram.org"
    kinds: dict[Text, Annotated[one_of("on", "silent", "off"), BeforeValidator(_yaml_switch)]] = field(  # per kind
        default_factory=lambda: {"position opened": "off", "position closed": "off"})
    summary_every_min: between(ge=0, le=10_080) = 60.0  # a summary of fills and PnL per symbol; 0: none
    commands: Flag = True  # obey /status, /pause, /kill, ... from TELEGRAM_CHAT_ID (engine/telegram_commands.py)
    poll_timeout_s: between(ge=0, le=50) = 25.0  # getUpdates long-poll timeout


@dataclass(frozen=True, config=RULES)
class ConnectionSettings:
    """How to reach one real exchange (credentials come from secrets.json or the environment)."""

    market: one_of("spot", "swap") = "spot"
    sandbox: Flag = False
    api_url: Text = ""  # base URL override (gateways, local tests); empty: the exchange's own
    margin_mode: one_of("isolated", "cross") = "isolated"
    hedge_mode: Flag = False
    requests_per_min: between(Whole, ge=0, le=100_000) = 0  # request budget; 0: the exchange's own limit (seed 003)


@dataclass(frozen=True, config=RULES)
class LoggingSettings:
    level: one_of("DEBUG", "INFO", "WARNING", "ERROR") = "INFO"
    dir: Text = "data/logs"
    json_file: Text = "engine.jsonl"

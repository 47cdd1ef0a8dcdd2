"""The settings of seed 000's features: profit harvesting, funding checks, the symbol universe, cross-exchange
arbitrage, and the metrics exports (each a frozen pydantic dataclass, as in :mod:`engine.config.models`)."""

from __future__ import annotations

from typing import Any

from pydantic.dataclasses import dataclass

from engine.config.models import RULES, TIERS, Flag, Positive, Text, Whole, _empty_if_none, between, one_of


@dataclass(frozen=True, config=RULES)
class PnlHarvestSettings:
    """Seed 000 ``pnl_harvest`` (market making): take profit on inventory past ``rebalance_inventory_threshold_bps``
    (requoted every ``tp_requote_sec``), widen spreads by ``widen_on_wick_bps`` after a wick, and net a symbol's
    exposure across exchanges before caps and harvesting."""

    rebalance_inventory_threshold_bps: between(ge=0, le=10_000) = 30.0  # 0: no take profit
    tp_requote_sec: between(gt=0, le=3_600) = 10.0
    widen_on_wick_bps: between(ge=0, le=1_000) = 10.0  # 0: no widening
    wick_threshold_bps: between(gt=0, le=10_000) = 30.0  # a move this far and half way back is a wick
    wick_window_sec: between(gt=0, le=3_600) = 60.0
    wick_widen_sec: between(ge=0, le=86_400) = 120.0
    cross_exchange_netting: Flag = True


@dataclass(frozen=True, config=RULES)
class FundingSettings:
    """Seed 000 ``funding``: the perpetuals' funding rates, read every ``funding_check_interval`` seconds; beyond
    ``funding_threshold_bps`` (per funding interval) market making leans its quotes and its inventory target
    (``inventory_target_pct`` of the symbol's inventory cap) toward the side that receives funding."""

    enabled: Flag = True
    funding_check_interval: between(ge=10, le=86_400) = 300.0
    funding_threshold_bps: between(ge=0, le=1_000) = 1.0  # the seed's 0.01%
    inventory_target_pct: between(ge=0, le=100) = 25.0
    lean_bps: between(ge=0, le=100) = 1.0  # ... and the whole ladder moves this far toward that side


@dataclass(frozen=True, config=RULES)
class UniverseSettings:
    """Seed 000 ``symbol_universe``: every ``refresh_sec`` each exchange's active ``quote`` markets are ranked by
    liquidity (24 h volume, spread, depth within ``depth_bps`` of the mid) after the filters; the safe list stays and
    the best-ranked fill the universe up to ``max_symbols`` (see :mod:`engine.universe`)."""

    enabled: Flag = False  # the seed's default is true: off here, the default simulated venue lists six markets
    min_symbols: between(Whole, ge=1, le=500) = 20
    max_symbols: between(Whole, ge=1, le=500) = 40
    refresh_sec: between(ge=30, le=86_400) = 300.0
    quote: Text = "USDT"
    per_exchange_scan: Flag = True
    merge_strategy: one_of("union", "intersection") = "union"
    market: one_of("spot", "swap", "any") = "spot"
    min_volume_usd: between(ge=0) = 1_000_000.0  # 24 h volume in the quote currency
    max_spread_bps: between(gt=0, le=10_000) = 15.0
    min_depth_usd: between(ge=0) = 5_000.0  # both sides within depth_bps of the mid
    depth_bps: between(gt=0, le=1_000) = 10.0
    exclude_bases: tuple[Text, ...] = ("USDC", "FDUSD", "TUSD", "DAI", "BUSD", "USDP", "EUR", "PAXG", "WBTC")
    tier: one_of(*TIERS) = "VOLATILE"  # the tier of the symbols the universe adds (their spreads and caps)
    warmup_candles: between(Whole, ge=0, le=1_440) = 15  # closed 1-minute candles a joining symbol needs first
    flatten_timeout_sec: between(ge=0, le=604_800) = 3_600.0  # a leaving symbol still holding then: a warning


def _switch_or_section(value: Any) -> Any:
    """The seed writes ``cross_exchange_arbitrage: false``; a bare switch is read as ``{enabled: <switch>}``."""
    return {"enabled": value} if isinstance(value, bool) else _empty_if_none(value)


@dataclass(frozen=True, config=RULES)
class ArbitrageSettings:
    """Seed 000 ``cross_exchange_arbitrage`` (off by default): buy on the cheaper exchange and sell on the dearer
    when the difference beats both taker fees by ``min_profit_bps`` (see :mod:`engine.arbitrage`)."""

    enabled: Flag = False
    symbols: tuple[Text, ...] = ()  # empty: every symbol enabled on two or more exchanges
    min_profit_bps: between(ge=0, le=10_000) = 5.0  # the margin beyond both taker fees
    max_trade_usd: Positive = 500.0  # one trade's notional at most
    max_position_usd: Positive = 5_000.0  # a leg may not take a symbol's position on its exchange beyond this
    check_interval_s: between(ge=0.2, le=3_600) = 2.0
    cooldown_s: between(ge=0, le=3_600) = 10.0  # after a trade in a symbol, before the next


@dataclass(frozen=True, config=RULES)
class MetricsSettings:
    """The metrics job's exports (seed 003 "Métricas y monitoreo"): Prometheus is off unless ``prometheus_port``
    is set; it listens on ``prometheus_host`` (127.0.0.1: this machine only)."""

    prometheus_port: between(Whole, ge=1, le=65_535) | None = None
    prometheus_host: Text = "127.0.0.1"
    sharpe_window_min: between(Whole, ge=5, le=10_080) = 60  # the rolling Sharpe's window


@dataclass(frozen=True, config=RULES)
class RetentionSettings:
    """How long the raw metric rows are kept (``system_metrics``, ``exchange_health``, ``balance_snapshots``):
    raw for ``raw_hours``, then thinned to the last row of each minute until ``minute_days``, then of each hour
    until ``hour_days``, then deleted. Orders, trades, alerts and breaker events are kept."""

    enabled: Flag = True
    raw_hours: between(gt=0, le=8_760) = 24.0
    minute_days: between(gt=0, le=3_650) = 7.0
    hour_days: between(gt=0, le=36_500) = 365.0
    every_min: between(ge=1, le=10_080) = 60.0  # how often the retention job runs

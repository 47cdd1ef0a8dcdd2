"""The configuration the engine and the console read: validated once, frozen."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from engine.config.credentials import Credentials, TelegramSettings
from engine.config.features import (
    ArbitrageSettings,
    FundingSettings,
    MetricsSettings,
    PnlHarvestSettings,
    RetentionSettings,
    UniverseSettings,
)
from engine.config.models import (
    DEFAULT_TIERS,
    AlertSettings,
    ConnectionSettings,
    EngineSettings,
    HygieneSettings,
    LoggingSettings,
    ModeSettings,
    RiskSettings,
    StrategySettings,
    SymbolConfig,
    TierSettings,
)


@dataclass(frozen=True)
class AppConfig:
    """Everything the engine and the console read, validated once."""

    engine: EngineSettings
    strategy: StrategySettings
    hygiene: HygieneSettings
    symbols: dict[str, dict[str, SymbolConfig]]
    database_url: str
    logging: LoggingSettings
    sim: dict[str, Any]
    credentials: dict[str, Credentials]
    telegram: TelegramSettings
    config_dir: Path
    sources: tuple[str, ...] = ()
    risk: RiskSettings = field(default_factory=RiskSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    connections: dict[str, ConnectionSettings] = field(default_factory=dict)
    tiers: dict[str, TierSettings] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    funding: FundingSettings = field(default_factory=FundingSettings)
    pnl_harvest: PnlHarvestSettings = field(default_factory=PnlHarvestSettings)
    symbol_universe: UniverseSettings = field(default_factory=UniverseSettings)
    cross_exchange_arbitrage: ArbitrageSettings = field(default_factory=ArbitrageSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)

    def connection(self, exchange: str) -> ConnectionSettings:
        """How to reach ``exchange`` (its defaults when the config says nothing)."""
        return self.connections.get(exchange) or ConnectionSettings()

    # -- symbols (seed 004 "Safe List") ----------------------------------------------------------
    def active_symbols(self, exchange: str | None = None) -> list[str]:
        """Enabled symbols of ``exchange`` (default: the engine's venue), in config order."""
        table = self.symbols.get(exchange or self.engine.exchange, {})
        return [s for s, c in table.items() if c.enabled]

    def symbol_config(self, symbol: str, exchange: str | None = None) -> SymbolConfig:
        """One symbol's settings; ``KeyError`` naming what is configured when it is not."""
        table = self.symbols.get(exchange or self.engine.exchange, {})
        if symbol not in table:
            raise KeyError(f"{symbol} is not configured for {exchange or self.engine.exchange}; "
                           f"configured: {', '.join(table) or 'none'}")
        return table[symbol]

    def tier(self, symbol: str, exchange: str | None = None) -> TierSettings:
        """The settings of ``symbol``'s tier (STABLE, VOLATILE, MEME)."""
        return self.tiers[self.symbol_config(symbol, exchange).tier]

    def mode(self, name: str | None = None) -> ModeSettings:
        """The ladder settings of risk mode ``name`` (default: the one in force)."""
        return self.strategy.modes[name or self.strategy.risk_mode]


def changes_between(old: AppConfig, new: AppConfig) -> list[str]:
    """What a reload changed, as ``key: old -> new`` lines (credentials and the sources left out; secrets never
    shown): the log line of :meth:`engine.runtime.Engine.apply_config` says exactly that."""
    def flat(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
        if is_dataclass(value) and not isinstance(value, type):
            for f in fields(value):
                flat(getattr(value, f.name), f"{prefix}{f.name}.", out)
        elif isinstance(value, dict):
            for k, v in value.items():
                flat(v, f"{prefix}{k}.", out)
        else:
            out[prefix.rstrip(".")] = value
        return out

    skip = ("credentials", "telegram", "sources", "config_dir", "database_url")
    before = {k: v for k, v in flat(old, "", {}).items() if not k.startswith(skip)}
    after = {k: v for k, v in flat(new, "", {}).items() if not k.startswith(skip)}
    return [f"{k}: {before.get(k, '(unset)')!r} -> {after.get(k, '(unset)')!r}"
            for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]

"""The config files' whole shape (:class:`ConfigFile`): every section, as pydantic validates the merged layers."""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Strict
from pydantic.dataclasses import dataclass

from engine.config.features import (
    ArbitrageSettings,
    FundingSettings,
    MetricsSettings,
    PnlHarvestSettings,
    RetentionSettings,
    UniverseSettings,
    _switch_or_section,
)
from engine.config.models import (
    DEFAULT_TIERS,
    RULES,
    TIERS,
    AlertSettings,
    ConnectionSettings,
    EngineSettings,
    HygieneSettings,
    LoggingSettings,
    RiskSettings,
    StrategySettings,
    SymbolConfig,
    Text,
    TierSettings,
    named,
    section,
)


# --------------------------------------------------------------------------------------------- the files
def _pair(symbol: str) -> str:
    if "/" not in symbol:
        raise ValueError("symbols are written like BTC/USDT (spot) or BTC/USDT:USDT (perpetual)")
    return symbol


Pair = Annotated[str, AfterValidator(_pair)]


def _url(value: str) -> str:
    if "://" not in value:
        raise ValueError("must be a URL like sqlite:///data/marketmaker.db or postgresql+psycopg://user:pass@host/db")
    return value


@dataclass(frozen=True, config=RULES)
class DatabaseSection:
    url: Annotated[Text, AfterValidator(_url)] = "sqlite:///data/marketmaker.db"


@dataclass(frozen=True, config=RULES)
class CredentialsSection:
    api_key: Text | None = None
    api_secret: Text | None = None
    passphrase: Text | None = None


@dataclass(frozen=True, config=RULES)
class TelegramSection:
    bot_token: Text | Annotated[int, Strict()] | None = None
    chat_id: Text | Annotated[int, Strict()] | None = None


@dataclass(frozen=True, config=RULES)
class AlertsSection(AlertSettings):
    telegram: section(TelegramSection) = field(default_factory=TelegramSection)


@dataclass(frozen=True, config=RULES)
class ConfigFile:
    """The merged layers, as written: what pydantic validates before :class:`AppConfig` is built from it."""

    engine: section(EngineSettings) = field(default_factory=EngineSettings)
    strategy: section(StrategySettings) = field(default_factory=StrategySettings)
    hygiene: section(HygieneSettings) = field(default_factory=HygieneSettings)
    symbols: section(dict[str, section(dict[Pair, section(SymbolConfig)])]) = field(default_factory=dict)
    database: section(DatabaseSection) = field(default_factory=DatabaseSection)
    logging: section(LoggingSettings) = field(default_factory=LoggingSettings)
    sim: section(dict[str, Any]) = field(default_factory=dict)  # checked by engine.exchanges.sim.config
    exchanges: section(dict[str, CredentialsSection]) = field(default_factory=dict)
    alerts: section(AlertsSection) = field(default_factory=AlertsSection)
    risk: section(RiskSettings) = field(default_factory=RiskSettings)
    tiers: Annotated[dict[str, TierSettings], BeforeValidator(named(lambda: DEFAULT_TIERS, TIERS, "tier"))] = \
        field(default_factory=lambda: dict(DEFAULT_TIERS))
    connections: section(dict[str, section(ConnectionSettings)]) = field(default_factory=dict)
    metrics: section(MetricsSettings) = field(default_factory=MetricsSettings)
    funding: section(FundingSettings) = field(default_factory=FundingSettings)
    pnl_harvest: section(PnlHarvestSettings) = field(default_factory=PnlHarvestSettings)
    symbol_universe: section(UniverseSettings) = field(default_factory=UniverseSettings)
    cross_exchange_arbitrage: Annotated[ArbitrageSettings, BeforeValidator(_switch_or_section)] = \
        field(default_factory=ArbitrageSettings)
    retention: section(RetentionSettings) = field(default_factory=RetentionSettings)

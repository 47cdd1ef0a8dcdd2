"""One typed, validated, frozen configuration built from the config hierarchy.

- :mod:`engine.config.layers`: the files and variables, merged, each key remembering its layer;
- :mod:`engine.config.models`: every section's keys, defaults and rules (pydantic dataclasses);
- :mod:`engine.config.messages`: ``file: key = value: rule``, secrets hidden;
- :mod:`engine.config.credentials`: :class:`Secret` values that never print themselves;
- :mod:`engine.config.appconfig`: :class:`AppConfig`, what the engine reads;
- :mod:`engine.config.loading`: :func:`load_config` and :func:`save_overrides`.
"""

from engine.config.appconfig import AppConfig, changes_between
from engine.config.credentials import CREDENTIAL_FIELDS, Credentials, Secret, TelegramSettings, mask_secret
from engine.config.loading import DEFAULT_CONFIG_DIR, PROJECT_ROOT, TOP_KEYS, load_config, save_overrides
from engine.config.messages import ConfigError
from engine.config.models import (
                                  DEFAULT_BREAKERS,
    DEFAULT_TIERS,
                                  RISK_MODES,
                                  TIERS,
                                  AlertSettings,
                                  BreakerSettings,
                                  CapSettings,
                                  ConnectionSettings,
                                  CorrelationGroup,
                                  EngineSettings,
                                  HygieneSettings,
                                  LoggingSettings,
                                  ModeSettings,
                                  RiskSettings,
                                  SkewSettings,
                                  StrategySettings,
                                  SymbolConfig,
    TierSettings,
)

__all__ = [
    "AppConfig", "changes_between",
    "CREDENTIAL_FIELDS", "Credentials", "Secret", "TelegramSettings", "mask_secret", "DEFAULT_CONFIG_DIR",
    "PROJECT_ROOT", "TOP_KEYS", "load_config", "save_overrides", "ConfigError", "DEFAULT_BREAKERS", "RISK_MODES",
    "TIERS", "AlertSettings", "BreakerSettings", "CapSettings", "ConnectionSettings", "CorrelationGroup",
    "EngineSettings", "HygieneSettings", "LoggingSettings", "ModeSettings", "RiskSettings", "SkewSettings",
    "StrategySettings", "SymbolConfig", "DEFAULT_TIERS", "TierSettings",
]

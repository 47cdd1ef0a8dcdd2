"""One typed, validated, frozen configuration built from the config hierarchy.

Layers, each overriding the one before:

1. ``config/config.yaml``: every key, commented, with its default;
2. ``config/config.json``: runtime overrides; the console saves its changes here (atomically);
3. ``secrets.json`` (project root or ``config/``): credentials;
4. ``.env`` and then the process environment (``KUCOIN_API_KEY``, ``BINANCE_API_SECRET``, ``TELEGRAM_BOT_TOKEN``,
   ``DATABASE_URL``, ...): override everything.

A wrong key, type or value raises :class:`ConfigError` whose message names the file, the key, the value and
what is allowed. Secrets are kept in :class:`Secret` objects that never print themselves.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from engine.exchanges.sim.config import SimConfigError, parse_sim_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"
RISK_MODES = ("CONSERVATIVE", "AGGRESSIVE", "AGGRESSIVE_PLUS")
TIERS = ("STABLE", "VOLATILE", "MEME")
CREDENTIAL_FIELDS = ("api_key", "api_secret", "passphrase")
ENV_EXCHANGES = ("BINANCE", "KUCOIN", "OKX", "BYBIT", "GATE", "HUOBI", "HTX", "KRAKEN", "COINBASE", "BITFINEX")


class ConfigError(ValueError):
    """A configuration value is wrong; the message says where, what and how to fix it."""


class Secret:
    """A credential that never shows itself in logs, reprs or exceptions; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask_secret(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def mask_secret(value: str | None) -> str:
    """``68da47b0...97a4`` for a long secret, ``****`` for a short one, ``(not set)`` for none."""
    if not value:
        return "(not set)"
    if len(value) < 12:
        return "****"
    return f"{value[:8]}...{value[-4:]}"


# --------------------------------------------------------------------------------------------- schema
def _f(default: Any, *, minimum: float | None = None, maximum: float | None = None, choices: tuple | None = None,
       positive: bool = False, doc: str = "") -> Any:
    meta = {"minimum": minimum, "maximum": maximum, "choices": choices, "positive": positive, "doc": doc}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: json.loads(json.dumps(default)), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class EngineSettings:
    exchange: str = _f("sim", doc="the venue to trade: sim or a ccxt exchange id")
    quote_interval_ms: int = _f(250, minimum=50, maximum=60_000)
    hygiene_interval_s: float = _f(10.0, minimum=1, maximum=3600)
    risk_interval_s: float = _f(5.0, minimum=1, maximum=3600)
    health_interval_s: float = _f(30.0, minimum=1, maximum=3600)
    metrics_interval_s: float = _f(5.0, minimum=1, maximum=3600)
    unknown_orders: str = _f("cancel", choices=("cancel", "adopt"))
    client_id_prefix: str = _f("mm")
    autostart: bool = _f(True)
    venues: list[str] = _f([], doc="more exchanges to quote on besides `exchange`, in priority order")
    selection: str = _f("SINGLE", choices=("FAILOVER", "LOAD_BALANCE", "BEST_EXECUTION", "SINGLE"))
    weights: dict[str, float] = _f({}, doc="LOAD_BALANCE weights per exchange")
    feed: str = _f("auto", choices=("auto", "on", "off"), doc="websocket books: auto = real exchanges only")


@dataclass(frozen=True)
class ModeSettings:
    levels: int = _f(1, minimum=1, maximum=20)
    margin_pct: float = _f(1.0, minimum=0, maximum=100)
    max_inventory_usd: float = _f(10_000.0, positive=True)


@dataclass(frozen=True)
class SkewSettings:
    enabled: bool = _f(True)
    gamma: float = _f(0.1, minimum=0)
    tau_s: float = _f(60.0, positive=True)
    size_shrink: float = _f(0.5, minimum=0, maximum=1)


@dataclass(frozen=True)
class StrategySettings:
    risk_mode: str = _f("CONSERVATIVE", choices=RISK_MODES)
    spread_bps: float = _f(6.0, positive=True)
    step_bps: float = _f(1.6, minimum=0)
    min_spread_bps: float = _f(2.0, minimum=0)
    fee_aware: bool = _f(True)
    volume_factor: float = _f(1.0, positive=True)
    usd_per_order: float = _f(50.0, positive=True)
    min_order_usd: float = _f(50.0, positive=True)
    max_order_usd: float = _f(500.0, positive=True)
    volatility_minutes: int = _f(60, minimum=5, maximum=1440)
    modes: dict[str, ModeSettings] = field(default_factory=lambda: {
        "CONSERVATIVE": ModeSettings(1, 1.0, 10_000.0),
        "AGGRESSIVE": ModeSettings(5, 5.0, 50_000.0),
        "AGGRESSIVE_PLUS": ModeSettings(7, 6.0, 50_000.0),
    })
    skew: SkewSettings = field(default_factory=SkewSettings)


@dataclass(frozen=True)
class HygieneSettings:
    max_order_age_s: float = _f(90.0, positive=True)
    drift_bps: float = _f(3.0, positive=True)
    stale_depth_bps: float = _f(8.0, positive=True)
    max_replacements_per_cycle: int = _f(20, minimum=1)
    min_requote_interval_ms: int = _f(150, minimum=0)


@dataclass(frozen=True)
class SymbolConfig:
    enabled: bool = _f(True)
    tier: str = _f("STABLE", choices=TIERS)
    leverage: int = _f(1, minimum=1, maximum=125)
    max_position_usd: float = _f(10_000.0, positive=True)
    strategy: str = _f("market_making")
    params: dict[str, Any] = _f({})


@dataclass(frozen=True)
class BreakerSettings:
    enabled: bool = _f(True)
    threshold: float = _f(1.0, positive=True)
    cooldown_s: float = _f(300.0, minimum=0)


@dataclass(frozen=True)
class CapSettings:
    max_open_orders_per_symbol: int = _f(50, minimum=1)
    max_open_orders_global: int = _f(1500, minimum=1)
    max_inventory_per_symbol_usd: float = _f(50_000.0, positive=True)
    max_inventory_per_exchange_usd: float = _f(200_000.0, positive=True)
    max_inventory_global_usd: float = _f(400_000.0, positive=True)
    cancel_excess_orders: bool = _f(True)
    clamp_side_on_excess: bool = _f(True)


@dataclass(frozen=True)
class CorrelationGroup:
    symbols: list[str] = _f([])
    max_positions: int = _f(1, minimum=1)


@dataclass(frozen=True)
class RiskSettings:
    """Seed 000 "Sistema de gestión de riesgo", 001 "Circuit Breakers", 004 "Portfolio Risk Manager"."""

    breakers: dict[str, BreakerSettings] = field(default_factory=lambda: dict(DEFAULT_BREAKERS))
    volatility_window_min: int = _f(60, minimum=2, maximum=1440)
    volatility_size_factor: float = _f(0.5, positive=True, maximum=1)
    error_window_s: float = _f(60.0, positive=True)
    error_min_requests: int = _f(20, minimum=1)
    close_positions_on_drawdown: bool = _f(True)
    caps: CapSettings = field(default_factory=CapSettings)
    max_exposure_fraction: float = _f(0.10, positive=True, maximum=100)
    correlation_groups: dict[str, CorrelationGroup] = field(default_factory=dict)
    large_loss_usd: float = _f(1_000.0, positive=True)
    stale_after_intervals: int = _f(3, minimum=1)


DEFAULT_BREAKERS = {  # seed 001 thresholds, each with a 300 s cooldown
    "latency": BreakerSettings(True, 500.0),  # ms
    "spread": BreakerSettings(True, 20.0),  # bps
    "volatility": BreakerSettings(True, 5.0),  # percent range over the window
    "error_rate": BreakerSettings(True, 0.10),  # share of failed requests
    "drawdown": BreakerSettings(True, 100.0),  # bps from peak equity; manual re-arm
}


@dataclass(frozen=True)
class AlertSettings:
    min_level: str = _f("info", choices=("info", "warning", "error", "critical"))
    dedupe_s: float = _f(300.0, minimum=0)
    max_per_minute: int = _f(20, minimum=1)
    retries: int = _f(3, minimum=0, maximum=10)
    backoff_s: float = _f(1.0, minimum=0)
    api_url: str = _f("https://api.telegram.org")


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach one real exchange (credentials come from secrets.json or the environment)."""

    market: str = _f("spot", choices=("spot", "swap"))
    sandbox: bool = _f(False)
    api_url: str = _f("", doc="base URL override (gateways, local tests); empty: the exchange's own")
    margin_mode: str = _f("isolated", choices=("isolated", "cross"))
    hedge_mode: bool = _f(False)
    requests_per_min: int = _f(0, minimum=0, maximum=100_000,
                               doc="the engine's request budget; 0: the exchange's published limit (seed 003)")


@dataclass(frozen=True)
class LoggingSettings:
    level: str = _f("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    dir: str = _f("data/logs")
    json_file: str = _f("engine.jsonl")


@dataclass(frozen=True)
class Credentials:
    api_key: Secret | None = None
    api_secret: Secret | None = None
    passphrase: Secret | None = None

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.api_secret)


@dataclass(frozen=True)
class TelegramSettings:
    bot_token: Secret | None = None
    chat_id: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.bot_token and self.chat_id)


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

    def connection(self, exchange: str) -> ConnectionSettings:
        return self.connections.get(exchange) or ConnectionSettings()

    # -- symbols (seed 004 "Safe List") ----------------------------------------------------------
    def active_symbols(self, exchange: str | None = None) -> list[str]:
        """Enabled symbols of ``exchange`` (default: the engine's venue), in config order."""
        table = self.symbols.get(exchange or self.engine.exchange, {})
        return [s for s, c in table.items() if c.enabled]

    def symbol_config(self, symbol: str, exchange: str | None = None) -> SymbolConfig:
        table = self.symbols.get(exchange or self.engine.exchange, {})
        if symbol not in table:
            raise KeyError(f"{symbol} is not configured for {exchange or self.engine.exchange}; "
                           f"configured: {', '.join(table) or 'none'}")
        return table[symbol]

    def mode(self, name: str | None = None) -> ModeSettings:
        return self.strategy.modes[name or self.strategy.risk_mode]


# --------------------------------------------------------------------------------------------- loading
TOP_KEYS = ("engine", "strategy", "hygiene", "symbols", "database", "logging", "sim", "exchanges", "alerts", "risk",
            "connections")


def load_config(config_dir: str | Path | None = None, env: dict[str, str] | None = None,
                root: str | Path | None = None) -> AppConfig:
    """Build the configuration from the hierarchy under ``config_dir`` (default ``config/``).

    ``env`` defaults to ``os.environ``; ``root`` (where ``.env`` and ``secrets.json`` may live) defaults to
    the config directory's parent.
    """
    cdir = Path(config_dir) if config_dir else DEFAULT_CONFIG_DIR
    root = Path(root) if root else cdir.parent
    env = dict(os.environ if env is None else env)
    origin: dict[str, str] = {}
    merged: dict[str, Any] = {}
    sources = []

    yaml_path = cdir / "config.yaml"
    if yaml_path.is_file():
        merged = _deep_merge(merged, _read_yaml(yaml_path), str(yaml_path), origin)
        sources.append(str(yaml_path))
    json_path = cdir / "config.json"
    if json_path.is_file():
        merged = _deep_merge(merged, _read_json(json_path), str(json_path), origin)
        sources.append(str(json_path))
    for where in (root / "secrets.json", cdir / "secrets.json"):
        if where.is_file():
            merged = _deep_merge(merged, _read_secrets(where), str(where), origin)
            sources.append(str(where))
            break
    dotenv = _read_dotenv(root / ".env")
    if dotenv:
        sources.append(str(root / ".env"))
    merged = _deep_merge(merged, _env_layer({**dotenv, **env}), "environment", origin)

    for key in merged:
        if key not in TOP_KEYS:
            raise ConfigError(_msg(origin, key, merged[key],
                                   f"unknown key; allowed top-level keys: {', '.join(TOP_KEYS)}"))
    cfg = AppConfig(
        engine=_build(EngineSettings, merged.get("engine", {}), "engine", origin),
        strategy=_strategy(merged.get("strategy", {}), origin),
        hygiene=_build(HygieneSettings, merged.get("hygiene", {}), "hygiene", origin),
        symbols=_symbols(merged.get("symbols", {}), origin),
        database_url=_database_url(merged.get("database", {}), origin, root),
        logging=_build(LoggingSettings, merged.get("logging", {}), "logging", origin),
        sim=_sim(merged.get("sim", {}), origin),
        credentials=_credentials(merged.get("exchanges", {}), origin),
        telegram=_telegram(merged.get("alerts", {}), origin),
        config_dir=cdir,
        sources=tuple(sources),
        risk=_risk(merged.get("risk", {}), origin),
        alerts=_build(AlertSettings, {k: v for k, v in (merged.get("alerts") or {}).items() if k != "telegram"},
                      "alerts", origin),
        connections=_connections(merged.get("connections", {}), origin),
    )
    if cfg.engine.exchange not in cfg.symbols or not cfg.active_symbols():
        raise ConfigError(_msg(origin, "engine.exchange", cfg.engine.exchange,
                               f"no enabled symbol for the engine's exchange {cfg.engine.exchange!r}; "
                               f"add symbols.{cfg.engine.exchange} with at least one enabled symbol"))
    s = cfg.strategy
    if s.min_order_usd > s.max_order_usd:
        raise ConfigError(_msg(origin, "strategy.min_order_usd", s.min_order_usd,
                               f"must be <= strategy.max_order_usd ({s.max_order_usd})"))
    return cfg


def save_overrides(changes: dict[str, Any], config_dir: str | Path | None = None) -> Path:
    """Merge ``changes`` into ``config/config.json`` atomically (write a temp file, then rename).

    The result is validated first: a change that would not load is refused with :class:`ConfigError` and the
    file is left as it was.
    """
    cdir = Path(config_dir) if config_dir else DEFAULT_CONFIG_DIR
    path = cdir / "config.json"
    current = _read_json(path) if path.is_file() else {}
    updated = _deep_merge(current, changes, str(path), {})
    if any(k in updated for k in ("exchanges", "alerts")):
        raise ConfigError(f"{path}: credentials belong in secrets.json or the environment, not in config.json")
    tmp_dir = tempfile.mkdtemp(prefix=".check-", dir=cdir)
    try:  # validate the whole hierarchy with the new file in place before replacing it
        probe = Path(tmp_dir)
        for name in ("config.yaml",):
            if (cdir / name).is_file():
                (probe / name).write_text((cdir / name).read_text())
        (probe / "config.json").write_text(json.dumps(updated))
        load_config(probe, env={}, root=probe)
    finally:
        for p in Path(tmp_dir).iterdir():
            p.unlink()
        os.rmdir(tmp_dir)
    fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".json", dir=cdir)
    with os.fdopen(fd, "w") as fh:
        json.dump(updated, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------- helpers
def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(_read_text(path)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(_read_text(path) or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be an object")
    return data


def _read_secrets(path: Path) -> dict:
    data = _read_json(path)
    for key in data:
        if key not in ("exchanges", "alerts"):
            raise ConfigError(f"{path}: unknown key {key!r}; secrets.json holds 'exchanges' and 'alerts' only")
    return data


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:]
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}:{n}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _env_layer(env: dict[str, str]) -> dict:
    layer: dict[str, Any] = {}
    for ex in ENV_EXCHANGES:
        creds = {}
        for fname, suffix in (("api_key", "API_KEY"), ("api_secret", "API_SECRET"), ("passphrase", "PASSPHRASE")):
            value = env.get(f"{ex}_{suffix}")
            if value:
                creds[fname] = value
        if creds:
            layer.setdefault("exchanges", {})[ex.lower()] = creds
    tg = {k: env[v] for k, v in (("bot_token", "TELEGRAM_BOT_TOKEN"), ("chat_id", "TELEGRAM_CHAT_ID")) if env.get(v)}
    if tg:
        layer["alerts"] = {"telegram": tg}
    if env.get("DATABASE_URL"):
        layer["database"] = {"url": env["DATABASE_URL"]}
    return layer


def _deep_merge(base: dict, top: dict, source: str, origin: dict[str, str], prefix: str = "") -> dict:
    out = dict(base)
    for k, v in top.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v, source, origin, key + ".")
        else:
            out[k] = v
            _mark(origin, key, v, source)
    return out


def _mark(origin: dict[str, str], key: str, value: Any, source: str) -> None:
    origin[key] = source
    if isinstance(value, dict):
        for k, v in value.items():
            _mark(origin, f"{key}.{k}", v, source)


def _where(origin: dict[str, str], key: str) -> str:
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        found = origin.get(".".join(parts[:i]))
        if found:
            return found
    return "defaults"


def _msg(origin: dict[str, str], key: str, value: Any, rule: str) -> str:
    """``file: key = value: rule``. A value read from a secrets file, ``.env`` or a credential variable, or held under
    a credential key, is never shown, whatever the key is called (a typo such as ``alerts.telegram.bot_tok`` too)."""
    where = _where(origin, key)
    secret = (where == "environment" or where.endswith(("secrets.json", ".env"))
              or key.split(".")[0] == "exchanges" or key.startswith("alerts.telegram")
              or any(w in key for w in ("secret", "key", "token", "passphrase", "password", "url")))
    return f"{where}: {key} = {_hidden(value) if secret else repr(value)}: {rule}"


def _hidden(value: Any) -> str:
    """A value's shape without its content: ``***`` for a scalar, keys kept for a mapping."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_hidden(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_hidden(v) for v in value) + "]"
    return "***" if value not in (None, "") else repr(value)


def _build(cls: type, raw: Any, path: str, origin: dict[str, str]) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, path, raw, "must be a mapping"))
    names = {f.name: f for f in fields(cls)}
    for k in raw:
        if k not in names:
            raise ConfigError(_msg(origin, f"{path}.{k}", raw[k], f"unknown key; allowed: {', '.join(names)}"))
    values = {}
    for name, f in names.items():
        if name not in raw:
            continue
        values[name] = _check(f, raw[name], f"{path}.{name}", origin)
    return cls(**values)


def _check(f: Any, value: Any, key: str, origin: dict[str, str]) -> Any:
    meta = f.metadata
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(_msg(origin, key, value, "must be true or false"))
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float)
                                                                             and not math.isfinite(value)):
            raise ConfigError(_msg(origin, key, value, f"must be a {'whole ' if kind == 'int' else ''}number"))
        if kind == "int" and value != int(value):
            raise ConfigError(_msg(origin, key, value, "must be a whole number"))
        if meta.get("positive") and value <= 0:
            raise ConfigError(_msg(origin, key, value, "must be greater than 0"))
        if meta.get("minimum") is not None and value < meta["minimum"]:
            raise ConfigError(_msg(origin, key, value, f"must be >= {meta['minimum']}"))
        if meta.get("maximum") is not None and value > meta["maximum"]:
            raise ConfigError(_msg(origin, key, value, f"must be <= {meta['maximum']}"))
        return int(value) if kind == "int" else float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(_msg(origin, key, value, "must be a string"))
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(_msg(origin, key, value, f"must be one of {', '.join(meta['choices'])}"))
        return value
    if kind.startswith("dict"):
        if not isinstance(value, dict):
            raise ConfigError(_msg(origin, key, value, "must be a mapping"))
        return value
    if kind.startswith("list"):
        if not isinstance(value, list):
            raise ConfigError(_msg(origin, key, value, "must be a list"))
        return value
    raise ConfigError(_msg(origin, key, value, f"cannot be set here (type {kind})"))  # pragma: no cover


def _strategy(raw: Any, origin: dict[str, str]) -> StrategySettings:
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, "strategy", raw, "must be a mapping"))
    raw = dict(raw)
    modes_raw = raw.pop("modes", {})
    skew_raw = raw.pop("skew", {})
    base = _build(StrategySettings, raw, "strategy", origin)
    if not isinstance(modes_raw, dict):
        raise ConfigError(_msg(origin, "strategy.modes", modes_raw, "must be a mapping of risk modes"))
    modes = dict(base.modes)
    for name, m in modes_raw.items():
        if name not in RISK_MODES:
            raise ConfigError(_msg(origin, f"strategy.modes.{name}", m,
                                   f"unknown risk mode; use {', '.join(RISK_MODES)}"))
        default = modes[name]
        merged = {f.name: getattr(default, f.name) for f in fields(ModeSettings)}
        built = _build(ModeSettings, m, f"strategy.modes.{name}", origin)
        merged.update({k: getattr(built, k) for k in (m or {})})
        modes[name] = ModeSettings(**merged)
    skew = _build(SkewSettings, skew_raw, "strategy.skew", origin)
    return StrategySettings(**{**{f.name: getattr(base, f.name) for f in fields(StrategySettings)},
                               "modes": modes, "skew": skew})


def _connections(raw: Any, origin: dict[str, str]) -> dict[str, ConnectionSettings]:
    raw = {} if raw is None else raw  # a section with only comments in it
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, "connections", raw, "must map exchange ids to connection settings"))
    return {name: _build(ConnectionSettings, settings, f"connections.{name}", origin) for name, settings in raw.items()}


def _risk(raw: Any, origin: dict[str, str]) -> RiskSettings:
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, "risk", raw, "must be a mapping"))
    raw = dict(raw)
    breakers_raw = raw.pop("breakers", {}) or {}
    caps_raw = raw.pop("caps", {}) or {}
    groups_raw = raw.pop("correlation_groups", {}) or {}
    base = _build(RiskSettings, raw, "risk", origin)
    if not isinstance(breakers_raw, dict):
        raise ConfigError(_msg(origin, "risk.breakers", breakers_raw, "must map breaker names to settings"))
    breakers = dict(DEFAULT_BREAKERS)
    for name, b in breakers_raw.items():
        if name not in DEFAULT_BREAKERS:
            raise ConfigError(_msg(origin, f"risk.breakers.{name}", b,
                                   f"unknown breaker; use {', '.join(DEFAULT_BREAKERS)}"))
        built = _build(BreakerSettings, b, f"risk.breakers.{name}", origin)
        default = breakers[name]
        breakers[name] = BreakerSettings(**{f.name: getattr(built if f.name in (b or {}) else default, f.name)
                                            for f in fields(BreakerSettings)})
    if not isinstance(groups_raw, dict):
        raise ConfigError(_msg(origin, "risk.correlation_groups", groups_raw, "must map group names to settings"))
    groups = {}
    for name, g in groups_raw.items():
        group = _build(CorrelationGroup, g, f"risk.correlation_groups.{name}", origin)
        if not isinstance(group.symbols, list) or not all(isinstance(s, str) and "/" in s for s in group.symbols):
            raise ConfigError(_msg(origin, f"risk.correlation_groups.{name}.symbols", group.symbols,
                                   "must be a list of symbols like BTC/USDT"))
        groups[name] = group
    return RiskSettings(**{**{f.name: getattr(base, f.name) for f in fields(RiskSettings)},
                           "breakers": breakers, "caps": _build(CapSettings, caps_raw, "risk.caps", origin),
                           "correlation_groups": groups})


def _symbols(raw: Any, origin: dict[str, str]) -> dict[str, dict[str, SymbolConfig]]:
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, "symbols", raw, "must map exchange ids to symbol tables"))
    out: dict[str, dict[str, SymbolConfig]] = {}
    for exchange, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(_msg(origin, f"symbols.{exchange}", table, "must map symbols to their settings"))
        out[exchange] = {}
        for symbol, settings in table.items():
            if not isinstance(symbol, str) or "/" not in symbol:
                raise ConfigError(_msg(origin, f"symbols.{exchange}.{symbol}", symbol,
                                       "symbols are written like BTC/USDT (spot) or BTC/USDT:USDT (perpetual)"))
            out[exchange][symbol] = sc = _build(SymbolConfig, settings, f"symbols.{exchange}.{symbol}", origin)
            _check_strategy(sc, f"symbols.{exchange}.{symbol}", origin)
    return out


def _check_strategy(sc: SymbolConfig, key: str, origin: dict[str, str]) -> None:
    """The symbol's strategy is registered and its params are ones it has, within their rules."""
    from engine.strategies import StrategyParamError, strategy_class

    try:
        strategy_class(sc.strategy).check(sc.params)
    except StrategyParamError as exc:
        sub = str(exc).split(" = ", 1)[0]  # strategy | params.<name>
        raise ConfigError(f"{_where(origin, f'{key}.{sub}')}: {key}.{exc}") from None


def _database_url(raw: Any, origin: dict[str, str], root: Path) -> str:
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, "database", raw, "must be a mapping with a url"))
    for k in raw:
        if k != "url":
            raise ConfigError(_msg(origin, f"database.{k}", raw[k], "unknown key; allowed: url"))
    url = raw.get("url", "sqlite:///data/marketmaker.db")
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(_msg(origin, "database.url", url, "must be a URL like sqlite:///data/marketmaker.db "
                                                            "or postgresql+psycopg://user:pass@host/db"))
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        url = "sqlite:///" + str((root / url[len("sqlite:///"):]).resolve())
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sim(raw: Any, origin: dict[str, str]) -> dict:
    try:
        parse_sim_config(raw)
    except SimConfigError as exc:
        key = str(exc).split(" ", 1)[0].rstrip(":")
        raise ConfigError(f"{_where(origin, key if key.startswith('sim') else 'sim')}: {exc}") from None
    return dict(raw or {})


def _credentials(raw: Any, origin: dict[str, str]) -> dict[str, Credentials]:
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, "exchanges", raw, "must map exchange ids to credentials"))
    out = {}
    for ex, creds in raw.items():
        if not isinstance(creds, dict):
            raise ConfigError(_msg(origin, f"exchanges.{ex}", creds, "must hold api_key, api_secret[, passphrase]"))
        for k, v in creds.items():
            if k not in CREDENTIAL_FIELDS:
                raise ConfigError(_msg(origin, f"exchanges.{ex}.{k}", "***",
                                       f"unknown key; allowed: {', '.join(CREDENTIAL_FIELDS)}"))
            if not isinstance(v, str):
                raise ConfigError(_msg(origin, f"exchanges.{ex}.{k}", "***", "must be a string"))
        out[ex] = Credentials(**{k: Secret(v) for k, v in creds.items() if v})
    return out


def _telegram(raw: Any, origin: dict[str, str]) -> TelegramSettings:
    if not isinstance(raw, dict):
        raise ConfigError(_msg(origin, "alerts", raw, "must be a mapping"))
    for k in raw:
        if k not in ("telegram", *(f.name for f in fields(AlertSettings))):
            raise ConfigError(_msg(origin, f"alerts.{k}", raw[k], "unknown key; allowed: telegram, "
                                   + ", ".join(f.name for f in fields(AlertSettings))))
    tg = raw.get("telegram", {}) or {}
    for k in tg:
        if k not in ("bot_token", "chat_id"):
            raise ConfigError(_msg(origin, f"alerts.telegram.{k}", tg[k], "unknown key; allowed: bot_token, chat_id"))
    token = tg.get("bot_token")
    chat = tg.get("chat_id")
    return TelegramSettings(bot_token=Secret(str(token)) if token else None, chat_id=str(chat) if chat else None)

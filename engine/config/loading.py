"""Loading the configuration (:func:`load_config`) and saving the console's changes (:func:`save_overrides`)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from engine.config.appconfig import AppConfig
from engine.config.credentials import Credentials, Secret, TelegramSettings
from engine.config.file import ConfigFile
from engine.config.layers import deep_merge, read_json, read_layers
from engine.config.messages import ConfigError, from_validation, message, where
from engine.config.models import AlertSettings, SymbolConfig
from engine.exchanges.sim.config import SimConfigError, parse_sim_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR = PROJECT_ROOT / "config"
TOP_KEYS = tuple(ConfigFile.__pydantic_fields__)
_FILE = TypeAdapter(ConfigFile)


def load_config(config_dir: str | Path | None = None, env: dict[str, str] | None = None,
                root: str | Path | None = None) -> AppConfig:
    """Build the configuration from the hierarchy under ``config_dir`` (default ``config/``).

    ``env`` defaults to ``os.environ``; ``root`` (where ``.env`` and ``secrets.json`` may live) defaults to
    the config directory's parent. A wrong key, type or value raises :class:`ConfigError` naming the file, the
    key, the value and the rule.
    """
    cdir = Path(config_dir) if config_dir else DEFAULT_CONFIG_DIR
    if config_dir and not cdir.is_dir():
        raise ConfigError(f"config folder {cdir}: no such folder; give --config the folder that holds config.yaml "
                          f"(the default is {DEFAULT_CONFIG_DIR})")
    if config_dir and not any((cdir / name).is_file() for name in ("config.yaml", "config.json")):
        raise ConfigError(f"config folder {cdir} holds no config.yaml (nor config.json); copy "
                          f"{DEFAULT_CONFIG_DIR / 'config.yaml'} there or point --config at the right folder")
    root = Path(root) if root else cdir.parent
    raw, origin, sources = read_layers(cdir, root, dict(os.environ if env is None else env))
    try:
        parsed = _FILE.validate_python(raw)
    except ValidationError as exc:
        raise from_validation(exc, raw, origin, ConfigFile) from None
    symbols = _with_tiers(parsed, raw, origin, sources)
    for exchange, table in symbols.items():
        for symbol, sc in table.items():
            _check_strategy(sc, f"symbols.{exchange}.{symbol}", origin)
    _check_sim(raw.get("sim"), origin)
    alerts = parsed.alerts
    tg = alerts.telegram
    cfg = AppConfig(
        engine=parsed.engine, strategy=parsed.strategy, hygiene=parsed.hygiene, symbols=symbols,
        database_url=_database_url(parsed.database.url, root), logging=parsed.logging, sim=dict(parsed.sim),
        credentials={ex: Credentials(**{k: Secret(v) for k, v in vars(c).items() if v})
                     for ex, c in parsed.exchanges.items()},
        telegram=TelegramSettings(bot_token=Secret(str(tg.bot_token)) if tg.bot_token else None,
                                  chat_id=str(tg.chat_id) if tg.chat_id else None),
        config_dir=cdir, sources=tuple(sources), risk=parsed.risk,
        alerts=AlertSettings(**{k: getattr(alerts, k) for k in AlertSettings.__pydantic_fields__}),
        connections=parsed.connections, tiers=parsed.tiers, metrics=parsed.metrics,
        funding=parsed.funding, pnl_harvest=parsed.pnl_harvest, symbol_universe=parsed.symbol_universe,
        cross_exchange_arbitrage=parsed.cross_exchange_arbitrage, retention=parsed.retention,
    )
    if cfg.engine.exchange not in cfg.symbols or not cfg.active_symbols():
        raise ConfigError(message(origin, "engine.exchange", cfg.engine.exchange,
                                  f"no enabled symbol for the engine's exchange {cfg.engine.exchange!r}; "
                                  f"add symbols.{cfg.engine.exchange} with at least one enabled symbol"))
    s = cfg.strategy
    if s.min_order_usd > s.max_order_usd:
        raise ConfigError(message(origin, "strategy.min_order_usd", s.min_order_usd,
                                  f"must be <= strategy.max_order_usd ({s.max_order_usd})"))
    u = cfg.symbol_universe
    if u.min_symbols > u.max_symbols:
        raise ConfigError(message(origin, "symbol_universe.min_symbols", u.min_symbols,
                                  f"must be <= symbol_universe.max_symbols ({u.max_symbols})"))
    return cfg


def save_overrides(changes: dict[str, Any], config_dir: str | Path | None = None,
                   replace: tuple[str, ...] | None = None) -> Path:
    """Merge ``changes`` into ``config/config.json`` atomically (write a temp file, then rename).

    The result is validated first: a change that would not load is refused with :class:`ConfigError` and the
    file is left as it was. ``replace`` names a key path whose value is replaced rather than merged into (a
    symbol's params when its strategy changes).
    """
    cdir = Path(config_dir) if config_dir else DEFAULT_CONFIG_DIR
    path = cdir / "config.json"
    current = read_json(path) if path.is_file() else {}
    if replace:  # the value at this key path is replaced by the one in ``changes``, not merged into
        holder = current
        for key in replace[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict):
            holder.pop(replace[-1], None)
    updated = deep_merge(current, changes, str(path), {})
    if "exchanges" in updated or "telegram" in (updated.get("alerts") or {}):  # alert settings are fine there
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


def _with_tiers(parsed: ConfigFile, raw: dict, origin: dict[str, str],
                sources: list[str]) -> dict[str, dict[str, SymbolConfig]]:
    """Each symbol's leverage and position cap from its tier where it gives none; a leverage above the tier's
    ``max_leverage`` is refused. Where a symbol has both names of its position cap (``max_position_size_usd`` and
    the older ``max_position_usd``), the one from the later layer wins."""
    order = [*sources, "environment"]
    out: dict[str, dict[str, SymbolConfig]] = {}
    for exchange, table in parsed.symbols.items():
        out[exchange] = {}
        for symbol, sc in table.items():
            given = ((raw.get("symbols") or {}).get(exchange) or {}).get(symbol) or {}
            tier = parsed.tiers[sc.tier]
            changes: dict[str, Any] = {}
            if "leverage" not in given:
                changes["leverage"] = tier.leverage
            if "max_position_size_usd" not in given and "max_position_usd" not in given:
                changes["max_position_size_usd"] = changes["max_position_usd"] = tier.max_position_size_usd
            elif "max_position_size_usd" in given and "max_position_usd" in given:
                key = f"symbols.{exchange}.{symbol}."
                new, old = (order.index(o) if o in order else -1 for o in (
                    where(origin, key + "max_position_size_usd"), where(origin, key + "max_position_usd")))
                if old > new:
                    changes["max_position_size_usd"] = given["max_position_usd"]
            sc = replace(sc, **changes) if changes else sc
            if sc.leverage > tier.max_leverage:
                key = f"symbols.{exchange}.{symbol}.leverage"
                raise ConfigError(message(origin, key, sc.leverage,
                                          f"above the {sc.tier} tier's max_leverage {tier.max_leverage}; lower it, "
                                          f"or raise tiers.{sc.tier}.max_leverage"))
            out[exchange][symbol] = sc
    return out


def _check_strategy(sc: SymbolConfig, key: str, origin: dict[str, str]) -> None:
    """The symbol's strategy is registered and its params are ones it has, within their rules."""
    from engine.strategies import StrategyParamError, strategy_class

    try:
        strategy_class(sc.strategy).check(sc.params)
    except StrategyParamError as exc:
        sub = str(exc).split(" = ", 1)[0]  # strategy | params.<name>
        raise ConfigError(f"{where(origin, f'{key}.{sub}')}: {key}.{exc}") from None


def _check_sim(raw: Any, origin: dict[str, str]) -> None:
    try:
        parse_sim_config(raw)
    except SimConfigError as exc:
        key = str(exc).split(" ", 1)[0].rstrip(":")
        raise ConfigError(f"{where(origin, key if key.startswith('sim') else 'sim')}: {exc}") from None


def _database_url(url: str, root: Path) -> str:
    """A relative SQLite path is taken from ``root``; ``postgresql://`` uses the psycopg 3 driver."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        url = "sqlite:///" + str((root / url[len("sqlite:///"):]).resolve())
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url

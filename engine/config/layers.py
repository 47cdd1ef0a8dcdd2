"""The configuration's layers, read and merged: each file or variable overrides the one before, and every key
remembers which layer set it (so an error can name the file).

1. ``config/config.yaml``: every key, commented, with its default;
2. ``config/config.json``: runtime overrides; the console saves its changes here (atomically);
3. ``secrets.json`` (project root or ``config/``): credentials;
4. ``.env`` and then the process environment (``KUCOIN_API_KEY``, ``BINANCE_API_SECRET``, ``TELEGRAM_BOT_TOKEN``,
   ``DATABASE_URL``, ...): override everything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from engine.config.messages import ConfigError

ENV_EXCHANGES = ("BINANCE", "KUCOIN", "OKX", "BYBIT", "GATE", "HUOBI", "HTX", "KRAKEN", "COINBASE", "BITFINEX")


def read_layers(cdir: Path, root: Path, env: dict[str, str]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The merged layers under ``cdir`` and ``root`` plus ``env``: (values, key -> layer that set it, files read)."""
    origin: dict[str, str] = {}
    merged: dict[str, Any] = {}
    sources = []
    yaml_path = cdir / "config.yaml"
    if yaml_path.is_file():
        merged = deep_merge(merged, _read_yaml(yaml_path), str(yaml_path), origin)
        sources.append(str(yaml_path))
    json_path = cdir / "config.json"
    if json_path.is_file():
        merged = deep_merge(merged, read_json(json_path), str(json_path), origin)
        sources.append(str(json_path))
    for path in (root / "secrets.json", cdir / "secrets.json"):
        if path.is_file():
            merged = deep_merge(merged, _read_secrets(path), str(path), origin)
            sources.append(str(path))
            break
    dotenv = _read_dotenv(root / ".env")
    if dotenv:
        sources.append(str(root / ".env"))
    merged = deep_merge(merged, _env_layer({**dotenv, **env}), "environment", origin)
    return merged, origin, sources


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None


# libyaml's parser where PyYAML has it: the same documents as safe_load, parsed ~10x faster
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(_read_text(path), Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def read_json(path: Path) -> dict:
    """A JSON file holding an object."""
    try:
        data = json.loads(_read_text(path) or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be an object")
    return data


def _read_secrets(path: Path) -> dict:
    data = read_json(path)
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


def deep_merge(base: dict, top: dict, source: str, origin: dict[str, str], prefix: str = "") -> dict:
    """``top`` over ``base``, recording in ``origin`` that ``source`` set each key of ``top``."""
    out = dict(base)
    for k, v in top.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v, source, origin, key + ".")
        else:
            out[k] = v
            _mark(origin, key, v, source)
    return out


def _mark(origin: dict[str, str], key: str, value: Any, source: str) -> None:
    origin[key] = source
    if isinstance(value, dict):
        for k, v in value.items():
            _mark(origin, f"{key}.{k}", v, source)

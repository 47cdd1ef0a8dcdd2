"""What a configuration error says: ``file: key = value: rule``, with any value that may be a secret hidden."""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import ValidationError


class ConfigError(ValueError):
    """A configuration value is wrong; the message says where, what and how to fix it."""


TYPE_RULES = {
    "int_type": "must be a whole number", "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number", "float_type": "must be a number", "float_parsing": "must be a number",
    "finite_number": "must be a number", "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "string_type": "must be a string", "dict_type": "must be a mapping", "dataclass_type": "must be a mapping",
    "list_type": "must be a list", "missing_argument": "is required", "missing": "is required",
}
MAPPING_RULES = {  # what a mapping holds, where "must be a mapping" says too little
    "symbols": "must map exchange ids to symbol tables",
    "symbols.*": "must map symbols to their settings",
    "exchanges": "must map exchange ids to credentials",
    "exchanges.*": "must hold api_key, api_secret[, passphrase]",
    "connections": "must map exchange ids to connection settings",
    "database": "must be a mapping with a url",
    "strategy.modes": "must be a mapping of risk modes",
    "risk.breakers": "must map breaker names to settings",
    "risk.correlation_groups": "must map group names to settings",
}


def where(origin: dict[str, str], key: str) -> str:
    """The layer (file, ``environment`` or ``defaults``) that set ``key`` or the nearest section above it."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        found = origin.get(".".join(parts[:i]))
        if found:
            return found
    return "defaults"


def message(origin: dict[str, str], key: str, value: Any, rule: str) -> str:
    """``file: key = value: rule``. A value read from a secrets file, ``.env`` or a credential variable, or held under
    a credential key, is never shown, whatever the key is called (a typo such as ``alerts.telegram.bot_tok`` too)."""
    source = where(origin, key)
    secret = (source == "environment" or source.endswith(("secrets.json", ".env"))
              or key.split(".")[0] == "exchanges" or key.startswith("alerts.telegram")
              or any(w in key for w in ("secret", "key", "token", "passphrase", "password", "url")))
    return f"{source}: {key} = {hidden(value) if secret else repr(value)}: {rule}"


def hidden(value: Any) -> str:
    """A value's shape without its content: ``***`` for a scalar, keys kept for a mapping."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {hidden(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hidden(v) for v in value) + "]"
    return "***" if value not in (None, "") else repr(value)


def from_validation(exc: ValidationError, raw: dict, origin: dict[str, str], schema: type) -> ConfigError:
    """The first thing pydantic found wrong in ``raw`` (validated as ``schema``), as one :func:`message`."""
    err = exc.errors(include_url=False)[0]
    parts, value = _walk(raw, err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "unknown_name":
        parts, value = parts + [str(ctx["name"])], (value or {}).get(ctx["name"])
    key = ".".join(parts)
    if kind == "unexpected_keyword_argument":
        allowed = _fields_at(schema, parts[:-1])
        rule = (f"unknown key; allowed top-level keys: {', '.join(allowed)}" if len(parts) == 1
                else f"unknown key; allowed: {', '.join(allowed)}")
    elif kind in ("dict_type", "dataclass_type"):
        rule = next((r for p, r in MAPPING_RULES.items() if _matches(p, parts)), TYPE_RULES[kind])
    elif kind in ("greater_than", "greater_than_equal", "less_than_equal", "less_than"):
        sign, bound = {"greater_than": ("greater than", "gt"), "greater_than_equal": (">=", "ge"),
                       "less_than_equal": ("<=", "le"), "less_than": ("less than", "lt")}[kind]
        rule = f"must be {sign} {_number(ctx[bound])}"
    elif kind == "rule_at":  # a rule on a table's entry (a breaker's threshold): point at the entry's key
        parts, value = _walk(raw, (*err["loc"], *ctx["path"].split(".")))
        key, rule = ".".join(parts), ctx["rule"]
    elif kind == "value_error":
        rule = str(ctx.get("error", err["msg"]))
    else:
        rule = TYPE_RULES.get(kind, err["msg"])
    return ConfigError(message(origin, key, value, rule))


def _walk(raw: Any, loc: tuple) -> tuple[list[str], Any]:
    """The key path and value ``loc`` points at in ``raw``; pydantic's own parts (``[key]``, union tags) drop out."""
    parts: list[str] = []
    value = raw
    for part in loc:
        if isinstance(value, dict) and part in value:
            parts.append(str(part))
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            parts.append(str(part))
            value = value[part]
        elif not isinstance(value, (dict, list)) or part == "[key]" or not isinstance(part, str):
            continue
        else:  # a key that is not there (a missing argument)
            parts.append(str(part))
            value = None
    return parts, value


def _matches(pattern: str, parts: list[str]) -> bool:
    want = pattern.split(".")
    return len(want) == len(parts) and all(w in ("*", p) for w, p in zip(want, parts, strict=True))


def _unwrap(kind: Any) -> Any:
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    return kind


def _fields_at(schema: type, parts: list[str]) -> list[str]:
    """The keys the section at ``parts`` allows."""
    kind: Any = schema
    for part in parts:
        kind = _unwrap(kind)
        if is_dataclass(kind):
            info = kind.__pydantic_fields__.get(part)
            if info is None:
                return []
            kind = info.annotation
        elif get_origin(kind) is dict:
            kind = get_args(kind)[1]
        else:
            return []
    kind = _unwrap(kind)
    return list(kind.__pydantic_fields__) if is_dataclass(kind) else []


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)

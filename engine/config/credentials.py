"""Credentials as the engine holds them: :class:`Secret` values that never print themselves."""

from __future__ import annotations

from dataclasses import dataclass

CREDENTIAL_FIELDS = ("api_key", "api_secret", "passphrase")


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
    """A preview that gives nothing away: at most 4 characters at each end and never more than a third of the value
    (``68da...97a4`` for a 36-character key, ``ab...z`` for a 9-character one); ``••••••`` when even a third is under
    two characters; ``(not set)`` for none. Plain text (no markdown characters), so a page shows it as it is."""
    if not value:
        return "(not set)"
    shown = min(8, len(value) // 3)
    if shown < 2:
        return "••••••"
    head, tail = (shown + 1) // 2, shown // 2
    return f"{value[:head]}...{value[-tail:]}"


@dataclass(frozen=True)
class Credentials:
    """One exchange's API key, secret and (KuCoin, OKX) passphrase."""

    api_key: Secret | None = None
    api_secret: Secret | None = None
    passphrase: Secret | None = None

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.api_secret)


@dataclass(frozen=True)
class TelegramSettings:
    """Where alerts go: a bot token (secret) and a chat id."""

    bot_token: Secret | None = None
    chat_id: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.bot_token and self.chat_id)

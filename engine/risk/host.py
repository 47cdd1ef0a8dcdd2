"""What the risk manager needs from the engine that hosts it, and what it may do: a narrow interface instead of the
Engine class, so ``engine/risk`` never imports ``engine/runtime``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine as DbEngine

from engine.clock import Clock
from engine.config import AppConfig

if TYPE_CHECKING:
    from engine.trader import Trader


class RiskHost(Protocol):
    """Read: config, clock, store, traders, state, start time, peak equity, marks. Act: pause (through the traders'
    gates and cancels under ``work``), kill, alert, note equity."""

    config: AppConfig
    clock: Clock
    db: DbEngine
    work: threading.RLock
    traders: list[Trader]
    state: str
    started_ms: int | None
    peak_equity: float | None

    def marks(self, balance: dict, api: Any = None, symbols: list[str] | None = None, views: dict | None = None,
              feed: Any = None) -> dict[str, float]: ...

    def equity_of(self, balance: dict, marks: dict[str, float]) -> float: ...

    def note_equity(self, equity: float) -> float: ...

    def kill(self, reason: str, close_positions: bool = False, source: str = "operator") -> dict: ...

    def alert(self, level: str, kind: str, message: str, key: str | None = None) -> None: ...

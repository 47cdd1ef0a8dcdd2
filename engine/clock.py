"""Clocks injected into everything that needs the time.

Engine and venue code never read the wall clock directly: they take a :class:`Clock`.
:class:`WallClock` serves live and paper trading; :class:`SimClock` serves replays and tests,
which move it by hand (``advance``) or let ``sleep`` move it, so simulated latency costs no real time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the engine and the venues know of time."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a simulated clock just moves forward)."""


class WallClock:
    """The real time of this machine."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class SimClock:
    """A clock that only moves when told to; thread-safe.

    ``start_ms`` defaults to 2024-01-01T00:00:00Z so timestamps look like real venue timestamps.
    """

    DEFAULT_START_MS = 1_704_067_200_000

    def __init__(self, start_ms: int | None = None) -> None:
        self._ms = int(self.DEFAULT_START_MS if start_ms is None else start_ms)
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self._ms

    def advance(self, seconds: float) -> int:
        """Move forward by ``seconds`` (must not be negative); returns the new time in ms."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds})")
        with self._lock:
            self._ms += int(round(seconds * 1000))
            return self._ms

    def set_ms(self, ms: int) -> None:
        """Jump to ``ms``; never backwards."""
        with self._lock:
            if ms < self._ms:
                raise ValueError(f"a clock cannot go back: {ms} < {self._ms}")
            self._ms = int(ms)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)


def iso8601(ms: int) -> str:
    """``2024-01-01T00:00:00.000Z`` for a time in ms, as ccxt formats it (the date worked out once a day, the rest
    once a second: a CSV of a million fills, or a simulated venue's answers a few ms apart, format fast)."""
    global _last_second
    seconds, milli = divmod(int(ms), 1000)
    last = _last_second
    if last[0] == seconds:
        return f"{last[1]}.{milli:03d}Z"
    day, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, rest = divmod(rest, 60)
    head = f"{_day(day)}T{hours:02d}:{minutes:02d}:{rest:02d}"
    _last_second = (seconds, head)  # one tuple, swapped whole: safe across threads
    return f"{head}.{milli:03d}Z"


_last_second: tuple[int, str] = (-1, "")


@lru_cache(maxsize=1024)
def _day(days: int) -> str:
    """``2024-01-01`` for a count of days since 1970-01-01."""
    return datetime.fromtimestamp(days * 86_400, tz=UTC).strftime("%Y-%m-%d")

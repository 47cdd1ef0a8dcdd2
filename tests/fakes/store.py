"""A store whose writes fail on demand, as a locked SQLite past its busy timeout, a full disk or a dropped PostgreSQL
connection make them fail: every INSERT, UPDATE or DELETE on that database raises SQLAlchemy's ``OperationalError``
while armed. Reads keep working (they do on a full disk). Hooked through SQLAlchemy's own connection events."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

WRITES = ("INSERT", "UPDATE", "DELETE")


class FailingStore:
    """``fail(n)`` makes the next ``n`` writes fail (all of them with no ``n``); ``heal()`` ends it."""

    def __init__(self, db: Engine, message: str = "database or disk is full") -> None:
        self.db = db
        self.message = message
        self.left: float = 0
        self.failed = 0
        event.listen(db, "before_cursor_execute", self._before)

    def fail(self, times: int | None = None) -> FailingStore:
        self.left = math.inf if times is None else times
        return self

    def heal(self) -> None:
        self.left = 0

    def close(self) -> None:
        event.remove(self.db, "before_cursor_execute", self._before)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self.left and statement.lstrip().upper().startswith(WRITES):
            self.left -= 1
            self.failed += 1
            raise OperationalError(statement, parameters, Exception(self.message))

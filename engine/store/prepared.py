"""Core statements compiled once per database and run straight on the connection's DB-API cursor.

The store's hottest writes (an order's change, a fill, its position) are small statements run a few hundred times
in a backtest and all day live. SQLAlchemy's per-execution work around them (the compiled-cache lookup, the execution
context, parameter processing, the result object) cost more than the database did: about 175 us a statement against
SQLite's own 10-70 us. A :class:`Prepared` statement keeps SQLAlchemy's SQL (compiled for the connection's dialect, so
SQLite and PostgreSQL each get their own, with SQLAlchemy's bind processors applied) and the connection's transaction,
and raises SQLAlchemy's own exceptions, so callers handle a failed store exactly as before.

While cursor events are listened to on the engine (``before_cursor_execute``: a test's failing store, a statement
counter), the statement runs through SQLAlchemy as usual, so those listeners see every write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

Row = tuple[Any, ...]


class Prepared:
    """One Core statement, compiled per dialect and set of parameter names on first use."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple, tuple] = {}  # (dialect, parameter names) -> _for's answer

    def execute(self, conn: Connection, params: dict[str, Any]) -> tuple[int, list[Row]]:
        """Run once with ``params``; returns (rows affected, rows returned)."""
        if _listened(conn):
            res = conn.execute(self.statement, params)
            return res.rowcount, [tuple(r) for r in res.all()] if res.returns_rows else []
        sql, binds, positional = self._for(conn, params)
        return _run(conn, sql, _args(binds, positional, params), many=False)

    def executemany(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Run once per row of ``rows`` (all with the same names), in one call to the driver."""
        if not rows:
            return
        if _listened(conn):
            conn.execute(self.statement, rows)
            return
        sql, binds, positional = self._for(conn, rows[0])
        _run(conn, sql, [_args(binds, positional, r) for r in rows], many=True)

    def _for(self, conn: Connection, params: dict[str, Any]) -> tuple[str, list, bool]:
        """The SQL for this connection's dialect, its parameters' names in order with their bind processors, and
        whether the driver takes them by position."""
        dialect = conn.dialect
        key = (dialect.name, dialect.driver, dialect.server_version_info, tuple(params))
        got = self._compiled.get(key)
        if got is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(params))
            names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
            binds = []
            for name in names:
                bind = compiled.binds[name]
                if bind.expanding or name not in params:
                    raise ValueError(f"Prepared: parameter {name!r} must be given, and not as an expanding IN")
                binds.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect)))
            got = self._compiled[key] = (compiled.string, binds, compiled.positional)
        return got


def _run(conn: Connection, sql: str, args: Any, many: bool) -> tuple[int, list[Row]]:
    """``sql`` on a cursor of ``conn``'s DB-API connection, in its transaction; the driver's errors as SQLAlchemy's."""
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, args)
            return cursor.rowcount, []
        cursor.execute(sql, args)
        return cursor.rowcount, cursor.fetchall() if cursor.description else []
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, cursor, sql, args, exc) from exc
    finally:
        cursor.close()


def _args(binds: list[tuple[str, Callable[[Any], Any] | None]], positional: bool,
          params: dict[str, Any]) -> tuple | dict:
    values = [(proc(params[name]) if proc is not None and params[name] is not None else params[name])
              for name, proc in binds]
    return tuple(values) if positional else dict(zip([n for n, _ in binds], values, strict=True))


def _listened(conn: Connection) -> bool:
    dispatch = conn.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _wrapped(conn: Connection, cursor: Any, sql: str, args: Any, exc: Exception) -> DBAPIError:
    """The driver's error as SQLAlchemy would raise it (``OperationalError``, ``IntegrityError``, ...); a connection
    the database dropped is invalidated, so the pool does not hand it out again."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if lost:
        conn.invalidate(exc)
    return DBAPIError.instance(sql, args, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                               connection_invalidated=lost, dialect=dialect)

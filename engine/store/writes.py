"""Writing to the store where a plain ``session.add`` is not enough: order changes as prepared Core statements that
leave the in-memory records whole when a commit fails, and the engine's small key/value state."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, update
from sqlmodel import Session, select

from engine.store.prepared import Prepared
from engine.store.tables import EngineState, OrderRecord


class StoreUnavailable(RuntimeError):
    """A write to the store failed (locked SQLite past its busy timeout, a full disk, a dropped PostgreSQL
    connection). What was not written is kept in memory and written again on the next try."""

    def __init__(self, what: str, cause: BaseException) -> None:
        reason = str(getattr(cause, "orig", None) or cause).splitlines()[0][:200]
        super().__init__(f"the store could not be written ({what}): {reason}; {advice(reason)}")
        self.cause = cause


def advice(reason: str) -> str:
    """What to do about a failed write, from the database's own words."""
    low = reason.lower()
    if "full" in low or "no space" in low:
        return ("the disk holding the store is full: free space there (data/logs and old backups are the usual "
                "suspects; the retention job keeps the store itself small)")
    if "readonly" in low or "read-only" in low or "permission" in low:
        return ("the store file or its folder is read-only: make data/ (or the folder in database.url) writable by "
                "this user, or point database.url at a writable place")
    if "locked" in low:
        return "another program holds the database locked: close it (a DB browser, a second engine)"
    return ("check the disk space, that the database file is writable and not locked by another program, or that "
            "PostgreSQL is up")


def save_orders(conn: Connection, records: list[OrderRecord], check_existing: bool = False) -> list[int]:
    """Write ``records`` (inserts and updates) in ``conn``'s transaction, Core statements only: the records stay out
    of any session, so a failed commit leaves them whole in memory. Returns the new rows' ids, in the order of the
    records that had none.

    ``check_existing`` first looks the new records up by client order id (after a commit that failed, the database
    may hold them already)."""
    new = [r for r in records if r.id is None]
    old = [{**r.model_dump(exclude={"id"}), "b_id": r.id} for r in records if r.id is not None]
    ids: dict[str, int] = {}
    if check_existing and new:
        ids = dict(conn.execute(select(OrderRecord.client_order_id, OrderRecord.id).where(
            OrderRecord.client_order_id.in_([r.client_order_id for r in new]))).all())
        old += [{**r.model_dump(exclude={"id"}), "b_id": ids[r.client_order_id]} for r in new
                if r.client_order_id in ids]
        new = [r for r in new if r.client_order_id not in ids]
    if old:
        _UPDATE_ORDER.executemany(conn, old)
    for r in new:  # one at a time: the driver returns rows of one statement only
        ids[r.client_order_id] = _INSERT_ORDER.execute(conn, r.model_dump(exclude={"id"}))[1][0][0]
    return [ids[r.client_order_id] for r in records if r.id is None]


_ORDERS = OrderRecord.__table__
_UPDATE_ORDER = Prepared(update(_ORDERS).where(_ORDERS.c.id == bindparam("b_id")).values(
    {c.name: bindparam(c.name) for c in _ORDERS.c if c.name != "id"}))
_INSERT_ORDER = Prepared(insert(_ORDERS).returning(_ORDERS.c.id))


def get_state(session: Session, key: str) -> str | None:
    row = session.get(EngineState, key)
    return row.value if row else None


def set_state(session: Session, key: str, value: str, now_ms: int) -> None:
    row = session.get(EngineState, key)
    if row is None:
        session.add(EngineState(key=key, value=value, updated_ms=now_ms))
    else:
        row.value = value
        row.updated_ms = now_ms
        session.add(row)

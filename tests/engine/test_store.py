"""The store on SQLite and on a real PostgreSQL (TEST_POSTGRES_URL; .ci/run starts one on 127.0.0.1)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from engine.ledger import Ledger
from engine.store import OrderRecord, TradeRecord, TradingLock, TradingLockError, make_engine

TABLES = {"trades", "positions", "system_metrics", "circuit_breaker_events", "exchange_health", "alerts",
          "balance_snapshots", "orders", "engine_state"}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TEST_POSTGRES_URL is not set (bash .ci/postgres.sh starts a local server and prints it)")
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    engine.dispose()
    return url


def trade(tid: str, side: str, price: float, amount: float, ts: int, symbol: str = "BTC/USDT") -> dict:
    return {"id": tid, "order": "o" + tid, "clientOrderId": "mm-x-" + tid, "symbol": symbol, "side": side,
            "price": price, "amount": amount, "cost": price * amount, "timestamp": ts, "takerOrMaker": "maker",
            "fee": {"cost": price * amount * 0.0002, "currency": "USDT"}}


def test_tables_and_indexes_exist(db_url):
    engine = make_engine(db_url)
    insp = inspect(engine)
    assert TABLES <= set(insp.get_table_names())
    trade_indexes = {i["name"] for i in insp.get_indexes("trades")}
    assert "ix_trades_exchange_symbol_ts" in trade_indexes and "ix_trades_ts" in trade_indexes
    if db_url.startswith("sqlite"):
        with engine.connect() as c:
            assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert c.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_each_fill_is_stored_exactly_once(db_url):
    engine = make_engine(db_url)
    ledger = Ledger("sim")
    fills = [trade("1", "buy", 100.0, 2.0, 1_000), trade("2", "buy", 110.0, 2.0, 2_000),
             trade("3", "sell", 120.0, 3.0, 3_000)]
    with Session(engine) as s:
        assert len(ledger.record(s, fills, {})) == 3
        s.commit()
    with Session(engine) as s:  # the same fills again (a retry, a restart, an overlapping poll)
        assert ledger.record(s, fills + [trade("4", "sell", 90.0, 1.0, 4_000)], {}) != []
        s.commit()
    with Session(engine) as s:
        rows = s.exec(select(TradeRecord).order_by(TradeRecord.ts)).all()
        assert [r.trade_id for r in rows] == ["1", "2", "3", "4"]
        # avg cost 105: sell 3 @ 120 realizes 45; sell 1 @ 90 realizes -15 ; flat afterwards
        assert [round(r.realized_pnl, 9) for r in rows] == [0.0, 0.0, 45.0, -15.0]
        s.add(TradeRecord(exchange="sim", symbol="BTC/USDT", trade_id="1", side="buy", price=1, amount=1, cost=1,
                          ts=5))
        with pytest.raises(IntegrityError):
            s.commit()
    pos = ledger.position("BTC/USDT")
    assert pos.qty == 0 and pos.realized_pnl == pytest.approx(30.0)


def test_time_range_queries(db_url):
    engine = make_engine(db_url)
    with Session(engine) as s:
        Ledger("sim").record(s, [trade(str(i), "buy" if i % 2 else "sell", 100.0, 1.0, i * 1000) for i in range(50)],
                             {})
        s.commit()
        got = s.exec(select(TradeRecord).where(TradeRecord.exchange == "sim", TradeRecord.symbol == "BTC/USDT",
                                               TradeRecord.ts >= 10_000, TradeRecord.ts < 20_000)).all()
        assert len(got) == 10


def test_order_client_ids_are_unique(db_url):
    engine = make_engine(db_url)
    with Session(engine) as s:
        s.add(OrderRecord(exchange="sim", symbol="BTC/USDT", client_order_id="mm-a-1", side="buy", amount=1))
        s.commit()
        s.add(OrderRecord(exchange="sim", symbol="BTC/USDT", client_order_id="mm-a-1", side="sell", amount=1))
        with pytest.raises(IntegrityError):
            s.commit()


def test_trading_lock_admits_one_holder(db_url):
    engine = make_engine(db_url)
    first, second = TradingLock(db_url, engine), TradingLock(db_url, make_engine(db_url))
    first.acquire()
    try:
        with pytest.raises(TradingLockError, match="already trading"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()


def test_a_spot_fee_in_the_base_currency_comes_off_the_position_and_the_equity_agrees(tmp_path):
    from engine.ledger import store_equity

    db = make_engine(f"sqlite:///{tmp_path}/store.db")
    buy = {**trade("1", "buy", 100.0, 1.0, 1_000), "fee": {"cost": 0.001, "currency": "BTC"}}  # Binance spot buy
    sell = {**trade("2", "sell", 110.0, 0.5, 2_000), "fee": {"cost": 0.011, "currency": "USDT"}}
    ledger = Ledger("binance")
    with Session(db) as s:
        ledger.record(s, [buy, sell], {})
        s.commit()
    pos = ledger.position("BTC/USDT")
    assert pos.qty == pytest.approx(0.499)  # received 0.999 BTC, sold 0.5
    assert pos.fees == pytest.approx(0.1 + 0.011)  # the BTC fee valued at the fill price
    with Session(db) as s:
        equity = store_equity(s, "binance", {"USDT": 1000.0}, {"BTC": 120.0}, set())
    # what the account holds: 1000 - 100 + 55 - 0.011 USDT and 0.499 BTC at 120
    assert equity == pytest.approx(1000 - 100 + 55 - 0.011 + 0.499 * 120)
    realized_plus_unrealized = pos.realized_pnl + pos.unrealized(120.0) - pos.fees
    assert 1000 + realized_plus_unrealized == pytest.approx(equity)


def test_a_store_from_before_the_ref_mid_column_gets_it(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the orders table as the first release made it
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, exchange TEXT, symbol TEXT, client_order_id TEXT, "
                   "exchange_order_id TEXT, side TEXT, type TEXT, level INTEGER, price FLOAT, amount FLOAT, "
                   "filled FLOAT, average FLOAT, status TEXT, reason TEXT, created_ms BIGINT, updated_ms BIGINT, "
                   "closed_ms BIGINT)")
        db.execute("INSERT INTO orders VALUES (1, 'sim', 'BTC/USDT', 'mm-a-1', '7', 'buy', 'limit', 0, 100.0, 1.0, "
                   "0.0, NULL, 'open', 'mid=100.5', 1, 1, NULL)")
    db = make_engine(f"sqlite:///{path}")
    with Session(db) as s:
        (row,) = s.exec(select(OrderRecord)).all()
    assert row.client_order_id == "mm-a-1" and row.ref_mid is None


def _order(cid: str, **kw) -> OrderRecord:
    return OrderRecord(exchange="sim", symbol="BTC/USDT", client_order_id=cid, side="buy", level=0, price=100.5,
                       amount=0.25, status="pending", ref_mid=100.6, created_ms=1, updated_ms=1, **kw)


def _stored_orders(engine) -> list[tuple]:
    with Session(engine) as s:
        return [tuple(r.model_dump().values()) for r in s.exec(select(OrderRecord).order_by(OrderRecord.id)).all()]


def test_prepared_writes_store_what_sqlalchemy_stores(db_url):
    """Order writes and a fill's rows run on the driver's cursor; with a cursor listener on the engine (here a
    statement counter) they run through SQLAlchemy instead, which its listeners see. Both store the same rows."""
    from sqlalchemy import event

    from engine.store import save_orders

    def write(engine) -> None:
        records = [_order("mm-a-1"), _order("mm-a-2", closed_ms=None)]
        with engine.begin() as c:
            ids = save_orders(c, records)
        assert ids == sorted(ids) and len(set(ids)) == 2
        for rec, new_id in zip(records, ids, strict=True):
            rec.id = new_id
        records[0].status, records[0].exchange_order_id, records[0].filled = "open", "77", 0.1
        records[1].status, records[1].closed_ms, records[1].reason = "canceled", 5, "stale"
        with engine.begin() as c:
            assert save_orders(c, records) == []
            save_orders(c, [_order("mm-a-3")])
        with Session(engine) as s:
            Ledger("sim").record(s, [trade("1", "buy", 100.0, 2.0, 1_000)], {})
            s.commit()

    def stored(engine) -> tuple[list, list]:
        with Session(engine) as s:
            fills = [(t.trade_id, t.price, t.amount, t.fee, t.ts) for t in s.exec(select(TradeRecord)).all()]
        return _stored_orders(engine), fills

    fast = make_engine(db_url)
    write(fast)
    first = stored(fast)
    SQLModel.metadata.drop_all(fast)
    fast.dispose()
    slow = make_engine(db_url)  # the same database afresh, with a cursor listener
    seen: list[str] = []
    event.listen(slow, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0]))
    write(slow)
    assert seen.count("INSERT") >= 4 and seen.count("UPDATE") >= 2  # the listener saw every write
    assert stored(slow) == first
    assert len(first[0]) == 3 and first[1] == [("1", 100.0, 2.0, pytest.approx(0.04), 1_000)]


def test_a_prepared_write_the_database_refuses_raises_sqlalchemys_error(db_url):
    """A real refusal (a read-only connection or transaction), not a fake: the driver's error comes out as
    SQLAlchemy's, which the trader turns into "the store could not be written" and keeps the change queued."""
    from sqlalchemy.exc import DBAPIError

    from engine.store import StoreUnavailable, save_orders

    engine = make_engine(db_url)
    with engine.connect() as c:
        if db_url.startswith("sqlite"):
            c.exec_driver_sql("PRAGMA query_only=ON")
        else:
            c.exec_driver_sql("SET TRANSACTION READ ONLY")
        try:
            with pytest.raises(DBAPIError, match="readonly|read-only") as err:
                save_orders(c, [_order("mm-b-1")])
            assert "mm-b-1" not in str(err.value)  # parameters are not shown
            assert "read" in str(StoreUnavailable("order changes", err.value)).lower()
        finally:
            c.rollback()
            if db_url.startswith("sqlite"):
                c.exec_driver_sql("PRAGMA query_only=OFF")
    assert _stored_orders(engine) == []


def test_a_connection_the_database_dropped_is_invalidated(db_url):
    """PostgreSQL ends our session (a restart, a failover): the prepared write raises SQLAlchemy's error, the
    connection is invalidated, and the next transaction gets a fresh one that writes."""
    from sqlalchemy.exc import DBAPIError

    from engine.store import save_orders

    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to drop the connection")
    engine = make_engine(db_url)
    with engine.connect() as c:
        pid = c.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(DBAPIError) as err:
            save_orders(c, [_order("mm-c-1")])
        assert err.value.connection_invalidated and c.invalidated
    with engine.begin() as c:
        assert len(save_orders(c, [_order("mm-c-2")])) == 1
    with Session(engine) as s:
        assert s.exec(select(OrderRecord.client_order_id)).all() == ["mm-c-2"]

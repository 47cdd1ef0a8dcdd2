"""The store: SQLModel tables, the database engine factory, the writes that must survive a failed commit, and the
one-trader-per-database lock.

- :mod:`engine.store.tables`: the tables;
- :mod:`engine.store.opening`: :func:`make_engine` and :class:`StoreOpenError`;
- :mod:`engine.store.writes`: :func:`save_orders`, :class:`StoreUnavailable`, :func:`get_state` / :func:`set_state`;
- :mod:`engine.store.lock`: :class:`TradingLock`.
"""

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from engine.store.lock import TradingLock, TradingLockError
from engine.store.opening import ADDED_COLUMNS, StoreOpenError, make_engine, shown_url
from engine.store.tables import (
                                 Alert,
                                 ArbitrageTrade,
                                 BacktestRun,
                                 BacktestSeries,
                                 BalanceSnapshot,
                                 CircuitBreakerEvent,
                                 EngineState,
                                 ExchangeHealth,
                                 FundingPayment,
                                 OrderRecord,
                                 PositionRecord,
    SignalRecord,
                                 SystemMetric,
                                 TradeRecord,
)
from engine.store.writes import StoreUnavailable, get_state, save_orders, set_state

__all__ = [
    "ADDED_COLUMNS", "Alert", "ArbitrageTrade", "BacktestRun", "BacktestSeries",
    "BalanceSnapshot", "CircuitBreakerEvent", "EngineState", "ExchangeHealth", "FundingPayment", "OrderRecord",
    "PositionRecord", "SignalRecord", "SQLAlchemyError", "Session", "StoreOpenError", "StoreUnavailable",
    "SystemMetric",
    "TradeRecord", "TradingLock", "TradingLockError", "get_state", "make_engine", "save_orders", "select",
    "set_state", "shown_url",
]

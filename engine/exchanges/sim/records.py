"""The venue's own records: orders (with their queue position) and one-minute candles."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field, fields

MINUTE_MS = 60_000
TIMEFRAMES_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
                 "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}


@dataclass(slots=True)
class SimOrder:
    """An order as the venue keeps it; ``queue_ahead`` is the displayed size ahead of it at its price."""

    id: str
    client_id: str | None
    symbol: str
    side: str
    type: str
    tif: str
    post_only: bool
    reduce_only: bool
    position_side: str | None
    amount: float
    price: float | None
    tick: int | None
    ts: int
    leverage: int = 1
    margin_mode: str = "cross"
    status: str = "open"
    filled: float = 0.0
    cost: float = 0.0
    fee: float = 0.0
    last_trade_ts: int | None = None
    updated_ts: int | None = None
    queue_ahead: float = 0.0
    level_seen: float = 0.0  # the level's displayed size when last looked at (the probabilistic queue model)
    reserve_code: str | None = None
    reserve_amount: float = 0.0
    trade_ids: list[str] = field(default_factory=list)
    trigger_price: float | None = None  # a stop-loss / take-profit / trigger order: a market order once reached
    trigger_above: bool = False  # fires when the mid rises to trigger_price (else when it falls to it)
    trigger_kind: str | None = None  # stopLossPrice | takeProfitPrice | triggerPrice (the param it was given)

    @property
    def waiting(self) -> bool:
        """A trigger order not fired yet: not in the book, not matched."""
        return self.trigger_price is not None and self.tick is None and self.status == "open"

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"

    @property
    def remaining(self) -> float:
        return max(self.amount - self.filled, 0.0)

    def state(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> SimOrder:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in state.items() if k in names})


class CandleSeries:
    """One-minute OHLCV built from trade prints, a week deep."""

    def __init__(self, maxlen: int = 10_080) -> None:
        self.rows: deque[list[float]] = deque(maxlen=maxlen)

    def extend(self, rows: list[list[float]]) -> None:
        for r in rows:
            self.rows.append(list(r))

    def add(self, ts_ms: int, price: float, qty: float) -> None:
        minute = ts_ms - ts_ms % MINUTE_MS
        rows = self.rows
        if rows and rows[-1][0] == minute:
            c = rows[-1]
            if price > c[2]:
                c[2] = price
            if price < c[3]:
                c[3] = price
            c[4] = price
            c[5] += qty
            return
        if rows and rows[-1][0] > minute:
            return  # a late print for a closed minute
        if rows:  # quiet minutes are flat candles at the last close
            prev = rows[-1][4]
            t = rows[-1][0] + MINUTE_MS
            while t < minute and minute - t <= 2 * 86_400_000:
                rows.append([t, prev, prev, prev, prev, 0.0])
                t += MINUTE_MS
        rows.append([minute, price, price, price, price, qty])

    def ohlcv(self, timeframe: str, since: int | None, limit: int | None, now_ms: int) -> list[list[float]]:
        size = TIMEFRAMES_MS[timeframe]
        out: list[list[float]] = []
        for ts, o, h, lo, c, v in self.rows:
            if ts > now_ms:
                break
            bucket = ts - ts % size
            if since is not None and bucket < since - since % size:
                continue
            if out and out[-1][0] == bucket:
                row = out[-1]
                row[2] = max(row[2], h)
                row[3] = min(row[3], lo)
                row[4] = c
                row[5] += v
            else:
                out.append([int(bucket), o, h, lo, c, v])
        if limit is not None:
            out = out[:limit] if since is not None else out[-limit:]
        return out

    def window(self, start_ms: int) -> list[list[float]]:
        return [r for r in self.rows if r[0] >= start_ms]

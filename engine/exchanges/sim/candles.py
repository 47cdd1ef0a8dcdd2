"""A coarse market source from one-minute candle CSVs: a synthetic book around each candle's path.

Within each minute the mid walks open -> low -> high -> close (or open -> high -> low -> close for a
falling candle) in straight lines; the synthetic book machinery lays levels around it and sends taker
flow sized so a minute trades about the candle's volume. File names say the market:
``BTC_USDT-1m.csv.gz`` is BTC/USDT spot, ``BTC-PERP_FTX-1m_2022-01.csv.gz`` the BTC/USDT:USDT perpetual
(FTX files give volume in USD, Binance files in the base currency).
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from engine.exchanges.sim.markets import MarketSpec, known_market
from engine.exchanges.sim.replay import ReplayDataError
from engine.exchanges.sim.source import MarketSink
from engine.exchanges.sim.synthetic import MINUTE_MS, SyntheticSource

_NAME = re.compile(r"^(?P<base>[A-Z0-9]+)(?:[_-](?P<quote>USDT|USDC|USD|PERP))")


def _symbol_of(path: str) -> tuple[str, bool]:
    name = Path(path).name.upper()
    m = _NAME.match(name)
    if not m:
        raise ReplayDataError(f"{path}: cannot tell the market from the file name (expected e.g. BTC_USDT-1m.csv.gz)")
    base, quote = m.group("base"), m.group("quote")
    if quote == "PERP":
        return f"{base}/USDT:USDT", "FTX" in name
    return f"{base}/USDT", "FTX" in name


def _parse_time(value: str) -> int:
    value = value.strip()
    if value.isdigit():
        n = int(value)
        return n if n > 10**11 else n * 1000
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def load_candles(path: str) -> list[tuple[int, float, float, float, float, float]]:
    """(ts_ms, open, high, low, close, volume) rows of a candle CSV (gzip or plain)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            text = io.TextIOWrapper(fh, encoding="utf-8")
            reader = csv.DictReader(text)
            cols = {c.lower(): c for c in reader.fieldnames or []}
            tcol = cols.get("date") or cols.get("timestamp") or cols.get("time")
            if tcol is None or not {"open", "high", "low", "close", "volume"} <= set(cols):
                raise ReplayDataError(f"{path}: needs columns date|timestamp, open, high, low, close, volume")
            rows = [(_parse_time(r[tcol]), float(r[cols["open"]]), float(r[cols["high"]]), float(r[cols["low"]]),
                     float(r[cols["close"]]), float(r[cols["volume"]])) for r in reader]
    except (OSError, ValueError, KeyError) as exc:
        raise ReplayDataError(f"{path}: cannot read candles ({exc})") from exc
    if not rows:
        raise ReplayDataError(f"{path}: no candles")
    rows.sort()
    return rows


class CandleSource(SyntheticSource):
    """Replays candle files as a continuous market with a synthetic book."""

    def __init__(self, files: list[str] | tuple[str, ...], seed: int, step_ms: int) -> None:
        self.candles: dict[str, list[tuple[int, float, float, float, float, float]]] = {}
        self._times: dict[str, list[int]] = {}
        specs: dict[str, MarketSpec] = {}
        for f in files:
            symbol, quote_volume = _symbol_of(f)
            spec = known_market(symbol)
            if spec is None:
                raise ReplayDataError(f"{f}: market {symbol} is not one the simulated venue lists")
            rows = load_candles(f)
            if quote_volume:
                rows = [(t, o, h, lo, c, v / c) for t, o, h, lo, c, v in rows]
            self.candles[symbol] = rows
            self._times[symbol] = [r[0] for r in rows]
            specs[symbol] = spec
        self._first = min(rows[0][0] for rows in self.candles.values())
        self._last_minute: dict[str, int] = {}
        self.finished = False
        super().__init__(specs, seed, step_ms, start_ms=self._first, warmup_minutes=0)

    def start_ms(self) -> int | None:
        return self._first

    def jump_to(self, ms: int) -> None:
        """Start the market at ``ms`` (a later window of the files) without simulating what comes before; the
        files' candles before ``ms`` (a day at most) become the venue's candle history."""
        self.now_ms = ms
        for s, sim in self.sims.items():
            sim.reset(self._path_price(s, ms))
        self._history = {}
        for s, rows in self.candles.items():
            i = bisect.bisect_left(self._times[s], ms - ms % MINUTE_MS)
            self._history[s] = [list(r) for r in rows[max(0, i - 1440):i]]

    def _path_price(self, symbol: str, ts_ms: int) -> float:
        times, rows = self._times[symbol], self.candles[symbol]
        i = bisect.bisect_right(times, ts_ms) - 1
        if i < 0:
            return rows[0][1]
        t, o, h, lo, c, _ = rows[i]
        f = (ts_ms - t) / MINUTE_MS
        if f >= 1.0:  # past the last candle (or a gap): stay at its close
            return c
        a, b = (lo, h) if c >= o else (h, lo)
        points = (o, a, b, c)
        x = f * 3.0
        k = min(int(x), 2)
        return points[k] + (points[k + 1] - points[k]) * (x - k)

    def _mid(self, symbol: str) -> float:
        return self._path_price(symbol, self.now_ms)

    def step(self, ts_ms: int, dt_s: float, sink: MarketSink) -> None:
        for s, sim in self.sims.items():
            minute = ts_ms - ts_ms % MINUTE_MS
            if self._last_minute.get(s) != minute:
                self._last_minute[s] = minute
                i = bisect.bisect_right(self._times[s], ts_ms) - 1
                if 0 <= i < len(self.candles[s]):
                    _, _, _, _, c, v = self.candles[s][i]
                    rate = sim.profile.taker_rate
                    sim.profile = replace(sim.profile, taker_usd=max(v * c / 60.0 / rate, 1e-9))
            sim.step(ts_ms, self._path_price(s, ts_ms), dt_s, 1.0, self._blowout_half_bps(s, ts_ms), sink)
        last = max(rows[-1][0] for rows in self.candles.values()) + MINUTE_MS
        self.finished = ts_ms >= last

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        """A candle replay always starts from its files' beginning."""


__all__ = ["CandleSource", "load_candles"]

"""What a directional strategy says about one symbol on its latest closed candle (seed 004 ``Signal``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SignalType(StrEnum):
    """BUY and SELL open (or add to) a position; CLOSE flattens it; HOLD does nothing."""

    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"
    CLOSE = "CLOSE"


@dataclass(frozen=True)
class Signal:
    """A strategy's call: its type, how sure it is (0-1), where it would enter, its stop loss and take profit (price
    levels, where it has them) and why, in words."""

    type: SignalType
    confidence: float = 0.0
    entry: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    reasoning: str = ""
    candle_ms: int = 0  # the closed candle it was made on

    @property
    def side(self) -> str | None:
        """The order side of an entry: ``buy`` for BUY, ``sell`` for SELL, else None."""
        return {"BUY": "buy", "SELL": "sell"}.get(self.type.value)

    def line(self, symbol: str) -> str:
        """The seed's log line: ``BTC/USDT - Signal: BUY (confidence: 65%)``."""
        return f"{symbol} - Signal: {self.type.value} (confidence: {self.confidence:.0%})"


HOLD = Signal(SignalType.HOLD)

__all__ = ["HOLD", "Signal", "SignalType"]

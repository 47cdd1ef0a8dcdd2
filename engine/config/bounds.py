"""Sane upper bounds for the settings that protect money, in one place: the config models refuse values past them
and the console's forms state them beside each field.

A huge number never switches a protection off (a drawdown threshold of 1e12 bps would let the kill switch never
trip): a breaker is switched off with ``enabled: false`` (on the Risk controls page, a switch with a confirmation).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """A setting's range: greater than (or at least, with ``inclusive``) ``low``, at most ``high``, in ``unit``."""

    low: float
    high: float
    unit: str
    inclusive: bool = False

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range (the rule, as a config error or a form says it), or None."""
        if value != value:  # NaN
            return "must be a number"
        if self.inclusive and value < self.low:
            return f"must be at least {_num(self.low)}"
        if not self.inclusive and value <= self.low:
            return f"must be greater than {_num(self.low)}"
        if value > self.high:
            return f"must be at most {_num(self.high)}"
        return None

    def scaled(self, scale: float, unit: str | None = None) -> Bound:
        """The same range as a form shows it (``scale`` 100 for a share typed in %)."""
        return Bound(self.low * scale, self.high * scale, self.unit if unit is None else unit, self.inclusive)

    def describe(self) -> str:
        """``above 10 to 10,000 ms``, the text a form shows beside the field."""
        low = f"{'from' if self.inclusive else 'above'} {_num(self.low)}"
        return f"{low} to {_num(self.high)} {self.unit}".strip()


# breaker thresholds, in each breaker's own unit (error_rate is a share: 0.10 = 10% of requests)
BREAKER_THRESHOLDS: dict[str, Bound] = {
    "latency": Bound(10, 10_000, "ms"),
    "spread": Bound(1, 1_000, "bps"),
    "volatility": Bound(0.1, 50, "%"),
    "error_rate": Bound(0.01, 1.0, ""),
    "drawdown": Bound(5, 2_000, "bps"),
}
BREAKER_COOLDOWN_S = Bound(0, 86_400, "s", inclusive=True)

MAX_INVENTORY_PER_SYMBOL_USD = Bound(0, 1_000_000, "USDT")
MAX_INVENTORY_PER_EXCHANGE_USD = Bound(0, 5_000_000, "USDT")
MAX_INVENTORY_GLOBAL_USD = Bound(0, 10_000_000, "USDT")
MODE_MAX_INVENTORY_USD = MAX_INVENTORY_PER_SYMBOL_USD
MAX_OPEN_ORDERS_PER_SYMBOL = Bound(1, 100, "orders", inclusive=True)
MAX_OPEN_ORDERS_GLOBAL = Bound(1, 5_000, "orders", inclusive=True)
LEVERAGE = Bound(1, 125, "x", inclusive=True)


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,g}"

# market making's knobs as the Trading settings page offers them (the config itself takes any positive value)
QUOTING: dict[str, Bound] = {
    "spread_bps": Bound(0, 1_000, "bps"),
    "step_bps": Bound(0, 200, "bps", inclusive=True),
    "min_spread_bps": Bound(0, 1_000, "bps", inclusive=True),
    "volume_factor": Bound(0, 100, ""),
    "usd_per_order": Bound(0, 100_000, "USDT"),
    "min_order_usd": Bound(0, 100_000, "USDT"),
    "max_order_usd": Bound(0, 1_000_000, "USDT"),
    "levels": Bound(1, 20, "levels", inclusive=True),
    "margin_pct": Bound(0, 100, "%", inclusive=True),
    "gamma": Bound(0, 10, "", inclusive=True),
    "tau_s": Bound(0, 3_600, "s"),
    "size_shrink": Bound(0, 1, "", inclusive=True),
    "max_order_age_s": Bound(0, 86_400, "s"),
    "drift_bps": Bound(0, 1_000, "bps"),
    "stale_depth_bps": Bound(0, 5_000, "bps"),
    "max_replacements_per_cycle": Bound(1, 1_000, "per cycle", inclusive=True),
    "min_requote_interval_ms": Bound(0, 60_000, "ms", inclusive=True),
}

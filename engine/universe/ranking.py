"""The symbol universe's ranking and choice, as pure functions over measured markets.

A market passes the filters when its 24 h volume is at least ``min_volume_usd``, its spread at most
``max_spread_bps`` and its depth (the thinner side's notional within ``depth_bps`` of the mid) at least
``min_depth_usd``. Passing markets are scored by percentile rank among themselves: 50% volume, 30% depth, 20%
spread (tighter is better), so a score of 1.0 is the best market on all three. The choice keeps the safe list, then
takes the best-scored until ``max_symbols``; when fewer than ``min_symbols`` would remain, members that now fail the
filters are held (best volume first) rather than dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

WEIGHTS = {"volume": 0.5, "depth": 0.3, "spread": 0.2}


@dataclass(frozen=True)
class Candidate:
    """One market as measured: its 24 h volume (quote currency), spread and depth; None where not measured."""

    symbol: str
    volume_usd: float | None
    spread_bps: float | None
    depth_usd: float | None = None
    note: str = ""  # why a measure is missing (the book could not be read, ...)


@dataclass(frozen=True)
class Filters:
    min_volume_usd: float
    max_spread_bps: float
    min_depth_usd: float
    depth_bps: float


@dataclass(frozen=True)
class Ranked:
    """A candidate with its score (0..1) and rank among the passing (1 is best), or why it fails."""

    symbol: str
    score: float
    rank: int | None
    volume_usd: float | None
    spread_bps: float | None
    depth_usd: float | None
    fails: str = ""

    @property
    def passes(self) -> bool:
        return not self.fails

    def describe(self, depth_bps: float) -> str:
        """The measures in words: ``24 h volume $12.3M, spread 1.2 bps, depth $45.0k within 10 bps``."""
        parts = []
        if self.volume_usd is not None:
            parts.append(f"24 h volume {money(self.volume_usd)}")
        if self.spread_bps is not None:
            parts.append(f"spread {self.spread_bps:.1f} bps")
        if self.depth_usd is not None:
            parts.append(f"depth {money(self.depth_usd)} within {depth_bps:g} bps")
        return ", ".join(parts)


def money(usd: float) -> str:
    """``$12.3M``, ``$45.0k``, ``$950``."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(usd) >= size:
            return f"${usd / size:.1f}{unit}"
    return f"${usd:,.0f}"


def failure(c: Candidate, f: Filters) -> str:
    """Why ``c`` fails the filters, or ``""``."""
    if c.spread_bps is None:
        return c.note or "no two-sided market"
    if c.volume_usd is None or c.volume_usd < f.min_volume_usd:
        return f"24 h volume {money(c.volume_usd or 0.0)} < {money(f.min_volume_usd)}"
    if c.spread_bps > f.max_spread_bps:
        return f"spread {c.spread_bps:.1f} bps > {f.max_spread_bps:g} bps"
    if c.depth_usd is None:
        return c.note or "depth not measured"
    if c.depth_usd < f.min_depth_usd:
        return f"depth {money(c.depth_usd)} < {money(f.min_depth_usd)} within {f.depth_bps:g} bps"
    return ""


def _percentiles(values: list[float]) -> list[float]:
    """Each value's percentile rank (0 the lowest, 1 the highest; ties share the mean of their places)."""
    n = len(values)
    if n == 1:
        return [1.0]
    order = sorted(range(n), key=lambda i: values[i])
    out = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 / (n - 1)
        i = j + 1
    return out


def rank(candidates: Iterable[Candidate], filters: Filters) -> list[Ranked]:
    """The passing candidates by score (best first, ranked 1..n), then the failing ones by volume."""
    cands = list(candidates)
    why = {c.symbol: failure(c, filters) for c in cands}
    good = [c for c in cands if not why[c.symbol]]
    out: list[Ranked] = []
    if good:
        vol = _percentiles([c.volume_usd or 0.0 for c in good])
        depth = _percentiles([c.depth_usd or 0.0 for c in good])
        spread = _percentiles([-(c.spread_bps or 0.0) for c in good])
        scored = [(WEIGHTS["volume"] * v + WEIGHTS["depth"] * d + WEIGHTS["spread"] * s, c)
                  for v, d, s, c in zip(vol, depth, spread, good, strict=True)]
        scored.sort(key=lambda x: (-x[0], -(x[1].volume_usd or 0.0), x[1].symbol))
        out = [Ranked(c.symbol, round(score, 4), i + 1, c.volume_usd, c.spread_bps, c.depth_usd)
               for i, (score, c) in enumerate(scored)]
    bad = sorted((c for c in cands if why[c.symbol]), key=lambda c: (-(c.volume_usd or 0.0), c.symbol))
    return out + [Ranked(c.symbol, 0.0, None, c.volume_usd, c.spread_bps, c.depth_usd, why[c.symbol]) for c in bad]


def merge(rankings: dict[str, list[Ranked]], strategy: str, filters: Filters) -> list[Ranked]:
    """One ranking from each exchange's, scored again over the merged measures (scores of different exchanges
    are not comparable): ``union`` takes a symbol that passes anywhere, measured where it trades most;
    ``intersection`` only a symbol that passes on every exchange, measured at its worst. Failing ones follow."""
    if len(rankings) == 1:
        return next(iter(rankings.values()))
    by_symbol: dict[str, list[Ranked]] = {}
    for ranked in rankings.values():
        for r in ranked:
            by_symbol.setdefault(r.symbol, []).append(r)
    good: list[Candidate] = []
    bad: list[Ranked] = []
    for symbol, rs in by_symbol.items():
        passing = [r for r in rs if r.passes]
        if strategy == "intersection":
            if len(passing) == len(rankings):
                good.append(Candidate(symbol, min(r.volume_usd or 0.0 for r in rs),
                                      max(r.spread_bps or 0.0 for r in rs), min(r.depth_usd or 0.0 for r in rs)))
                continue
            worst = next((r for r in rs if not r.passes), rs[0])
            bad.append(replace(worst, score=0.0, rank=None, fails=worst.fails or
                               f"not listed on {len(rankings) - len(rs)} of {len(rankings)} exchanges"))
        elif passing:
            best = max(passing, key=lambda r: r.volume_usd or 0.0)
            good.append(Candidate(symbol, best.volume_usd, best.spread_bps, best.depth_usd))
        else:
            bad.append(max(rs, key=lambda r: r.volume_usd or 0.0))
    bad.sort(key=lambda r: (-(r.volume_usd or 0.0), r.symbol))
    return rank(good, filters) + bad


def choose(ranked: list[Ranked], safe: Iterable[str], current: Iterable[str], min_symbols: int, max_symbols: int,
           depth_bps: float) -> dict[str, str]:
    """The universe: symbol -> why it is in it, in the order chosen (safe list, ranked, held for ``min_symbols``)."""
    members: dict[str, str] = {s: "safe list" for s in safe}
    total = sum(1 for r in ranked if r.passes)
    for r in ranked:
        if len(members) >= max_symbols or not r.passes:
            break
        if r.symbol not in members:
            members[r.symbol] = f"rank {r.rank} of {total}: {r.describe(depth_bps)}"
    if len(members) < min_symbols:
        held = [r for r in ranked if r.symbol in set(current) and r.symbol not in members and not r.passes]
        for r in held[:min_symbols - len(members)]:
            members[r.symbol] = f"held for min_symbols ({min_symbols}): {r.fails}"
    return members

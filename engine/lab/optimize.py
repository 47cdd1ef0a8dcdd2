"""The sweep's optimiser mode: Optuna's TPE sampler searches a space of params instead of walking a grid.

``--param spread_bps=2:12`` is a range (whole numbers when both ends are, else real numbers), ``--param
levels=1,3,5`` a choice. Trials run ``workers`` at a time (local processes or Ray, :mod:`engine.lab.cluster`); the
objective (net PnL by default) is maximised. Seeded, so a search can be repeated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.lab.cluster import run_all

OBJECTIVES = ("net_pnl", "return_over_trade_bps", "sharpe", "markout_10s_bps", "fills")


@dataclass(frozen=True)
class Dimension:
    """One param's search space: a range ``low``..``high`` (``integer`` or real) or a list of ``choices``."""

    name: str
    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple | None = None

    def corners(self) -> list[Any]:
        """The values a check before the search tries: both ends, or every choice."""
        return list(self.choices) if self.choices is not None else [self.low, self.high]

    def suggest(self, trial: Any) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        return trial.suggest_float(self.name, float(self.low), float(self.high))


def dimension(name: str, text: str, read: Callable[[str], Any]) -> Dimension:
    """``2:12`` (a range) or ``1,3,5`` (choices), each value read by ``read`` (YAML)."""
    if ":" in text and "," not in text:
        lo_text, _, hi_text = text.partition(":")
        lo, hi = read(lo_text), read(hi_text)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
            raise ValueError(f"--param {name}={text}: a range is two numbers, e.g. {name}=2:12")
        if lo >= hi:
            raise ValueError(f"--param {name}={text}: the range's low end must be below its high end")
        return Dimension(name, lo, hi, integer=isinstance(lo, int) and isinstance(hi, int))
    return Dimension(name, choices=tuple(read(v) for v in text.split(",")))


def optimize(files: list[str], space: list[Dimension], trials: int, options: dict[str, Any], workers: int = 1,
             objective: str = "net_pnl", seed: int = 7,
             progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Run ``trials`` backtests chosen by TPE; returns every trial's row (``trial`` numbered from 0), in order."""
    import optuna

    from engine.sweep import run_point

    if objective not in OBJECTIVES:
        raise ValueError(f"--objective {objective!r}: use one of {', '.join(OBJECTIVES)}")
    if trials < 1:
        raise ValueError("--optimize N: N must be at least 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    rows: list[dict[str, Any]] = []
    while len(rows) < trials:
        batch = [study.ask() for _ in range(min(max(workers, 1), trials - len(rows)))]
        points = [{d.name: d.suggest(t) for d in space} for t in batch]
        results = dict(run_all(run_point, [(files, p, options) for p in points], workers))
        for i, t in enumerate(batch):
            row = {"trial": t.number, **results[i]}
            value = row.get(objective)
            if value is None:  # e.g. no fill to take a markout of: the trial says nothing about the objective
                study.tell(t, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(t, float(value))
            rows.append(row)
            if progress:
                progress(len(rows), trials)
    return rows

"""The strategy lab: kept backtest runs (:mod:`engine.lab.runs`), backtests and sweeps in a worker process with
progress and cancel (:mod:`engine.lab.worker`), the Optuna optimiser (:mod:`engine.lab.optimize`) and the Ray
cluster path (:mod:`engine.lab.cluster`)."""

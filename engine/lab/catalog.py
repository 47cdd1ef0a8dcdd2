"""The data a lab run can use: Binance captures and one-minute candle files found in the data folders.

Folders: ``../shared/data`` beside the checkout (the recorded markets), ``data/captures`` in the checkout, and the
folders in ``$MM_LAB_DATA`` (separated by ``:``). Each file is identified from its first line (captures) or its name
(candles); a file that is neither is listed with the reason, not hidden."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.backtest import is_candle_file

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DataFile:
    """One data file: its path, ``capture`` or ``candles`` (or ``unusable``), the market, and a label."""

    path: str
    kind: str
    symbol: str
    label: str
    problem: str = ""


def data_folders() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("MM_LAB_DATA", "").split(os.pathsep) if p]
    return [p for p in (ROOT.parent / "shared" / "data", ROOT / "data" / "captures", *extra) if p.is_dir()]


def identify_file(path: Path) -> DataFile:
    """What ``path`` holds, by the replay's and the candle reader's own rules (read once per file version: the lab
    page lists the files at every render)."""
    stat = path.stat()
    return _identify(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _identify(name: str, _mtime_ns: int, _size: int) -> DataFile:
    from engine.exchanges.sim.candles import _symbol_of
    from engine.exchanges.sim.capture_columns import ReplayDataError, identify, spec_for

    path = Path(name)
    try:
        if is_candle_file(str(path)):
            symbol, _ = _symbol_of(str(path))
            return DataFile(str(path), "candles", symbol, f"candles {symbol} · {path.name}")
        sym_id, futures = identify(str(path))
        symbol = spec_for(sym_id, futures, str(path)).symbol
        return DataFile(str(path), "capture", symbol,
                        f"{'perp' if futures else 'spot'} {symbol} · {path.parent.name}/{path.name}")
    except (ReplayDataError, OSError) as exc:
        return DataFile(str(path), "unusable", "", path.name, str(exc))


def data_files() -> list[DataFile]:
    """Every ``.gz`` / ``.csv`` file under the data folders, captures first, then candles, then the unusable."""
    found = []
    for folder in data_folders():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".gz", ".csv") and "trades" not in path.parts:
                found.append(identify_file(path))
    order = {"capture": 0, "candles": 1, "unusable": 2}
    return sorted(found, key=lambda f: (order[f.kind], f.symbol, f.path))

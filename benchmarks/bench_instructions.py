"""Instructions one warm backtest executes, counted by valgrind (cachegrind): a measure of the engine's work that this
shared machine's noise does not move, for comparing commits.

Run: PYTHONPATH=. python benchmarks/bench_instructions.py [--quote-ms 250]   (needs valgrind and ../shared/data)

The backtest of the two BTCUSDT spot captures (``bench_lab.FILES``) runs once and twice in fresh interpreters under
``valgrind --tool=cachegrind --cache-sim=no``; the difference is the second, warm run (capture cache built, code
imported). ``PYTHONHASHSEED`` is fixed, yet repeats of one commit still differ by up to 10% (why is not known;
addresses differ from run to run), so compare medians of two or three. Each count takes about a minute and a half.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = """
import sys
sys.path.insert(0, "benchmarks")
from bench_lab import FILES
from engine.backtest import run_backtest
for _ in range({runs}):
    s = run_backtest(FILES, quote_ms={quote_ms})
print("fills", s["fills"], "realized", s["realized_pnl"])
"""


def count(runs: int, quote_ms: int) -> tuple[int, str]:
    """Instructions of a fresh interpreter running the backtest ``runs`` times, and what it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}  # the same dict and set orders every time
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          sys.executable, "-c", RUN.format(runs=runs, quote_ms=quote_ms)],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    refs = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if refs is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{out.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quote-ms", type=int, default=250)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    one, _ = count(1, args.quote_ms)
    two, result = count(2, args.quote_ms)
    print(f"warm backtest, quoting every {args.quote_ms} ms: {(two - one) / 1e6:,.0f} M instructions "
          f"(a fresh process with its first run: {one / 1e6:,.0f} M); {result}")


if __name__ == "__main__":
    main()

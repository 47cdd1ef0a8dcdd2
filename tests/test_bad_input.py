"""Every bad input an operator has hit ends in one line naming the problem and the fix, never a traceback, and
leaves the store as it was: `python -m engine run` is started on each (in parallel, on this machine's 2 cores)."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.clock import WallClock
from engine.exchanges import create_exchange
from tests.fakes.binance import KEY, SECRET, FakeBinance

ROOT = Path(__file__).resolve().parents[1]
SIM_SYMBOLS = {"sim": {"BTC/USDT": {"enabled": True, "tier": "STABLE", "max_position_usd": 50000}}}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binance(url: str, **conn) -> dict:
    return {"engine": {"exchange": "binance", "feed": "off"},
            "symbols": {"binance": {"BTC/USDT": {"enabled": True, "tier": "STABLE", "max_position_usd": 50000}}},
            "connections": {"binance": {"market": "spot", "api_url": url, **conn}}}


def deep(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = deep(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def store_dump(path: Path) -> list:
    if not path.is_file():
        return []
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        rows = [(t, db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()) for t in tables]  # noqa: S608
    return [(t, r) for t, r in rows if r]  # an empty table created on opening changes nothing


@pytest.fixture(scope="module")
def fake_binance(tmp_path_factory):
    venue = create_exchange("sim", {"seed": 5, "state_path": str(tmp_path_factory.mktemp("fb") / "v.sqlite")},
                            clock=WallClock())
    with FakeBinance(venue) as fake:
        yield fake
    venue.close()


def cases(tmp: Path, fake_url: str) -> dict[str, tuple[dict, dict, str]]:
    """name -> (config overrides, environment, what the line must say)."""
    unreachable = f"http://127.0.0.1:{closed_port()}"
    a_file = tmp / "a-file"
    a_file.write_text("not a folder")
    good_keys = {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    return {
        "non-UTF-8 YAML": ({"_yaml": b"engine:\n  exchange: sim \xff\xfe\n"}, {}, "not UTF-8"),
        "unknown symbol": ({"symbols": {"sim": {"NOPE/USDT": {"enabled": True, "tier": "STABLE"}}}}, {},
                           "does not list NOPE/USDT"),
        "unknown exchange": ({"engine": {"exchange": "mtgox"}, "symbols": {"mtgox": SIM_SYMBOLS["sim"]}}, {},
                             "'mtgox' is not supported"),
        "ftx": ({"engine": {"exchange": "ftx"}, "symbols": {"ftx": SIM_SYMBOLS["sim"]}}, {}, "FTX"),
        "bitfinex": ({"engine": {"exchange": "bitfinex"}, "symbols": {"bitfinex": SIM_SYMBOLS["sim"]}}, {},
                     "bitfinex"),
        "exchange unreachable": (binance(unreachable), good_keys, "cannot be reached"),
        "wrong Binance secret": (binance(fake_url), {**good_keys, "BINANCE_API_SECRET": "x" * 64}, "API key"),
        "missing API key": (binance(fake_url), {}, "API key"),
        "PostgreSQL refused": ({}, {"DATABASE_URL": f"postgresql+psycopg://mm:hunter22@127.0.0.1:{closed_port()}/mm"},
                               "cannot connect"),
        "missing driver": ({}, {"DATABASE_URL": "mysql://mm:hunter22@127.0.0.1/mm"}, "driver"),
        "unknown URL scheme": ({}, {"DATABASE_URL": "nosuchdb://mm:hunter22@127.0.0.1/mm"}, "scheme"),
        "missing SQLite folder": ({"database": {"url": f"sqlite:///{a_file}/store.db"}}, {}, "folder"),
        "unwritable state file": ({"sim": {"state_path": str(tmp)}}, {}, "paper account"),
        "corrupted state file": ({"_state": b"garbage" * 100}, {}, "paper account"),
        "corrupted store": ({"_store": b"garbage" * 100}, {}, "not a readable SQLite database"),
        "locked store": ({"_lock_store": True}, {}, "locked"),
        "read-only data/": ({"logging": {"dir": "/sys/mm-console-logs"}}, {}, "/sys/mm-console-logs"),
    }


def run_case(tmp: Path, overrides: dict, env: dict) -> tuple[subprocess.CompletedProcess, list, list]:
    tmp.mkdir(parents=True, exist_ok=True)
    cdir = tmp / "config"
    cdir.mkdir()
    shutil.copy(ROOT / "config" / "config.yaml", cdir / "config.yaml")
    store = tmp / "store.db"
    base = {"engine": {"autostart": False}, "database": {"url": f"sqlite:///{store}"},
            "sim": {"state_path": str(tmp / "sim_state.sqlite")}, "logging": {"dir": str(tmp / "logs")}}
    special = {k: overrides.pop(k) for k in [k for k in overrides if k.startswith("_")]}
    (cdir / "config.json").write_text(json.dumps(deep(base, overrides)))
    with sqlite3.connect(store) as db:  # a store with something in it
        db.execute("CREATE TABLE IF NOT EXISTS engine_state (key TEXT PRIMARY KEY, value TEXT, updated_ms INTEGER)")
        db.execute("INSERT INTO engine_state VALUES ('peak_equity', '123.0', 1)")
    if "_yaml" in special:
        (cdir / "config.yaml").write_bytes(special["_yaml"])
    if "_state" in special:
        (tmp / "sim_state.sqlite").write_bytes(special["_state"])
    if "_store" in special:
        store.write_bytes(special["_store"])
    holder = None
    if special.get("_lock_store"):
        holder = sqlite3.connect(store, isolation_level=None)
        holder.execute("PRAGMA journal_mode=DELETE")
        holder.execute("BEGIN EXCLUSIVE")
    before = store_dump(store) if not (special.get("_store") or holder) else []
    try:
        proc = subprocess.run([sys.executable, "-m", "engine", "run", "--config", str(cdir), "--duration", "2"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), **env})
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    after = store_dump(store) if not (special.get("_store") or holder) else []
    return proc, before, after


def test_every_bad_input_ends_in_one_clear_line_and_changes_nothing(tmp_path, fake_binance):
    table = cases(tmp_path, fake_binance.url)
    with ThreadPoolExecutor(3) as pool:
        results = dict(zip(table, pool.map(lambda kv: run_case(tmp_path / kv[0].replace(" ", "-").replace("/", ""),
                                                                 dict(kv[1][0]), kv[1][1]), table.items()),
                           strict=True))
    problems = []
    for name, (proc, before, after) in results.items():
        must_say = table[name][2]
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "configuration error:"))]
        if "Traceback" in proc.stderr + proc.stdout or "--- Logging error ---" in proc.stderr:
            problems.append(f"{name}: a traceback:\n{proc.stderr[-3000:]}")
        elif proc.returncode == 0 or len(errors) != 1:
            problems.append(f"{name}: exit {proc.returncode}, {len(errors)} error lines:\n{proc.stderr[-2000:]}")
        elif must_say.lower() not in errors[0].lower():
            problems.append(f"{name}: {errors[0]!r} does not say {must_say!r}")
        elif "hunter22" in proc.stderr or SECRET in proc.stderr or "x" * 64 in proc.stderr:
            problems.append(f"{name}: a secret in {errors[0]!r}")
        elif before != after:
            problems.append(f"{name}: the store changed")
    assert not problems, "\n\n".join(problems)
    assert len(results) == 17


def test_a_log_file_on_a_full_disk_says_so_once_instead_of_a_traceback_per_line(tmp_path):
    proc, before, after = run_case(tmp_path / "full", {"logging": {"dir": "/dev", "json_file": "full"}}, {})
    assert proc.returncode == 0  # the engine ran its two seconds and stopped cleanly
    assert "Traceback" not in proc.stderr and "--- Logging error ---" not in proc.stderr
    notes = [ln for ln in proc.stderr.splitlines() if ln.startswith("logging: cannot write /dev/full")]
    assert len(notes) == 1 and "No space left on device" in notes[0]

"""The process's one Engine per config directory, whatever Streamlit does (reruns, many sessions, "Clear cache",
reloads): its registry lives in a module object that no reload replaces."""

from __future__ import annotations

import logging
import sys
import threading
import types
from pathlib import Path

from engine.config import load_config
from engine.runtime import Engine

log = logging.getLogger("engine.runtime")


def _registry() -> types.ModuleType:
    """A module object that no reload replaces: it holds the process's engines and their lock."""
    mod = sys.modules.get("_mm_engine_registry")
    if mod is None:
        mod = types.ModuleType("_mm_engine_registry")
        mod.engines = {}
        mod.lock = threading.Lock()
        sys.modules["_mm_engine_registry"] = mod
    return mod


def ensure_engine(config_dir: str | Path | None = None, start: bool | None = None) -> Engine:
    """The process's one Engine for ``config_dir``, created (and started if the config says so) on first call.

    Safe to call from any number of threads and Streamlit sessions. If another process already trades on the
    same database, the engine stays STOPPED and ``engine.error`` says why.
    """
    reg = _registry()
    key = str(Path(config_dir).resolve()) if config_dir else "default"
    with reg.lock:
        engine = reg.engines.get(key)
        if engine is None:
            engine = Engine(load_config(config_dir))
            reg.engines[key] = engine
            if start if start is not None else engine.config.engine.autostart:
                try:
                    engine.start()
                except Exception as exc:  # noqa: BLE001 - shown in the console and logged in one line
                    from engine.logs import configured_secrets
                    from engine.problems import explain

                    engine.error = explain(exc, configured_secrets(engine.config))
                    log.error("engine not started: %s", engine.error)
        return engine

def register_engine(config_dir: str | Path, engine: Engine) -> Engine:
    """Make ``engine`` the process's Engine for ``config_dir`` (one built by hand: on a simulated clock, or over a
    venue of its own); the console then shows and steers it. Refused if another one is registered there."""
    reg = _registry()
    key = str(Path(config_dir).resolve())
    with reg.lock:
        if reg.engines.get(key) not in (None, engine):
            raise RuntimeError(f"an engine is already registered for {key}")
        reg.engines[key] = engine
    return engine


def stop_all_engines() -> None:
    """Stop every engine of this process (at exit): cancels their orders."""
    reg = _registry()
    with reg.lock:
        for engine in reg.engines.values():
            try:
                engine.stop()
            except Exception:  # pragma: no cover - best effort at exit
                log.exception("stopping engine at exit")

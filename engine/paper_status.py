"""What the console says about paper trading on live data: which venue streams which real market, and how its
streams are doing (read from each simulated venue's live source)."""

from __future__ import annotations

from typing import Any


def paper_feeds(engine: Any) -> list[dict[str, Any]]:
    """One row per simulated venue trading a real exchange's live market: its streams' status and a headline."""
    out = []
    for t in engine.traders:
        source = getattr(t.ex, "live_source", None)  # only a simulated venue has one
        if source is None:
            continue
        status = source.status()
        name = status["exchange"].capitalize()
        stale = [s for s, m in status["markets"].items() if m["stale"]]
        over = "its websocket" if status["transport"] == "websocket" else f"REST, polled every {source.cfg.poll_ms} ms"
        row = {
            "venue": t.name, **status, "stale": stale,
            "headline": (f"Paper trading on live data: {name}'s {', '.join(status['symbols'])} order books and trades "
                         f"over {over}. Orders are matched here against that market, on a play-money account: none "
                         f"reaches {name}."),
            "problem": None,
        }
        if stale:
            row["problem"] = (f"{name} live data is not fresh for {', '.join(stale)}: not quoted until it is"
                              + (f" (reconnects so far: {status['reconnects']}; last error: {status['last_error']})"
                                 if status["last_error"] else ""))
        out.append(row)
    return out

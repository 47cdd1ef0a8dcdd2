"""The symbol universe as the dashboard shows it: each symbol, where it quotes, its state and why it is in."""

from __future__ import annotations

from typing import Any

from engine.universe.ranking import money


def universe_view(engine: Any) -> dict:
    """``enabled``, the last scan's time, counts, the shortfall and scan errors, and ``rows``: one per symbol in the
    universe or leaving it (exchange, symbol, state, why, rank, score, volume, spread, depth), then the next few
    ranked that did not make it."""
    u, cfg = engine.universe, engine.config.symbol_universe
    measured = {r.symbol: r for r in u.ranked}
    rows = []
    for t in engine.traders:
        safe = set((u.base or engine.config).active_symbols(t.name))
        for symbol in t.symbols:
            if symbol in t.leaving or symbol in t.left:
                qty = t.ledger.position(symbol).qty
                state, why = "leaving", f"quoting out {qty:+g}" if symbol not in t.left else "flat: leaving"
            elif symbol in t.warming:
                state, why = "warming up", u.chosen.get(symbol, "")
            else:
                state = "safe list" if symbol in safe else "quoting"
                why = "safe list" if symbol in safe else u.chosen.get(symbol, "")
            rows.append(_row(t.name, symbol, state, why, measured.get(symbol)))
    inside = {r["symbol"] for r in rows}
    below = [r for r in u.ranked if r.symbol not in inside][:5]
    for r in below:
        why = r.fails or f"rank {r.rank}: below the top {cfg.max_symbols}"
        rows.append(_row("", r.symbol, "not chosen", why, r))
    return {"enabled": cfg.enabled, "refreshed_ms": u.refreshed_ms, "count": len(inside),
            "min": cfg.min_symbols, "max": cfg.max_symbols, "shortfall": u.shortfall, "errors": dict(u.errors),
            "passing": sum(1 for r in u.ranked if r.passes), "scanned": len(u.ranked), "rows": rows}


def _row(exchange: str, symbol: str, state: str, why: str, r: Any) -> dict:
    return {"exchange": exchange, "symbol": symbol, "state": state, "why": why,
            "rank": r.rank if r is not None else None, "score": r.score if r is not None and r.passes else None,
            "volume_24h": money(r.volume_usd) if r is not None and r.volume_usd is not None else None,
            "spread_bps": r.spread_bps if r is not None else None,
            "depth": money(r.depth_usd) if r is not None and r.depth_usd is not None else None}

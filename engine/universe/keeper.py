"""The universe job of :class:`engine.runtime.Engine` (seed 000 ``symbol_universe``).

Every ``UNIVERSE_TICK_S`` it takes off the symbols that finished leaving; every ``refresh_sec`` it scans: each
exchange's eligible markets are measured (:mod:`engine.universe.scan`), ranked and merged (``merge_strategy``), and
the universe chosen (:mod:`engine.universe.ranking`). Each exchange is handed its part through the config's symbol
table (an in-memory overlay on the operator's files, never saved): a symbol that joins warms up before quoting, one
that leaves quotes its inventory out and goes once flat (:mod:`engine.execution.membership`). Every change is logged
and alerted; the members are kept in the store, so after a restart a former member still holding a position is
quoted out too.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

import ccxt
from sqlmodel import Session

from engine.config import AppConfig, SymbolConfig
from engine.store import get_state, set_state
from engine.universe.ranking import Filters, Ranked, choose, merge, rank
from engine.universe.scan import eligible, measure

log = logging.getLogger("engine.universe")
UNIVERSE_TICK_S = 10.0
STATE_KEY = "universe:"


@dataclass
class UniverseState:
    """What the last scan found and chose (the dashboard reads it)."""

    chosen: dict[str, str] = field(default_factory=dict)  # symbol -> why, over every exchange
    ranked: list[Ranked] = field(default_factory=list)  # the merged ranking
    members: dict[str, list[str]] = field(default_factory=dict)  # exchange -> the universe's own symbols there
    overlay: dict[str, dict[str, SymbolConfig]] = field(default_factory=dict)  # exchange -> members and leavers
    refreshed_ms: int | None = None
    errors: dict[str, str] = field(default_factory=dict)
    shortfall: str = ""
    warned_slow: set[tuple[str, str]] = field(default_factory=set)
    restored: bool = False
    base: AppConfig | None = None  # the operator's config, without the overlay


class UniverseKeeper:
    """Scans, chooses and applies the symbol universe."""

    @property
    def universe(self) -> UniverseState:
        state = getattr(self, "_universe_state", None)
        if state is None:
            state = self._universe_state = UniverseState()
        return state

    def with_universe(self, config: AppConfig) -> AppConfig:
        """``config`` (the operator's) with the universe's symbols added to each exchange's table; the safe list's
        own entries always win."""
        u = self.universe
        u.base = config
        if not u.overlay:
            return config
        symbols = {venue: dict(table) for venue, table in config.symbols.items()}
        for venue, extra in u.overlay.items():
            table = symbols.setdefault(venue, {})
            for symbol, sc in extra.items():
                table.setdefault(symbol, sc)
        return replace(config, symbols=symbols)

    def universe_cycle(self) -> None:
        """Take off the symbols that finished leaving; scan when ``refresh_sec`` has passed (or switch off)."""
        u, cfg = self.universe, self.config.symbol_universe
        now = self.clock.now_ms()
        self._universe_tidy(now)
        if cfg.enabled:
            if u.refreshed_ms is None or now - u.refreshed_ms >= cfg.refresh_sec * 1000:
                self.universe_refresh()
        elif any(u.members.values()) or not u.restored:  # switched off, or off since a run that had it on
            if any(u.members.values()):
                log.info("symbol universe switched off: its symbols leave")
            self._universe_apply({}, {t.name: set() for t in self.traders}, now)

    def universe_refresh(self) -> None:
        """One scan of the exchanges, and the universe it gives."""
        u, cfg = self.universe, self.config.symbol_universe
        now = self.clock.now_ms()
        u.refreshed_ms = now
        base = u.base or self.config
        f = Filters(cfg.min_volume_usd, cfg.max_spread_bps, cfg.min_depth_usd, cfg.depth_bps)
        rankings: dict[str, list[Ranked]] = {}
        for t in self.traders if cfg.per_exchange_scan else self.traders[:1]:
            refused = {s for s, c in base.symbols.get(t.name, {}).items() if not c.enabled}
            symbols = eligible(t.ex.markets, cfg.quote, cfg.market, set(cfg.exclude_bases), refused)
            try:
                rankings[t.name] = rank(measure(t.ex, symbols, f, cfg.max_symbols), f)
                u.errors.pop(t.name, None)
            except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
                u.errors[t.name] = f"{type(exc).__name__}: {exc}"[:200]
                log.warning("symbol universe: %s not scanned (%s); its universe stays as it is", t.name,
                            u.errors[t.name])
                self.alert("warning", "universe scan failed", f"{t.name} could not be scanned ({u.errors[t.name]}); "
                           "its universe stays as it is until the next scan", key=f"universe-scan:{t.name}")
        if not rankings:
            return
        merged = merge(rankings, cfg.merge_strategy, f)
        safe = {s for t in self.traders for s in base.active_symbols(t.name)}
        current = {s for members in u.members.values() for s in members}
        chosen = choose(merged, safe, current, cfg.min_symbols, cfg.max_symbols, cfg.depth_bps)
        u.chosen, u.ranked = chosen, merged
        passing = {name: {r.symbol for r in ranked if r.passes} for name, ranked in rankings.items()}
        wanted: dict[str, set[str]] = {}
        for t in self.traders:
            own = set(base.symbols.get(t.name, {}))
            mine = set()
            for symbol, why in chosen.items():
                if symbol in own or symbol not in t.ex.markets:
                    continue
                held = why.startswith("held") and symbol in u.members.get(t.name, [])
                if cfg.per_exchange_scan and cfg.merge_strategy == "union" and not held:
                    if symbol not in passing.get(t.name, set()):
                        continue  # chosen for its market elsewhere; thin or missing here
                mine.add(symbol)
            wanted[t.name] = mine
        passed = sum(1 for r in merged if r.passes)
        short = len(chosen) < cfg.min_symbols
        u.shortfall = (f"{len(chosen)} symbols, fewer than min_symbols ({cfg.min_symbols}): {passed} markets pass "
                       "the filters; loosen symbol_universe.min_volume_usd, max_spread_bps or min_depth_usd, or "
                       "lower min_symbols") if short else ""
        if short:
            log.warning("symbol universe: %s", u.shortfall)
            self.alert("warning", "universe short", u.shortfall, key=f"universe-short:{len(chosen)}")
        self._universe_apply(chosen, wanted, now)

    # ------------------------------------------------------------------------------ applying
    def _universe_apply(self, chosen: dict[str, str], wanted: dict[str, set[str]], now: int) -> None:
        u, cfg = self.universe, self.config.symbol_universe
        base = u.base or self.config
        previous = self._universe_previous() if not u.restored else {}
        u.restored = True
        lines = []
        before_overlay = {venue: set(extra) for venue, extra in u.overlay.items() if extra}
        with self.work:
            for t in self.traders:
                before = set(u.members.get(t.name, [])) | previous.get(t.name, set())
                mine = wanted.get(t.name, set())
                tier = base.tiers[cfg.tier]
                member = SymbolConfig(tier=cfg.tier, leverage=tier.leverage,
                                      max_position_size_usd=tier.max_position_size_usd)  # frozen: shared safely
                overlay = u.overlay.setdefault(t.name, {})
                for symbol in sorted(mine - set(overlay)):
                    overlay[symbol] = member
                    if symbol in t.leaving:  # back before it was flat: it quotes both sides again
                        t.leaving.pop(symbol)
                        t.left.discard(symbol)
                    else:
                        t.warming[symbol] = now
                        lines.append((t.name, f"+{symbol}", chosen.get(symbol, "")))
                for symbol in sorted(mine & set(t.leaving)):
                    t.leaving.pop(symbol)
                    t.left.discard(symbol)
                for symbol in sorted((before | set(overlay)) - mine):
                    if symbol in t.leaving or symbol in base.symbols.get(t.name, {}):
                        continue
                    mid = self._universe_mid(t, symbol)
                    if symbol in t.ex.markets and t.holds(symbol, mid):
                        overlay.setdefault(symbol, member)
                        t.leaving[symbol] = now
                        t.warming.pop(symbol, None)
                        qty = t.ledger.position(symbol).qty
                        lines.append((t.name, f"-{symbol}", f"leaving: quoting out {qty:+g} (no market order)"))
                    elif symbol in overlay:
                        del overlay[symbol]
                        t.left.add(symbol)
                        lines.append((t.name, f"-{symbol}", "leaving: flat"))
                u.members[t.name] = sorted(mine)
            if {venue: set(extra) for venue, extra in u.overlay.items() if extra} != before_overlay or lines:
                self._universe_configure()
        if previous or lines or chosen:
            self._universe_save()
        self._universe_announce(lines)

    def _universe_configure(self) -> None:
        """Hand each exchange its symbols (the overlay over the operator's config), then route them."""
        self.config = self.with_universe(self.universe.base or self.config)
        for t in self.traders:
            t.configure(self.config)
        self.route()

    def _universe_tidy(self, now: int) -> None:
        u, cfg = self.universe, self.config.symbol_universe
        done = False
        with self.work:
            for t in self.traders:
                for symbol in list(t.left):
                    u.overlay.get(t.name, {}).pop(symbol, None)
                    done = True
                for symbol, since in t.leaving.items():
                    if (t.name, symbol) in u.warned_slow or now - since < cfg.flatten_timeout_sec * 1000:
                        continue
                    u.warned_slow.add((t.name, symbol))
                    qty = t.ledger.position(symbol).qty
                    text = (f"{symbol} on {t.name} left the universe {(now - since) / 60_000:.0f} min ago and still "
                            f"holds {qty:+g}: it keeps quoting it out; close it on Positions to be done sooner")
                    log.warning("symbol universe: %s", text)
                    self.alert("warning", "universe leaver slow", text, key=f"universe-slow:{t.name}:{symbol}")
            if done:
                self._universe_configure()

    @staticmethod
    def _universe_mid(t: Any, symbol: str) -> float:
        seen = t.views.get(symbol)
        return seen[1].mid if seen else t.ledger.position(symbol).avg_price or 0.0

    def _universe_previous(self) -> dict[str, set[str]]:
        """The members stored by the last run (a restart quotes out what they still hold)."""
        try:
            with Session(self.db) as s:
                return {t.name: set(json.loads(get_state(s, STATE_KEY + t.name) or "[]")) for t in self.traders}
        except Exception as exc:  # noqa: BLE001 - a store problem is the store fail-safe's business
            log.warning("symbol universe: the last run's members not read (%s)", type(exc).__name__)
            return {}

    def _universe_save(self) -> None:
        u = self.universe
        try:
            with Session(self.db) as s:
                for t in self.traders:
                    kept = sorted(set(u.members.get(t.name, [])) | set(t.leaving))
                    set_state(s, STATE_KEY + t.name, json.dumps(kept), self.clock.now_ms())
                s.commit()
        except Exception as exc:  # noqa: BLE001 - kept in memory; written at the next scan
            log.warning("symbol universe: members not stored (%s)", type(exc).__name__)

    def _universe_announce(self, lines: list[tuple[str, str, str]]) -> None:
        if not lines:
            return
        for venue, change, why in lines:
            log.info("symbol universe: %s %s (%s)", venue, change, why)
        by_venue: dict[str, list[str]] = {}
        for venue, change, _ in lines:
            by_venue.setdefault(venue, []).append(change)
        text = "; ".join(f"{venue}: {' '.join(changes)} ({len(self.universe.members.get(venue, []))} from the "
                         "universe)" for venue, changes in by_venue.items())
        self.alert("info", "universe changed", text, key=f"universe:{self.clock.now_ms()}")

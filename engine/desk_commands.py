"""What the Positions & orders page reads and does (re-exported by :mod:`engine.service`): positions with notional
and leverage, open orders, and the commands (close a position, cancel orders, stop or resume quoting one symbol),
each answering an :class:`engine.outcome.Outcome` that says what happened."""

from __future__ import annotations

import logging

from engine import outcome
from engine.formats import amount as fmt_amount
from engine.outcome import Outcome
from engine.runtime import Engine
from engine.trader import Trader

log = logging.getLogger("engine.service")


def _trader(engine: Engine, exchange: str | None) -> Trader:
    return next((t for t in engine.traders if t.name == exchange), engine.trader)


def steps(tr: Trader, symbol: str) -> tuple[float | None, float | None]:
    """(tick, lot) of a market: the decimals its prices and amounts are shown in."""
    precision = (tr.ex.markets.get(symbol) or {}).get("precision") or {}
    return precision.get("price"), precision.get("amount")


def minimum_amount(tr: Trader, symbol: str) -> float | None:
    """The smallest amount an order on the market may have (its lot when it states no minimum)."""
    market = tr.ex.markets.get(symbol) or {}
    return ((market.get("limits") or {}).get("amount") or {}).get("min") or steps(tr, symbol)[1]


def positions(engine: Engine) -> list[dict]:
    """Every open position of the engine, per exchange."""
    out = []
    for tr in engine.traders:
        snap = tr.snapshot
        for symbol, pos in sorted(snap.positions.items()):
            if not pos.qty:
                continue
            seen = snap.views.get(symbol)
            mark = seen[1].mid if seen else None
            tick, lot = steps(tr, symbol)
            market = tr.ex.markets.get(symbol) or {}
            minimum = minimum_amount(tr, symbol)
            out.append({"exchange": tr.name, "symbol": symbol, "side": "long" if pos.qty > 0 else "short",
                        "size": abs(pos.qty), "entry": pos.avg_price, "mark": mark, "tick": tick, "lot": lot,
                        "notional": abs(pos.qty) * mark * pos.contract_size if mark else None,
                        "leverage": (engine.config.symbol_config(symbol, tr.name).leverage
                                     if market.get("contract") else None),
                        "below_minimum": bool(minimum and abs(pos.qty) < minimum),
                        "realized_pnl": pos.realized_pnl, "unrealized_pnl": pos.unrealized(mark) if mark else None})
    return out


def open_orders(engine: Engine) -> list[dict]:
    """Every live order of the engine, per exchange."""
    now = engine.clock.now_ms()
    out = []
    for tr in engine.traders:
        for o in sorted(tr.snapshot.orders, key=lambda o: (o.symbol, o.side, o.level)):
            tick, lot = steps(tr, o.symbol)
            out.append({"exchange": tr.name, "client_order_id": o.client_order_id, "symbol": o.symbol,
                        "side": o.side, "type": o.type, "amount": o.amount, "price": o.price, "status": o.status,
                        "notional": o.amount * o.price if o.price else None, "tick": tick, "lot": lot,
                        "age_s": (now - o.created_ms) / 1000, "level": o.level})
    return out


def close_position(engine: Engine, symbol: str, exchange: str | None = None) -> Outcome:
    """Flatten one position with a reduce-only market order; says what was done, or why nothing could be."""
    tr = _trader(engine, exchange)
    with engine.work:
        pos = tr.ledger.position(symbol)
        if not pos.qty:
            return outcome.info(f"No {symbol} position on {tr.name}: nothing to close.")
        lot, minimum = steps(tr, symbol)[1] or 0.0, minimum_amount(tr, symbol)
        size = abs(pos.qty)
        if minimum and size < minimum:
            return outcome.warning(
                f"{symbol} on {tr.name}: the position of {fmt_amount(size, lot)} is below the market's minimum order "
                f"amount of {fmt_amount(minimum, lot)}, so no order can close it. To clear it, "
                f"{'buy' if pos.qty > 0 else 'sell'} {fmt_amount(minimum, lot)} more and then close the whole "
                f"position, or leave it as dust (it stays listed here).")
        done = tr.close_positions([symbol])
        after = tr.ledger.position(symbol).qty
    engine.alert("info", "position closed by the operator",
                 f"{tr.name} {symbol}: {', '.join(done) or 'nothing closed'}",
                 key=f"manual-close:{tr.name}:{symbol}:{engine.clock.now_ms()}")
    if not done:
        return outcome.error(f"{symbol} on {tr.name}: the closing order was refused by the exchange; the position "
                             "stays. See Alerts & logs for the exchange's answer.")
    if after and abs(after) >= (minimum or 0):
        return outcome.warning(f"Close {symbol}: {', '.join(done)} sent; {fmt_amount(abs(after), lot)} still open "
                               "(the fill may still be on its way).")
    return outcome.success(f"Close {symbol}: {', '.join(done)}")


def cancel_order(engine: Engine, client_order_id: str) -> Outcome:
    """Cancel one order; says that the strategy will quote the slot again while the engine runs."""
    with engine.work:
        for tr in engine.traders:
            rec = tr.orders.get(client_order_id)
            if rec is not None:
                tr.cancel(rec, "operator")
                tr.flush()
                tr.publish()
                text = f"Order {client_order_id}: {rec.status}."
                if engine.state == "RUNNING" and not tr.gate.blocked(rec.symbol):
                    return outcome.warning(text + REQUOTE_NOTE.format(symbol=rec.symbol))
                return outcome.success(text)
        return outcome.info(f"Order {client_order_id} is no longer open.")


REQUOTE_NOTE = (" The engine is running, so {symbol} is quoted again at its next cycle (within a second). To keep "
                "it unquoted, press 'Stop quoting {symbol}'.")


def cancel_symbol(engine: Engine, symbol: str, exchange: str | None = None) -> Outcome:
    """Cancel every order of ``symbol`` on one exchange."""
    tr = _trader(engine, exchange)
    with engine.work:
        before = sum(1 for o in tr.orders.values() if o.symbol == symbol)
        tr.cancel_symbol(symbol, "operator")
        left = sum(1 for o in tr.orders.values() if o.symbol == symbol)
        tr.publish()
    text = f"{before - left} {symbol} orders cancelled on {tr.name}" + (f", {left} not confirmed yet." if left else ".")
    if left:
        return outcome.warning(text)
    if engine.state == "RUNNING" and not tr.gate.blocked(symbol):
        return outcome.warning(text + REQUOTE_NOTE.format(symbol=symbol))
    return outcome.success(text)


def pause_symbol(engine: Engine, symbol: str, exchange: str | None = None) -> Outcome:
    """Stop quoting one symbol (its orders are cancelled; its position stays) until resumed or the engine restarts."""
    tr = _trader(engine, exchange)
    with engine.work:
        tr.gate.symbol_pauses[symbol] = "stopped by the operator"
        tr.cancel_symbol(symbol, "operator stopped quoting")
        left = sum(1 for o in tr.orders.values() if o.symbol == symbol)
        tr.publish()
    log.info("%s %s: quoting stopped by the operator", tr.name, symbol)
    text = (f"{symbol} on {tr.name}: quoting stopped, its orders are cancelled"
            + (f" ({left} not confirmed yet)" if left else "") + ". Its position stays. Resume here; a restart "
            "resumes it too (disable the symbol on Strategies to keep it off).")
    return outcome.warning(text) if left else outcome.success(text)


def resume_symbol(engine: Engine, symbol: str, exchange: str | None = None) -> Outcome:
    tr = _trader(engine, exchange)
    with engine.work:
        tr.gate.symbol_pauses.pop(symbol, None)
    log.info("%s %s: quoting resumed by the operator", tr.name, symbol)
    return outcome.success(f"{symbol} on {tr.name}: quoting resumes at the next cycle.")


def paused_symbols(engine: Engine) -> dict[tuple[str, str], str]:
    """(exchange, symbol) -> why the operator stopped quoting it."""
    return {(t.name, s): why for t in engine.traders for s, why in dict(t.gate.symbol_pauses).items()}

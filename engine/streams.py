"""Websocket streams per venue (``engine.feed``; ``engine.feed: auto`` streams where the venue's profile says so):
books of the quoted symbols and tickers of every configured one on one thread, fills and order updates on another."""

from __future__ import annotations

import logging

log = logging.getLogger("engine.runtime")


class Streams:
    """Starting and stopping the feeds of :class:`engine.runtime.Engine`'s venues."""

    def _start_feeds(self) -> None:
        """Websocket streams for each venue that offers them (``engine.feed``: auto = real exchanges only): books of
        the quoted symbols and tickers of every configured one on one thread, fills and order updates on another."""
        from engine.feed import AccountFeed, BookFeed, watcher_for

        mode = self.config.engine.feed
        for t in self.traders:
            raw = t.ex.raw if hasattr(t.ex, "raw") else t.ex
            if mode == "off" or (mode == "auto" and not t.profile.streams_by_default) or t.feed is not None:
                continue
            try:
                watcher = watcher_for(raw)
                has = getattr(watcher, "has", {})
                tickers = sorted(self.config.symbols.get(t.name, {})) if has.get("watchTickers") else []
                t.feed = BookFeed(watcher, t.symbols, ticker_symbols=[s for s in tickers if s in raw.markets])
                t.feed.start()
                log.info("%s: websocket order books for %s%s", t.name, ", ".join(t.symbols),
                         f"; tickers for {len(t.feed.ticker_symbols)} symbols" if t.feed.ticker_symbols else "")
            except Exception as exc:  # noqa: BLE001 - REST within the budget still works
                t.feed = None
                log.warning("%s: no websocket feed (%s); polling over REST within the request budget", t.name, exc)
            try:
                watcher = watcher_for(raw)
                has = getattr(watcher, "has", {})
                fills, orders = bool(has.get("watchMyTrades")), bool(has.get("watchOrders"))
                if not (fills or orders):
                    raise ValueError("neither watch_my_trades nor watch_orders")
                t.account_feed = AccountFeed(watcher, fills=fills, orders=orders)
                t.account_feed.start()
                log.info("%s: streaming %s", t.name, " and ".join(
                    w for w, on in (("fills", fills), ("order updates", orders)) if on))
            except Exception as exc:  # noqa: BLE001 - fills and orders are polled over REST instead
                t.account_feed = None
                log.warning("%s: account not streamed (%s); polling fills and orders over REST", t.name, exc)

    def _start_commands(self) -> None:
        """Telegram commands from the configured chat (``alerts.commands``), while the engine runs."""
        from engine.telegram_commands import TelegramCommands

        if self.config.alerts.commands and self.alerts.telegram.configured and getattr(self, "commands", None) is None:
            self.commands = TelegramCommands(self)
            self.commands.start()

    def _stop_commands(self) -> None:
        commands, self.commands = getattr(self, "commands", None), None
        if commands is not None:
            commands.stop()

    def _stop_feeds(self) -> None:
        for t in self.traders:
            for attr in ("feed", "account_feed"):
                feed = getattr(t, attr)
                if feed is not None:
                    feed.stop()
                    setattr(t, attr, None)

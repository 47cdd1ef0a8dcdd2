"""Login throttling per client address and across the process, without making the operator wait for others.

Rules (times are seconds; ``now`` is passed in, so tests drive it):

- **One attempt at a time per address.** :meth:`LoginThrottle.begin` reserves the address's next attempt; a second
  browser session from the same address asking meanwhile is refused, so parallel sessions gain nothing.
- **Per client (a browser session at an address), a growing wait**: a first failure (a typo) costs nothing; after the
  n-th the client's next attempt waits ``base_s * 2**(n-2)`` (at most ``max_wait_s``). Another client's failures
  never delay yours (on 127.0.0.1 every browser has the same address).
- **Per address, a lockout**: ``lockout_after`` failures within ``window_s`` from all its clients lock that address
  out for ``lockout_s`` (a client that drops its session to reset its wait gains little).
- **Across addresses**: more than ``global_failures`` failures within ``window_s`` (someone is rotating addresses)
  locks out every address that has failed in the window. An address with no failure in it, the real operator's,
  still gets its attempts at once, one at a time across the process.
- A success clears its address's record. The password is never compared while an attempt is refused.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Client:
    failures: deque[float] = field(default_factory=deque)  # this client's failure times within the window
    next_at: float = 0.0


@dataclass
class _Address:
    failures: deque[float] = field(default_factory=deque)  # failure times within the window, all clients
    locked_until: float = 0.0
    in_flight: bool = False
    clients: dict[str, _Client] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    wait_s: float = 0.0
    reason: str = ""


class LoginThrottle:
    """Decides whether a login attempt from an address may be checked now (thread-safe)."""

    def __init__(self, base_s: float = 1.0, max_wait_s: float = 60.0, lockout_after: int = 10,
                 lockout_s: float = 900.0, window_s: float = 900.0, global_failures: int = 30) -> None:
        self.base_s, self.max_wait_s = base_s, max_wait_s
        self.lockout_after, self.lockout_s, self.window_s = lockout_after, lockout_s, window_s
        self.global_failures = global_failures
        self._addresses: dict[str, _Address] = {}
        self._all_failures: deque[float] = deque()
        self._lock = threading.Lock()

    def begin(self, address: str, now: float, client: str = "") -> Verdict:
        """Reserve an attempt for ``client`` at ``address``; check the password only when ``allowed``, then call
        :meth:`end`."""
        with self._lock:
            self._expire(now)
            a = self._addresses.setdefault(address, _Address())
            if a.in_flight:
                return Verdict(False, self.base_s, "another attempt from your address is being checked")
            if now < a.locked_until:
                return Verdict(False, a.locked_until - now, "too many failed attempts from your address")
            if a.failures and len(self._all_failures) > self.global_failures:
                until = self._all_failures[0] + self.window_s
                return Verdict(False, until - now, "too many failed attempts on this console")
            c = a.clients.get(client)
            if c is not None and now < c.next_at:
                return Verdict(False, c.next_at - now, "wait after a failed attempt")
            a.in_flight = True
            return Verdict(True)

    def end(self, address: str, ok: bool, now: float, client: str = "") -> None:
        """Record the outcome of an attempt :meth:`begin` allowed."""
        with self._lock:
            a = self._addresses.setdefault(address, _Address())
            a.in_flight = False
            if ok:
                a.clients.pop(client, None)
                if not a.clients:
                    self._addresses.pop(address, None)
                return
            a.failures.append(now)
            self._all_failures.append(now)
            c = a.clients.setdefault(client, _Client())
            c.failures.append(now)
            n = len(c.failures)
            c.next_at = now + (min(self.base_s * 2 ** (n - 2), self.max_wait_s) if n > 1 else 0.0)
            if len(a.failures) >= self.lockout_after:
                a.locked_until = now + self.lockout_s

    def _expire(self, now: float) -> None:
        oldest = now - self.window_s
        while self._all_failures and self._all_failures[0] <= oldest:
            self._all_failures.popleft()
        for address in [k for k, a in self._addresses.items()
                        if not a.in_flight and a.locked_until <= now
                        and all(c.next_at <= now for c in a.clients.values())
                        and (not a.failures or a.failures[-1] <= oldest)]:
            del self._addresses[address]
        for a in self._addresses.values():
            while a.failures and a.failures[0] <= oldest:
                a.failures.popleft()
            for key in [k for k, c in a.clients.items() if c.next_at <= now and (not c.failures
                                                                                  or c.failures[-1] <= oldest)]:
                del a.clients[key]
            for c in a.clients.values():
                while c.failures and c.failures[0] <= oldest:
                    c.failures.popleft()

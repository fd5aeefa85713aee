"""systemd's notify protocol (``Type=notify``, ``WatchdogSec=``), without a dependency.

systemd passes ``$NOTIFY_SOCKET`` (a unix datagram socket; ``@name`` is in the abstract
namespace) and, with a watchdog, ``$WATCHDOG_USEC``. The daemon sends ``READY=1`` once it
has started, ``WATCHDOG=1`` at least every half watchdog period, ``RELOADING=1`` /
``READY=1`` around a reload, and ``STOPPING=1`` on the way out. Without
``$NOTIFY_SOCKET`` (not started by systemd) every call does nothing.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends state lines to systemd's notify socket; never raises."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = environ.get("WATCHDOG_USEC", "")
        self.watchdog: float | None = int(usec) / 1e6 if usec.isdigit() and int(usec) else None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` (e.g. ``READY=1``) as one datagram; False if it could not."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)  # a full queue must never stall the daemon
                sock.connect(self.address)
                sock.sendall("\n".join(lines).encode())
        except OSError as exc:
            log.warning("cannot notify systemd at %r: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def ping(self, status: str = "") -> bool:
        return self.notify("WATCHDOG=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        return self.notify("RELOADING=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def pause(
        self,
        until: float,
        status: str,
        clock: Callable[[], float],
        sleep: Callable[[float], object],
        woken: Callable[[], bool],
    ) -> None:
        """Sleep until ``until`` (by ``clock``), pinging the watchdog with ``status`` at
        least every half period; return early when ``woken()`` (checked before and after
        each sleep)."""
        while not woken():
            remaining = until - clock()
            if remaining <= 0:
                return
            sleep(min(remaining, self.watchdog / 2) if self.watchdog else remaining)
            if self.watchdog and not woken():
                self.ping(status)

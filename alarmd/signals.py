"""The daemon's signals: SIGTERM/SIGINT stop it after the current cycle (a second one
stops it at once), SIGHUP reloads the rules."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)


def install_signals(
    stop: Callable[[], None], reload: Callable[[], None], stopping: Callable[[], bool]
) -> Callable[[], None]:
    """Handle the signals (only possible in the main thread); returns what undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_stop(signum: int, _frame: FrameType | None) -> None:
        if stopping():  # asked twice: stop now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        log.info("signal %d: stopping after this cycle", signum)
        stop()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        log.info("SIGHUP: reloading the rules")
        reload()

    handlers = {signal.SIGTERM: on_stop, signal.SIGINT: on_stop, signal.SIGHUP: on_hup}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore

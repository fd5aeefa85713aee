"""The injected clock and sleep the tests use instead of real time."""

from __future__ import annotations


class Clock:
    """A clock the test sets by hand (``clock.now = ...``); call it for the time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def no_sleep(seconds: float) -> None:
    """A sleep that returns at once, for retry loops under test."""

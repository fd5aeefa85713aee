"""The long-lived objects of the app (config, archive, tokens) and their getters.

``init_app`` stores them in ``app.extensions``; the archive is opened lazily on first use
so that each gunicorn worker opens its own after the fork.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy.engine import Engine

from alarmd.rules import AlarmConfig, load_rules_without_secrets
from alarmd.statestore import AlarmStore
from downtime.policy import Actor, ScopePolicy
from downtime.store import DowntimeStore
from rexmon.database import open_database
from rrdarchive.archive import Archive
from web.auth.tokens import TokenRegistry
from web.auth.users import Role, User
from web.config import ServerConfig, load_tokens
from web.health.counters import ServerCounters
from web.ingest.quota import NewMetricQuota
from web.limitstore import migrate_limits

_KEY = "rexmon"


class Services:
    """What the blueprints share; one per app. ``clock`` is the views' only time source
    (tests give a fixed one)."""

    def __init__(self, config: ServerConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.tokens = TokenRegistry(load_tokens(config.web))
        self._archive: Archive | None = None
        self._engine: Engine | None = None
        self._alarm_rules: AlarmConfig | None = None
        self._alarm_store: AlarmStore | None = None
        self.counters = ServerCounters()
        self.new_metrics = NewMetricQuota(lambda: self.engine)
        self._lock = threading.Lock()

    @property
    def archive(self) -> Archive:
        with self._lock:
            if self._archive is None:
                self._archive = Archive(self.config.archive)
            return self._archive

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                engine = open_database(self.config.database.url)
                DowntimeStore(engine).migrate()
                migrate_limits(engine)  # login failures and new-metric quotas
                self._engine = engine
            return self._engine

    @property
    def alarm_rules(self) -> AlarmConfig | None:
        """The alarm rules (for thresholds on graphs), read once; None without a rules file."""
        path = self.config.alarmd.rules
        if not path.exists():
            return None
        with self._lock:
            if self._alarm_rules is None:
                self._alarm_rules = load_rules_without_secrets(path)
            return self._alarm_rules

    @property
    def alarm_store(self) -> AlarmStore:
        """alarmd's state (records, history, notification log), tables made on first use."""
        engine = self.engine
        with self._lock:
            if self._alarm_store is None:
                store = AlarmStore(engine)
                store.migrate()
                self._alarm_store = store
            return self._alarm_store

    def downtimes_for(self, user: User) -> DowntimeStore:
        """The store as this user may use it: admins are not limited to scopes."""
        policy: ScopePolicy | None = self.config.web.auth.scopes
        limited = None if user.role >= Role.ADMIN else policy
        return DowntimeStore(self.engine, policy=limited, clock=self.clock)

    def close(self) -> None:
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
                self._alarm_store = None


def actor_of(user: User) -> Actor:
    return Actor(user.name, user.groups)


def init_app(app: Flask, config: ServerConfig, clock: Callable[[], float] = time.time) -> None:
    app.extensions[_KEY] = Services(config, clock)


def get_services(app: Flask | None = None) -> Services:
    services: Services = (app or current_app).extensions[_KEY]
    return services

"""The Flask application factory: ``create_app(config)``, no module-level app."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response

from rexmon.commandline import CONFIG_ENV
from web import display, errors, favicon, services
from web.alarms import views as alarms
from web.auth import guard
from web.auth import views as auth
from web.auth.users import Authenticator
from web.checks import views as checks
from web.config import ServerConfig, load_server_config
from web.dashboards import views as dashboards
from web.downtimes import api as downtimes_api
from web.downtimes import views as downtimes
from web.gates import views as gates
from web.graphite import views as graphite
from web.graphs import views as graphs
from web.health import selfmetrics
from web.health import views as health
from web.ingest import collectd
from web.ingest import views as ingest
from web.proxies import TrustedProxies
from web.status import availability
from web.status import views as status


def create_app(
    config: ServerConfig | str | Path | None = None, clock: Callable[[], float] = time.time
) -> Flask:
    """Build the app from a loaded config, a config path, or ``$REXMON_CONFIG``; ``clock``
    is what every view takes the time from."""
    if config is None:
        config = os.environ.get(CONFIG_ENV, "etc/rexmon.yaml")
    if not isinstance(config, ServerConfig):
        config = load_server_config(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.web.max_body_bytes
    app.config["SECRET_KEY"] = read_or_make_secret_key(config.web.secret_key_file)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = config.web.auth.session_lifetime
    app.config["SESSION_COOKIE_SECURE"] = config.site.base_url.startswith("https://")
    guard.init_app(app, Authenticator(config.web.auth))
    services.init_app(app, config, clock)
    app.register_blueprint(auth.bp)
    app.register_blueprint(ingest.bp)
    app.register_blueprint(collectd.bp)
    app.register_blueprint(checks.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(downtimes_api.bp)
    app.register_blueprint(downtimes.bp)
    app.register_blueprint(graphs.bp)
    app.register_blueprint(dashboards.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(alarms.bp)
    app.register_blueprint(selfmetrics.bp)
    app.register_blueprint(availability.bp)
    app.register_blueprint(graphite.bp)
    app.register_blueprint(gates.bp)
    app.register_blueprint(favicon.bp)
    _add_template_helpers(app, config)
    display.init_app(app)
    errors.init_app(app)
    app.after_request(_safety_headers)
    # the client address (failed-login limit, logs) and the trusted user header are
    # believed only from web.trusted_proxies
    app.wsgi_app = TrustedProxies(  # type: ignore[method-assign]
        app.wsgi_app, config.web.trusted_proxies, config.web.proxies
    )
    return app


def _safety_headers(response: Response) -> Response:
    """No answer is sniffed into HTML (error texts echo what was sent), none is framed."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def read_or_make_secret_key(path: Path) -> bytes:
    """The session signing key, made (readable by its owner only) on first start.

    Written to a temporary file and linked into place, so gunicorn workers starting
    together all end up with the same complete key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_bytes()


NAV_LINKS = (
    ("status.index", "Status"),
    ("alarms.index", "Alarms"),
    ("downtimes.index", "Downtimes"),
    ("availability.page", "Availability"),
    ("dashboards.index", "Dashboards"),
)


def _add_template_helpers(app: Flask, config: ServerConfig) -> None:
    zone = config.site.timezone

    @app.template_filter("localtime")
    def localtime(seconds: int | None) -> str:
        if seconds is None:
            return ""
        return datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M %Z")

    @app.context_processor
    def site() -> dict[str, Any]:
        return {"site_name": config.site.name, "site_zone": zone.key, "nav_links": NAV_LINKS}

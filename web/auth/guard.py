"""Per-request access control: the current user, role checks, CSRF, brute-force limits.

Pages and API endpoints declare what they need with ``@require(Role.OPERATOR)``. Forms
carry a CSRF token bound to the session and its user; API writes must be JSON (a
cross-site form cannot send that without a CORS preflight, which we never grant) or use
a bearer token. The user header of ``auth.trusted_header`` counts only from a trusted
proxy (:mod:`web.proxies`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Flask, Response, abort, g, redirect, request, session, url_for
from sqlalchemy.engine import Engine

from web.auth.users import Authenticator, Role, User
from web.errors import refusal
from web.limitstore import login_failures, serialised
from web.proxies import DIRECT_PEER, FROM_PROXY
from web.services import get_services

F = TypeVar("F", bound=Callable[..., Any])
FAILURE_WINDOW = 300.0
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
SESSION_USER = "user"
SESSION_FINGERPRINT = "password"
log = logging.getLogger(__name__)


class FailureLimiter:
    """Counts failed logins per client address in the database (every worker and host
    shares the count; see :mod:`web.limitstore`); too many in the window means 429.

    A password is checked only after :meth:`attempt` has charged it as a failure, in the
    same serialised transaction that counted the earlier ones; a success takes the charge
    back (:meth:`forgive`). Checking first and charging after the (slow, bcrypt) check let
    a burst of concurrent guesses all pass the check before any failure was written: 24
    at once against ``max_failures: 3`` all got their password tried.
    """

    def __init__(
        self, engine: Callable[[], Engine], limit: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self._engine = engine
        self._clock = clock

    def blocked(self, client: str) -> bool:
        horizon = self._clock() - FAILURE_WINDOW
        with self._engine().connect() as connection:
            recent = connection.execute(
                sa.select(sa.func.count())
                .select_from(login_failures)
                .where((login_failures.c.client == client[:64]) & (login_failures.c.at >= horizon))
            ).scalar_one()
        return bool(recent >= self.limit)

    def attempt(self, client: str) -> int | None:
        """Charge one login attempt ahead as a failure; its id, or None when blocked."""
        now = self._clock()
        client = client[:64]
        mine = login_failures.c.client == client
        with serialised(self._engine(), f"login:{client}") as connection:
            connection.execute(
                login_failures.delete().where(mine & (login_failures.c.at < now - FAILURE_WINDOW))
            )
            recent = connection.execute(
                sa.select(sa.func.count()).select_from(login_failures).where(mine)
            ).scalar_one()
            if recent >= self.limit:
                return None
            charged = connection.execute(login_failures.insert().values(client=client, at=now))
            key = charged.inserted_primary_key
            assert key is not None
            return int(key[0])

    def forgive(self, attempt: int) -> None:
        """The attempt succeeded: it is no failure."""
        with self._engine().begin() as connection:
            connection.execute(login_failures.delete().where(login_failures.c.id == attempt))

    def fail(self, client: str) -> None:
        """Count a failure that was not charged ahead (an unknown API token)."""
        self.attempt(client)  # None (not counted) once the window is already full


@dataclass
class HeaderWarning:
    """Whether this process already said that it ignores the user header of a non-proxy."""

    said: bool = False


def init_app(app: Flask, authenticator: Authenticator) -> None:
    app.extensions["rexmon.auth"] = authenticator
    app.extensions["rexmon.failures"] = FailureLimiter(
        lambda: get_services(app).engine, authenticator.config.max_failures
    )
    app.extensions["rexmon.header_warning"] = HeaderWarning()
    app.before_request(_check_csrf)
    app.context_processor(lambda: {"csrf_token": csrf_token, "current_user": current_user})


def current_user() -> User:
    """The user of this request, worked out once."""
    if "user" not in g:
        g.user = _identify()
    user: User = g.user
    return user


def bearer_secret() -> str | None:
    """The secret of this request's ``Authorization: Bearer <secret>``, if it has one."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def _identify() -> User:
    from flask import current_app

    auth: Authenticator = current_app.extensions["rexmon.auth"]
    limiter: FailureLimiter = current_app.extensions["rexmon.failures"]
    client = request.remote_addr or "?"
    secret = bearer_secret()
    if secret is not None:
        user = auth.from_token(secret)
        if user is None:
            _fail(limiter, client, "unknown API token")
        return cast(User, user)
    if auth.config.trusted_header:
        user = auth.from_header(_trusted_header_value(auth.config.trusted_header))
        if user is not None:
            return user
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        attempt = limiter.attempt(client)
        if attempt is None:
            abort(_too_many())
        user = auth.from_password(basic.username or "", basic.password or "")
        if user is None:
            abort(_challenge("wrong user name or password"))  # charged by attempt()
        limiter.forgive(attempt)
        return user
    if SESSION_USER in session:
        user = auth.from_session(session[SESSION_USER], session.get(SESSION_FINGERPRINT, ""))
        if user is not None:
            return user
        session.pop(SESSION_USER, None)  # the password changed or the user is gone
    return auth.anonymous()


def log_in(user: User, fingerprint: str) -> None:
    """Start a login session: a fresh session (no fixation) that names the user and
    the password it was opened with; a new CSRF nonce comes with it."""
    session.clear()
    session.permanent = True
    session[SESSION_USER] = user.name
    session[SESSION_FINGERPRINT] = fingerprint
    g.user = user


def log_out() -> None:
    session.clear()
    g.pop("user", None)


def _trusted_header_value(name: str) -> str | None:
    """The WSGI server's own variable (mod_wsgi sets it), else the HTTP header — but only
    from a trusted proxy: any direct client can send ``Remote-User: alice``."""
    from flask import current_app

    value: str | None = request.environ.get(name)
    if value:
        return value
    header = request.headers.get(name.replace("_", "-"))
    if not header:
        return None
    if request.environ.get(FROM_PROXY):
        return header
    warning: HeaderWarning = current_app.extensions["rexmon.header_warning"]
    if not warning.said:
        warning.said = True
        log.warning(
            "ignoring the %s header from %s: not in web.trusted_proxies (said once)",
            name.replace("_", "-"),
            request.environ.get(DIRECT_PEER),
        )
    return None


def _fail(limiter: FailureLimiter, client: str, message: str) -> None:
    limiter.fail(client)
    abort(_challenge(message))


def _challenge(message: str) -> Response:
    response = refusal(401, message)
    response.headers["WWW-Authenticate"] = 'Basic realm="rexmon", charset="UTF-8"'
    return response


def _too_many() -> Response:
    response = refusal(429, "too many failed logins; try again in a few minutes")
    response.headers["Retry-After"] = str(int(FAILURE_WINDOW))
    return response


def require(role: Role) -> Callable[[F], F]:
    """Refuse the view unless the user has ``role``: 401 asks to log in, 403 says no."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user.role < role:
                if not user.authenticated:
                    if _from_a_browser():
                        abort(redirect(login_url(request.full_path.rstrip("?"))))
                    abort(_challenge(f"log in as {role.name.lower()} or higher"))
                abort(
                    refusal(
                        403,
                        f"{user.name} is {user.role.name.lower()}; this needs {role.name.lower()}",
                    )
                )
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def _from_a_browser() -> bool:
    """A page asked for by a browser goes to the login form; scripts (the API, anything
    that sent credentials or does not take HTML) get 401 with a Basic challenge."""
    if request.path.startswith("/api/") or request.method != "GET":
        return False
    if "Authorization" in request.headers:
        return False
    return any(kind == "text/html" and quality > 0 for kind, quality in request.accept_mimetypes)


def login_url(next_path: str) -> str:
    return url_for("auth.login", next=next_path)


def csrf_token() -> str:
    """The CSRF token of this session and this user; forms put it in a hidden field.

    An HMAC of a random session nonce and the user name: the token of one user's session
    is worthless with another user's credentials (a cookie planted in a browser that then
    sends its own Basic credentials).
    """
    from flask import current_app

    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    nonce: str = session[CSRF_FIELD]
    message = f"{nonce}\0{current_user().name}".encode()
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def read_only(view: F) -> F:
    """Mark a view that changes nothing and takes form POSTs from tools that send no CSRF
    token (Grafana's Graphite data source posts ``render`` and ``metrics/find``): a
    cross-site form can make it compute, never change anything. Put it above
    ``@require`` so the mark is on the registered function."""
    view.read_only = True  # type: ignore[attr-defined]
    return view


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "read_only", False):
        return
    if request.path.startswith("/api/"):
        has_body = bool(request.content_length) or request.method in ("POST", "PUT", "PATCH")
        if has_body and not request.is_json and not request.path.startswith("/api/v1/samples"):
            abort(refusal(415, "API writes must send Content-Type: application/json"))
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = csrf_token() if CSRF_FIELD in session else ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(refusal(400, "the form is missing a valid CSRF token; reload the page and retry"))

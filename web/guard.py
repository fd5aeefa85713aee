"""Per-request access control: the current user, role checks, CSRF, brute-force limits.

Pages and API endpoints declare what they need with ``@require(Role.OPERATOR)``. Forms
carry a CSRF token bound to the session; API writes must be JSON (a cross-site form cannot
send that without a CORS preflight, which we never grant) or use a bearer token.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, abort, g, request, session

from web.auth import Authenticator, Role, User
from web.responses import refusal

F = TypeVar("F", bound=Callable[..., Any])
FAILURE_WINDOW = 300.0
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"


class FailureLimiter:
    """Counts failed logins per client address; too many in the window means 429."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client)) >= self.limit

    def fail(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self._clock())

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        horizon = self._clock() - FAILURE_WINDOW
        while times and times[0] < horizon:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
            times = self._failures.setdefault(client, deque())
        return times


def init_app(app: Flask, authenticator: Authenticator) -> None:
    app.extensions["rexmon.auth"] = authenticator
    app.extensions["rexmon.failures"] = FailureLimiter(authenticator.config.max_failures)
    app.before_request(_check_csrf)
    app.context_processor(lambda: {"csrf_token": csrf_token, "current_user": current_user})


def current_user() -> User:
    """The user of this request, worked out once."""
    if "user" not in g:
        g.user = _identify()
    user: User = g.user
    return user


def _identify() -> User:
    from flask import current_app

    auth: Authenticator = current_app.extensions["rexmon.auth"]
    limiter: FailureLimiter = current_app.extensions["rexmon.failures"]
    client = request.remote_addr or "?"
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        user = auth.from_token(secret.strip())
        if user is None:
            _fail(limiter, client, "unknown API token")
        return cast(User, user)
    if auth.config.trusted_header:
        name = request.environ.get(auth.config.trusted_header) or request.headers.get(
            auth.config.trusted_header.replace("_", "-")
        )
        user = auth.from_header(name)
        if user is not None:
            return user
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        if limiter.blocked(client):
            abort(_too_many())
        user = auth.from_password(basic.username or "", basic.password or "")
        if user is None:
            _fail(limiter, client, "wrong user name or password")
        return cast(User, user)
    return auth.anonymous()


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


def csrf_token() -> str:
    """The session's CSRF token, made on first use; forms put it in a hidden field."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    token: str = session[CSRF_FIELD]
    return token


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    if request.path.startswith("/api/"):
        has_body = bool(request.content_length) or request.method in ("POST", "PUT", "PATCH")
        if has_body and not request.is_json and not request.path.startswith("/api/v1/samples"):
            abort(refusal(415, "API writes must send Content-Type: application/json"))
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD, "")
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        abort(refusal(400, "the form is missing a valid CSRF token; reload the page and retry"))

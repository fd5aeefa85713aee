"""The login page: a session cookie for people in a browser, from the same htpasswd
users as HTTP Basic (which, like bearer tokens, stays for scripts).

``next=`` is followed only to a local path, so a crafted link cannot send someone who
just logged in to another site. Failed logins count against the client address as
Basic ones do (:class:`web.auth.guard.FailureLimiter`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request

from web.auth.guard import FailureLimiter, current_user, log_in, log_out
from web.auth.users import Authenticator

bp = Blueprint("auth", __name__, template_folder="templates")
HOME = "/"


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else the home page."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(char) < 32 for char in target):
        return HOME
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    auth: Authenticator = current_app.extensions["rexmon.auth"]
    target = local_path(request.values.get("next"))
    if request.method == "GET":
        return _form(target, "", None)
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    limiter: FailureLimiter = current_app.extensions["rexmon.failures"]
    attempt = limiter.attempt(request.remote_addr or "?")
    if attempt is None:
        return _form(target, name, "Too many failed logins; try again in a few minutes.", 429)
    user = auth.from_password(name, password) if name and password else None
    if user is None:
        return _form(target, name, "Wrong user name or password.", 401)
    limiter.forgive(attempt)
    log_in(user, auth.password_fingerprint(user.name))
    flash(f"Logged in as {user.name} ({user.role.name.lower()}).", "ok")
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> Any:
    name = current_user().name
    log_out()
    flash(f"{name} logged out.", "ok")
    return redirect(HOME, code=303)


def _form(target: str, name: str, error: str | None, status: int = 200) -> Any:
    page = render_template("auth/login.html", target=target, username=name, error=error)
    return page, status

"""Who is asking, and may they: users, roles, and the checks every page and API call uses.

Sources, tried in order: an API token (``Authorization: Bearer``, for scripts), a trusted
header set by a fronting Apache/nginx (``REMOTE_USER``: Kerberos, SSO, certificates), and
HTTP Basic against an htpasswd file of bcrypt hashes. Roles come from the ``auth.roles``
config (users and ``@group`` names); anonymous visitors get ``auth.anonymous``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt

from downtime.policy import ScopePolicy, scope_policy_from_node
from rexmon.errors import ConfigError
from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node
from web.auth.tokens import DIGEST_PREFIX, digest_token

AUTH_KEYS = frozenset(
    {
        "anonymous",
        "htpasswd",
        "trusted_header",
        "roles",
        "groups",
        "api_tokens",
        "max_failures",
        "scopes",
        "session_lifetime",
    }
)
VERIFIED_CACHE_SECONDS = 300
DEFAULT_SESSION_LIFETIME = 12 * 3600  # a shift
MAX_VERIFIED = 1024  # remembered good passwords before expired ones are dropped


class Role(enum.IntEnum):
    """What a user may do; each role includes the ones below it."""

    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(
                f"expected a role (none, viewer, operator, admin), got {text!r}"
            ) from None


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    groups: tuple[str, ...] = ()
    via: str = "anonymous"

    @property
    def authenticated(self) -> bool:
        return self.via != "anonymous"


ANONYMOUS_NONE = User("anonymous", Role.NONE)


@dataclass(frozen=True)
class ApiToken:
    name: str
    digest: str
    role: Role


@dataclass(frozen=True)
class AuthConfig:
    anonymous: Role = Role.VIEWER
    htpasswd: Path | None = None
    trusted_header: str | None = None
    user_roles: Mapping[str, Role] = field(default_factory=dict)
    group_roles: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    api_tokens: tuple[ApiToken, ...] = ()
    max_failures: int = 10
    scopes: ScopePolicy | None = None  # which downtime scopes operators may file
    session_lifetime: int = DEFAULT_SESSION_LIFETIME  # seconds a login page session lasts

    def groups_of(self, user: str) -> tuple[str, ...]:
        return tuple(sorted(group for group, members in self.groups.items() if user in members))

    def role_of(self, user: str) -> Role:
        """The highest role given to the user or any of its groups (viewer at least)."""
        roles = [self.user_roles.get(user, Role.VIEWER)]
        roles += [self.group_roles.get(group, Role.NONE) for group in self.groups_of(user)]
        return max(roles)


def auth_config_from_node(node: Node | None, base_dir: Path) -> AuthConfig:
    """Parse the ``web.auth`` section."""
    if node is None:
        return AuthConfig()
    node.mapping(AUTH_KEYS)
    config: dict[str, Any] = {}
    if (anonymous := node.get("anonymous")) is not None:
        config["anonymous"] = anonymous.parse(Role.parse)
    if (htpasswd := node.get("htpasswd")) is not None:
        config["htpasswd"] = base_dir / htpasswd.as_str()
    if (header := node.get("trusted_header")) is not None:
        config["trusted_header"] = header.as_str()
    if (groups := node.get("groups")) is not None:
        config["groups"] = {name: tuple(members.as_str_list()) for name, members in groups.items()}
    if (roles := node.get("roles")) is not None:
        users: dict[str, Role] = {}
        by_group: dict[str, Role] = {}
        for role_name, members in roles.items():
            role = _role(members, role_name)
            for member in members.as_str_list():
                target = by_group if member.startswith("@") else users
                target[member.lstrip("@")] = max(role, target.get(member.lstrip("@"), Role.NONE))
        config["user_roles"], config["group_roles"] = users, by_group
    if (tokens := node.get("api_tokens")) is not None:
        config["api_tokens"] = tuple(_api_token(item) for item in tokens.as_list())
    if (scopes := node.get("scopes")) is not None:
        config["scopes"] = scope_policy_from_node(scopes)
    if (failures := node.get("max_failures")) is not None:
        config["max_failures"] = failures.as_int(low=1)
    if (lifetime := node.get("session_lifetime")) is not None:
        config["session_lifetime"] = lifetime.parse(parse_duration)
    return AuthConfig(**config)


def _role(node: Node, name: str) -> Role:
    try:
        return Role.parse(name)
    except ValueError as exc:
        raise node.error(str(exc)) from None


def _api_token(item: Node) -> ApiToken:
    item.mapping({"name", "digest", "role"}, required=("name", "digest", "role"))
    digest = item["digest"].as_str()
    if not digest.startswith(DIGEST_PREFIX):
        raise item["digest"].error("expected 'sha256:' and 64 hex digits")
    return ApiToken(item["name"].as_str(), digest, item["role"].parse(Role.parse))


class Authenticator:
    """Turns request headers into a :class:`User`; remembers good passwords briefly."""

    def __init__(self, config: AuthConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._hashes = _read_htpasswd(config.htpasswd) if config.htpasswd else {}
        self._tokens = {token.digest: token for token in config.api_tokens}
        self._verified: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def anonymous(self) -> User:
        return User("anonymous", self.config.anonymous)

    def from_token(self, secret: str) -> User | None:
        token = self._tokens.get(digest_token(secret))
        return None if token is None else User(token.name, token.role, (), "token")

    def from_header(self, value: str | None) -> User | None:
        if not self.config.trusted_header or not value:
            return None
        return self._user(value, "header")

    def from_password(self, name: str, password: str) -> User | None:
        stored = self._hashes.get(name)
        if stored is None:
            bcrypt.checkpw(b"timing", _DUMMY_HASH)  # same cost for unknown users
            return None
        key = hashlib.sha256(stored + b"\0" + password.encode("utf-8")).digest()
        now = self._clock()
        with self._lock:
            seen = self._verified.get(key)
        if seen is None or now - seen > VERIFIED_CACHE_SECONDS:
            if not bcrypt.checkpw(password.encode("utf-8"), stored):
                return None
            with self._lock:
                if len(self._verified) >= MAX_VERIFIED:  # bounded: drop what has expired
                    horizon = now - VERIFIED_CACHE_SECONDS
                    self._verified = {k: at for k, at in self._verified.items() if at > horizon}
                self._verified[key] = now
        return self._user(name, "password")

    def password_fingerprint(self, name: str) -> str:
        """A short digest of the user's stored hash: a login session carries it, so a
        changed password (or a removed user) ends every session of that user."""
        stored = self._hashes.get(name)
        return "" if stored is None else hashlib.sha256(stored).hexdigest()[:16]

    def from_session(self, name: str, fingerprint: str) -> User | None:
        """The user of a login session, if the password it logged in with still stands."""
        if not fingerprint or not hmac.compare_digest(fingerprint, self.password_fingerprint(name)):
            return None
        return self._user(name, "session")

    def _user(self, name: str, via: str) -> User:
        return User(name, self.config.role_of(name), self.config.groups_of(name), via)


_DUMMY_HASH = bcrypt.hashpw(b"dummy", bcrypt.gensalt(rounds=10))


def _read_htpasswd(path: Path) -> dict[str, bytes]:
    """``user:$2y$...`` lines; anything but bcrypt is refused (crypt/MD5/SHA1 are weak)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    hashes: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, stored = line.strip().partition(":")
        if not sep or not name:
            raise ConfigError("expected 'user:bcrypt-hash'", source=str(path), line=number)
        if not stored.startswith(("$2y$", "$2b$", "$2a$")):
            raise ConfigError(
                f"user {name!r}: only bcrypt hashes are accepted (htpasswd -B)",
                source=str(path),
                line=number,
            )
        hashes[name] = stored.encode("ascii")
    return hashes

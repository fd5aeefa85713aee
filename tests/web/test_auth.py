from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from rexmon.errors import ConfigError
from rexmon.yamlconf import parse_yaml
from web.auth import Authenticator, Role, auth_config_from_node
from web.guard import FailureLimiter
from web.tokens import digest_token


def htpasswd(tmp_path: Path, **users: str) -> Path:
    path = tmp_path / "users.htpasswd"
    lines = []
    for name, password in users.items():
        stored = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        lines.append(f"{name}:{stored.replace('$2b$', '$2y$')}")
    path.write_text("\n".join(lines) + "\n")
    return path


def authenticator(tmp_path: Path, extra: str = "") -> Authenticator:
    htpasswd(tmp_path, alice="wonderland", bob="builder", carol="singer")
    node = parse_yaml(
        "htpasswd: users.htpasswd\n"
        "roles:\n  admin: [alice]\n  operator: ['@ops']\n"
        "groups:\n  ops: [bob]\n"
        f"api_tokens:\n  - name: script\n    digest: '{digest_token('tok')}'\n    role: operator\n"
        + extra,
        "auth.yaml",
    )
    return Authenticator(auth_config_from_node(node, tmp_path))


def test_roles_come_from_users_and_groups(tmp_path: Path) -> None:
    auth = authenticator(tmp_path)
    alice = auth.from_password("alice", "wonderland")
    bob = auth.from_password("bob", "builder")
    carol = auth.from_password("carol", "singer")
    assert alice is not None and alice.role is Role.ADMIN
    assert bob is not None and bob.role is Role.OPERATOR and bob.groups == ("ops",)
    assert carol is not None and carol.role is Role.VIEWER


def test_wrong_passwords_and_unknown_users_get_nobody(tmp_path: Path) -> None:
    auth = authenticator(tmp_path)
    assert auth.from_password("alice", "WONDERLAND") is None
    assert auth.from_password("mallory", "wonderland") is None
    assert auth.from_password("alice", "wonderland") is not None
    assert auth.from_password("alice", "wrong-after-cache") is None


def test_api_tokens_and_the_trusted_header(tmp_path: Path) -> None:
    auth = authenticator(tmp_path, "trusted_header: REMOTE_USER\n")
    script = auth.from_token("tok")
    assert script is not None and script.role is Role.OPERATOR and script.via == "token"
    assert auth.from_token("nope") is None
    sso = auth.from_header("alice")
    assert sso is not None and sso.role is Role.ADMIN
    assert authenticator(tmp_path).from_header("alice") is None


def test_anonymous_viewing_is_a_switch(tmp_path: Path) -> None:
    assert authenticator(tmp_path).anonymous().role is Role.VIEWER
    assert authenticator(tmp_path, "anonymous: none\n").anonymous().role is Role.NONE


def test_weak_hashes_and_bad_roles_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "weak.htpasswd").write_text("alice:$apr1$abc$def\n")
    node = parse_yaml("htpasswd: weak.htpasswd\n", "auth.yaml")
    with pytest.raises(ConfigError, match=r"weak.htpasswd:1: .*only bcrypt"):
        Authenticator(auth_config_from_node(node, tmp_path))
    node = parse_yaml("roles:\n  superuser: [alice]\n", "auth.yaml")
    with pytest.raises(ConfigError, match=r"auth.yaml:2: roles.superuser: expected a role"):
        auth_config_from_node(node, tmp_path)


def test_the_failure_limiter_blocks_after_the_limit_and_forgets() -> None:
    now = [1000.0]
    limiter = FailureLimiter(3, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("10.0.0.1")
        limiter.fail("10.0.0.1")
    assert limiter.blocked("10.0.0.1")
    assert not limiter.blocked("10.0.0.2")
    now[0] += 301
    assert not limiter.blocked("10.0.0.1")

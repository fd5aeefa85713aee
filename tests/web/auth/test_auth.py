from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests
import yaml

from rexmon.database import open_database
from rexmon.errors import ConfigError
from rexmon.yamlconf import parse_yaml
from tests.fixtures_server import USERS, RexmonServer, write_server_config
from web.app import create_app
from web.auth.guard import FailureLimiter
from web.auth.tokens import digest_token, new_token
from web.auth.users import Authenticator, Role, auth_config_from_node
from web.config import load_server_config
from web.limitstore import migrate_limits
from web.proxies import is_trusted
from web.services import get_services


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


def test_the_failure_limiter_blocks_after_the_limit_and_forgets(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'rexmon.db'}")
    migrate_limits(engine)
    now = [1000.0]
    limiter = FailureLimiter(lambda: engine, 3, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("10.0.0.1")
        limiter.fail("10.0.0.1")
    assert limiter.blocked("10.0.0.1")
    assert not limiter.blocked("10.0.0.2")
    now[0] += 301
    assert not limiter.blocked("10.0.0.1")


# -- over HTTP: the trusted header, CSRF bound to the user, cookie flags ---------------------


def served(tmp_path: Path, site: dict[str, Any] | None = None, **web: Any) -> RexmonServer:
    """A real server whose ``web:`` (and ``web.auth:``) sections get ``web`` merged in."""
    token = new_token()
    config_path = write_server_config(tmp_path, token)
    config = yaml.safe_load(config_path.read_text())
    config["web"]["auth"].update(web.pop("auth", {}))
    config["web"].update(web)
    if site:
        config["site"] = site
    config_path.write_text(yaml.safe_dump(config))
    server = RexmonServer(create_app(config_path), token, tmp_path / "rrd", config_path)
    server.start()
    return server


@pytest.fixture
def stopped_after() -> Iterator[list[RexmonServer]]:
    servers: list[RexmonServer] = []
    yield servers
    for server in servers:
        server.stop()
        get_services(server.app).close()


DOWNTIME = {"scopes": ["host.*"], "duration": "1h", "reason": "sso"}


def test_a_forged_remote_user_header_counts_only_from_a_trusted_proxy(
    tmp_path: Path, stopped_after: list[RexmonServer], caplog: pytest.LogCaptureFixture
) -> None:
    auth = {"trusted_header": "REMOTE_USER", "anonymous": "none"}
    (tmp_path / "direct").mkdir()
    (tmp_path / "proxied").mkdir()
    direct = served(tmp_path / "direct", auth=auth, trusted_proxies=["10.0.0.0/8"])
    proxied = served(tmp_path / "proxied", auth=auth, trusted_proxies=["127.0.0.1", "::1"])
    stopped_after += [direct, proxied]
    forged = {"Remote-User": "alice"}
    url = "/api/v1/downtimes"
    with caplog.at_level(logging.WARNING, logger="web.auth.guard"):
        for _ in range(3):
            assert requests.get(direct.url + url, headers=forged, timeout=10).status_code == 401
            refused = requests.post(direct.url + url, json=DOWNTIME, headers=forged, timeout=10)
            assert refused.status_code == 401
    ignored = [r for r in caplog.records if "not in web.trusted_proxies" in r.getMessage()]
    assert len(ignored) == 1 and "127.0.0.1" in ignored[0].getMessage()
    filed = requests.post(proxied.url + url, json=DOWNTIME, headers=forged, timeout=10)
    assert filed.status_code == 201, filed.text
    assert filed.json()["author"] == "alice"


def test_a_csrf_token_is_worthless_with_another_users_credentials(
    tmp_path: Path, stopped_after: list[RexmonServer]
) -> None:
    server = served(tmp_path)
    stopped_after.append(server)
    olivia = requests.Session()
    olivia.auth = ("olivia", USERS["olivia"][0])
    page = olivia.get(f"{server.url}/downtimes/new", timeout=10).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    fields = {"scopes": "host.*", "start": "now", "duration": "1h", "reason": "r"}
    fields["csrf_token"] = match.group(1)
    planted = requests.Session()  # olivia's cookie and token, dana's browser credentials
    planted.cookies.update(olivia.cookies)
    planted.auth = ("dana", USERS["dana"][0])
    answer = planted.post(f"{server.url}/downtimes/new", data=fields, allow_redirects=False)
    assert answer.status_code == 400 and "CSRF" in answer.text
    assert olivia.get(f"{server.url}/api/v1/downtimes", timeout=10).json()["downtimes"] == []
    saved = olivia.post(f"{server.url}/downtimes/new", data=fields, allow_redirects=False)
    assert saved.status_code == 302
    filed = olivia.get(f"{server.url}/api/v1/downtimes", timeout=10).json()["downtimes"]
    assert [downtime["author"] for downtime in filed] == ["olivia"]


@pytest.mark.parametrize("base_url", ["https://rexmon.example.org", "http://127.0.0.1:8080"])
def test_session_cookies_are_httponly_lax_and_secure_on_an_https_site(
    tmp_path: Path, stopped_after: list[RexmonServer], base_url: str
) -> None:
    server = served(tmp_path, site={"base_url": base_url})
    stopped_after.append(server)
    answer = requests.get(
        f"{server.url}/downtimes/new", auth=("olivia", USERS["olivia"][0]), timeout=10
    )
    cookie = answer.headers["Set-Cookie"]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite"} <= flags
    assert "SameSite=Lax" in cookie
    assert ("secure" in flags) is base_url.startswith("https://")


def test_trusted_proxies_default_to_loopback_and_a_bad_address_names_its_line(
    tmp_path: Path,
) -> None:
    path = write_server_config(tmp_path, new_token())
    assert is_trusted("127.0.0.1", load_server_config(path).web.trusted_proxies)
    assert not is_trusted("10.1.2.3", load_server_config(path).web.trusted_proxies)
    config = yaml.safe_load(path.read_text())
    config["web"]["trusted_proxies"] = ["10.0.0.0/8", "nginx.example.org"]
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"rexmon.yaml:\d+: .*trusted_proxies.*'nginx"):
        load_server_config(path)


def test_a_burst_of_concurrent_bad_logins_gets_no_more_tries_than_max_failures(
    tmp_path: Path, stopped_after: list[RexmonServer]
) -> None:
    server = served(tmp_path, auth={"max_failures": 3})
    stopped_after.append(server)
    olivia = ("olivia", USERS["olivia"][0])
    for _ in range(5):  # a login that succeeds is charged, then forgiven
        assert requests.get(f"{server.url}/api/v1/downtimes", auth=olivia).status_code == 200
    start = threading.Barrier(24)

    def guess(n: int) -> int:
        start.wait(timeout=10)
        url = f"{server.url}/api/v1/downtimes"
        return requests.get(url, auth=("mallory", f"guess-{n}"), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        codes = list(pool.map(guess, range(24)))
    assert codes.count(401) == 3 and codes.count(429) == 21, codes
    right = requests.get(f"{server.url}/api/v1/downtimes", auth=olivia)
    assert right.status_code == 429  # the address stays blocked, whatever it sends

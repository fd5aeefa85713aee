"""``make run``'s site: the push token and the logins of the demo, made once in ``var/``.

:func:`prepare_demo_site` makes what the demo needs that a real site makes by hand (a
push token for the local slurpers, an admin and an operator login so the downtime form
and acknowledgements can be tried at once) and hands it to the launcher,
:mod:`rexmon.demo`. Each is generated on the first run and kept, so a restart keeps the
same logins; passwords are random and stored only as bcrypt hashes besides the one
``var/demo-logins`` file (mode 0600) that shows them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import bcrypt
import click

from rexmon.demo import DemoSite
from web.auth.tokens import add_token_entry, digest_token, new_token
from web.config import ServerConfig

DEMO_USERS = ("admin", "operator")
# The example receivers mail through a relay that needs a password the demo has none of:
# its notifications fail and show as failed attempts in the log on /alarms.
DEMO_SECRETS = {"REXMON_SMTP_PASSWORD": "demo-has-no-password"}


def prepare_demo_site(config: ServerConfig, config_path: Path, port: int) -> DemoSite:
    config.archive.root.mkdir(parents=True, exist_ok=True)
    tokens_file = config.web.tokens_file
    if tokens_file is None:
        raise click.ClickException("the demo needs web.tokens_file in the config")
    var = tokens_file.parent
    logins, logins_file = ensure_demo_logins(config, var)
    return DemoSite(
        config=config_path.resolve(),
        slurpers=config_path.resolve().parent / "slurpers.yaml",
        port=port,
        token=ensure_demo_token(tokens_file, var),
        archive_root=config.archive.root,
        logins=logins,
        logins_file=logins_file,
        env=DEMO_SECRETS,
    )


def ensure_demo_token(tokens_file: Path, var: Path) -> str:
    """The demo token from ``var/demo-token``, made and registered on first run."""
    token_path = var / "demo-token"
    if token_path.exists():
        return token_path.read_text().strip()
    secret = new_token()
    add_token_entry(tokens_file, {"name": "demo", "digest": digest_token(secret), "metrics": ["*"]})
    for path in (token_path, var / "slurp.token"):
        _write_private(path, secret + "\n")
    return secret


def ensure_demo_logins(config: ServerConfig, var: Path) -> tuple[dict[str, str], Path | None]:
    """The demo's users and passwords (``var/demo-logins``), and their htpasswd file
    (``web.auth.htpasswd``), made on first run; nothing without an htpasswd in the config."""
    htpasswd = config.web.auth.htpasswd
    if htpasswd is None:
        return {}, None
    logins_file = var / "demo-logins"
    if logins_file.exists() and htpasswd.exists():
        pairs = (line.split(" ", 1) for line in logins_file.read_text().splitlines() if line)
        return {user: password for user, password in pairs}, logins_file
    logins = {user: secrets.token_urlsafe(12) for user in DEMO_USERS}
    lines = (
        f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}\n"
        for user, password in logins.items()
    )
    _write_private(htpasswd, "".join(lines))
    _write_private(logins_file, "".join(f"{u} {p}\n" for u, p in logins.items()))
    return logins, logins_file


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.chmod(0o600)
    temporary.replace(path)

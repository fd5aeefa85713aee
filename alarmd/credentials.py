"""Secrets in notification URLs: ``${VAR}`` substitution, the secrets file, redaction.

A receiver URL may say ``mailto://alarms:${SMTP_PASSWORD}@mail.example.org``. Each
``${NAME}`` is looked up first in the secrets file (``KEY=VALUE`` lines, ``#`` comments;
the file must not be readable by group or others), then in the environment. The real URL
goes to apprise only; everything shown to people (logs, ``check-config``, the web) goes
through :func:`redact`, and free text that may echo a URL (apprise's error messages)
through :func:`scrub`.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from alarmd.providers import load_apprise
from rexmon.errors import ConfigError

MASK = "***"
MIN_SECRET_LENGTH = 3
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:pass|password|secret|token|apikey|api_key|key|auth|webhook)=)[^&#]*"
)


def substitute(text: str, lookup: Mapping[str, str]) -> tuple[str, frozenset[str]]:
    """Replace every ``${NAME}``; return the text and the secret values used.

    Raises KeyError with the first undefined name.
    """
    used: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        value = lookup[match.group(1)]
        if value:
            used.add(value)
        return value

    return _VARIABLE.sub(replace, text), frozenset(used)


def read_secrets_file(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines from a file only its owner may read."""
    source = str(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read secrets file: {exc.strerror}", source=source) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError("secrets file is not a regular file", source=source)
    if info.st_mode & 0o077:
        raise ConfigError(
            f"secrets file is readable or writable by group/others (mode"
            f" {stat.S_IMODE(info.st_mode):04o}); run 'chmod 600 {source}'",
            source=source,
        )
    secrets: dict[str, str] = {}
    with path.open(encoding="utf-8") as stream:
        for number, raw in enumerate(stream, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            name = name.strip()
            if not sep or not _NAME.match(name):
                raise ConfigError("expected a line NAME=VALUE", source=source, line=number)
            secrets[name] = value.strip()
    return secrets


def lookup_chain(secrets: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """Secrets-file values first, then the environment."""
    merged = dict(environ)
    merged.update(secrets)
    return merged


def redact(url: str) -> str:
    """A URL fit for logs and screens: passwords, tokens and keys replaced by ``***``.

    apprise knows where each service keeps its secrets, so its privacy mode is used when
    the URL is one it understands; otherwise (or if the password still shows) only the
    scheme is kept.
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,31}", scheme):
        return MASK
    shown = _apprise_private_url(url)
    if shown is None:
        return f"{scheme}://{MASK}"
    shown = _SECRET_QUERY.sub(lambda match: match.group(1) + MASK, shown)
    for secret in _url_secrets(url):
        if secret in shown:
            return f"{scheme}://{MASK}"
    return shown


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret value replaced by ``***``.

    Values shorter than 3 characters are left alone: masking every ``x`` of a text
    would hide everything and reveal the secret all the same.
    """
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
    return text


def url_secrets(url: str) -> frozenset[str]:
    """The parts of a URL that are secret whatever the service: password and tokens."""
    return frozenset(_url_secrets(url))


def _url_secrets(url: str) -> list[str]:
    found: list[str] = []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return found
    if password:
        found += [password, unquote(password)]
    for match in _SECRET_QUERY.finditer(url):
        value = url[match.end(1) : match.end()]
        if value:
            found += [value, unquote(value)]
    return [item for item in found if len(item) >= MIN_SECRET_LENGTH]


def _apprise_private_url(url: str) -> str | None:
    apprise = load_apprise()

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return None
    text = plugin.url(privacy=True)
    return _keep_query(text, url) if isinstance(text, str) else None


def _keep_query(shown: str, original: str) -> str:
    """Drop the default parameters apprise adds; keep those the user wrote."""
    try:
        parts = urlsplit(shown)
        wanted = {key for key, _ in parse_qsl(urlsplit(original).query, keep_blank_values=True)}
    except ValueError:
        return shown
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in wanted]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*.")))

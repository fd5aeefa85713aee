"""Bearer tokens for pushing samples: stored as SHA-256 digests, each limited to globs.

Tokens are long random strings, so a plain SHA-256 digest is enough to keep the stored
form useless to a reader of the config; lookups compare digests only.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rexmon.metric import glob_matcher
from rexmon.yamlconf import Node

DIGEST_PREFIX = "sha256:"
TOKEN_KEYS = frozenset({"name", "digest", "metrics", "max_new_metrics"})
DEFAULT_MAX_NEW_METRICS = 0  # per token and hour; 0 = unlimited (set it per token)


def digest_token(token: str) -> str:
    """The stored form of a token."""
    return DIGEST_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Token:
    """One configured token: who it is, which metrics it may write, and how many metrics
    that have no RRD yet it may create per hour (``max_new_metrics``, 0 = no limit)."""

    name: str
    digest: str
    metrics: tuple[str, ...] = ("*",)
    max_new_metrics: int = DEFAULT_MAX_NEW_METRICS
    _matchers: tuple[Callable[[str], bool], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matchers", tuple(glob_matcher(g) for g in self.metrics))

    def allows(self, metric: str) -> bool:
        if "*" in self.metrics:  # the common fleet token: no per-sample matching
            return True
        return any(match(metric) for match in self._matchers)


def tokens_from_node(node: Node) -> list[Token]:
    """Parse a list of ``{name, digest, metrics, max_new_metrics}`` entries."""
    tokens = []
    for item in node.as_list():
        item.mapping(TOKEN_KEYS, required=("name", "digest"))
        digest_node = item["digest"]
        digest = digest_node.as_str()
        if not digest.startswith(DIGEST_PREFIX) or len(digest) != len(DIGEST_PREFIX) + 64:
            raise digest_node.error(
                "expected 'sha256:' and 64 hex digits (make one with `rexmon-web token`)"
            )
        metrics_node = item.get("metrics")
        globs = ("*",) if metrics_node is None else tuple(metrics_node.as_str_list())
        quota_node = item.get("max_new_metrics")
        quota = DEFAULT_MAX_NEW_METRICS if quota_node is None else quota_node.as_int(low=0)
        try:
            tokens.append(Token(item["name"].as_str(), digest, globs, quota))
        except ValueError as exc:
            raise (metrics_node or item).error(str(exc)) from None
    return tokens


class TokenRegistry:
    """Finds the token behind a bearer secret."""

    def __init__(self, tokens: Iterable[Token]) -> None:
        self._by_digest = {token.digest: token for token in tokens}

    def __len__(self) -> int:
        return len(self._by_digest)

    def find(self, secret: str) -> Token | None:
        return self._by_digest.get(digest_token(secret))


def add_token_entry(path: Path, entry: Mapping[str, object]) -> None:
    """Append one token entry to a tokens file, keeping it readable only by its owner.

    The entry is appended as one line to the file's ``tokens:`` list, so the comments and
    layout a person gave the file stay; a file whose list cannot be extended that way
    (``tokens`` not the last key, a flow list with entries) is refused rather than
    rewritten."""
    text = path.read_text() if path.exists() else ""
    document = yaml.safe_load(text) if text.strip() else None
    if document is not None and (not isinstance(document, dict) or set(document) - {"tokens"}):
        raise ValueError(f"{path}: expected a file with only a 'tokens:' list")
    tokens = (document or {}).get("tokens") or []
    updated = _appended(text, _entry_line(entry))
    try:
        check = yaml.safe_load(updated)
    except yaml.YAMLError:
        check = None
    if not isinstance(check, dict) or check.get("tokens") != [*tokens, dict(entry)]:
        raise ValueError(f"{path}: cannot append to its 'tokens:' list; add this entry by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(updated)
    temporary.chmod(0o600)
    temporary.replace(path)


def _entry_line(entry: Mapping[str, object]) -> str:
    """One YAML flow mapping (JSON is YAML), e.g. ``{"name": "node01", ...}``."""
    return json.dumps(dict(entry))


def _appended(text: str, line: str) -> str:
    """``text`` with ``line`` added as the last item of its top-level ``tokens:`` list."""
    if not re.search(r"^tokens:", text, re.M):
        return text + ("" if not text or text.endswith("\n") else "\n") + f"tokens:\n  - {line}\n"
    text = re.sub(r"^tokens:[ \t]*\[\][ \t]*(#.*)?$", r"tokens:  \1", text, count=1, flags=re.M)
    items = re.findall(r"^([ \t]*)- ", text.split("tokens:", 1)[1], re.M)
    indent = items[0] if items else "  "
    return text.rstrip("\n") + f"\n{indent}- {line}\n"

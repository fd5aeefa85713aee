"""Run a Munin plugin as munin-node does: its environment, its user, its cached ``config``.

The environment is munin-node's (``MUNIN_LIBDIR``, ``MUNIN_PLUGSTATE``,
``MUNIN_STATEFILE``, ``MUNIN_CAP_MULTIGRAPH=1``, ``LC_ALL=C`` so numbers have a dot) plus
the ``env.NAME`` settings of the plugin's sections. ``user``/``group`` switch users, which
needs root: otherwise the plugin is not run and the message says why.

``config`` output is cached in ``<state>/config/<plugin>.json`` with the plugin file's
path, mtime and size and the settings it ran with; any change runs ``config`` again. A
fetch that names a field the cached config lacks (a new disk) also runs it again.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rexmon.errors import ConfigError
from slurpers.errors import CollectError
from slurpers.program import run_program

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class PluginSettings:
    """The merged plugin-conf.d sections of one plugin."""

    env: tuple[tuple[str, str], ...] = ()
    user: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class PluginConf:
    """One plugin-conf.d-like section: ``[df*]`` or ``[if_eth0]``."""

    pattern: str
    settings: PluginSettings

    def matches(self, plugin: str) -> bool:
        if self.pattern.endswith("*"):
            return plugin.startswith(self.pattern[:-1])
        return plugin == self.pattern


_SKIPPED_FILE = re.compile(r"^\.|~$|\.(bak|orig|rpmsave|rpmnew|dpkg-\w+)$")


def parse_plugin_conf(text: str, source: str) -> list[PluginConf]:
    """The sections of one plugin-conf.d file. ``user``, ``group`` (the first of a list;
    munin's optional ``(group)`` too) and ``env.NAME value`` are read; other settings
    (``command``, ``timeout``, ``host_name``) are munin-node's own and skipped."""
    sections: list[PluginConf] = []
    pattern: str | None = None
    env: list[tuple[str, str]] = []
    values: dict[str, str] = {}

    def close() -> None:
        if pattern is not None:
            settings = PluginSettings(tuple(env), values.get("user"), values.get("group"))
            sections.append(PluginConf(pattern, settings))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            close()
            pattern, env, values = line[1:-1].strip(), [], {}
            continue
        key, _, value = line.partition(" ")
        value = value.strip()
        if pattern is None:
            raise ConfigError(f"{key!r} before any [plugin] section", source=source, line=number)
        if key.startswith("env.") and len(key) > 4:
            env.append((key[4:], value))
        elif key == "user" and value:
            values["user"] = value
        elif key == "group" and value:
            values["group"] = value.split(",")[0].strip().strip("()")
    close()
    return sections


def load_plugin_conf_dir(directory: Path) -> list[PluginConf]:
    """Every file of a plugin-conf.d directory in name order, as munin-node reads them
    (backups, package leftovers and the README skipped)."""
    try:
        names = sorted(path.name for path in directory.iterdir() if path.is_file())
    except OSError as exc:
        raise ConfigError(f"cannot read {directory}: {exc.strerror or exc}") from None
    sections: list[PluginConf] = []
    for name in names:
        if _SKIPPED_FILE.search(name):
            continue
        path = directory / name
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        sections.extend(parse_plugin_conf(text, str(path)))
    return sections


def settings_for(plugin: str, sections: tuple[PluginConf, ...]) -> PluginSettings:
    """Sections as munin-node merges them: wildcards first (shorter first), then the
    exact name; a later section's ``user``, ``group`` and ``env.X`` win (among equals,
    the one given later: the slurper config's after plugin-conf.d's)."""
    matching = [s for s in sections if s.matches(plugin)]
    matching.sort(key=lambda s: (not s.pattern.endswith("*"), len(s.pattern)))
    env: dict[str, str] = {}
    user: str | None = None
    group: str | None = None
    for section in matching:
        env.update(section.settings.env)
        user = section.settings.user or user
        group = section.settings.group or group
    return PluginSettings(tuple(sorted(env.items())), user, group)


@dataclass(frozen=True)
class Plugin:
    """A plugin to run: its name (the link's name: ``if_eth0``) and its path."""

    name: str
    path: Path


def identity(settings: PluginSettings, euid: int, egid: int) -> tuple[int | None, int | None, str]:
    """(uid, gid, user name) to run a plugin as, for a slurper running as ``euid``/``egid``:
    (None, None, name) when no switch is needed; :class:`CollectError` when one is needed
    and ``euid`` is not root."""
    me = pwd.getpwuid(euid).pw_name
    if settings.user is None and settings.group is None:
        return None, None, me
    name = settings.user or me
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise CollectError(f"user {name!r} does not exist") from None
    gid = entry.pw_gid
    if settings.group is not None:
        try:
            gid = grp.getgrnam(settings.group).gr_gid
        except KeyError:
            raise CollectError(f"group {settings.group!r} does not exist") from None
    if entry.pw_uid == euid and gid == egid:
        return None, None, name
    if euid != 0:
        wanted = f"user {name!r}" + (f", group {settings.group!r}" if settings.group else "")
        raise CollectError(
            f"runs as {wanted}: rexmon-slurp must run as root to switch (it runs as {me!r})"
        )
    return entry.pw_uid, gid, name


@dataclass(frozen=True)
class Runner:
    """Runs plugins for one instance; ``state_dir`` holds the cache and plugin state."""

    state_dir: Path
    libdir: Path
    timeout: float

    def _environment(self, plugin: Plugin, settings: PluginSettings, user: str) -> dict[str, str]:
        state = self.state_dir / "plugin-state" / user
        return {
            "PATH": os.environ.get("PATH", DEFAULT_PATH),
            "LC_ALL": "C",
            "MUNIN_LIBDIR": str(self.libdir),
            "MUNIN_PLUGSTATE": str(state),
            "MUNIN_STATEFILE": str(state / f"{plugin.name}--"),
            "MUNIN_MASTER_IP": "-",
            "MUNIN_CAP_MULTIGRAPH": "1",
            **dict(settings.env),
        }

    def run(self, plugin: Plugin, settings: PluginSettings, argument: str | None) -> str:
        """The plugin's standard output; raises :class:`CollectError` when it fails."""
        uid, gid, user = identity(settings, os.geteuid(), os.getegid())
        state = self.state_dir / "plugin-state" / user
        state.mkdir(parents=True, exist_ok=True, mode=0o750)
        if uid is not None:
            os.chown(state, uid, gid if gid is not None else -1)
        argv = [str(plugin.path)] + ([argument] if argument else [])
        done = run_program(
            argv,
            timeout=self.timeout,
            env=self._environment(plugin, settings, user),
            cwd="/",
            user=uid,
            group=gid,
        )
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or [""])[-1][:200]
            what = argument or "fetch"
            raise CollectError(f"{what} exited with status {done.returncode}: {detail}")
        return done.stdout

    def _cache_path(self, plugin: Plugin) -> Path:
        return self.state_dir / "config" / f"{plugin.name}.json"

    def _cache_key(self, plugin: Plugin, settings: PluginSettings) -> dict[str, Any]:
        target = plugin.path.resolve()
        info = target.stat()
        conf = json.dumps([settings.env, settings.user, settings.group, str(self.libdir)])
        return {
            "path": str(target),
            "mtime_ns": info.st_mtime_ns,
            "size": info.st_size,
            "settings": hashlib.sha256(conf.encode()).hexdigest(),
        }

    def config(self, plugin: Plugin, settings: PluginSettings, *, fresh: bool = False) -> str:
        """The ``config`` output: from the cache while the plugin and its settings are
        unchanged (and not ``fresh``), else run and cached."""
        try:
            key = self._cache_key(plugin, settings)
        except OSError as exc:
            raise CollectError(f"cannot read {plugin.path}: {exc.strerror or exc}") from None
        path = self._cache_path(plugin)
        if not fresh:
            try:
                cached = json.loads(path.read_text(encoding="utf-8"))
                if cached.get("key") == key and isinstance(cached.get("output"), str):
                    return str(cached["output"])
            except (OSError, ValueError):
                pass  # no cache yet, or a damaged one: run config
        output = self.run(plugin, settings, "config")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(json.dumps({"key": key, "output": output}), encoding="utf-8")
        os.replace(temp, path)
        return output

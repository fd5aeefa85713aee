"""The munin source with the real plugins of Debian's munin-node (munin-plugins-core)."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from rexmon.errors import ConfigError
from rexmon.sample import DsType, Sample
from slurpers.config import config_from_text
from slurpers.errors import CollectError
from slurpers.muninrun import (
    PluginConf,
    PluginSettings,
    identity,
    load_plugin_conf_dir,
    settings_for,
)
from slurpers.registry import standard_registry
from slurpers.runner import collect
from slurpers.sources.munin import MuninOptions
from tests.slurpers.helpers import fake_executable

PLUGINS = Path("/usr/share/munin/plugins")
pytestmark = pytest.mark.skipif(
    not (PLUGINS / "cpu").exists(), reason="install munin-node munin-plugins-core (Debian)"
)


def enable(directory: Path, *links: tuple[str, str]) -> Path:
    """What munin-node-configure does: plugin links in an 'enabled' directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in links:
        (directory / name).symlink_to(PLUGINS / target)
    return directory


def munin_config(tmp_path: Path, plugins: str, extra: str = "") -> str:
    return f"""
server: {{url: "http://127.0.0.1:9", token: t}}
hostname: node01.example.org
instances:
  munin:
    source: munin
    plugins: [{plugins}]
    plugin_dir: {tmp_path / "enabled"}
    state_dir: {tmp_path / "state"}
{extra}"""


def collected(tmp_path: Path, text: str) -> tuple[dict[str, Sample], list[str]]:
    config = config_from_text(text, standard_registry(), tmp_path)
    result = collect(config.instances["munin"], config.hostname, int(time.time()))
    problems = [f"{p.part}: {p.message}" for p in result.run.problems]
    return {s.metric: s for s in result.samples}, problems


def test_load_cpu_memory_df_and_if_lo_give_typed_samples(tmp_path: Path) -> None:
    links = [(n, n) for n in ("load", "cpu", "memory", "df")] + [("if_lo", "if_")]
    enable(tmp_path / "enabled", *links)
    text = munin_config(tmp_path, "load, cpu, memory, df, if_lo")
    samples, problems = collected(tmp_path, text)
    assert problems == []
    prefix = "munin.node01_example_org"
    assert samples[f"{prefix}.load.load"].type is DsType.GAUGE
    assert samples[f"{prefix}.cpu.user"].type is DsType.DERIVE
    assert samples[f"{prefix}.cpu.user"].value is not None
    assert samples[f"{prefix}.memory.free"].value > 0
    assert samples[f"{prefix}.if_lo.up"].type is DsType.DERIVE
    assert (samples[f"{prefix}.cpu.user"].min, samples[f"{prefix}.cpu.user"].max) == (0.0, None)
    assert any(m.startswith(f"{prefix}.df.") for m in samples)


def test_config_runs_once_and_again_when_the_plugin_changes(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    plugin = fake_executable(
        tmp_path / "enabled",
        "jobs",
        f'echo "${{1:-fetch}}" >> {calls}\n'
        'if [ "$1" = config ]; then echo "graph_title Jobs"; echo "done.type DERIVE"; '
        'else echo "done.value 5"; fi\n',
    )
    text = munin_config(tmp_path, "jobs")
    for _ in range(3):
        samples, problems = collected(tmp_path, text)
        assert problems == []
        assert samples["munin.node01_example_org.jobs.done"].type is DsType.DERIVE
    assert calls.read_text().split() == ["config", "fetch", "fetch", "fetch"]
    plugin.write_text(plugin.read_text() + "# edited\n")
    os.utime(plugin, ns=(time.time_ns(), time.time_ns() + 10**9))
    collected(tmp_path, text)
    assert calls.read_text().split()[-2:] == ["config", "fetch"]


def test_a_field_the_cached_config_lacks_asks_for_config_again(tmp_path: Path) -> None:
    flag = tmp_path / "second_disk"
    fake_executable(
        tmp_path / "enabled",
        "disks",
        'if [ "$1" = config ]; then echo "a.type DERIVE";'
        f' [ -e {flag} ] && echo "b.type DERIVE"; else echo "a.value 1";'
        f' [ -e {flag} ] && echo "b.value 2"; fi; exit 0\n',
    )
    text = munin_config(tmp_path, "disks")
    collected(tmp_path, text)
    flag.touch()
    samples, _ = collected(tmp_path, text)
    assert samples["munin.node01_example_org.disks.b"].type is DsType.DERIVE


def test_env_settings_reach_the_plugin_and_change_its_config(tmp_path: Path) -> None:
    enable(tmp_path / "enabled", ("df", "df"))
    extra = '    plugin_conf:\n      "df*": {env.warning: 50, env.critical: "60"}\n'
    config = config_from_text(munin_config(tmp_path, "df", extra), standard_registry(), tmp_path)
    options = config.instances["munin"].options
    assert isinstance(options, MuninOptions)
    collect(config.instances["munin"], config.hostname, int(time.time()))
    [cache] = (tmp_path / "state" / "munin" / "config").iterdir()
    assert ".warning 50" in cache.read_text() and ".critical 60" in cache.read_text()


def test_a_plugin_wanting_another_user_is_refused_unless_root(tmp_path: Path) -> None:
    # the plugin and the state must be reachable by 'nobody': not under pytest's 0700 dirs
    shared = Path(tempfile.mkdtemp(prefix="rexmon-munin-"))
    try:
        shared.chmod(0o755)
        extra = "    plugin_conf:\n      load: {user: nobody}\n"
        text = munin_config(shared, f"{PLUGINS / 'load'}", extra)
        samples, problems = collected(tmp_path, text)
        if os.geteuid() == 0:
            assert problems == [] and "munin.node01_example_org.load.load" in samples
            state = shared / "state" / "munin" / "plugin-state" / "nobody"
            assert state.stat().st_uid == pwd.getpwnam("nobody").pw_uid
        else:
            assert samples == {}
            assert "must run as root to switch" in problems[0]
    finally:
        shutil.rmtree(shared)


def test_a_failing_plugin_is_a_problem_and_the_others_are_collected(tmp_path: Path) -> None:
    enable(tmp_path / "enabled", ("load", "load"))
    fake_executable(tmp_path / "enabled", "broken", "echo 'no such thing' >&2\nexit 1\n")
    samples, problems = collected(tmp_path, munin_config(tmp_path, "broken, load"))
    assert list(samples) == ["munin.node01_example_org.load.load"]
    assert problems == ["plugin broken: config exited with status 1: no such thing"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    plugin_conf:\n      'df*x': {user: root}\n", "name prefix ending in '*'"),
        ("    plugin_conf:\n      df: {env.1x: a}\n", "not an environment variable"),
        ("    plugin_conf:\n      df: {command: a}\n", "unknown key 'command'"),
    ],
)
def test_bad_plugin_conf_sections_are_refused_at_load(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(Exception, match=message):
        config_from_text(munin_config(tmp_path, "df", extra), standard_registry(), tmp_path)


def test_only_root_may_switch_users_and_the_message_says_so() -> None:
    nobody = pwd.getpwnam("nobody")
    wants_root = PluginSettings(user="root")
    with pytest.raises(CollectError, match="runs as user 'root': rexmon-slurp must run as root"):
        identity(wants_root, nobody.pw_uid, nobody.pw_gid)
    assert identity(PluginSettings(), nobody.pw_uid, nobody.pw_gid) == (None, None, "nobody")
    assert identity(PluginSettings(user="nobody"), nobody.pw_uid, nobody.pw_gid)[0] is None
    assert identity(PluginSettings(user="nobody"), 0, 0)[:2] == (nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(CollectError, match="user 'no-such-user' does not exist"):
        identity(PluginSettings(user="no-such-user"), 0, 0)


def test_sections_merge_wildcards_first_then_the_exact_name() -> None:
    sections = (
        PluginConf("if_eth0", PluginSettings((("a", "exact"),), user="root")),
        PluginConf("if_*", PluginSettings((("a", "wild"), ("b", "wild")))),
        PluginConf("i*", PluginSettings((("b", "short"), ("c", "short")), user="nobody")),
    )
    merged = settings_for("if_eth0", sections)
    assert merged == PluginSettings((("a", "exact"), ("b", "wild"), ("c", "short")), "root")
    assert settings_for("load", sections) == PluginSettings()


DEBIAN_CONF = Path("/etc/munin/plugin-conf.d")


@pytest.mark.skipif(not (DEBIAN_CONF / "munin-node").exists(), reason="munin-node's plugin-conf.d")
def test_debians_plugin_conf_d_is_read_and_the_slurper_config_wins(tmp_path: Path) -> None:
    sections = load_plugin_conf_dir(DEBIAN_CONF)
    assert settings_for("apt", sections).user == "root"
    assert settings_for("if_eth0", sections).user == "root"
    assert settings_for("exim_mailqueue", sections).group == "adm"
    assert ("warning", "92") in settings_for("df", sections).env
    extra = (
        f"    plugin_conf_dir: {DEBIAN_CONF}\n"
        '    plugin_conf:\n      "df*": {env.warning: "50"}\n'
    )
    config = config_from_text(munin_config(tmp_path, "df", extra), standard_registry(), tmp_path)
    options = config.instances["munin"].options
    merged = settings_for("df", options.conf)
    assert ("warning", "50") in merged.env and ("critical", "98") in merged.env


def test_a_plugin_conf_file_is_read_as_munin_node_reads_it(tmp_path: Path) -> None:
    conf = tmp_path / "plugin-conf.d"
    conf.mkdir()
    (conf / "00-site").write_text(
        "# site settings\n[jobs]\nenv.queue short long\nuser nobody\ncommand %c -x\n"
    )
    (conf / "zz-local").write_text("[jobs]\nenv.queue short\n")
    (conf / "zz-local.dpkg-old").write_text("[jobs]\nenv.queue old\n")
    (conf / "zz-local~").write_text("[jobs]\nenv.queue backup\n")
    merged = settings_for("jobs", tuple(load_plugin_conf_dir(conf)))
    assert merged == PluginSettings((("queue", "short"),), user="nobody")
    (conf / "bad").write_text("user root\n[jobs]\n")
    with pytest.raises(ConfigError, match=r"bad:1: 'user' before any \[plugin\] section"):
        load_plugin_conf_dir(conf)
    with pytest.raises(ConfigError, match="cannot read"):
        load_plugin_conf_dir(tmp_path / "missing")

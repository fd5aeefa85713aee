"""``munin``: run Munin plugins as munin-node does and send their values.

Each plugin's ``config`` is read once and cached (see :mod:`slurpers.muninrun`); its
``type`` (GAUGE, DERIVE, COUNTER, ABSOLUTE) becomes the sample's type, so the RRD is
created right. Metric ids are ``<prefix>.<graph>.<field>`` with the default prefix
``munin.{host}``; the graph is the plugin's name or its multigraph name (a dotted one
gives a component per part). ``U`` is sent as unknown. ``min``/``max`` and
``warning``/``critical`` are read into each field's limits (see ``parse_config``); ``min``
and ``max`` also travel with each sample, so the RRD gets them as its DS bounds.

A graph with a ``warning`` or ``critical`` on any field also gives a check result named
``<prefix>.<graph>``, as munin-limits would judge it: CRITICAL or WARNING when a GAUGE
field is outside its range, UNKNOWN when such a field is ``U``, else OK. The limits of
DERIVE/COUNTER/ABSOLUTE fields apply to rates, which only the archive knows: they travel
with the check result but do not set its state.

Options::

    plugins: [load, cpu, df, if_eth0]   # names in plugin_dir, or paths
    plugin_dir: /etc/munin/plugins      # munin-node's directory of enabled plugins
    state_dir: /var/lib/rexmon/munin    # config cache and MUNIN_PLUGSTATE
    libdir: /usr/share/munin            # MUNIN_LIBDIR (plugin.sh lives here)
    timeout: 10s                        # per plugin call
    plugin_conf_dir: /etc/munin/plugin-conf.d   # read first (optional)
    plugin_conf:                        # as /etc/munin/plugin-conf.d, read after it
      "df*": {env.warning: "92", env.critical: "98"}
      apt: {user: root}
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rexmon.checkresult import (
    MAX_LONG_OUTPUT_BYTES,
    MAX_OUTPUT_BYTES,
    MAX_PERFDATA,
    CheckResult,
    CheckState,
    PerfDatum,
    bounded,
    worst,
)
from rexmon.errors import ConfigError, InvalidMetricName, InvalidSample
from rexmon.sample import DsType, Sample, validate_bounds
from rexmon.yamlconf import Node
from slurpers.errors import CollectError
from slurpers.munin import MuninField, MuninGraph, parse_config, parse_fetch
from slurpers.muninrun import (
    Plugin,
    PluginConf,
    PluginSettings,
    Runner,
    load_plugin_conf_dir,
    settings_for,
)
from slurpers.source import COMMON_KEYS, Collected, Run, Source, timeout_option

KEYS = frozenset(
    {"plugins", "plugin_dir", "state_dir", "libdir", "timeout", "plugin_conf", "plugin_conf_dir"}
)
SECTION_KEYS = ("user", "group")
DEFAULT_PLUGIN_DIR = "/etc/munin/plugins"
DEFAULT_STATE_DIR = "/var/lib/rexmon/munin"
DEFAULT_LIBDIR = "/usr/share/munin"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PLUGIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*\Z")


@dataclass(frozen=True)
class MuninOptions:
    plugins: tuple[Plugin, ...]
    state_dir: Path
    libdir: Path = Path(DEFAULT_LIBDIR)
    timeout: float = 10.0
    conf: tuple[PluginConf, ...] = ()


def _section(pattern: str, node: Node) -> PluginConf:
    if not _PLUGIN_NAME.match(pattern.rstrip("*")) or "*" in pattern.rstrip("*"):
        raise node.error(f"{pattern!r}: a plugin name, or a name prefix ending in '*'")
    env: list[tuple[str, str]] = []
    values: dict[str, str] = {}
    for key, child in node.items():
        if key.startswith("env."):
            name = key[4:]
            if not _ENV_NAME.match(name):
                raise child.error(f"{name!r} is not an environment variable name")
            env.append((name, child.as_str(allow_empty=True)))
        elif key in SECTION_KEYS:
            values[key] = child.as_str()
        else:
            raise child.error(f"unknown key {key!r} (env.NAME, user, group)")
    return PluginConf(pattern, PluginSettings(tuple(env), values.get("user"), values.get("group")))


def _plugin(node: Node, directory: Path) -> Plugin:
    text = node.as_str()
    path = node.relative_to_file(text) if "/" in text else directory / text
    if not _PLUGIN_NAME.match(path.name):
        raise node.error(f"{path.name!r} is not a plugin name")
    return Plugin(path.name, path)


def parse_options(node: Node, instance: str) -> MuninOptions:
    node.mapping(COMMON_KEYS | KEYS, required=("plugins",))

    def path(key: str, default: str) -> Path:
        child = node.get(key)
        return Path(default) if child is None else child.relative_to_file(child.as_str())

    directory = path("plugin_dir", DEFAULT_PLUGIN_DIR)
    plugins = tuple(_plugin(child, directory) for child in node["plugins"].as_list())
    if not plugins:
        raise node["plugins"].error("give at least one plugin")
    names = [plugin.name for plugin in plugins]
    for child, name in zip(node["plugins"].as_list(), names, strict=True):
        if names.count(name) > 1:
            raise child.error(f"plugin {name!r} is listed twice")
    conf: list[PluginConf] = []
    dir_node = node.get("plugin_conf_dir")
    if dir_node is not None:
        try:
            conf.extend(load_plugin_conf_dir(dir_node.relative_to_file(dir_node.as_str())))
        except ConfigError as exc:
            raise (exc if exc.source else dir_node.error(exc.detail)) from None
    conf_node = node.get("plugin_conf")
    if conf_node is not None:
        conf.extend(_section(key, child) for key, child in conf_node.items())
    return MuninOptions(
        plugins=plugins,
        state_dir=path("state_dir", DEFAULT_STATE_DIR) / instance,
        libdir=path("libdir", DEFAULT_LIBDIR),
        timeout=timeout_option(node, 10.0),
        conf=tuple(conf),
    )


def _graph_parts(graph: str) -> tuple[str, ...]:
    return tuple(part for part in graph.split(".") if part)


def plugin_results(
    run: Run, plugin: str, graphs: dict[str, MuninGraph], fetched: str
) -> Iterator[Sample]:
    """The samples of one fetch output, typed by the plugin's config (pure)."""
    values, errors = parse_fetch(fetched, plugin)
    for message in errors:
        run.problem(f"plugin {plugin}", message)
    for item in values:
        graph = graphs.get(item.graph)
        declared = graph.fields.get(item.field) if graph else None
        kind = declared.type if declared else DsType.GAUGE
        try:
            sample = run.sample(
                (*_graph_parts(item.graph), item.field), item.value, kind, item.time
            )
        except (InvalidMetricName, InvalidSample) as exc:
            run.problem(f"plugin {plugin}", f"{item.graph}.{item.field}: {exc}")
            continue
        if declared is not None:  # field.min/max: the RRD's bounds when it is created
            try:
                sample.min, sample.max = validate_bounds(declared.limits.min, declared.limits.max)
            except InvalidSample as exc:
                run.problem(f"plugin {plugin}", f"{item.graph}.{item.field}: {exc}; sent unbounded")
        yield sample


def _judge(field: MuninField, value: float | None) -> tuple[CheckState, str]:
    limits = field.limits
    if field.type is not DsType.GAUGE or not (limits.warn or limits.crit):
        return CheckState.OK, ""
    name = field.label or field.name
    if value is None:
        return CheckState.UNKNOWN, f"{name} is unknown"
    for state, threshold in ((CheckState.CRITICAL, limits.crit), (CheckState.WARNING, limits.warn)):
        if threshold is not None and threshold.alerts(value):
            kind = state.name.lower()
            return state, f"{name} is {value:g} ({kind} {threshold.to_text()})"
    return CheckState.OK, ""


def graph_checks(
    run: Run, graphs: dict[str, MuninGraph], samples: list[Sample]
) -> Iterator[CheckResult]:
    """A check result per graph that has thresholds, from this run's samples (pure)."""
    by_metric = {sample.metric: sample for sample in samples}
    for graph in graphs.values():
        if not any(f.limits.warn or f.limits.crit for f in graph.fields.values()):
            continue
        try:
            check = run.metric(*_graph_parts(graph.name))
        except InvalidMetricName as exc:
            run.problem(f"graph {graph.name}", f"no check result: {exc}")
            continue
        perfdata: list[PerfDatum] = []
        verdicts: list[tuple[CheckState, str]] = []
        for field in graph.fields.values():
            metric = run.metric(*_graph_parts(graph.name), field.name)
            sample = by_metric.get(metric)
            if sample is None:
                continue
            perfdata.append(
                PerfDatum(field.label or field.name, metric, sample.value, "", field.limits)
            )
            verdicts.append(_judge(field, sample.value))
        if not verdicts:
            continue
        state = worst(state for state, _ in verdicts)
        problems = [text for verdict, text in verdicts if verdict is not CheckState.OK]
        title = graph.settings.get("graph_title", graph.name)
        first = f"{state.name}: {title}" + (f": {problems[0]}" if problems else "")
        yield CheckResult(
            check=check,
            time=run.now,
            state=state,
            output=bounded(first, MAX_OUTPUT_BYTES),
            long_output=bounded("\n".join(problems[1:]), MAX_LONG_OUTPUT_BYTES),
            perfdata=tuple(perfdata[:MAX_PERFDATA]),
        )


def _undeclared(graphs: dict[str, MuninGraph], fetched: str, plugin: str) -> bool:
    values, _ = parse_fetch(fetched, plugin)
    return any(
        item.graph not in graphs or item.field not in graphs[item.graph].fields for item in values
    )


def _collect_plugin(
    runner: Runner, plugin: Plugin, options: MuninOptions, run: Run
) -> Iterator[Collected]:
    settings = settings_for(plugin.name, options.conf)
    config = runner.config(plugin, settings)
    fetched = runner.run(plugin, settings, None)
    graphs, errors = parse_config(config, plugin.name)
    if _undeclared(graphs, fetched, plugin.name):
        # a new disk or interface since config was cached: ask again, once
        graphs, errors = parse_config(runner.config(plugin, settings, fresh=True), plugin.name)
    for message in errors:
        run.problem(f"plugin {plugin.name}", message)
    samples = list(plugin_results(run, plugin.name, graphs, fetched))
    yield from samples
    yield from graph_checks(run, graphs, samples)


def collect(options: MuninOptions, run: Run) -> Iterator[Collected]:
    runner = Runner(options.state_dir, options.libdir, options.timeout)
    for plugin in options.plugins:
        try:
            yield from _collect_plugin(runner, plugin, options, run)
        except CollectError as exc:
            run.problem(f"plugin {plugin.name}", exc)
        except OSError as exc:  # the state directory cannot be written
            run.problem(f"plugin {plugin.name}", f"{exc.filename}: {exc.strerror or exc}")


SOURCE = Source(
    name="munin",
    description="run Munin plugins (config cached, then fetch) as munin-node does",
    parse_options=parse_options,
    collect=collect,
    default_prefix="munin.{host}",
)

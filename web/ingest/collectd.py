"""``POST /api/v1/collectd``: what collectd's ``write_http`` plugin sends with
``Format "JSON"``, stored like ``/api/v1/samples`` (same token, quota, durability and
answer: :func:`web.ingest.ingest`).

A body is a JSON list of *value lists*::

    [{"values": [0.1, 0.2, 0.3], "dstypes": ["gauge", "gauge", "gauge"],
      "dsnames": ["shortterm", "midterm", "longterm"], "time": 1780000000.123,
      "interval": 10.0, "host": "node01.example.org", "plugin": "load",
      "plugin_instance": "", "type": "load", "type_instance": ""}]

Each value becomes one sample. Its metric id is

    collectd.<host>.<plugin>[-<plugin_instance>].<type>[-<type_instance>][.<dsname>]

each of the four parts (host, plugin part, type part, dsname) made a valid component by
:func:`rexmon.metric.sanitize_component` (every run of characters other than letters,
digits, ``_`` and ``-`` -- dots too -- becomes one ``_``; at most 64 characters). The
dsname is appended only when the type has several data sources, as collectd's own
``write_graphite`` does with ``Prefix "collectd."``: both paths give the same ids.
``dstypes`` become the sample's type hint (gauge, derive, counter, absolute); a ``null``
value (collectd's NaN) is unknown; ``time`` is floored to the second; ``interval`` must
be a positive number, and the archive's schema, not the interval, decides the step.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from flask import Blueprint

from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.metric import join_metric
from rexmon.rejection import Rejection
from rexmon.sample import DsType, Sample
from web.ingest.batch import Batch, BatchTooLarge, MalformedBatch
from web.ingest.views import ingest
from web.services import get_services

PREFIX = "collectd"
DS_TYPES = {
    "gauge": DsType.GAUGE,
    "derive": DsType.DERIVE,
    "counter": DsType.COUNTER,
    "absolute": DsType.ABSOLUTE,
}
_NAME_FIELDS = ("host", "plugin", "plugin_instance", "type", "type_instance")

bp = Blueprint("collectd", __name__)


@bp.post("/api/v1/collectd")
def post_collectd() -> Any:
    max_samples = get_services().config.web.max_samples
    return ingest(lambda body: parse_collectd(body, max_samples))


def parse_collectd(body: bytes, max_samples: int | None = None) -> Batch:
    """A body of value lists as samples; a bad value list rejects its values alone."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedBatch(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, list):
        raise MalformedBatch("expected a JSON list of collectd value lists")
    sizes = [len(item["values"]) if _has_values(item) else 1 for item in document]
    if max_samples is not None and sum(sizes) > max_samples:
        raise BatchTooLarge(f"more than {max_samples} values in one request; send fewer")
    batch = Batch()
    index = 0
    for item, size in zip(document, sizes, strict=True):
        try:
            results: list[Sample | str] = value_list_samples(item)
        except InvalidSample as exc:
            results = [str(exc)] * size
        for position, result in enumerate(results, start=index):
            if isinstance(result, Sample):
                batch.samples.append((position, result))
            else:
                batch.rejected.append(Rejection(position, _echo_name(item), result))
        index += size
    return batch


def value_list_samples(item: object) -> list[Sample | str]:
    """The samples of one value list, in the order of its values; a value that cannot be
    stored is its reason instead. Raises InvalidSample for a value list that is wrong as
    a whole (a field missing, lists of different lengths)."""
    if not isinstance(item, dict):
        raise InvalidSample(f"a value list must be an object, got {type(item).__name__}")
    if not _has_values(item):
        raise InvalidSample("'values' must be a non-empty list")
    values: list[Any] = item["values"]
    for key in ("dstypes", "dsnames"):
        listed = item.get(key)
        if not isinstance(listed, list) or len(listed) != len(values):
            raise InvalidSample(f"{key!r} must be a list as long as 'values'")
    dstypes: list[Any] = item["dstypes"]
    dsnames: list[Any] = item["dsnames"]
    names = tuple(item.get(key, "") for key in _NAME_FIELDS)
    for key, name in zip(_NAME_FIELDS, names, strict=True):
        if not isinstance(name, str):
            raise InvalidSample(f"{key!r} must be a string")
        if not name and key in ("host", "plugin", "type"):
            raise InvalidSample(f"missing field {key!r}")
    when = _number(item.get("time"), "time")
    interval = _number(item.get("interval"), "interval")
    if when <= 0 or interval <= 0:
        raise InvalidSample("'time' and 'interval' must be positive")
    second = math.floor(when)
    several = len(values) > 1
    samples: list[Sample | str] = []
    for value, dstype, dsname in zip(values, dstypes, dsnames, strict=True):
        try:
            samples.append(_sample(names, value, dstype, dsname, several, second))
        except InvalidSample as exc:
            samples.append(str(exc))
    return samples


def collectd_metric(item: dict[str, Any], dsname: str, ds_count: int) -> str:
    """The metric id of one value (see the module docstring for the rule)."""
    names = tuple(item.get(key, "") for key in _NAME_FIELDS)
    return _metric_id(names, dsname if ds_count > 1 else "")


@functools.lru_cache(maxsize=1 << 14)
def _metric_id(names: tuple[str, ...], dsname: str) -> str:
    """The id of (host, plugin, plugin_instance, type, type_instance) and the dsname ("":
    none). Remembered, since a node sends the same value lists every interval: bounded,
    16384 ids of at most 255 characters (a few MB); a miss costs ~20 us."""
    host, plugin, plugin_instance, kind, type_instance = names
    parts = [PREFIX, host, _joined(plugin, plugin_instance), _joined(kind, type_instance)]
    try:
        return join_metric(*parts, *([dsname] if dsname else []))
    except InvalidMetricName as exc:
        raise InvalidSample(str(exc)) from None


def _sample(
    names: tuple[str, ...], value: object, dstype: object, dsname: object, several: bool, when: int
) -> Sample:
    if not isinstance(dsname, str) or not dsname:
        raise InvalidSample("each dsname must be a non-empty string")
    metric = _metric_id(names, dsname if several else "")
    hint = DS_TYPES.get(dstype) if isinstance(dstype, str) else None
    if hint is None:
        raise InvalidSample(
            f"{metric}: dstype must be one of {', '.join(DS_TYPES)}, got {dstype!r}"
        )
    if value is None:
        return Sample(metric, when, None, hint)
    try:
        number = float(value) if isinstance(value, int | float) else math.nan
    except OverflowError:  # an integer beyond a double
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidSample(f"{metric}: value must be a finite number or null, got {value!r:.40}")
    return Sample(metric, when, number, hint)


def _joined(name: str, instance: str) -> str:
    return f"{name}-{instance}" if instance else name


def _number(value: object, key: str) -> float:
    try:
        number = float(value) if isinstance(value, int | float) else math.nan
    except OverflowError:
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidSample(f"{key!r} must be a number, got {str(value)[:40]!r}")
    return number


def _has_values(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("values"), list) and bool(item["values"])


def _echo_name(item: object) -> str | None:
    """Where a rejected value came from, for the answer: ``host/plugin/type``."""
    if not isinstance(item, dict):
        return None
    text = "/".join(str(item.get(key, "")) for key in ("host", "plugin", "type"))
    return text[:300]

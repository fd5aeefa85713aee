"""``POST /api/v1/collectd``: collectd's write_http JSON, mapped to metric ids by the
documented rule and stored like /api/v1/samples."""

from __future__ import annotations

import json
from typing import Any

import requests

from rexmon.metric import metric_path
from rexmon.sample import DsType, Sample
from tests.fixtures_server import RexmonServer, aligned_now
from tests.plain_rrdtool import info_field, last_update
from web.auth.tokens import digest_token
from web.ingest.collectd import collectd_metric, parse_collectd


def value_list(**fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "values": [0.5, 0.25, 0.125],
        "dstypes": ["gauge", "gauge", "gauge"],
        "dsnames": ["shortterm", "midterm", "longterm"],
        "time": 1780000000.75,
        "interval": 10.0,
        "host": "node01.example.org",
        "plugin": "load",
        "plugin_instance": "",
        "type": "load",
        "type_instance": "",
    }
    item.update(fields)
    return item


def post(server: RexmonServer, body: object, token: str | None = None) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/collectd",
        data=json.dumps(body),
        headers={
            "Authorization": f"Bearer {token or server.token}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )


def test_a_value_list_of_several_data_sources_is_one_sample_per_dsname() -> None:
    batch = parse_collectd(json.dumps([value_list()]).encode())
    assert [sample for _, sample in batch.samples] == [
        Sample("collectd.node01_example_org.load.load.shortterm", 1780000000, 0.5, DsType.GAUGE),
        Sample("collectd.node01_example_org.load.load.midterm", 1780000000, 0.25, DsType.GAUGE),
        Sample("collectd.node01_example_org.load.load.longterm", 1780000000, 0.125, DsType.GAUGE),
    ]


def test_instances_join_with_a_dash_and_a_single_data_source_has_no_dsname() -> None:
    item = value_list(plugin="interface", plugin_instance="eth0", type="if_errors")
    assert (
        collectd_metric(item, "rx", 2) == "collectd.node01_example_org.interface-eth0.if_errors.rx"
    )
    item = value_list(plugin="df", plugin_instance="root", type="df_complex", type_instance="used")
    assert (
        collectd_metric(item, "value", 1) == "collectd.node01_example_org.df-root.df_complex-used"
    )


def test_odd_characters_in_names_are_sanitized_into_valid_components() -> None:
    item = value_list(host="-weird host!", plugin="disk", plugin_instance="sda/1", type="x.y")
    assert collectd_metric(item, "value", 1) == "collectd._weird_host_.disk-sda_1.x_y"


def test_dstypes_become_type_hints_and_null_is_unknown() -> None:
    item = value_list(values=[12345, None], dstypes=["derive", "counter"], dsnames=["rx", "tx"])
    samples = [sample for _, sample in parse_collectd(json.dumps([item]).encode()).samples]
    assert [(s.value, s.type) for s in samples] == [
        (12345.0, DsType.DERIVE),
        (None, DsType.COUNTER),
    ]


def test_a_bad_value_list_rejects_its_own_values_only() -> None:
    body = [value_list(dstypes=["gauge"]), value_list(values=[1, "x", 3]), value_list()]
    batch = parse_collectd(json.dumps(body).encode())
    assert [r.index for r in batch.rejected] == [0, 1, 2, 4]
    assert "'dstypes' must be a list as long as 'values'" in batch.rejected[0].error
    assert "value must be a finite number" in batch.rejected[3].error
    assert [index for index, _ in batch.samples] == [3, 5, 6, 7, 8]


def test_collectd_posts_are_stored_with_their_type(rexmon_server: RexmonServer) -> None:
    when = aligned_now()
    item = value_list(
        values=[1000, 2000],
        dstypes=["derive", "derive"],
        dsnames=["rx", "tx"],
        plugin="interface",
        plugin_instance="eth0",
        type="if_octets",
        time=when,
    )
    response = post(rexmon_server, [item, value_list(time=when)])
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 5, "rejected": []}
    path = metric_path(
        rexmon_server.archive_root, "collectd.node01_example_org.interface-eth0.if_octets.rx"
    )
    assert info_field(path, "ds[value].type") == "DERIVE"
    assert last_update(path) == when


def test_the_token_scopes_collectd_posts_as_it_does_samples(
    make_rexmon_server: Any,
) -> None:
    tokens = [
        {"name": "web01", "digest": digest_token("web01-secret"), "metrics": ["collectd.web01.*"]}
    ]
    server = make_rexmon_server(tokens=tokens)
    body = [
        value_list(host="web01", time=aligned_now()),
        value_list(host="db01", time=aligned_now()),
    ]
    response = post(server, body, token="web01-secret")
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 3
    assert [r["index"] for r in answer["rejected"]] == [3, 4, 5]
    assert "may write only collectd.web01.*" in answer["rejected"][0]["error"]
    assert post(server, body[1:], token="web01-secret").status_code == 403
    assert post(server, body, token="wrong").status_code == 401


def test_a_body_that_is_not_a_list_of_value_lists_is_refused_whole(
    rexmon_server: RexmonServer,
) -> None:
    assert post(rexmon_server, {"values": [1]}).status_code == 400
    response = requests.post(
        f"{rexmon_server.url}/api/v1/collectd",
        data=b"[{",
        headers={
            "Authorization": f"Bearer {rexmon_server.token}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_values_beyond_a_double_or_not_numbers_are_rejected_alone() -> None:
    item = value_list(values=[10**400, True, 1.5])
    batch = parse_collectd(json.dumps([item, value_list(time=10**400)]).encode())
    assert [r.index for r in batch.rejected] == [0, 1, 3, 4, 5]
    assert "'time' must be a number" in batch.rejected[-1].error
    assert [sample.value for _, sample in batch.samples] == [1.5]

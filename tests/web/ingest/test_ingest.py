from __future__ import annotations

import gzip
import subprocess
from collections.abc import Callable

import requests
import yaml

from rexmon.metric import metric_path
from tests.fixtures_server import RexmonServer, aligned_now, push
from tests.plain_rrdtool import fetch_values, info_field, last_update
from web.auth.tokens import digest_token

STEP = 60


def test_accepted_samples_are_readable_with_plain_rrdtool(rexmon_server: RexmonServer) -> None:
    base = aligned_now() - 10 * STEP
    samples = [
        {"metric": "host.node01.cpu.user", "time": base + i * STEP, "value": float(i)}
        for i in range(5)
    ]
    response = push(rexmon_server, samples)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 5, "rejected": []}
    path = metric_path(rexmon_server.archive_root, "host.node01.cpu.user")
    assert last_update(path) == base + 4 * STEP
    values = fetch_values(path, base, base + 4 * STEP)
    assert [values[base + i * STEP] for i in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 4.0]


def test_bad_samples_are_rejected_alone_and_the_rest_is_stored(
    rexmon_server: RexmonServer,
) -> None:
    now = aligned_now()
    samples: list[object] = [
        {"metric": "host.n1.load.one", "time": now - STEP, "value": 1.5},
        {"metric": "host.../../etc/passwd", "time": now, "value": 1},
        {"metric": "host.n1.load.five", "time": now, "value": "inf"},
        {"metric": "host.n1.load.fifteen", "time": now + 86400, "value": 1},
        {"metric": "host.-rf.x", "time": now, "value": 1},
        {"metric": "host.n1.mem.free", "time": now - STEP, "value": 1e308},
    ]
    response = push(rexmon_server, samples)
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 2
    assert [r["index"] for r in answer["rejected"]] == [1, 2, 3, 4]
    assert "ahead of the server clock" in answer["rejected"][2]["error"]
    root = rexmon_server.archive_root
    assert metric_path(root, "host.n1.load.one").exists()
    assert not metric_path(root, "host.n1.load.fifteen").exists()
    assert sorted(p.name for p in root.rglob("*")) == sorted(
        ["host", "n1", "load", "one.rrd", "mem", "free.rrd"]
    )


def test_resending_a_batch_is_harmless(rexmon_server: RexmonServer) -> None:
    now = aligned_now()
    samples = [{"metric": "svc.web.up", "time": now - STEP, "value": 1}]
    assert push(rexmon_server, samples).json() == {"accepted": 1, "rejected": []}
    assert push(rexmon_server, samples).json() == {"accepted": 1, "rejected": []}


def test_out_of_order_samples_are_rejected(rexmon_server: RexmonServer) -> None:
    now = aligned_now()
    push(rexmon_server, [{"metric": "svc.web.up", "time": now, "value": 1}])
    answer = push(rexmon_server, [{"metric": "svc.web.up", "time": now - STEP, "value": 0}])
    assert answer.json()["accepted"] == 0
    assert answer.json()["rejected"][0]["index"] == 0


def test_graphite_plaintext_and_gzip_are_accepted(rexmon_server: RexmonServer) -> None:
    now = aligned_now()
    text = f"app.a.requests 10 {now - STEP}\nthis is bad\napp.a.errors 0 {now - STEP}\n"
    response = push(
        rexmon_server,
        data=gzip.compress(text.encode()),
        headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 2
    assert answer["rejected"][0]["line"] == 2


def test_requests_without_a_valid_token_are_refused(rexmon_server: RexmonServer) -> None:
    url = f"{rexmon_server.url}/api/v1/samples"
    response = requests.post(url, json={"samples": []}, timeout=10)
    assert response.status_code == 401
    assert "bearer token" in response.json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert push(rexmon_server, [], token="wrong").status_code == 401


def test_a_token_writes_only_its_metrics(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    limited = "node01-secret-token-value"
    server = make_rexmon_server(
        tokens=[{"name": "node01", "digest": digest_token(limited), "metrics": ["host.node01_*"]}]
    )
    now = aligned_now()
    other = {"metric": "host.node02_x.cpu", "time": now, "value": 1}
    own = {"metric": "host.node01_x.cpu", "time": now, "value": 1}
    refused = push(server, [other], token=limited)
    assert refused.status_code == 403
    assert refused.json()["error"] == (
        "token 'node01' may write only host.node01_*; 'host.node02_x.cpu' is not among them"
    )
    mixed = push(server, [own, other], token=limited).json()
    assert mixed["accepted"] == 1
    assert mixed["rejected"] == [
        {
            "index": 1,
            "metric": "host.node02_x.cpu",
            "error": "token 'node01' may write only host.node01_*",
        }
    ]


def test_malformed_and_oversized_bodies_get_400_and_413(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(max_body="64KB")
    malformed = push(server, data=b"{nope", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert "JSON" in malformed.json()["error"]
    huge = push(server, data=b" " * 200_000, headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    bomb = push(
        server,
        data=gzip.compress(b" " * 10_000_000),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert bomb.status_code == 413


def test_through_rrdcached_the_answer_comes_after_the_samples_are_safe(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(with_rrdcached=True)
    base = aligned_now() - 5 * STEP
    samples = [
        {"metric": "svc.db.connections", "time": base + i * STEP, "value": 10.0 + i}
        for i in range(4)
    ]
    answer = push(server, samples)
    assert answer.json() == {"accepted": 4, "rejected": []}
    path = metric_path(server.archive_root, "svc.db.connections")
    archive_config = yaml.safe_load(server.config_path.read_text())["archive"]
    daemon = archive_config["rrdcached"]
    subprocess.run(["rrdtool", "flushcached", "--daemon", daemon, str(path)], check=True)
    values = fetch_values(path, base, base + 3 * STEP)
    assert [values[base + i * STEP] for i in (1, 2, 3)] == [11.0, 12.0, 13.0]
    wal = server.config_path.parent / "wal"
    assert wal.is_dir()


def test_min_and_max_hints_become_the_new_files_bounds_and_bad_ones_are_refused_alone(
    rexmon_server: RexmonServer,
) -> None:
    now = aligned_now()
    answer = push(
        rexmon_server,
        [
            {"metric": "munin.n1.cpu.user", "time": now, "value": 5, "type": "DERIVE", "min": 0},
            {"metric": "munin.n1.df.root", "time": now, "value": 50, "min": 0, "max": 100},
            {"metric": "munin.n1.df.var", "time": now, "value": 5, "min": 10, "max": 1},
            {"metric": "munin.n1.df.tmp", "time": now, "value": 5, "max": "lots"},
        ],
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 2
    errors = {item["index"]: item["error"] for item in body["rejected"]}
    assert errors == {
        2: "min 10 must be below max 1",
        3: "max must be a finite number or null, got 'lots'",
    }
    root = rexmon_server.archive_root
    user = metric_path(root, "munin.n1.cpu.user")
    assert (info_field(user, "ds[value].min"), info_field(user, "ds[value].max")) == (
        "0.0000000000e+00",
        "NaN",
    )
    df = metric_path(root, "munin.n1.df.root")
    assert info_field(df, "ds[value].max") == "1.0000000000e+02"


def test_a_schemas_own_bounds_win_over_a_samples_hints(rexmon_server: RexmonServer) -> None:
    # the shipped schemas give host.*.cpu.*_ratio min 0 and max 1
    now = aligned_now()
    sample = {"metric": "host.n1.cpu.user_ratio", "time": now, "value": 0.5, "min": -5, "max": 5}
    assert push(rexmon_server, [sample]).json()["accepted"] == 1
    path = metric_path(rexmon_server.archive_root, "host.n1.cpu.user_ratio")
    assert info_field(path, "ds[value].min") == "0.0000000000e+00"
    assert info_field(path, "ds[value].max") == "1.0000000000e+00"


def test_a_hint_at_odds_with_the_schemas_bound_is_dropped_not_made_an_empty_range(
    rexmon_server: RexmonServer,
) -> None:
    # the shipped schemas give host.*.net.*_bytes_total min 0 and no max: a max of -1 would
    # leave no value storable, so the file keeps the schema's bounds alone
    now = aligned_now()
    sample = {"metric": "host.n1.net.eth0_bytes_total", "time": now, "value": 5, "max": -1}
    assert push(rexmon_server, [sample]).json()["accepted"] == 1
    path = metric_path(rexmon_server.archive_root, "host.n1.net.eth0_bytes_total")
    assert info_field(path, "ds[value].min") == "0.0000000000e+00"
    assert info_field(path, "ds[value].max") == "NaN"

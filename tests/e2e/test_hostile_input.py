"""Hostile input against the real app over real HTTP.

What tests/web already covers (a few bad names, 400/413, a gzip bomb, graph parameters,
the downtime form's CSRF and escaping, rate limiting of the API) is not repeated here;
this file adds the rest: the new-metric quota, a wider set of names, values, times, bodies
and encodings, rrdtool-looking parameters, XSS in every place user text is shown, and a
sweep over every write endpoint of the app's url_map (a new endpoint without protection
fails it).
"""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import yaml
from flask import Flask

from alarmd.alarmstate import AlarmState, Severity
from rexmon.metric import metric_path
from tests.fixtures_server import USERS, RexmonServer, aligned_now, push, write_server_config
from tests.web.monitored import alarm_store, login, push_history, set_alarm, start_server
from web.app import create_app
from web.auth.tokens import digest_token
from web.services import get_services

STEP = 60
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
DISK = "host.n1.disk.root.used_ratio"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUSH_TOKEN_ENDPOINTS = frozenset(  # bearer token
    {"ingest.post_samples", "collectd.post_collectd", "checks.post_checks"}
)


def rrd_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- the new-metric quota -------------------------------------------------------------


def test_a_token_creates_at_most_its_quota_of_new_metrics_and_keeps_writing_existing_ones(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    limited, unlimited = "quota-limited-secret-token", "quota-unlimited-secret-token"
    server = make_rexmon_server(
        tokens=[
            {"name": "small", "digest": digest_token(limited), "max_new_metrics": 3},
            {"name": "free", "digest": digest_token(unlimited), "max_new_metrics": 0},
        ]
    )
    now = aligned_now()
    first = [
        {"metric": f"spam.m{i}.value", "time": now - 2 * STEP, "value": i} for i in range(5)
    ] + [{"metric": "spam.m0.value", "time": now - 3 * STEP, "value": 9}]
    answer = push(server, first, token=limited)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 4  # m0 twice (one new metric), m1, m2
    assert [r["index"] for r in body["rejected"]] == [3, 4]
    reason = body["rejected"][0]["error"]
    assert "'small' may create at most 3 new metrics per hour" in reason
    assert "not created" in reason
    assert not metric_path(server.archive_root, "spam.m3.value").exists()

    again = [{"metric": f"spam.m{i}.value", "time": now - STEP, "value": i} for i in range(5)]
    body = push(server, again, token=limited).json()
    assert body["accepted"] == 3 and [r["index"] for r in body["rejected"]] == [3, 4]

    many = [{"metric": f"spam.x{i}.value", "time": now - STEP, "value": 1} for i in range(50)]
    assert push(server, many, token=unlimited).json() == {"accepted": 50, "rejected": []}
    default = push(server, [{"metric": "spam.m4.value", "time": now, "value": 4}]).json()
    assert default == {"accepted": 1, "rejected": []}  # no quota unless one is set
    assert push(server, [again[3]], token=limited).json()["accepted"] == 0


# -- ingest: names, values, times ---------------------------------------------------------

BAD_NAMES: list[object] = [
    "host.n1/../../x.y",
    "../../etc.passwd",
    "host..n1.cpu",
    ".host.n1",
    "host.n1.",
    "host.n1:x.cpu",
    "host.n1.cpu:AVERAGE",
    "host.n1\nx.cpu",
    "host.n1\r\n--title.cpu",
    "host.n1\x00.cpu",
    "-o.etc",
    "host.-rf.x",
    "--daemon.x",
    "DEF:x=/etc/passwd:value:AVERAGE",
    "host.n\u043ede01.cpu",  # Cyrillic o
    "\u0397ost.n1.cpu",  # Greek capital eta
    "host\uff0en1.cpu",  # fullwidth full stop
    "host\u2024n1.cpu",  # one dot leader
    "host.n1.cpu\u200b",  # zero-width space
    " host.n1.cpu",
    "host.n1 .cpu",
    "host.%2e%2e.cpu",
    "a" * 256,
    ".".join(["a"] * 11),
    "single",
    "",
    "a." + "b" * 65,
    5,
    None,
    ["a.b"],
    {"metric": "a.b"},
]


def test_every_hostile_metric_name_is_rejected_alone_and_no_file_appears(
    rexmon_server: RexmonServer,
) -> None:
    now = aligned_now()
    samples: list[object] = [{"metric": "ok.node.value", "time": now - STEP, "value": 1}]
    samples += [{"metric": name, "time": now - STEP, "value": 1} for name in BAD_NAMES]
    answer = push(rexmon_server, samples)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == list(range(1, len(samples)))
    assert all(r["error"] for r in body["rejected"])
    assert rrd_files(rexmon_server.archive_root) == ["ok/node/value.rrd"]
    assert not (rexmon_server.archive_root.parent.parent / "etc").exists()


def test_hostile_graphite_lines_are_rejected_by_line_number(rexmon_server: RexmonServer) -> None:
    now = aligned_now() - STEP
    lines = [
        f"ok.node.value 1 {now}",
        f"host.n1\x00.cpu 1 {now}",
        f"../x.y 1 {now}",
        f"-a.b 1 {now}",
        f"a.b nan {now}",
        f"a.b inf {now}",
        f"a.b -Infinity {now}",
        f"a.b 1e999 {now}",
        f"a.b 0x10 {now}",
        f"a.b 1 -{now}",
        f"a.b 1 {now}.5",
        "a.b 1 \u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660",
        f"a.b 1 {now} extra",
        f"a:b.c 1 {now}",
    ]
    answer = push(
        rexmon_server, data="\n".join(lines).encode(), headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 1
    assert [r["line"] for r in body["rejected"]] == list(range(2, len(lines) + 1))
    assert rrd_files(rexmon_server.archive_root) == ["ok/node/value.rrd"]


def test_non_finite_huge_and_odd_values_are_rejected(rexmon_server: RexmonServer) -> None:
    now = aligned_now() - STEP
    raw = (
        '{"samples": ['
        f'{{"metric": "v.a.one", "time": {now}, "value": 1e309}},'
        f'{{"metric": "v.a.two", "time": {now}, "value": -1e309}},'
        f'{{"metric": "v.a.three", "time": {now}, "value": 1{"0" * 400}}},'
        f'{{"metric": "v.a.four", "time": {now}, "value": true}},'
        f'{{"metric": "v.a.five", "time": {now}, "value": "0x1p3"}},'
        f'{{"metric": "v.a.six", "time": {now}, "value": [1]}},'
        f'{{"metric": "v.a.seven", "time": {now}, "value": {{"v": 1}}}},'
        f'{{"metric": "v.a.eight", "time": {now}, "value": "NaN"}},'
        f'{{"metric": "v.a.big", "time": {now}, "value": 1e308}},'
        f'{{"metric": "v.a.tiny", "time": {now}, "value": -5e-324}}'
        "]}"
    )
    answer = push(rexmon_server, data=raw.encode(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == list(range(8))
    assert "out of range" in body["rejected"][2]["error"]


def test_times_far_in_the_past_or_future_or_not_integers_are_rejected_with_a_reason(
    rexmon_server: RexmonServer,
) -> None:
    now = int(time.time())
    times: list[object] = [
        0,
        -1,
        1,
        2**63,
        10**30,
        now * 1000,  # milliseconds by mistake
        now + 3600,
        now - 400 * 86400,
        1.5,
        "now",
        "1e9",
        True,
        None,
        float("1e300"),
    ]
    samples: list[object] = [{"metric": "ok.t.value", "time": now - STEP, "value": 1}]
    samples += [{"metric": f"t.x.n{i}", "time": t, "value": 1} for i, t in enumerate(times)]
    body = push(rexmon_server, samples).json()
    assert body["accepted"] == 1
    errors = {r["index"]: r["error"] for r in body["rejected"]}
    assert sorted(errors) == list(range(1, len(samples)))
    assert "ahead of the server clock" in errors[6]
    assert "ahead of the server clock" in errors[7]
    assert "older than" in errors[8]
    assert rrd_files(rexmon_server.archive_root) == ["ok/t/value.rrd"]


# -- ingest: bodies, encodings, content types ------------------------------------------------


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        (b"[" * 200_000, {"Content-Type": "application/json"}, 400),
        (b'{"samples": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", {}, 400),
        (b'{"samples": {}}', {"Content-Type": "application/json"}, 400),
        (b'{"samples": [], "extra": 1}', {"Content-Type": "application/json"}, 400),
        (b'"samples"', {"Content-Type": "application/json"}, 400),
        (b"\xff\xfe{}", {"Content-Type": "application/json"}, 400),
        (b"<samples/>", {"Content-Type": "application/xml"}, 400),
        (b"a=b", {"Content-Type": "application/x-www-form-urlencoded"}, 400),
        (b"--x\r\n\r\n--x--", {"Content-Type": "multipart/form-data; boundary=x"}, 400),
        (b"{}", {"Content-Type": "text/html"}, 400),
        (b"{}", {"Content-Type": "application/json", "Content-Encoding": "br"}, 400),
        (b"{}", {"Content-Type": "application/json", "Content-Encoding": "gzip, gzip"}, 400),
        (gzip.compress(b'{"samples": []}')[:-6], {"Content-Encoding": "gzip"}, 400),
        (zlib.compress(b'{"samples": []}') + b"junk", {"Content-Encoding": "deflate"}, 400),
        (gzip.compress(gzip.compress(b" " * 5_000_000)), {"Content-Encoding": "gzip"}, 400),
        (zlib.compress(b" " * 50_000_000, 9), {"Content-Encoding": "deflate"}, 413),
        (
            gzip.compress(b'{"samples": []}') + gzip.compress(b" " * 50_000_000),
            {"Content-Encoding": "gzip"},
            413,
        ),
        (gzip.compress(b" ") * 100_000, {"Content-Encoding": "gzip"}, 400),
    ],
    ids=[
        "deep-array",
        "deep-samples",
        "samples-not-list",
        "extra-field",
        "json-string",
        "not-utf8",
        "xml",
        "form",
        "multipart",
        "html",
        "brotli",
        "double-encoding",
        "truncated-gzip",
        "deflate-trailing-junk",
        "gzip-in-gzip",
        "deflate-bomb",
        "second-gzip-member-bomb",
        "many-gzip-members",
    ],
)
def test_unreadable_or_oversized_bodies_are_refused_as_a_whole(
    rexmon_server: RexmonServer, data: bytes, headers: dict[str, str], status: int
) -> None:
    answer = push(rexmon_server, data=data, headers=headers)
    assert answer.status_code == status, answer.text[:300]
    assert answer.json()["error"]
    assert rrd_files(rexmon_server.archive_root) == []


def test_a_chunked_body_without_length_is_cut_at_the_limit(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(max_body="64KB")

    def chunks() -> Iterator[bytes]:
        yield b'{"samples": ['
        for _ in range(2000):
            yield b'{"metric": "a.b", "time": 1, "value": 1},' * 10

    answer = requests.post(
        f"{server.url}/api/v1/samples",
        data=chunks(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413


def test_a_small_body_of_very_many_bad_samples_is_refused_before_checking_them(
    rexmon_server: RexmonServer,
) -> None:
    many = b"x 1 1\n" * 100_001  # 600 KB: each line alone would be one rejection
    started = time.monotonic()
    answer = push(
        rexmon_server,
        data=gzip.compress(many),
        headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 413, answer.text[:300]
    assert "more than 100000 samples" in answer.json()["error"]
    as_json = b'{"samples": [' + b"1," * 100_000 + b"1]}"
    answer = push(rexmon_server, data=as_json, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert time.monotonic() - started < 10
    fits = b"x 1 1\n" * 100_000
    answer = push(rexmon_server, data=fits, headers={"Content-Type": "text/plain"})
    listed = answer.json()
    assert answer.status_code == 200 and len(listed["rejected"]) == 1000  # the list is capped
    assert (listed["rejected_total"], listed["rejected_omitted"]) == (100_000, 99_000)


def test_gzip_members_one_after_the_other_are_all_read(rexmon_server: RexmonServer) -> None:
    now = aligned_now() - STEP
    text = f"g.m.one 1 {now}\n"
    more = f"g.m.two 2 {now}\n"
    answer = push(
        rexmon_server,
        data=gzip.compress(text.encode()) + gzip.compress(more.encode()),
        headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )
    assert answer.json() == {"accepted": 2, "rejected": []}


def test_a_json_body_sent_as_plain_text_is_read_as_lines_and_rejected(
    rexmon_server: RexmonServer,
) -> None:
    body = json.dumps({"samples": [{"metric": "a.b", "time": 1, "value": 1}]}).encode()
    answer = push(rexmon_server, data=body, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 0 and len(answer.json()["rejected"]) == 1


# -- graphs and series: parameters that look like rrdtool ------------------------------------


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[RexmonServer]:
    running = start_server(tmp_path / "server")
    yield running
    running.stop()
    get_services(running.app).close()


RRDTOOL_LOOKING = [
    "/graph?m=DEF:x%3D/etc/passwd:value:AVERAGE",
    "/graph?m=-o/etc/x",
    "/graph?m=--&m=" + DISK,
    "/graph?m=host.n1.cpu%0A--title",
    "/graph?m=host.n1.cpu%00x",
    "/graph?m=" + DISK + "&format=png%0A--daemon",
    "/graph/-o%2Fetc%2Fx.png",
    "/graph/--.png",
    "/graph/DEF:x.png",
    "/graph/host.n1.cpu%0Ax.png",
    "/graph/host.n1.cpu\\x.png",
    f"/graph/{DISK}.png?start=--%20-o/etc/x",
    f"/graph/{DISK}.png?start=-o/etc/x",
    f"/graph/{DISK}.png?end=DEF:x",
    f"/graph/{DISK}.png?start=-1d%0A--title%20x",
    f"/graph/{DISK}.png?width=-o",
    f"/graph/{DISK}.png?height=1%3A2",
    f"/graph/{DISK}.png?points=--",
    "/api/v1/series/-o%2Fetc%2Fx",
    "/api/v1/series/DEF:x",
    "/api/v1/series/host.n1.x%0A",
    f"/api/v1/series/{DISK}?start=%0A",
    f"/api/v1/series/{DISK}?end=--end",
    "/metric/..%2F..%2Fetc%2Fpasswd",
    "/metric/-o.x",
    f"/metric/{DISK}?start=--daemon",
    "/api/v1/metrics?glob=../*",
    "/api/v1/metrics?glob=%2Fetc%2F*",
    "/api/v1/downtimes/active?metric=../../x",
    "/api/v1/downtimes/active?metric=-o.x",
    "/api/v1/status?scope=../*",
]


def test_parameters_that_look_like_rrdtool_options_or_paths_are_refused(
    monitored: RexmonServer,
) -> None:
    push_history(monitored, DISK, [0.5, 0.6])
    for path in RRDTOOL_LOOKING:
        answer = requests.get(f"{monitored.url}{path}", timeout=30)
        assert answer.status_code in (400, 404), (path, answer.status_code, answer.text[:200])
        assert "rrdtool" not in answer.text.lower(), path
        assert "Traceback" not in answer.text, path
    harmless = requests.get(f"{monitored.url}/api/v1/metrics?glob=-o*", timeout=30)
    assert harmless.status_code == 200 and harmless.json()["metrics"] == []  # only matched
    assert rrd_files(monitored.archive_root) == ["host/n1/disk/root/used_ratio.rrd"]


# -- XSS: everything people wrote, everywhere it is shown ------------------------------------


def test_user_written_text_is_escaped_on_every_page_that_shows_it(
    monitored: RexmonServer,
) -> None:
    last = push_history(monitored, DISK, [0.99] * 5)
    alice = login("alice")
    filed = alice.post(
        f"{monitored.url}/api/v1/downtimes",
        json={"scopes": [DISK], "start": str(last - 120), "end": "+2h", "reason": XSS},
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    downtime = filed.json()["id"]
    edited = alice.patch(
        f"{monitored.url}/api/v1/downtimes/{downtime}", json={"reason": XSS + " v2"}, timeout=10
    )
    assert edited.status_code == 200, edited.text  # the history shows old and new reason
    store = alarm_store(monitored)
    try:
        set_alarm(
            store, "disk-full", DISK, AlarmState.FIRING, at=time.time(), severity=Severity.CRITICAL
        )
    finally:
        store.engine.dispose()
    acked = alice.post(
        f"{monitored.url}/api/v1/alarms/ack",
        json={"rule": "disk-full", "metric": DISK, "comment": XSS},
        timeout=10,
    )
    assert acked.status_code == 200, acked.text

    shows_reason = [
        "/downtimes",
        "/downtimes?state=all",
        f"/downtimes/{downtime}",
        f"/downtimes/{downtime}/edit",
        f"/metric/{DISK}?start=-1h",
        "/?q=disk",
    ]
    shows_comment = ["/alarms"]
    reflects = [
        "/?q=" + requests.utils.quote(XSS),
        "/downtimes?state=all&scope=" + requests.utils.quote(XSS),
        "/downtimes/new?scope=" + requests.utils.quote(XSS),
        f"/metric/{DISK}?start=" + requests.utils.quote(XSS),
        "/graph/" + requests.utils.quote(XSS) + ".png",
        "/api/v1/series/" + requests.utils.quote(XSS),
    ]
    for path in shows_reason + shows_comment + reflects:
        answer = alice.get(f"{monitored.url}{path}", timeout=30)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        if "<script>alert(1)" in answer.text or "<img src=x" in answer.text:
            # only in error texts that no browser renders as HTML
            content_type = answer.headers["Content-Type"]
            assert content_type.startswith(("text/plain", "application/json")), path
        if path in shows_reason:
            assert answer.status_code == 200, path
            assert ESCAPED in answer.text or "&lt;script&gt;alert(1)" in answer.text, path
    assert ESCAPED in alice.get(f"{monitored.url}/alarms", timeout=30).text

    form = alice.get(f"{monitored.url}/downtimes/new", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    refused = alice.post(
        f"{monitored.url}/downtimes/new",
        data={
            "scopes": XSS,
            "start": "now",
            "duration": "1h",
            "reason": "x",
            "csrf_token": token.group(1),
        },
        timeout=10,
    )
    assert refused.status_code == 400
    assert "<script>alert(1)" not in refused.text and "&lt;script&gt;" in refused.text


def test_line_breaks_in_a_reason_cannot_add_lines_to_the_icalendar_feed(
    rexmon_server: RexmonServer,
) -> None:
    reason = "kernel\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT\nBEGIN:VEVENT"
    filed = login("olivia").post(
        f"{rexmon_server.url}/api/v1/downtimes",
        json={"scopes": ["host.*"], "duration": "1h", "reason": reason},
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    feed = requests.get(f"{rexmon_server.url}/downtimes.ics", timeout=10).text
    lines = feed.replace("\r\n ", "").split("\r\n")
    assert not any(line.startswith("ATTENDEE") for line in lines)
    assert sum(line == "BEGIN:VEVENT" for line in lines) == 1


# -- every write endpoint: authentication, role, CSRF ----------------------------------------


def write_endpoints(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every rule of the app that changes something: every
    POST/PUT/... rule but the read-only ones Grafana posts to (``@read_only``, which
    tests/web/graphite/test_access.py shows change nothing and take no CSRF token)."""
    found = []
    for rule in app.url_map.iter_rules():
        if getattr(app.view_functions[rule.endpoint], "read_only", False):
            continue
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            found.append((rule.endpoint, method, rule.rule))
    return found


def url_of(rule: str, downtime: int) -> str:
    """The rule with sample values; a new kind of argument must be taught here."""
    values = {"<int:downtime_id>": str(downtime)}
    for placeholder, value in values.items():
        rule = rule.replace(placeholder, value)
    assert "<" not in rule, f"teach url_of() a value for {rule}"
    return rule


def test_every_write_endpoint_needs_a_login_a_sufficient_role_and_for_forms_csrf(
    rexmon_server: RexmonServer,
) -> None:
    app = rexmon_server.app
    endpoints = write_endpoints(app)
    assert len(endpoints) >= 10  # the sweep finds them all, not a stale list
    read_only = {e for e, view in app.view_functions.items() if getattr(view, "read_only", False)}
    assert read_only and all(e.startswith("graphite.") for e in read_only), read_only
    base = rexmon_server.url
    downtime_body = {"scopes": ["host.*"], "start": "+1d", "duration": "1h", "reason": "sweep"}
    filed = login("alice").post(f"{base}/api/v1/downtimes", json=downtime_body, timeout=10)
    downtime = filed.json()["id"]
    before = login("alice").get(f"{base}/api/v1/downtimes/{downtime}", timeout=10).json()

    # a session with alice's CSRF token: with other credentials (or none) the token is
    # not theirs, so forms answer 400 before the role check; the API checks the role
    carrier = login("alice")
    page = carrier.get(f"{base}/downtimes/new", timeout=10).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    csrf = match.group(1)

    for endpoint, method, rule in endpoints:
        url = base + url_of(rule, downtime)
        if endpoint in PUSH_TOKEN_ENDPOINTS:
            assert (
                requests.request(method, url, json={"samples": []}, timeout=10).status_code == 401
            )
            assert (
                requests.request(
                    method, url, json={"samples": []}, auth=("alice", USERS["alice"][0]), timeout=10
                ).status_code
                == 401
            )
            continue
        is_api = rule.startswith("/api/")
        for user, expected in ((None, 401), ("victor", 403)):
            http = requests.Session()
            http.cookies.update(carrier.cookies)
            if user:
                http.auth = (user, USERS[user][0])
            if is_api:
                answer = http.request(method, url, json={}, timeout=10)
            else:
                answer = http.request(
                    method, url, data={"csrf_token": csrf}, timeout=10, allow_redirects=False
                )
                expected = 400
            assert answer.status_code == expected, (method, rule, user, answer.status_code)
        if not is_api:
            for token in ("", "forged", csrf[:-1]):
                form = {"csrf_token": token} if token else {}
                answer = login("alice").request(
                    method, url, data=form, timeout=10, allow_redirects=False
                )
                assert answer.status_code == 400, (method, rule, token)
                assert "CSRF" in answer.text
        else:
            answer = login("alice").request(method, url, data={"a": "b"}, timeout=10)
            assert answer.status_code == 415, (method, rule)

    after = login("alice").get(f"{base}/api/v1/downtimes/{downtime}", timeout=10).json()
    assert after == before
    assert rrd_files(rexmon_server.archive_root) == []


def test_a_push_token_limited_to_other_metrics_is_forbidden(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    secret = "limited-push-token-secret"
    server = make_rexmon_server(
        tokens=[{"name": "n1", "digest": digest_token(secret), "metrics": ["host.n1_*"]}]
    )
    sample = {"metric": "host.n2_x.cpu", "time": aligned_now(), "value": 1}
    assert push(server, [sample], token=secret).status_code == 403


def test_brute_force_on_basic_auth_is_stopped_and_a_forged_forwarded_for_does_not_help(
    rexmon_server: RexmonServer,
) -> None:
    url = f"{rexmon_server.url}/downtimes/new"
    codes = [
        requests.get(
            url,
            auth=("olivia", f"guess{i}"),
            headers={"X-Forwarded-For": f"10.0.0.{i}", "X-Real-IP": f"10.0.1.{i}"},
            timeout=10,
        ).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    right = requests.get(url, auth=("olivia", "olivia-pw"), timeout=10)
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    api = requests.post(
        f"{rexmon_server.url}/api/v1/downtimes", json={}, auth=("alice", "x"), timeout=10
    )
    assert api.status_code == 429


def test_behind_a_trusted_proxy_the_limit_counts_each_client_not_the_proxy(
    tmp_path: Path,
) -> None:
    config_path = write_server_config(tmp_path, "proxy-test-token-secret")
    config = yaml.safe_load(config_path.read_text())
    config["web"]["proxies"] = 1
    config_path.write_text(yaml.safe_dump(config))
    server = RexmonServer(
        create_app(config_path), "proxy-test-token-secret", tmp_path / "rrd", config_path
    )
    server.start()
    try:
        url = f"{server.url}/api/v1/downtimes"

        def get(client: str, password: str) -> int:
            headers = {"X-Forwarded-For": client}
            answer = requests.get(url, auth=("olivia", password), headers=headers, timeout=10)
            return answer.status_code

        assert [get("192.0.2.7", f"guess{i}") for i in range(11)][-1] == 429
        assert get("192.0.2.7", "olivia-pw") == 429
        assert get("198.51.100.9", "olivia-pw") == 200  # another client behind the proxy
        # a client cannot escape by sending its own header: the proxy appends the real one
        assert get("198.51.100.9, 192.0.2.7", "olivia-pw") == 429
    finally:
        server.stop()
        get_services(server.app).close()

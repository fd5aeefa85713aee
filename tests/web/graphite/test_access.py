"""Who may read the Graphite API: viewers, anonymous visitors where the site lets them,
Grafana's bearer token; form POSTs without a CSRF token for the read-only endpoints only."""

from __future__ import annotations

from collections.abc import Callable

import requests

from tests.fixtures_server import USERS, RexmonServer
from tests.web.graphite.conftest import GRAFANA_TOKEN
from tests.web.monitored import push_history

CPU = "host.a.cpu.user"
READS = ("/graphite/render?target=host.a.cpu.user", "/graphite/metrics/find?query=host.*",
         "/graphite/functions", "/graphite/version", "/graphite/events/get_data",
         "/graphite/tags/autoComplete/tags", "/graphite/metrics/expand?query=host.*")  # fmt: skip


def test_anonymous_visitors_read_where_the_site_gives_them_the_viewer_role(
    graphite_server: RexmonServer,
) -> None:
    push_history(graphite_server, CPU, [1.0])
    for path in READS:
        assert requests.get(graphite_server.url + path, timeout=30).status_code == 200, path


def test_without_anonymous_access_every_endpoint_asks_to_log_in(
    make_graphite_server: Callable[..., RexmonServer],
) -> None:
    server = make_graphite_server(anonymous="none")
    push_history(server, CPU, [1.0])
    for path in READS:
        answer = requests.get(server.url + path, timeout=30)
        assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers, path
    posted = requests.post(f"{server.url}/graphite/render", data={"target": CPU}, timeout=30)
    assert posted.status_code == 401
    viewer = requests.get(server.url + READS[0], auth=("victor", USERS["victor"][0]), timeout=30)
    assert viewer.status_code == 200 and viewer.json()[0]["target"] == CPU


def test_grafanas_bearer_token_reads_and_a_wrong_one_is_refused(
    make_graphite_server: Callable[..., RexmonServer],
) -> None:
    server = make_graphite_server(anonymous="none")
    push_history(server, CPU, [1.0])
    good = {"Authorization": f"Bearer {GRAFANA_TOKEN}"}
    for path in READS:
        assert requests.get(server.url + path, headers=good, timeout=30).status_code == 200, path
    answer = requests.post(f"{server.url}/graphite/metrics/find", data={"query": "host.*"},
                           headers=good, timeout=30)  # fmt: skip
    assert answer.status_code == 200 and answer.json()[0]["id"] == "host.a"
    wrong = requests.get(
        server.url + READS[0], headers={"Authorization": "Bearer nope"}, timeout=30
    )
    assert wrong.status_code == 401


def test_form_posts_need_no_csrf_token_for_reads_but_writes_keep_the_check(
    graphite_server: RexmonServer,
) -> None:
    push_history(graphite_server, CPU, [1.0])
    olivia = requests.Session()
    olivia.auth = ("olivia", USERS["olivia"][0])
    olivia.get(f"{graphite_server.url}/downtimes/new", timeout=30)  # a session with a CSRF nonce
    render = olivia.post(f"{graphite_server.url}/graphite/render",
                         data={"target": CPU, "from": "-1h"}, timeout=30)  # fmt: skip
    assert render.status_code == 200 and render.json()[0]["target"] == CPU
    find = olivia.post(
        f"{graphite_server.url}/graphite/metrics/find", data={"query": "*"}, timeout=30
    )
    assert find.status_code == 200 and find.json()[0]["text"] == "host"
    write = olivia.post(
        f"{graphite_server.url}/downtimes/new",
        data={"scopes": "host.*", "start": "+1h", "end": "+2h", "reason": "forged"},
        timeout=30,
    )
    assert write.status_code == 400 and "CSRF" in write.text

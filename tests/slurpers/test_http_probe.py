"""The http source against local servers, one of them TLS with a certificate made here."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from slurpers.sources.http_probe import HttpOptions, Target, collect
from tests.slurpers.helpers import Reply, local_server, make_run, values


def pages(path: str, body: bytes) -> Reply:
    if path == "/missing":
        return 404, {}, b"not here"
    return 200, {"Content-Type": "text/html"}, b"<h1>Welcome to the farm</h1>"


def test_an_up_page_gives_up_status_time_and_content_match() -> None:
    with local_server(pages) as url:
        target = Target("portal", url + "/", match=re.compile("Welcome"))
        run = make_run(("http", "web"))
        got = values(collect(HttpOptions((target,)), run))
    assert got["http.web.portal.up"] == 1
    assert got["http.web.portal.status_code"] == 200
    assert got["http.web.portal.content_match"] == 1
    assert got["http.web.portal.response_seconds"] >= 0
    assert "http.web.portal.cert_expiry_days" not in got
    assert run.problems == []


def test_a_404_or_missing_content_is_down_and_an_unreachable_url_is_down_and_reported() -> None:
    with local_server(pages) as url:
        targets = (
            Target("gone", url + "/missing"),
            Target("wrong", url + "/", match=re.compile("Goodbye")),
        )
        got = values(collect(HttpOptions(targets), make_run()))
    assert got["test.node01.gone.up"] == 0
    assert got["test.node01.gone.status_code"] == 404
    assert got["test.node01.wrong.up"] == 0
    assert got["test.node01.wrong.content_match"] == 0
    run = make_run()
    got = values(collect(HttpOptions((Target("dead", url + "/", timeout=2),)), run))
    assert got == {"test.node01.dead.up": 0}
    assert run.problems[0].part.startswith("url ")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_an_https_target_reports_the_days_until_its_certificate_expires(
    certificate: tuple[Path, Path],
) -> None:
    import time

    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with local_server(pages, tls=context) as url:
        run = make_run(("http", "tls"), now=int(time.time()))
        target = Target("secure", url + "/", ca_file=str(cert))
        got = values(collect(HttpOptions((target,)), run))
        assert run.problems == []
        assert got["http.tls.secure.up"] == 1
        assert 29 < got["http.tls.secure.cert_expiry_days"] <= 30.01

        untrusted = make_run(now=int(time.time()))
        got = values(collect(HttpOptions((Target("self", url + "/"),)), untrusted))
        assert got == {"test.node01.self.up": 0}
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.problems[0].message

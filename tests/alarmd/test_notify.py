from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from alarmd.message import Message, group
from alarmd.notify import BackgroundSender, Notifier, retry_delay
from alarmd.outbox import Outcome
from alarmd.rules import AlarmConfig, parse_config
from tests.alarmd.scenario import Scenario, rule_from_yaml

PASSWORD = "Sup3r-S3cret-pw"
SMTP_USER = "alarms"


# -- real local endpoints ----------------------------------------------------------------


@dataclass
class HttpInbox:
    port: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def http_inbox() -> Iterator[HttpInbox]:
    """An HTTP server on a free port that records JSON POSTs."""
    inbox = HttpInbox(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            inbox.bodies.append(json.loads(self.rfile.read(length)))
            inbox.headers.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    inbox.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield inbox
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class SmtpInbox:
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


class _MailHandler:
    def __init__(self, inbox: SmtpInbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.inbox.raw.append(envelope.content)
        self.inbox.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class _PortZeroController(Controller):
    """aiosmtpd's Controller, bound to port 0: learn the port before the self-test."""

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    """A real SMTP server (aiosmtpd) on a free port, with AUTH PLAIN/LOGIN."""
    inbox = SmtpInbox()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        inbox.logins.append((login, password))
        return AuthResult(success=(login, password) == (SMTP_USER, PASSWORD))

    with warnings.catch_warnings():
        # aiosmtpd warns that AUTH without TLS is unsafe; this server is on loopback.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        controller = _PortZeroController(
            _MailHandler(inbox),
            hostname="127.0.0.1",
            port=0,
            authenticator=authenticate,
            auth_require_tls=False,
        )
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- helpers ------------------------------------------------------------------------------


def mail_url(port: int, password: str = PASSWORD) -> str:
    return (
        f"mailto://{SMTP_USER}:{password}@example.org:{port}?smtp=127.0.0.1&mode=insecure"
        "&from=alarms@example.org&to=oncall@example.org"
    )


def config_with(**receivers: str) -> AlarmConfig:
    lines = ["receivers:"] + [f"  {name}: '{url}'" for name, url in receivers.items()]
    rule = '  - name: load\n    match: host.*\n    critical: "> 20"\n    receivers: x\n'
    text = (
        "\n".join(lines)
        + "\nrules:\n"
        + rule.replace("receivers: x", f"receivers: [{', '.join(receivers)}]")
    )
    return parse_config(text, {}, "test.yaml")


def firing_message(receiver: str) -> Message:
    rule = rule_from_yaml(
        '  - name: load\n    match: host.*\n    critical: "> 20"\n    receivers: oncall\n'
    )
    alarm = Scenario(rule, "host.node01.load.5m")
    alarm.run(25)
    [message] = group(alarm.events, "http://rexmon.example.org")
    return replace(message, receiver=receiver)


# -- tests --------------------------------------------------------------------------------


def test_a_message_arrives_on_a_real_json_endpoint(http_inbox: HttpInbox) -> None:
    config = config_with(oncall=f"json://127.0.0.1:{http_inbox.port}/hook")
    result = Notifier(config.receivers, timeout=5).send(firing_message("oncall"))
    assert (result.outcome, result.detail) == (Outcome.SENT, "")
    [body] = http_inbox.bodies
    assert body["title"] == "[rexmon] CRITICAL FIRING: load on host.node01.load.5m"
    assert "value: 25 (critical: > 20)" in body["message"]
    assert "http://rexmon.example.org/metric/host.node01.load.5m" in body["message"]
    assert body["type"] == "failure"


def test_a_message_arrives_by_mail_on_a_real_smtp_server(smtp_inbox: SmtpInbox) -> None:
    config = config_with(oncall=mail_url(smtp_inbox.port))
    result = Notifier(config.receivers, timeout=5).send(firing_message("oncall"))
    assert result.outcome is Outcome.SENT, result.detail
    [mail] = smtp_inbox.messages
    assert mail["Subject"] == "[rexmon] CRITICAL FIRING: load on host.node01.load.5m"
    assert "oncall@example.org" in mail["To"]
    text = "".join(
        str(part.get_payload(decode=True).decode())  # type: ignore[union-attr]
        for part in mail.walk()
        if part.get_content_type() == "text/plain"
    )
    assert "CRITICAL FIRING: rule load on host.node01.load.5m" in text
    assert smtp_inbox.logins == [(SMTP_USER, PASSWORD)]


def test_a_grouped_alarm_mail_reads_well_in_a_mail_client(smtp_inbox: SmtpInbox) -> None:
    """Parsed as a mail client would: a plain-text mail (apprise is told the body is
    text, so it sends it as written), one alarm per block, each line on its own line, each
    with its graph link."""
    rule = rule_from_yaml(
        '  - name: load\n    match: host.*\n    critical: "> 20"\n    receivers: oncall\n'
    )
    events = []
    for host in ("node01", "node02"):
        alarm = Scenario(rule, f"host.{host}.load.5m")
        alarm.run(25)
        events += alarm.events
    [message] = group(events, "http://rexmon.example.org")
    config = config_with(oncall=mail_url(smtp_inbox.port))
    assert Notifier(config.receivers, timeout=5).send(message).outcome is Outcome.SENT
    [raw] = smtp_inbox.raw
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "[rexmon] 2 CRITICAL FIRING"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    text = text.replace("\r\n", "\n")  # the wire's line ends
    blocks = [block for block in text.strip().split("\n\n") if block.strip()]
    assert len(blocks) == 2
    for host, block in zip(("node01", "node02"), blocks, strict=True):
        lines = block.strip().splitlines()
        assert lines[0] == f"CRITICAL FIRING: rule load on host.{host}.load.5m"
        assert "value: 25 (critical: > 20)" in lines
        assert lines[-1] == f"http://rexmon.example.org/metric/host.{host}.load.5m"
    assert "<br" not in text and "&gt;" not in text


def test_a_provider_that_is_down_gives_a_failed_result() -> None:
    config = config_with(oncall=f"json://127.0.0.1:{closed_port()}/")
    result = Notifier(config.receivers, timeout=5).send(firing_message("oncall"))
    assert result.outcome is Outcome.FAILED
    assert result.retryable
    assert result.detail.startswith("failure:")


def test_a_provider_that_hangs_gives_a_failed_result_within_the_timeout(
    hanging_port: int,
) -> None:
    config = config_with(oncall=f"json://127.0.0.1:{hanging_port}/?rto=30")
    sender = BackgroundSender(Notifier(config.receivers, timeout=1))
    try:
        message = firing_message("oncall")
        result = sender.send(message, timeout=30)  # apprise's own timeout ends it first
        assert result.outcome is Outcome.FAILED
        assert result.detail.startswith("timeout")
        quick = sender.send(message, timeout=0.05)  # the caller's limit ends the wait
        assert (quick.outcome, quick.detail) == (Outcome.FAILED, "timed out after 0.05s")
    finally:
        sender.close()


def test_sending_to_an_unknown_receiver_fails_without_raising() -> None:
    result = Notifier({}).send(Message("nobody", "title", "body", "info", ()))
    assert (result.outcome, result.detail) == (Outcome.FAILED, "no such receiver")


def test_submitting_a_send_never_blocks_the_caller(http_inbox: HttpInbox) -> None:
    config = config_with(oncall=f"json://127.0.0.1:{http_inbox.port}/")
    sender = BackgroundSender(Notifier(config.receivers, timeout=5))
    try:
        future = sender.submit(firing_message("oncall"))
        assert future.result(timeout=30).outcome is Outcome.SENT
    finally:
        sender.close()


def test_a_password_never_appears_in_logs_or_results(
    caplog: pytest.LogCaptureFixture, smtp_inbox: SmtpInbox, http_inbox: HttpInbox
) -> None:
    caplog.set_level(logging.DEBUG)
    config = config_with(
        mail=mail_url(smtp_inbox.port),
        wrong=mail_url(smtp_inbox.port, password=PASSWORD + "-x"),
        hook=f"json://bob:{PASSWORD}@127.0.0.1:{http_inbox.port}/",
        down=f"json://bob:{PASSWORD}@127.0.0.1:{closed_port()}/",
    )
    notifier = Notifier(config.receivers, timeout=5)
    results = {name: notifier.send(firing_message(name)) for name in config.receivers}
    assert results["mail"].outcome is Outcome.SENT
    assert results["hook"].outcome is Outcome.SENT
    assert results["wrong"].outcome is Outcome.FAILED
    assert results["down"].outcome is Outcome.FAILED
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(results)
    assert "notifying mail" in caplog.text


def test_retries_back_off_exponentially_up_to_a_cap_and_then_give_up() -> None:
    delays = [retry_delay(attempt, base=30, cap=300, limit=6) for attempt in range(0, 8)]
    assert delays == [None, 30, 60, 120, 240, 300, 300, None]

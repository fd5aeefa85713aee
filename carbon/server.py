"""The receiver: an asyncio TCP server reading Graphite lines from many connections.

Each connection reads a chunk, cuts it into lines (:mod:`carbon.protocol`), keeps the
samples its source may write (``carbon.allow``, the new-metric limit), hands them to the
group commit and waits for the verdicts before it reads on: a slow archive slows the
senders through TCP instead of filling memory. Connections are bounded in number
(``max_connections``; more are closed at once) and in silence (``idle_timeout``).

:meth:`CarbonServer.stop` (SIGTERM) stops accepting, lets every connection read what
has already arrived (until it is quiet for a moment), writes it, and closes the archive,
which flushes rrdcached and trims the log. A crash loses at most what the kernel had
received and not yet handed over: the protocol has no acknowledgement to wait for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

from carbon.commit import GroupCommit
from carbon.config import CarbonConfig, Source
from carbon.counts import Closing, LineCounts
from carbon.errors import ListenError
from carbon.limits import LineRate, NewMetricLimit
from carbon.protocol import Line, LineSplitter, Reason, Refused, parse_line
from rexmon.sample import Sample
from rrdarchive.archive import Archive

log = logging.getLogger("carbon")
CHUNK = 64 * 1024
MAX_BUSY = 256  # connections whose chunk is parsed and waits for the archive at once
DRAIN_QUIET = 0.5  # at stop: a connection silent this long has nothing more to give
DRAIN_MAX = 10.0  # at stop: the longest the reading of what arrived may take


class CarbonServer:
    """``await start()``, then ``await serve_until_stopped()``; ``stop()`` from a signal."""

    def __init__(
        self, config: CarbonConfig, archive: Archive, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.archive = archive
        self.counts = LineCounts()
        self._clock = clock
        self._rate = LineRate(config.rate)
        self._new = NewMetricLimit(config.max_new_metrics)
        self._server: asyncio.Server | None = None
        self._commit: GroupCommit | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopped: asyncio.Future[None] | None = None
        # bounds the parsed samples held in memory, whatever the number of connections
        self._busy: asyncio.Semaphore | None = None

    async def start(self) -> list[tuple[str, int]]:
        """Listen; the addresses bound (port 0 in the config picks a free port)."""
        loop = asyncio.get_running_loop()
        self._stopped = loop.create_future()
        self._busy = asyncio.Semaphore(MAX_BUSY)
        self._commit = GroupCommit(self.archive.write)
        try:
            self._server = await asyncio.start_server(
                self._serve, self.config.host, self.config.port, limit=CHUNK, backlog=1024
            )
        except OSError as exc:
            where = f"{self.config.host}:{self.config.port}"
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ListenError(f"cannot listen on {where}: {reason}") from None
        return [sock.getsockname()[:2] for sock in self._server.sockets]

    def stop(self) -> None:
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)

    async def serve_until_stopped(self) -> None:
        """Serve and log the counters until :meth:`stop`; then drain, write and close."""
        assert self._server is not None and self._stopped is not None and self._commit
        while not self._stopped.done():
            await asyncio.wait([self._stopped], timeout=self.config.log_interval)
            if not self.counts.quiet():
                log.info("%s", self.counts.report(self.config.log_interval))
        self._server.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=DRAIN_MAX + 5)
        for task in self._handlers:
            task.cancel()
        await self._commit.close()
        await self._commit.run_in_writer(self.archive.close)
        self._commit.shutdown()
        log.info("%s", self.counts.totals())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else None
        sources = self.config.sources_of(address)
        limit = self.config.max_connections
        if not sources or len(self._handlers) >= limit:
            if not sources:
                self.counts.turn_away(Closing.NETWORK, address, "not in carbon.allow")
            else:
                self.counts.turn_away(Closing.FULL, address, f"{limit} connections are open")
            writer.close()
            return
        self._handlers.add(task)
        self.counts.open += 1
        try:
            how = await self._read(reader, address or "?", sources)
        finally:
            self._handlers.discard(task)
            self.counts.open -= 1
            writer.close()
        self.counts.close(how)

    async def _read(
        self, reader: asyncio.StreamReader, address: str, sources: tuple[Source, ...]
    ) -> Closing:
        assert self._stopped is not None
        splitter = LineSplitter(self.config.max_line)
        drain_until: float | None = None
        how = Closing.CLOSED
        while True:
            if drain_until is None and self._stopped.done():
                drain_until = time.monotonic() + DRAIN_MAX
            try:
                chunk = await self._next_chunk(reader, drain_until)
            except OSError:  # reset by the sender: what was read before is kept
                how = Closing.RESET
                break
            if chunk is None:  # silent too long
                how = Closing.IDLE if drain_until is None else Closing.CLOSED
                break
            if not chunk:
                break
            assert self._busy is not None
            async with self._busy:
                lines = splitter.feed(chunk)
                await self._store(lines, address, sources)
            delay = self._rate.delay(address, len(lines), self._clock())
            if delay > 0 and drain_until is None:
                await asyncio.wait([self._stopped], timeout=delay)
        last = splitter.close()
        if last is not None:
            self.counts.refuse(last, address)
        return how

    async def _next_chunk(
        self, reader: asyncio.StreamReader, drain_until: float | None
    ) -> bytes | None:
        """The next chunk, b"" at the end, None after the idle timeout (or, when draining
        at stop, after a quiet moment). A stop wakes a reader that waits."""
        assert self._stopped is not None
        if drain_until is not None:
            timeout = min(DRAIN_QUIET, max(0.0, drain_until - time.monotonic()))
            try:
                return await asyncio.wait_for(reader.read(CHUNK), timeout)
            except TimeoutError:
                return None
        read: asyncio.Future[bytes] = asyncio.ensure_future(reader.read(CHUNK))
        waiting: list[asyncio.Future[bytes] | asyncio.Future[None]] = [read, self._stopped]
        done, _ = await asyncio.wait(
            waiting,
            timeout=self.config.idle_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if read in done:
            return read.result()
        read.cancel()  # data the read had not taken stays in the reader's buffer
        if self._stopped.done():
            return await self._next_chunk(reader, time.monotonic() + DRAIN_MAX)
        return None

    async def _store(self, lines: list[Line], address: str, sources: tuple[Source, ...]) -> None:
        assert self._commit is not None
        now = int(self._clock())
        counts = self.counts
        anything = any("*" in source.metrics for source in sources)
        limited = self.config.max_new_metrics > 0
        samples: list[Sample] = []
        for line in lines:
            parsed = line if isinstance(line, Refused) else parse_line(line, now)
            if parsed is None:
                continue
            if isinstance(parsed, Refused):
                counts.refuse(parsed, address)
            elif not anything and not any(s.allows(parsed.metric) for s in sources):
                detail = f"{parsed.metric!r} is not among the metrics its network may write"
                counts.refuse(Refused(Reason.FORBIDDEN, detail), address)
            elif (
                limited
                and not self.archive.exists(parsed.metric)
                and not self._new.allow(address, parsed.metric, now)
            ):
                detail = (
                    f"{parsed.metric!r} has no RRD yet and {address} may create at most"
                    f" {self.config.max_new_metrics} new metrics per hour"
                )
                counts.refuse(Refused(Reason.NEW_METRIC_LIMIT, detail), address)
            else:
                samples.append(parsed)
        if not samples:
            return
        verdicts = await self._commit.write(samples)
        if not isinstance(verdicts, list):
            refusal = Refused(Reason.UNAVAILABLE, str(verdicts))
            for _ in samples:
                counts.refuse(refusal, address)
            return
        stored = 0
        for sample, verdict in zip(samples, verdicts, strict=True):
            if verdict.stored:
                stored += 1
            else:
                reason = Reason.RETRY if verdict.retry else Reason.ARCHIVE
                counts.refuse(Refused(reason, f"{sample.metric}: {verdict.reason}"), address)
        counts.accept(stored)

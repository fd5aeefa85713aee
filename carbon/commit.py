"""Group commit: the samples of every connection written to the archive together.

The archive's write is durable when it returns (the write-ahead log is synced with
rrdcached, the files written without), and one write of many samples costs little more
than a write of a few. So connections hand their parsed chunk to :class:`GroupCommit`
and wait; one writer thread takes everything that arrived during the previous write
(and a short window after the first new chunk) and stores it in one call. A line is
counted as accepted only once that call has said so for its sample.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from rexmon.errors import RexmonError
from rexmon.sample import Sample
from rrdarchive.verdict import Verdict

log = logging.getLogger("carbon")
WINDOW = 0.02  # seconds to gather more chunks once the first one is waiting
MAX_BATCH = 200_000  # samples in one archive write
RETRY_FIRST = 0.5  # seconds before the first retry of a write the archive could not do
RETRY_MAX = 30.0

Verdicts = list[Verdict]
Writer = Callable[[Sequence[Sample]], Verdicts]
Pending = tuple[list[Sample], "asyncio.Future[Verdicts | RexmonError]"]


class GroupCommit:
    """Batches ``write`` calls from many coroutines into few archive writes."""

    def __init__(self, write: Writer, window: float = WINDOW) -> None:
        self._write = write
        self._window = window
        self._pending: deque[Pending] = deque()
        self._count = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()  # set with _closing, for the retry pauses
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="carbon-write")
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def write(self, samples: list[Sample]) -> Verdicts | RexmonError:
        """One verdict per sample (stored and durable, or why not), or the error that kept the
        whole write from happening (the archive unreachable)."""
        future: asyncio.Future[Verdicts | RexmonError] = asyncio.get_running_loop().create_future()
        self._pending.append((samples, future))
        self._count += len(samples)
        self._wake.set()
        return await future

    async def run_in_writer(self, function: Callable[[], object]) -> object:
        """Run ``function`` in the writer thread (the archive's close, at the end)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    async def close(self) -> None:
        """Write what is pending, then stop the writer."""
        self._closing = True
        self._closed.set()
        self._wake.set()
        await self._task

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                continue
            if self._count < MAX_BATCH and not self._closing:
                await asyncio.sleep(self._window)
            batch = self._take()
            flat = [sample for samples, _ in batch for sample in samples]
            verdicts = await self._write_patiently(flat)
            start = 0
            for samples, future in batch:
                if future.done():  # its connection went away meanwhile
                    pass
                elif isinstance(verdicts, RexmonError):
                    future.set_result(verdicts)
                else:
                    future.set_result(verdicts[start : start + len(samples)])
                start += len(samples)

    async def _write_patiently(self, samples: list[Sample]) -> Verdicts | RexmonError:
        """The archive's write. While it cannot write at all (rrdcached restarting, the
        log's disk gone) it is tried again with growing pauses: the connections wait and
        TCP holds their senders back, instead of the lines being dropped. Only a stop
        ends the waiting (one last try, then the error is the verdict)."""
        loop = asyncio.get_running_loop()
        pause = RETRY_FIRST
        while True:
            try:
                return await loop.run_in_executor(self._executor, self._write, samples)
            except RexmonError as exc:
                if self._closing:
                    log.error(
                        "carbon: archive unavailable at stop, %d lines lost: %s", len(samples), exc
                    )
                    return exc
                log.error(
                    "carbon: archive unavailable, %d lines wait, next try in %gs: %s",
                    len(samples),
                    pause,
                    exc,
                )
            except Exception as exc:  # a bug must not stop every later write
                log.exception("carbon: writing %d samples failed", len(samples))
                return RexmonError(f"write failed: {exc}")
            try:
                await asyncio.wait_for(self._closed.wait(), pause)
            except TimeoutError:
                pass
            pause = min(pause * 2, RETRY_MAX)

    def _take(self) -> list[Pending]:
        batch: list[Pending] = []
        total = 0
        while self._pending and (not batch or total + len(self._pending[0][0]) <= MAX_BATCH):
            item = self._pending.popleft()
            batch.append(item)
            total += len(item[0])
        self._count -= total
        if not self._pending:
            self._wake.clear()
        return batch

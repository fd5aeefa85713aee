"""Run a program a source needs (a plugin, ``squeue``) with a timeout and an output bound.

``subprocess.run(capture_output=True, timeout=...)`` keeps everything a program prints
until the timeout: a plugin stuck printing (``yes``) fills the node's memory in seconds.
And on timeout it kills only the child, then waits for the pipes to close, which a
grandchild (the ``sleep`` in a shell plugin) can hold open forever. Here the program runs
in its own process group, the whole group is killed on timeout or when it has printed
more than ``max_bytes``, and the caller gets :class:`ProgramFailed` saying which.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slurpers.errors import CollectError

MAX_OUTPUT_BYTES = 4 * 1024**2
_CHUNK = 65536


class ProgramFailed(CollectError):
    """The program could not start, ran too long, or printed too much."""


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run_program(
    argv: Sequence[str],
    *,
    timeout: float,
    max_bytes: int = MAX_OUTPUT_BYTES,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    user: int | None = None,
    group: int | None = None,
) -> Finished:
    """Run ``argv`` with empty stdin; its output decoded as UTF-8 (bad bytes replaced)."""
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            cwd=cwd,
            user=user,
            group=group,
            extra_groups=[] if user is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        raise ProgramFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    with process:  # closes the pipes and reaps the child, whatever happens
        return _communicate(process, argv[0], timeout, max_bytes)


def _communicate(
    process: subprocess.Popen[bytes], name: str, timeout: float, max_bytes: int
) -> Finished:
    assert process.stdout is not None and process.stderr is not None
    chunks: dict[int, list[bytes]] = {1: [], 2: []}
    total = 0
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, 1)
        selector.register(process.stderr, selectors.EVENT_READ, 2)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                _kill_group(process)
                raise ProgramFailed(f"{name} timed out after {timeout:g}s")
            for key, _events in selector.select(left):
                data = os.read(key.fd, _CHUNK)
                if not data:
                    selector.unregister(key.fileobj)
                    continue
                chunks[key.data].append(data)
                total += len(data)
                if total > max_bytes:
                    _kill_group(process)
                    raise ProgramFailed(f"{name} printed more than {max_bytes} bytes: stopped")
    try:
        returncode = process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise ProgramFailed(f"{name} timed out after {timeout:g}s") from None
    return Finished(
        returncode,
        b"".join(chunks[1]).decode("utf-8", "replace"),
        b"".join(chunks[2]).decode("utf-8", "replace"),
    )

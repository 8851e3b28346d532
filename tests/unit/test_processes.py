"""Worker pools that stop at once: leaving a :func:`slit.processes.worker_pool` block by an
exception ends the running workers instead of waiting for their tasks, and a worker ends on
SIGTERM even though it was forked from a command that turns SIGTERM into a clean stop."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from slit.processes import worker_pool


def _sleep_and_report_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _pid() -> int:
    return os.getpid()


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie child counts as gone once it is reaped
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_an_exception_in_the_block_stops_running_and_queued_work_at_once() -> None:
    class Stop(Exception):
        pass

    t0 = time.monotonic()
    with pytest.raises(Stop):
        with worker_pool(2) as pool:
            pids = [pool.submit(_pid).result() for _ in range(4)]
            slow: list[Future] = [pool.submit(_sleep_and_report_pid, 60.0) for _ in range(6)]
            time.sleep(0.5)  # the first two are running, four are queued
            raise Stop
    assert time.monotonic() - t0 < 20
    # every task is cancelled or failed with the broken pool; none ran to its end
    assert not any(f.done() and not f.cancelled() and f.exception() is None for f in slow)
    assert all(_gone(pid, within_s=10) for pid in set(pids)), "a worker outlived its pool"


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_worker_ends_on_sigterm_whatever_its_parent_does_with_it() -> None:
    def parent_handler(signum, frame):  # what the CLI installs: SIGTERM as a clean stop
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, parent_handler)
    try:
        with worker_pool(1) as pool:
            pid = pool.submit(_pid).result()
            running = pool.submit(_sleep_and_report_pid, 60.0)
            time.sleep(0.3)
            os.kill(pid, signal.SIGTERM)
            assert _gone(pid, within_s=10), "the worker handled SIGTERM instead of ending"
            with pytest.raises(BrokenProcessPool):  # the pool reports its lost worker
                running.result(timeout=30)
    finally:
        signal.signal(signal.SIGTERM, previous)

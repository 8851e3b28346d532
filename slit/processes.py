"""Worker processes that never outlive the command that started them.

A ``slit sweep --jobs N`` or ``slit optimize --jobs N`` killed with SIGKILL cannot clean up;
its workers would go on computing points nobody collects (and, before the lock was the
kernel's, hold the sweep's folder). So every worker asks the kernel to kill it when its
parent dies (Linux ``PR_SET_PDEATHSIG``), and a pool left by an exception or an interruption
cancels its queued work at once and stops its workers instead of waiting for them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Pool initializer: have the kernel send this process SIGKILL when its parent dies
    (Linux; elsewhere nothing is asked), ignore Ctrl-C (the parent handles it) and let SIGTERM
    end the worker at once. A worker whose parent is already gone exits at once."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc to ask
            pass
    # Ctrl-C reaches the whole process group: the parent handles it, the workers stop with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's SIGTERM handler, which turns SIGTERM into a clean
    # stop of the *command*; in a worker that would only end the current task and leave the
    # worker taking the next one, so the pool's terminate() would wait for running points.
    # The default action ends the worker at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


@contextmanager
def worker_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers die with this process (:func:`die_with_parent`); leaving
    the block by an exception (Ctrl-C and SIGTERM included) cancels the queued work and stops
    the workers at once instead of waiting for every queued task."""
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=die_with_parent)
    try:
        yield pool
    except BaseException:
        # read the workers first: shutdown() forgets them (it sets ``_processes`` to None)
        workers = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            proc.terminate()
        # wait (briefly) for the workers and the pool's manager thread to see them go, so that
        # the interpreter's exit does not race the thread on its closed pipes (which prints an
        # "Exception ignored ... Bad file descriptor" after the clean message)
        for proc in workers:
            proc.join(timeout=5)
        if manager is not None:
            manager.join(timeout=5)
        raise
    pool.shutdown(wait=True)

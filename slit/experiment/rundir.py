"""Run directories: every result file of a run written to a temporary folder and renamed into
place at the end, so a failed or interrupted run never leaves a half-written result."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slit.errors import OutputError

if TYPE_CHECKING:
    from slit.optimize.run import OptimizeResult

INTERRUPTED = "interrupted"
"""The ``status`` in ``metadata.json`` of a run stopped by Ctrl-C or SIGTERM."""


def is_interrupted_run(out: Path) -> bool:
    """Whether ``out`` is the folder an interrupted run left: only ``metadata.json``, with
    status ``interrupted``. Such a folder holds no result and is replaced without asking."""
    try:
        names = [p.name for p in out.iterdir()]
        meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return names == ["metadata.json"] and meta.get("status") == INTERRUPTED


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends (they are delivered after it), so that a
    rename sequence is never cut half-way. Where signals cannot be blocked, a no-op."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on POSIX
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse an existing ``out`` unless ``overwrite`` (or it only holds an interrupted run's
    metadata); refuse a file in its place always."""
    if not overwrite and is_interrupted_run(out):
        return
    if out.exists() and not overwrite:
        raise OutputError(
            f"{out}: the output directory exists; pass --overwrite to replace it "
            "or choose another --out"
        )
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory; choose another --out")


@contextmanager
def staged_dir(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` atomically.

    On any exception the temporary folder is removed and ``out`` is left as it was.
    """
    check_out_dir(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # the renames run with interrupts held: `out` is the old folder or the new one, never none
    with deferred_interrupts():
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def git_commit() -> str | None:
    """The git commit of the slit source tree, if it is a git checkout; else None."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def base_metadata(command: str, seed: int, scenario_hash: str) -> dict[str, Any]:
    """Provenance every run records: version, commit, seed, scenario hash, platform."""
    from slit.version import __version__

    return {
        "command": command,
        "status": "running",
        "slit_version": __version__,
        "git_commit": git_commit(),
        "seed": seed,
        "scenario_sha256": scenario_hash,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write pretty, key-ordered JSON ending in a newline."""
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def write_run(out: Path, overwrite: bool, files: dict[str, Callable[[Path], None]]) -> None:
    """Write a run directory: each ``name -> writer(path)`` into a staged folder, then rename."""
    with staged_dir(out, overwrite) as tmp:
        for name, writer in files.items():
            writer(tmp / name)


def _csv(frame: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")

    return write


def run_files(
    result: Any, scenario: Any, meta: dict[str, Any]
) -> dict[str, Callable[[Path], None]]:
    """The files of a ``slit run`` folder from a :class:`~slit.sim.results.SimResult`."""
    return {
        "summary.json": lambda p: p.write_text(result.summary_json(), encoding="utf-8"),
        "requests.parquet": lambda p: result.requests.to_parquet(p, index=False),
        "timeseries.parquet": lambda p: result.timeseries.to_parquet(p, index=False),
        "config.resolved.yaml": lambda p: p.write_text(scenario.resolved_yaml(), encoding="utf-8"),
        "metadata.json": lambda p: write_json(p, meta),
    }


def write_interrupted(out: Path, meta: dict[str, Any]) -> bool:
    """Record an interrupted run: ``out`` becomes a folder holding only ``metadata.json`` with
    status ``interrupted`` (no result file). A folder already at ``out`` that holds results
    (``--overwrite`` was given) is left as it was, so nothing is lost; returns whether the
    record was written."""
    if out.exists() and not is_interrupted_run(out):
        return False
    with deferred_interrupts(), staged_dir(out, True) as tmp:
        write_json(tmp / "metadata.json", {**meta, "status": INTERRUPTED})
    return True


def write_run_dir(out: Path, overwrite: bool, result: Any, scenario: Any,
                  meta: dict[str, Any]) -> None:  # fmt: skip
    """Write the folder of ``slit run`` (see README) atomically."""
    write_run(out, overwrite, run_files(result, scenario, meta))


def write_optimize_dir(out: Path, overwrite: bool, tables: OptimizeResult, scenario: Any,
                       meta: dict[str, Any]) -> None:  # fmt: skip
    """Write the folder of ``slit optimize`` from :func:`slit.optimize.run.run_optimize`'s
    tables, plus the files of ``slit run`` from the balanced plan's replay, atomically."""
    files = run_files(tables.replay, scenario, meta)
    for name in ("pareto", "fronts", "convergence", "validated", "validated_datacenters"):
        files[f"{name}.csv"] = _csv(getattr(tables, name))
    files["indicators.json"] = lambda p: write_json(p, tables.indicators)
    for name, table in tables.plans.items():
        files[f"plans/{name}.csv"] = _csv(table)
    write_run(out, overwrite, files)

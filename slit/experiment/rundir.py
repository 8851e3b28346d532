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


RESULT_NAMES = frozenset(
    {
        "metadata.json", "summary.json", "requests.parquet", "timeseries.parquet",
        "config.resolved.yaml", "pareto.csv", "fronts.csv", "convergence.csv", "validated.csv",
        "validated_datacenters.csv", "indicators.json", "plans", "report.html", "plots",
    }
)  # fmt: skip
"""The entries ``slit run`` and ``slit optimize`` write into their folder, with the report and
figures ``slit report`` and ``slit plot`` add to it by default."""


def slit_folder(out: Path) -> bool:
    """Whether ``out`` is a folder slit wrote: its ``metadata.json`` names the command and the
    slit version that wrote it."""
    try:
        meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "command" in meta and "slit_version" in meta


def _listing(names: list[str], at_most: int = 5) -> str:
    shown = ", ".join(sorted(names)[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse an ``out`` that a run may not write, before any work, with what was found there.

    ``out`` may be absent, an empty folder, or the folder of an interrupted run; with
    ``overwrite`` also a folder slit wrote (:func:`slit_folder`) that holds nothing but what
    slit writes there (:data:`RESULT_NAMES`), so that no file of the user's is ever deleted.
    A symbolic link, a file, a path under a file and a parent that cannot be created are
    refused always."""
    _check_path(out, "folder")
    if not out.exists() or is_interrupted_run(out):
        return
    try:
        names = [p.name for p in out.iterdir()]
    except OSError as exc:
        raise OutputError(f"{out}: cannot be read ({exc.strerror}); choose another --out") from exc
    if not names:
        return
    if not overwrite:
        raise OutputError(
            f"{out}: the output directory exists and holds {_listing(names)}; pass --overwrite "
            "to replace a folder slit wrote, or choose another --out"
        )
    if not slit_folder(out):
        raise OutputError(
            f"{out}: holds {_listing(names)}, which slit did not write (no slit metadata.json); "
            "--overwrite replaces only a folder slit wrote: choose another --out"
        )
    foreign = [n for n in names if n not in RESULT_NAMES]
    # the folders slit writes hold only slit's files: plots/ its marked figures, plans/ the
    # plan tables of an optimisation; anything else in them is the user's
    foreign += [f"plots/{p.name}" for p in _entries(out / "plots")
                if not (p.is_file() and is_slit_figure(p))]  # fmt: skip
    foreign += [f"plans/{p.name}" for p in _entries(out / "plans")
                if not (p.is_file() and p.suffix == ".csv" and _is_plan_table(p))]  # fmt: skip
    if foreign:
        raise OutputError(
            f"{out}: besides slit's results it holds {_listing(foreign)}, which --overwrite "
            "would delete; move them out of the folder or choose another --out"
        )


def _entries(folder: Path) -> list[Path]:
    """The entries of ``folder`` (none if it is not a folder or cannot be read)."""
    try:
        return list(folder.iterdir()) if folder.is_dir() and not folder.is_symlink() else []
    except OSError:
        return []


def _is_plan_table(path: Path) -> bool:
    """Whether ``path`` is a plan table of ``slit optimize`` (its header names the epoch,
    origin and datacenter shares); reads at most 4 kB."""
    try:
        with open(path, encoding="utf-8") as handle:
            header = handle.readline(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return header.startswith("epoch,")


NAME_MAX_BYTES = 255
"""The longest file or folder name Linux file systems take, in bytes."""


def _check_path(path: Path, kind: str, flag: str = "--out") -> None:
    """Refuse ``path`` (a ``"folder"`` or a ``"file"`` to write) if it is a symbolic link
    (dangling, looping or not: slit does not write through links), or lies under a file, or,
    as a folder, is a file itself; if it is the current folder or holds it (the results would
    replace the folder the shell is in); if it is not a regular file or folder (a named pipe,
    a device); if a name in it is longer than 255 bytes or is not UTF-8."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise OutputError(
            f"{text.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')}: is not a "
            f"UTF-8 name, which the result files cannot record; choose another {flag}"
        ) from None
    long = [part for part in path.parts if len(part.encode("utf-8")) > NAME_MAX_BYTES]
    if long:
        raise OutputError(
            f"{text[:60]}...: has a name of {len(long[0].encode('utf-8'))} bytes, longer than "
            f"the {NAME_MAX_BYTES} a file system takes; choose a shorter {flag}"
        )
    if kind == "folder" and not text.strip():
        raise OutputError(f"{flag} is empty; give a folder name, e.g. {flag} results")
    if kind == "folder":
        here = Path.cwd().resolve()
        try:
            target = path.resolve()
        except (OSError, RuntimeError):  # a loop of links: reported as a link below
            target = None
        if target is not None and (target == here or target in here.parents):
            raise OutputError(
                f"{path}: is the current folder{'' if target == here else ' or holds it'}; the "
                f"results would replace it: give a new folder, e.g. {flag} results"
            )
    if path.is_symlink():
        raise OutputError(
            f"{path}: is a symbolic link (to {os.readlink(path)}); give the {kind} itself as "
            f"{flag}, slit does not write through links"
        )
    for parent in [path, *path.parents] if kind == "folder" else list(path.parents):
        if parent != path and parent.is_symlink() and not parent.exists():
            raise OutputError(f"{path}: lies under {parent}, a symbolic link that leads nowhere "
                              f"(dangling or a loop); choose another {flag}")  # fmt: skip
        if parent.exists() and not parent.is_dir():
            what = "exists and is not a folder" if parent == path else f"is under a file ({parent})"
            raise OutputError(f"{path}: {what}; choose another {flag}")
        if parent.exists():
            break
    if kind == "file" and path.exists() and not path.is_file() and not path.is_dir():
        # a named pipe would block the write, a device swallow or refuse it
        raise OutputError(f"{path}: is not a regular file (a pipe or a device); "
                          f"choose another {flag}")  # fmt: skip


def check_out_path(path: Path, kind: str, flag: str = "--out") -> None:
    """Refuse an output ``path`` (``"folder"`` or ``"file"``) that no command may write: see
    :func:`_check_path`."""
    _check_path(path, kind, flag)


def check_out_file(path: Path, own: Callable[[Path], bool], flag: str = "--out") -> None:
    """Refuse to write the file ``path`` over anything but a file ``own`` recognises as one
    the same command wrote before (a report over a report): never over a result file, a
    folder, a symbolic link or a file of the user's. Its parent may not be under a file."""
    _check_path(path, "file", flag)
    if not path.exists():
        return
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name as {flag}")
    if path.name in RESULT_NAMES and slit_folder(path.parent) and not own(path):
        raise OutputError(f"{path}: is a result file of a slit run; choose another {flag}")
    if not own(path):
        raise OutputError(
            f"{path}: exists and was not written by this command; choose another {flag} "
            "or move the file"
        )


FIGURE_MARK = "slit"
"""What ``save_figure`` writes as the Software (PNG) or Creator (PDF) of every figure, so that
a later ``slit plot`` knows the files it may replace."""


def is_slit_figure(path: Path) -> bool:
    """Whether ``path`` is a PNG or PDF figure slit wrote (its Software or Creator field names
    slit); reads at most 8 kB."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 4096))
            tail = handle.read(4096)
    except OSError:
        return False
    if head.startswith(b"\x89PNG"):
        return b"Software\x00" + FIGURE_MARK.encode() + b" " in head
    if head.startswith(b"%PDF"):
        return b"/Creator (" + FIGURE_MARK.encode() + b" " in head + tail
    return False


def check_out_figures(folder: Path, flag: str = "--out", names: list[str] | None = None) -> None:
    """Refuse a figure folder that is a file, a symbolic link or under a file, or (given the
    file ``names`` to be written) that holds a file of one of those names which slit did not
    write (:func:`is_slit_figure`); the ``plots`` folder of a slit result folder is slit's."""
    _check_path(folder, "folder", flag)
    if not names or not folder.is_dir():
        return
    taken = [n for n in names if (folder / n).exists() and not is_slit_figure(folder / n)]
    if taken:
        raise OutputError(
            f"{folder}: holds {_listing(taken)}, which slit did not write (or an older slit "
            f"wrote without its mark) and would replace; move them or choose another {flag}"
        )


class OutputClaim:
    """One run's exclusive claim on its output folder, from before the work to its results.

    Entering checks ``out`` (:func:`check_out_dir`), creates its parent, takes an exclusive
    lock on a lock file beside it (``.NAME.lock``; the kernel releases it if the process
    dies) and makes the staging folder the results are written to, so a bad ``--out`` and a
    second writer are refused before any work. :meth:`write` renames the staged results into
    place; leaving without it removes the staging folder and leaves ``out`` as it was.

    Example::

        with OutputClaim(Path("results/run1"), overwrite=False) as claim:
            result = expensive_work()
            claim.write({"summary.json": lambda p: p.write_text(result)})
    """

    def __init__(self, out: Path, overwrite: bool) -> None:
        self.out = Path(out)
        self.overwrite = overwrite
        self._lock: Any = None
        self._lock_path = self.out.parent / f".{self.out.name}.lock"
        self._stage: Path | None = None

    def __enter__(self) -> OutputClaim:
        check_out_dir(self.out, self.overwrite)
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{self.out}: its folder cannot be created ({exc.strerror}); choose another --out"
            ) from exc
        self._acquire()
        try:
            check_out_dir(self.out, self.overwrite)  # again, now that no other slit writes it
            self._remove_leftovers()
            self._stage = _stage_beside(self.out)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
            self._stage = None
        self._release()

    def _acquire(self) -> None:
        import fcntl

        while True:
            try:
                handle = open(self._lock_path, "a+", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise OutputError(
                    f"{self.out}: its folder is not writable ({exc.strerror}); choose another --out"
                ) from exc
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise OutputError(
                    f"{self.out}: another slit process (pid {holder}) is writing this folder; "
                    "wait for it to finish or choose another --out"
                ) from None
            # the lock file may have been removed by its last holder between our open and our
            # lock: then we hold a lock on a file nobody else will see; open it again
            try:
                same = os.fstat(handle.fileno()).st_ino == os.stat(self._lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def _remove_leftovers(self) -> None:
        """Remove the staging folders of earlier writers of ``out`` that were killed before
        they could clean up (SIGKILL, a power cut): only the lock holder stages beside
        ``out``, and the lock is ours, so every one found is stale."""
        parent, name = self.out.parent, self.out.name
        for pattern in (f".{name}.*.partial", f".{name}.old-*"):
            for stale in parent.glob(pattern):
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale, ignore_errors=True)

    def _release(self) -> None:
        if self._lock is None:
            return
        try:
            self._lock_path.unlink(missing_ok=True)  # removed while still held: see _acquire
        finally:
            self._lock.close()
            self._lock = None

    def write(self, files: dict[str, Callable[[Path], None]]) -> None:
        """Write each ``name -> writer(path)`` into the staging folder, then rename it to
        ``out`` (replacing the folder :func:`check_out_dir` allowed), interrupts held."""
        if self._stage is None:
            raise RuntimeError("OutputClaim.write: use it inside a `with` block, once")
        for name, writer in files.items():
            writer(self._stage / name)
        _swap_into_place(self._stage, self.out)
        self._stage = None

    def write_interrupted(self, meta: dict[str, Any]) -> bool:
        """Record an interrupted run: ``out`` becomes a folder holding only ``metadata.json``
        with status ``interrupted`` (no result file). A folder already at ``out`` that holds
        results (``--overwrite`` was given) is left as it was, so nothing is lost; returns
        whether the record was written."""
        if self.out.exists() and not is_interrupted_run(self.out):
            try:
                if any(self.out.iterdir()):
                    return False
            except OSError:
                return False
        if self._stage is None:
            self._stage = _stage_beside(self.out)
        for child in self._stage.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        with deferred_interrupts():
            write_json(self._stage / "metadata.json", {**meta, "status": INTERRUPTED})
            _swap_into_place(self._stage, self.out)
        self._stage = None
        return True


def _stage_beside(out: Path) -> Path:
    """A new, empty staging folder beside ``out`` with ordinary permissions."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    except OSError as exc:
        raise OutputError(
            f"{out}: its folder is not writable ({exc.strerror}); choose another --out"
        ) from exc
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    return tmp


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an ``out`` already there is moved aside first and removed
    after. The renames run with interrupts held: ``out`` is the old folder or the new one."""
    with deferred_interrupts():
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_dir(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` atomically.

    On any exception the temporary folder is removed and ``out`` is left as it was.
    """
    check_out_dir(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _stage_beside(out)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_into_place(tmp, out)


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
    from slit.jsonio import dumps

    path.write_text(dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


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


def write_run_dir(out: Path, overwrite: bool, result: Any, scenario: Any,
                  meta: dict[str, Any]) -> None:  # fmt: skip
    """Write the folder of ``slit run`` (see README) atomically."""
    write_run(out, overwrite, run_files(result, scenario, meta))


def write_optimize_dir(out: Path, overwrite: bool, tables: OptimizeResult, scenario: Any,
                       meta: dict[str, Any]) -> None:  # fmt: skip
    """Write the folder of ``slit optimize`` (:func:`optimize_files`) atomically."""
    write_run(out, overwrite, optimize_files(tables, scenario, meta))


def optimize_files(
    tables: OptimizeResult, scenario: Any, meta: dict[str, Any]
) -> dict[str, Callable[[Path], None]]:
    """The files of a ``slit optimize`` folder: :func:`slit.optimize.run.run_optimize`'s
    tables, plus the files of ``slit run`` from the balanced plan's replay."""
    files = run_files(tables.replay, scenario, meta)
    for name in ("pareto", "fronts", "convergence", "validated", "validated_datacenters"):
        files[f"{name}.csv"] = _csv(getattr(tables, name))
    files["indicators.json"] = lambda p: write_json(p, tables.indicators)
    for name, table in tables.plans.items():
        files[f"plans/{name}.csv"] = _csv(table)
    return files

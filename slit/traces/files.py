"""Read any trace file by its format name: a grid-signal file or a request trace."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pandas as pd

from slit.errors import SlitError


def _first_line(path: Path) -> str:
    try:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            return str(f.readline())
    except OSError:
        return ""  # the reader reports the problem


def is_request_trace(path: str | Path, fmt: str) -> bool:
    """Whether ``path`` in format ``fmt`` is a request trace rather than grid signals.

    A format only one registry knows decides; for a name both know (``csv``) a request trace
    is the file whose header names ``arrival_s``."""
    from slit.traces.grid_readers import grid_formats
    from slit.traces.requests import request_formats

    if fmt not in request_formats():
        return False
    if fmt not in grid_formats():
        return True
    return "arrival_s" in _first_line(Path(path))


def read_trace_file(
    path: str | Path,
    fmt: str,
    options: dict[str, Any] | None = None,
    repairs: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """A grid-signal file or request trace read by its format's reader.

    Args:
        path: the file.
        fmt: a grid format (``slit traces list``) or a request-trace format.
        options: keyword arguments of the format's reader.
        repairs: the grid repairs (:class:`slit.traces.grid_readers.GridRepair` fields); not
            used for request traces.

    Raises:
        SlitError: an unknown format or repair (with the valid names), or a file the reader
            refuses.
    """
    from slit.traces.grid_readers import GridRepair, grid_formats, read_grid
    from slit.traces.requests import read_requests, request_formats

    options = options or {}
    if is_request_trace(path, fmt):
        return read_requests(path, fmt, **options)
    if fmt in grid_formats():
        try:
            repair = GridRepair(**(repairs or {}))
        except TypeError as exc:
            raise SlitError(f"--repair: {exc}; see docs/traces.md for the repairs") from None
        return read_grid(path, fmt, repair=repair, **options)
    valid = sorted(set(grid_formats()) | set(request_formats()))
    raise SlitError(f"unknown format '{fmt}'; valid: {', '.join(valid)}")

"""Request traces: read public LLM inference traces into one table, check them, replay them.

:func:`read_requests` reads a trace file of any registered format into a DataFrame with the
columns

- ``arrival_s`` (float64): seconds since the first request, so the first is 0.0 and the column
  never decreases;
- ``prompt_tokens`` and ``output_tokens`` (int64, >= 0);
- ``origin`` and ``model`` (str), only where the source has them.

and the attributes (``df.attrs``)

- ``source``: the label given, or the file name;
- ``format``: the format name;
- ``start_utc``: wall-clock UTC time of the first request (tz-aware Timestamp), or None when the
  source only has relative times;
- ``first_arrival_s``: time of the first request on the file's own clock, seconds (the amount
  the arrivals were shifted to start at 0; 0.0 for wall-clock sources);
- ``repairs``: what was changed on reading at the caller's request (empty if nothing);
- ``transforms``: the replay transforms applied since (empty on reading);
- ``covers_s``: set by transforms that know the span the table covers (see
  :func:`coverage_s`).

``start_utc`` describes the source: transforms leave it unchanged.

Every problem in the file raises :class:`~slit.errors.TraceError` naming the file, the column
and row, what is valid and how to fix it. Nothing is repaired unless asked, and every repair is
listed in ``df.attrs["repairs"]``.

The replay transforms (:func:`scale_rate`, :func:`time_shift`, :func:`window`,
:func:`resample`, :func:`tile`) are pure: they return a new frame and append a line to
``attrs["transforms"]``. :func:`coverage_s` and :func:`check_covers` tell whether a trace spans
a scenario horizon. See ``docs/request-traces.md``.
"""

from __future__ import annotations

import bz2
import copy
import gzip
import inspect
import io
import json
import lzma
import math
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from slit.errors import Problem, TraceError
from slit.jsonio import repeated_keys
from slit.plugins import REQUEST_FORMATS

REQUIRED_COLUMNS = ("arrival_s", "prompt_tokens", "output_tokens")
"""Columns every request table has."""

OPTIONAL_COLUMNS = ("origin", "model")
"""Columns a request table has when its source has them."""

_TOKEN_COLUMNS = ("prompt_tokens", "output_tokens")
# Token counts above 2**53 cannot be told apart from their neighbours as float64, so a value
# that large cannot be checked for being whole; no real request comes near it.
_MAX_TOKENS = 2.0**53
# tile() refuses to build more rows than this (several GB); a replay that large is a mistake.
_MAX_ROWS = 10**8


RequestReader = Callable[..., pd.DataFrame]
"""A format reader: ``reader(path, label, **options) -> DataFrame``.

The reader turns the file into the standard columns without checking their values;
:func:`read_requests` then checks, sorts (on request) and re-bases the result, so a reader
registered with :func:`register_request_format` gets the same checks as the built-in ones.

The returned frame must have:

- columns ``arrival_s`` (seconds on any clock; numbers or values that should be numbers),
  ``prompt_tokens``, ``output_tokens``, optionally ``origin`` and ``model``; other columns
  are kept as they are;
- as index, the 1-based number of each request's row or line in the file, which error
  messages quote (a default 0-based RangeIndex is read as row = position + 1).

It may set these ``attrs``:

- ``start_utc``: the UTC time (tz-aware Timestamp) at ``arrival_s == 0``;
- ``columns``: ``{standard column: column name in the file}``, for error messages;
- ``row_name``: what a row is called in messages (``"data row"``, ``"line"``);
- ``column_kind``: what a column is called in messages (default ``"column"``; ``"key"``
  for JSON);
- ``repairs``: list of changes the reader made at the caller's request.

Problems the standard checks cannot see (unreadable file, missing source columns, bad
timestamps) the reader reports itself by raising :class:`~slit.errors.TraceError`; the
helpers :func:`read_csv_table` and :func:`require_columns` do the common ones.

``path`` is a :class:`~pathlib.Path` to an existing file (:func:`read_requests` checks that
first), ``label`` names the file in error messages, and ``options`` are the keyword options
given to :func:`read_requests` beyond its own; declare them keyword-only so that a misspelt
option is reported with the list of valid ones.
"""


def register_request_format(name: str, reader: RequestReader, *, replace: bool = False) -> None:
    """Make ``reader`` available to :func:`read_requests` as ``format=name`` (in
    :data:`slit.plugins.REQUEST_FORMATS`).

    Args:
        name: the format name.
        reader: the reader (see :class:`RequestReader`).
        replace: allow replacing a format already registered under ``name``.

    Raises:
        RegistryError: if ``name`` is taken and ``replace`` is false.
    """
    REQUEST_FORMATS.add(name, reader, replace=replace)


def request_formats() -> list[str]:
    """Names of the registered request-trace formats, sorted."""
    return REQUEST_FORMATS.names()


def request_reader(name: str) -> RequestReader:
    """The reader registered as ``name``.

    Raises:
        RegistryError: if no format has that name; the message lists the valid ones.
    """
    return REQUEST_FORMATS.get(name)


# --------------------------------------------------------------------------------------------
# Reading


def read_requests(
    path: str | os.PathLike[str],
    format: str = "csv",
    *,
    label: str | None = None,
    sort: bool = False,
    where: str | None = None,
    max_total_tokens: int | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Read a request trace into the standard table (see the module docstring).

    Rules applied to every format:

    - token counts are whole numbers >= 0 (zero is allowed for both: BurstGPT marks failed
      requests with zero response tokens); floats with whole values such as ``12.0`` are
      accepted, ``12.5`` is not;
    - arrival times are finite numbers >= 0 on relative clocks, and never decrease from one row
      to the next; simultaneous arrivals (equal times) are legitimate and kept in file order;
    - no cell of a used column may be empty;
    - arrivals are re-based so the first request is at 0.0 (the shift is kept in
      ``attrs["first_arrival_s"]``).

    Args:
        path: the trace file. ``.gz``, ``.bz2`` and ``.xz`` files are decompressed.
        format: one of :func:`request_formats` (built in: ``azure``, ``burstgpt``, ``csv``,
            ``mooncake``).
        label: the name kept in ``attrs["source"]``; defaults to the file name.
        where: how error messages name the file (default: the path), e.g. with the scenario
            key that gave it.
        sort: repair out-of-order arrival times by a stable sort instead of failing; the
            repair is listed in ``attrs["repairs"]``.
        max_total_tokens: keep only requests with ``prompt + output <= max_total_tokens``
            tokens (e.g. a model's context window, as Vidur and vLLM benchmarks filter the
            Azure traces), before the arrivals are re-based: the first request kept is at 0.0
            and ``start_utc`` is its time, so every kept request keeps its recorded time. The
            drop is listed in ``attrs["repairs"]``. A scenario gives it in
            ``workload.options``.
        **options: options of the format's reader: ``burstgpt`` takes ``drop_failed``
            (drop requests with zero response tokens, listed in ``attrs["repairs"]``);
            ``mooncake`` takes ``prefix_blocks`` (add an int64 column ``prefix_blocks``, the
            number of 512-token prefix-block hashes of each request).

    Returns:
        The request table, one row per request, with a fresh 0-based index.

    Raises:
        TraceError: the file is missing, unreadable, or holds a value that breaks a rule; or
            an option the format's reader does not take (options come from scenario files
            and the command line, so this is a user error like the others).
        RegistryError: ``format`` is not registered.
    """
    reader = request_reader(format)
    file = Path(path)
    where = where or os.fspath(path)
    if not file.exists():
        _fail(
            where,
            "file not found",
            "check the path"
            + ("" if file.is_absolute() else
               f"; a relative path is read from the current directory ({Path.cwd()})"),
        )  # fmt: skip
    if file.is_dir():
        _fail(where, "is a folder, not a file", "give the path of the trace file itself")
    _check_options(reader, format, options, where)
    if max_total_tokens is not None and (
        isinstance(max_total_tokens, bool)
        or not isinstance(max_total_tokens, int)
        or max_total_tokens < 1
    ):
        _fail(
            where,
            f"option max_total_tokens is {max_total_tokens!r}",
            "give a whole number of tokens >= 1 (prompt + output), e.g. 4096",
        )
    raw = reader(file, where, **options)
    frame = _standardize(raw, where, sort=sort, max_total_tokens=max_total_tokens)
    frame.attrs["source"] = label or file.name
    frame.attrs["format"] = format
    return frame


def _check_options(reader: RequestReader, format: str, options: dict[str, Any], where: str) -> None:
    """Fail early, with the accepted names, on an option the reader does not take."""
    params = inspect.signature(reader).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        _fail(
            where,
            f"format '{format}' takes no option {', '.join(map(repr, unknown))}",
            f"its options are: {', '.join(accepted) or 'none'}",
        )


def _fail(where: str, what: str, hint: str = "") -> NoReturn:
    raise TraceError(str(Problem(where, what, hint)))


def _open_bytes(path: Path) -> bytes:
    """The whole file as bytes, decompressed by its extension."""
    openers: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    opener = openers.get(path.suffix.lower())
    if opener is None:
        return path.read_bytes()
    with opener(path, "rb") as handle:
        data: bytes = handle.read()
    return data


_COMPRESSED = {".gz", ".bz2", ".xz", ".zip", ".zst", ".tar"}


def _read_bytes_checked(path: Path, where: str) -> bytes:
    """The (decompressed) bytes of ``path``, or a TraceError saying why they cannot be had."""
    try:
        return _open_bytes(path)
    except (EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        _unreadable(path, where, exc)


def _unreadable(path: Path, where: str, exc: BaseException) -> NoReturn:
    """Turn an exception from opening or decompressing ``path`` into a TraceError."""
    if isinstance(exc, PermissionError):
        _fail(where, f"cannot be read: {exc.strerror}", "check the file's permissions")
    if path.suffix.lower() in _COMPRESSED:
        _fail(
            where,
            f"cannot be decompressed; the {path.suffix} file is truncated or corrupt ({exc})",
            "download or copy the file again, or give the uncompressed file",
        )
    _fail(where, f"cannot be read ({type(exc).__name__}: {exc})")


def _not_utf8(path: Path, where: str) -> NoReturn:
    """Report where ``path`` stops being UTF-8 (the exact offset: pandas reports it per chunk)."""
    data = _read_bytes_checked(path, where)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        of = " of the decompressed data" if path.suffix.lower() in _COMPRESSED else ""
        _fail(
            where,
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start:,}{of} "
            f"(line {line}) is not valid UTF-8",
            "save the file as UTF-8 (for example: iconv -f latin1 -t utf-8 in > out)",
        )
    _fail(where, "is not UTF-8 text", "save the file as UTF-8")  # pragma: no cover


def read_csv_table(path: Path, label: str) -> pd.DataFrame:
    """Read a CSV file into a frame indexed by data row (1-based, header not counted).

    Decompression follows the extension. Header names are stripped of surrounding spaces.
    Blank lines are skipped and not counted as data rows.

    Args:
        path: the CSV file.
        label: how to name the file in error messages.

    Raises:
        TraceError: the file is empty, not UTF-8, truncated or corrupt, or not a valid CSV.
    """
    try:
        # Only a truly empty cell is missing: pandas would also read "NA", "null", "n/a" ... as
        # missing, which hides typos as "empty" and turns a region called "NA" into NaN.
        frame = pd.read_csv(path, encoding="utf-8", keep_default_na=False, na_values=[""])
    except UnicodeDecodeError:
        _not_utf8(path, label)
    except pd.errors.EmptyDataError:
        _fail(label, "is empty (no header, no data)", "give a CSV file with a header line")
    except pd.errors.ParserError as exc:
        _fail(
            label,
            f"is not a valid CSV file ({' '.join(str(exc).split())})",
            "every line needs one field per header column; quote values that hold commas",
        )
    except (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, OSError) as exc:
        _unreadable(path, label, exc)
    header = [str(c).strip() for c in pd.read_csv(path, header=None, nrows=1,
                                                   encoding="utf-8").iloc[0]]  # fmt: skip
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:  # pandas would rename the second to "name.1" and read only the first
        _fail(label, f"names the column(s) {', '.join(twice)} twice in its header",
              "keep one column of each name")  # fmt: skip
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    frame.attrs["row_name"] = "data row"
    return frame


# Column sets that identify each built-in CSV format, to suggest the right one.
_CSV_SIGNATURES = {
    "azure": ("TIMESTAMP", "ContextTokens", "GeneratedTokens"),
    "burstgpt": ("Timestamp", "Model", "Request tokens", "Response tokens"),
    "csv": REQUIRED_COLUMNS,
}


def require_columns(
    frame: pd.DataFrame, label: str, needed: Sequence[str], format: str = ""
) -> None:
    """Raise a TraceError listing the columns found and needed if any of ``needed`` is absent.

    Args:
        frame: the table read from the file.
        label: how to name the file in error messages.
        needed: the columns the format needs.
        format: the format name, for the message (and for suggesting a better one).
    """
    missing = [c for c in needed if c not in frame.columns]
    if not missing:
        return
    found = ", ".join(map(str, frame.columns)) or "none"
    hint = f"rename the columns, or choose the format that matches the file ({_format_list()})"
    for name, signature in _CSV_SIGNATURES.items():
        if name != format and all(c in frame.columns for c in signature):
            hint = f"the columns are those of format '{name}'; read it with format='{name}'"
            break
    else:
        # One column whose name holds the others: the file uses another separator.
        for sep in (";", "\t", "|"):
            if len(frame.columns) == 1 and sep in str(frame.columns[0]):
                hint = f"the file seems to separate columns with {sep!r}; save it with commas"
    of = f" format '{format}'" if format else ""
    _fail(
        label,
        f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the file has "
        f"columns: {found}; the{of or ' format'} needs: {', '.join(needed)}",
        hint,
    )


def _format_list() -> str:
    return "formats: " + ", ".join(request_formats())


# --------------------------------------------------------------------------------------------
# Built-in formats


def _read_csv_format(path: Path, label: str) -> pd.DataFrame:
    """slit's own CSV: ``arrival_s`` (s), ``prompt_tokens``, ``output_tokens``, optional
    ``origin`` and ``model``. Other columns are dropped."""
    frame = read_csv_table(path, label)
    require_columns(frame, label, REQUIRED_COLUMNS, "csv")
    keep = [*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame.columns)]
    out = frame[keep].copy()
    out.attrs = {"row_name": "data row"}
    return out


def _read_azure(path: Path, label: str) -> pd.DataFrame:
    """Azure LLM inference traces (2023 and the 2024 week-long ones): ``TIMESTAMP`` (wall
    clock, read as UTC unless it carries an offset), ``ContextTokens``, ``GeneratedTokens``."""
    frame = read_csv_table(path, label)
    require_columns(frame, label, _CSV_SIGNATURES["azure"], "azure")
    stamps = frame["TIMESTAMP"]
    if not (pd.api.types.is_string_dtype(stamps) or stamps.dtype == object):
        stamps = stamps.astype(str)
    # ISO8601 parsing is vectorised and keeps the 100 ns digits (a fixed strftime format would
    # reject rows with fewer fraction digits or an offset); utc=True reads naive times as UTC.
    times = pd.to_datetime(stamps, format="ISO8601", utc=True, errors="coerce")
    bad = times.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = frame["TIMESTAMP"].iloc[i]
        what = "is empty" if pd.isna(value) else f"{str(value)!r} is not a date and time"
        _fail(
            label,
            f"column TIMESTAMP, data row {frame.index[i]}: {what}",
            "TIMESTAMP must be a date and time like 2023-11-16 18:15:46.6805900 (read as UTC); "
            "correct or delete the row",
        )
    ns = times.dt.tz_localize(None).dt.as_unit("ns").to_numpy().view(np.int64)
    first = int(ns.min())
    out = pd.DataFrame(
        {
            # Subtract in integer nanoseconds first: float64 seconds since 1970 would lose the
            # sub-microsecond digits.
            "arrival_s": (ns - first) / 1e9,
            "prompt_tokens": frame["ContextTokens"],
            "output_tokens": frame["GeneratedTokens"],
        },
        index=frame.index,
    )
    out.attrs = {
        "start_utc": pd.Timestamp(first, unit="ns", tz="UTC"),
        "columns": {
            "arrival_s": "TIMESTAMP",
            "prompt_tokens": "ContextTokens",
            "output_tokens": "GeneratedTokens",
        },
        "row_name": "data row",
    }
    return out


def _read_burstgpt(path: Path, label: str, *, drop_failed: bool = False) -> pd.DataFrame:
    """BurstGPT: ``Timestamp`` (s, relative), ``Model``, ``Request tokens``, ``Response
    tokens`` (``Total tokens`` and ``Log Type`` are not used).

    Args:
        drop_failed: drop the failed requests (``Response tokens`` == 0); listed in repairs.
    """
    frame = read_csv_table(path, label)
    require_columns(frame, label, _CSV_SIGNATURES["burstgpt"], "burstgpt")
    repairs = []
    if drop_failed:
        # Values that are not numbers stay, so the checks report them.
        failed = (pd.to_numeric(frame["Response tokens"], errors="coerce") == 0).to_numpy()
        if failed.any():
            frame = frame[~failed]
            repairs.append(
                f"dropped {int(failed.sum()):,} failed requests (Response tokens = 0) "
                "at the caller's request (drop_failed=True)"
            )
    out = pd.DataFrame(
        {
            "arrival_s": frame["Timestamp"],
            "prompt_tokens": frame["Request tokens"],
            "output_tokens": frame["Response tokens"],
            "model": frame["Model"],
        },
        index=frame.index,
    )
    out.attrs = {
        "columns": {
            "arrival_s": "Timestamp",
            "prompt_tokens": "Request tokens",
            "output_tokens": "Response tokens",
            "model": "Model",
        },
        "row_name": "data row",
        "repairs": repairs,
    }
    return out


_MOONCAKE_KEYS = ("timestamp", "input_length", "output_length")
# A blank line before a data line (pyarrow skips it, so the row numbers would shift). Two
# patterns, because an alternation with ^ would stop the regex engine from skipping ahead to
# each newline (20 times slower on a large file).
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
_LEADING_BLANK_LINE = re.compile(rb"[ \t\r]*\n")
_LEADING_SPACE = re.compile(rb"\s*")


def _read_mooncake(path: Path, label: str, *, prefix_blocks: bool = False) -> pd.DataFrame:
    """Mooncake JSONL: one object per line with ``timestamp`` (ms, relative),
    ``input_length``, ``output_length`` and ``hash_ids`` (prefix-block hashes).

    Args:
        prefix_blocks: add the column ``prefix_blocks`` = ``len(hash_ids)``.
    """
    data = _read_bytes_checked(path, label)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        _not_utf8(path, label)
    lead = _LEADING_SPACE.match(data).end()  # type: ignore[union-attr]  # \s* always matches
    if lead == len(data):
        _fail(label, "is empty (no lines)", "give a JSONL file, one JSON object per line")
    # The keys of the first object tell a wrong file apart from a line with a missing value.
    first = _json_line(data[lead:].split(b"\n", 1)[0], label, data.count(b"\n", 0, lead) + 1)
    missing = [k for k in _MOONCAKE_KEYS if k not in first]
    if missing:
        _fail(
            label,
            f"the first line has no key {', '.join(missing)}; its keys are: "
            f"{', '.join(first) or 'none'}; format 'mooncake' needs: {', '.join(_MOONCAKE_KEYS)}",
            f"give a Mooncake JSONL trace or choose the matching format ({_format_list()})",
        )
    columns = list(_MOONCAKE_KEYS) + (["hash_ids"] if prefix_blocks else [])
    # pyarrow reads true as 1 and keeps the last of a key given twice: a line that may hold
    # either goes to the line-by-line reader, which refuses both with the line's number
    suspicious = re.search(rb":\s*(true|false)\b", data) or _repeated_key(data)
    table = None if suspicious else _jsonl_fast(data, columns)
    if table is None:
        table = _jsonl_slow(data, label, columns)
    elif _LEADING_BLANK_LINE.match(data) or _BLANK_LINE.search(data):
        # pyarrow skips blank lines; number the rest as they stand in the file.
        lines = data.split(b"\n")
        table.index = pd.Index([i + 1 for i, line in enumerate(lines) if line.strip()])
    else:
        table.index = pd.RangeIndex(1, len(table) + 1)
    out = pd.DataFrame(
        {
            "arrival_s": pd.to_numeric(table["timestamp"], errors="coerce") / 1000.0,
            "prompt_tokens": table["input_length"],
            "output_tokens": table["output_length"],
        },
        index=table.index,
    )
    bad_time = out["arrival_s"].isna() & table["timestamp"].notna()
    if bad_time.any():
        # The division above hides the original value; report it here.
        row = out.index[np.flatnonzero(bad_time.to_numpy())[0]]
        _fail(
            label,
            f"key timestamp, line {row}: {_show(table['timestamp'].loc[row])} is not a number",
            "timestamp is the arrival time in milliseconds, a number >= 0",
        )
    if prefix_blocks:
        out["prefix_blocks"] = np.fromiter(
            (len(h) if isinstance(h, list | np.ndarray) else 0 for h in table["hash_ids"]),
            dtype=np.int64,
            count=len(table),
        )
    out.attrs = {
        "columns": {
            "arrival_s": "timestamp",
            "prompt_tokens": "input_length",
            "output_tokens": "output_length",
        },
        "row_name": "line",
        "column_kind": "key",
    }
    return out


def _repeated_key(data: bytes) -> bool:
    """Whether some line of JSONL ``data`` may give a key twice (a cheap check of the first
    thousand lines' keys; the line reader then decides)."""
    for line in data.split(b"\n", 1000)[:1000]:
        keys = re.findall(rb'"([^"\\]+)"\s*:', line)
        if len(keys) != len(set(keys)):
            return True
    return False


def _json_line(line: bytes, label: str, number: int) -> dict[str, Any]:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        twice = repeated_keys(pairs)
        if twice:
            _fail(label, f"line {number} gives {', '.join(twice)} twice", "keep one of each key")
        for key, value in pairs:
            if isinstance(value, bool):
                _fail(label, f"line {number}: {key} is {str(value).lower()}, not a number",
                      "give token counts and times as numbers")  # fmt: skip
        return dict(pairs)

    try:
        obj = json.loads(line, object_pairs_hook=unique)
    except ValueError as exc:
        _fail(
            label,
            f"line {number} is not valid JSON ({exc})",
            "each line must be one JSON object; a line cut short suggests a truncated file",
        )
    if not isinstance(obj, dict):
        _fail(label, f"line {number} is a JSON {type(obj).__name__}, not an object")
    return obj


def _jsonl_fast(data: bytes, columns: list[str]) -> pd.DataFrame | None:
    """Parse JSONL with pyarrow (multi-threaded C++), or None if it objects to anything."""
    import pyarrow as pa
    import pyarrow.json as pj

    types = {c: pa.float64() for c in _MOONCAKE_KEYS} | {"hash_ids": pa.list_(pa.int64())}
    schema = pa.schema([(c, types[c]) for c in columns])
    try:
        table = pj.read_json(
            io.BytesIO(data),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return table.to_pandas()


def _jsonl_slow(data: bytes, label: str, columns: list[str]) -> pd.DataFrame:
    """Parse JSONL line by line: slower, but names the exact line of any problem."""
    rows, numbers = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            obj = _json_line(line, label, number)
            rows.append([obj.get(c) for c in columns])
            numbers.append(number)
    return pd.DataFrame(rows, columns=columns, index=pd.Index(numbers), dtype=object)


register_request_format("csv", _read_csv_format)
register_request_format("azure", _read_azure)
register_request_format("burstgpt", _read_burstgpt)
register_request_format("mooncake", _read_mooncake)


# --------------------------------------------------------------------------------------------
# The checks every format shares


def _standardize(
    raw: pd.DataFrame, where: str, *, sort: bool, max_total_tokens: int | None = None
) -> pd.DataFrame:
    """Check a reader's output against the rules of :func:`read_requests` and normalise it."""
    attrs = dict(raw.attrs)
    names: dict[str, str] = {c: c for c in raw.columns} | attrs.get("columns", {})
    row_name: str = attrs.get("row_name", "row")
    rows = raw.index
    if isinstance(rows, pd.RangeIndex) and rows.start == 0:
        rows = rows + 1
    require_columns(raw, where, REQUIRED_COLUMNS)
    if len(raw) == 0:
        _fail(where, "holds no requests", "give a file with at least one request")

    kind: str = attrs.get("column_kind", "column")

    def located(column: str, i: int) -> str:
        return f"{kind} {names[column]}, {row_name} {rows[i]}"

    arrival = _finite(raw["arrival_s"], where, located, "arrival_s")
    if arrival.min() < 0:
        i = int(np.flatnonzero(arrival < 0)[0])
        _fail(
            where,
            f"{located('arrival_s', i)}: arrival time {arrival[i]:g} s is negative",
            "arrival times count from the start of the trace and must be >= 0",
        )
    columns: dict[str, Any] = {"arrival_s": arrival}
    for col in _TOKEN_COLUMNS:
        columns[col] = _token_counts(raw[col], where, located, col)
    for col in OPTIONAL_COLUMNS:
        if col in raw.columns:
            columns[col] = _labels(raw[col], where, located, col)
    extras = [c for c in raw.columns if c not in columns]
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(raw)))
    for col in extras:
        frame[col] = raw[col].to_numpy()

    repairs = list(attrs.get("repairs", []))
    back = np.flatnonzero(arrival[1:] < arrival[:-1])
    if back.size:
        i = int(back[0]) + 1
        if not sort:
            start = attrs.get("start_utc")
            _fail(
                where,
                f"{located('arrival_s', i)}: arrival time {_when(arrival[i], start)} is earlier "
                f"than the previous row's {_when(arrival[i - 1], start)}; arrival times must "
                "not decrease (equal times are fine)",
                "sort the file by arrival time, or let slit sort it (workload.sort: true in a "
                "scenario, sort=True in Python; the repair is recorded)",
            )
        # Rows earlier than some row before them: the ones a sort has to move back.
        late = int(np.count_nonzero(arrival[1:] < np.maximum.accumulate(arrival)[:-1]))
        frame = frame.iloc[np.argsort(arrival, kind="stable")].reset_index(drop=True)
        repairs.append(
            f"sorted {late:,} out-of-order rows by arrival time (first at {row_name} {rows[i]}; "
            "equal times keep file order)"
        )

    if max_total_tokens is not None:
        total = frame["prompt_tokens"].to_numpy() + frame["output_tokens"].to_numpy()
        keep = total <= max_total_tokens
        if not keep.all():
            if not keep.any():
                _fail(
                    where,
                    f"no request has prompt + output <= {max_total_tokens:,} tokens "
                    "(max_total_tokens)",
                    "raise max_total_tokens or leave it out",
                )
            frame = frame[keep].reset_index(drop=True)
            repairs.append(
                f"dropped {int((~keep).sum()):,} of {keep.size:,} requests with prompt + output "
                f"> {max_total_tokens:,} tokens (max_total_tokens)"
            )

    first = float(frame["arrival_s"].iloc[0])
    frame["arrival_s"] = frame["arrival_s"] - first
    start_utc = attrs.get("start_utc")
    if start_utc is not None:
        start_utc = pd.Timestamp(start_utc)
        # A custom reader may hand over a naive time; like the built-in ones, read it as UTC.
        start_utc = start_utc.tz_localize("UTC") if start_utc.tzinfo is None else start_utc
        start_utc = start_utc.tz_convert("UTC") + pd.Timedelta(seconds=first)
    frame.attrs = {
        "start_utc": start_utc,
        "first_arrival_s": first,
        "repairs": repairs,
        "transforms": [],
    }
    return frame


def _when(t: float, start_utc: pd.Timestamp | None) -> str:
    if start_utc is None:
        return f"{t:g} s"
    return str(pd.Timestamp(start_utc) + pd.Timedelta(seconds=float(t)))


def _finite(
    values: pd.Series, where: str, located: Callable[[str, int], str], column: str
) -> np.ndarray:
    """``values`` as float64, or a TraceError at the first empty, non-numeric or infinite cell."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(numbers)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = values.iloc[i]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            _fail(
                where,
                f"{located(column, i)}: the value is missing",
                "every request needs a value here; fill it in or delete the row",
            )
        what = "is not finite" if isinstance(value, float | int) else "is not a number"
        _fail(
            where,
            f"{located(column, i)}: {_show(value)} {what}",
            "give a plain number (digits, optional '.' decimals, no thousands separators); "
            "correct or delete the row",
        )
    return numbers


def _show(value: Any) -> str:
    """A cell value as the user wrote it: strings quoted, numbers plain (not ``np.int64(3)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _token_counts(
    values: pd.Series, where: str, located: Callable[[str, int], str], column: str
) -> np.ndarray:
    """``values`` as int64 token counts, or a TraceError at the first value that is not one."""
    numbers = _finite(values, where, located, column)
    hint = "token counts are whole numbers >= 0 (0 is allowed); correct or delete the row"
    for bad, what in (
        (numbers < 0, "is negative"),
        (numbers > _MAX_TOKENS, "is too large to be a token count"),
        (numbers != np.floor(numbers), "is not a whole number"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            _fail(where, f"{located(column, i)}: {_show(values.iloc[i])} {what}", hint)
    return numbers.astype(np.int64)


def _labels(
    values: pd.Series, where: str, located: Callable[[str, int], str], column: str
) -> pd.Series:
    """``values`` as strings, or a TraceError at the first empty cell."""
    empty = values.isna().to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        _fail(
            where,
            f"{located(column, i)}: the value is missing",
            f"give every request a {column}, or drop the column",
        )
    return pd.Series(values.astype(str).to_numpy(), dtype=str)


# --------------------------------------------------------------------------------------------
# Replay transforms


def _derived(
    df: pd.DataFrame, frame: pd.DataFrame, note: str, covers_s: float | None = None
) -> pd.DataFrame:
    """``frame`` with a deep copy of ``df``'s attrs, ``note`` appended to its transforms and,
    if given, ``covers_s`` recorded as the span it covers (see :func:`coverage_s`)."""
    attrs = copy.deepcopy(df.attrs)
    attrs["transforms"] = [*attrs.get("transforms", []), note]
    if covers_s is not None:
        attrs["covers_s"] = float(covers_s)
    frame.attrs = attrs
    return frame


def _declared(df: pd.DataFrame) -> float | None:
    """The span recorded by an earlier transform, or None if the table has none."""
    value = df.attrs.get("covers_s")
    return None if value is None else float(value)


def _arrivals(df: pd.DataFrame) -> np.ndarray:
    if "arrival_s" not in df.columns:
        raise ValueError(
            f"not a request table: no arrival_s column (columns: {', '.join(df.columns)})"
        )
    return df["arrival_s"].to_numpy(np.float64)


def _source(df: pd.DataFrame) -> str:
    return str(df.attrs.get("source", "request trace"))


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def scale_rate(df: pd.DataFrame, factor: float) -> pd.DataFrame:
    """Replay the trace ``factor`` times faster: arrival times divided by ``factor``.

    Example: ``scale_rate(df, 2.0)`` doubles the request rate and halves the span.

    Args:
        df: a request table.
        factor: rate multiplier, > 0 (below 1 slows the trace down).

    Returns:
        A new table; request sizes are unchanged.
    """
    factor = _positive("factor", factor)
    out = df.copy()
    out["arrival_s"] = _arrivals(df) / factor
    declared = _declared(df)
    covers = None if declared is None else declared / factor
    return _derived(df, out, f"scale_rate(factor={factor:g})", covers)


def time_shift(df: pd.DataFrame, offset_s: float) -> pd.DataFrame:
    """Add ``offset_s`` to every arrival time, e.g. to start the trace later in the horizon.

    Example: ``time_shift(df, 3600)`` starts the replay one hour into the scenario.

    Raises:
        TraceError: if an arrival would become negative.
    """
    offset_s = float(offset_s)
    if not math.isfinite(offset_s):
        raise ValueError(f"offset_s must be finite, got {offset_s!r}")
    t = _arrivals(df) + offset_s
    if t.size and t.min() < 0:
        _fail(
            _source(df),
            f"time_shift by {offset_s:g} s puts the first arrival at {t.min():g} s; arrival "
            "times must be >= 0",
            f"use an offset of at least {-float(_arrivals(df).min()):g} s",
        )
    out = df.copy()
    out["arrival_s"] = t
    declared = _declared(df)
    covers = None if declared is None else declared + offset_s
    return _derived(df, out, f"time_shift(offset_s={offset_s:g})", covers)


def window(df: pd.DataFrame, start_s: float, end_s: float, *, rebase: bool = False) -> pd.DataFrame:
    """Keep the requests arriving in ``[start_s, end_s)``.

    Arrival times stay as they were (absolute) unless ``rebase`` is true, in which case
    ``start_s`` is subtracted so the window starts at 0 (the first kept request is then at
    ``>= 0``, not necessarily at 0).

    Example: ``window(df, 600, 1200, rebase=True)`` is the trace's second ten minutes.
    """
    start_s, end_s = float(start_s), float(end_s)
    if not end_s > start_s:
        raise ValueError(f"window needs start_s < end_s, got [{start_s:g}, {end_s:g})")
    t = _arrivals(df)
    keep = (t >= start_s) & (t < end_s)
    out = df.loc[keep].reset_index(drop=True)
    if rebase:
        out["arrival_s"] = out["arrival_s"] - start_s
    note = (
        f"window(start_s={start_s:g}, end_s={end_s:g}, rebase={rebase}): "
        f"kept {int(keep.sum()):,} of {len(df):,} requests"
    )
    # The window knows its extent: [0, end) or, re-based, [0, end - start), within the trace.
    covers = max(0.0, min(end_s, coverage_s(df)) - (start_s if rebase else 0.0))
    return _derived(df, out, note, covers)


def coverage_s(df: pd.DataFrame) -> float:
    """The time the trace covers from 0: last arrival plus the mean gap between arrivals.

    The mean gap is added because a trace whose last request arrives at ``T`` describes load up
    to about one gap after ``T``, and it makes tiles of a regular trace seamless. 0 for fewer
    than two requests.

    A table made by :func:`window`, :func:`tile` or :func:`resample` knows the span it covers
    exactly (the window, the horizon) and records it in ``attrs["covers_s"]``
    (:func:`scale_rate` and :func:`time_shift` carry it along); that value is returned
    instead of the estimate, so ``check_covers(tile(df, h), h)`` passes even when the last
    tiled request falls more than a mean gap before ``h``.
    """
    declared = _declared(df)
    if declared is not None:
        return declared
    t = _arrivals(df)
    if t.size < 2:
        return 0.0
    return float(t[-1] + (t[-1] - t[0]) / (t.size - 1))


def _mean_rate_per_s(df: pd.DataFrame) -> float:
    """Requests per second of the trace: one over the mean gap between arrivals."""
    t = _arrivals(df)
    if t.size < 2 or t[-1] <= t[0]:
        _fail(
            _source(df),
            f"cannot infer an arrival rate from {t.size} request(s) "
            f"spanning {float(t[-1] - t[0]) if t.size else 0.0:g} s",
            "pass rate_per_s",
        )
    return float((t.size - 1) / (t[-1] - t[0]))


def resample(
    df: pd.DataFrame,
    horizon_s: float,
    rng: np.random.Generator,
    rate_per_s: float | None = None,
) -> pd.DataFrame:
    """A synthetic replay over ``[0, horizon_s)`` that keeps the trace's request mix.

    Arrivals are a homogeneous Poisson process at ``rate_per_s`` (default: the trace's mean
    rate, one over its mean gap). Each arrival takes a whole row (prompt and output tokens,
    origin, model, other columns) drawn with replacement from the trace, so the joint
    distribution of request sizes is kept; the timing pattern (bursts, daily cycle) is not.

    Example: ``resample(df, 86_400, np.random.default_rng(1))`` is a one-day replay.

    Args:
        df: a request table with at least one row.
        horizon_s: length of the replay, s, > 0.
        rng: the only source of randomness (no global random state is used).
        rate_per_s: arrival rate, 1/s, > 0; needed when the trace has fewer than two distinct
            arrival times.
    """
    horizon_s = _positive("horizon_s", horizon_s)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if len(df) == 0:
        _fail(_source(df), "cannot resample a trace with no requests")
    rate = _mean_rate_per_s(df) if rate_per_s is None else _positive("rate_per_s", rate_per_s)
    if rate * horizon_s > _MAX_ROWS:
        _fail(
            _source(df),
            f"resampling at {rate:g}/s over {horizon_s:g} s would make about "
            f"{rate * horizon_s:,.0f} rows, more than the limit of {_MAX_ROWS:,}",
            "shorten the horizon or lower rate_per_s",
        )
    # Given their number, the points of a Poisson process are independent and uniform.
    count = int(rng.poisson(rate * horizon_s))
    times = np.sort(rng.uniform(0.0, horizon_s, count))
    picks = rng.integers(0, len(df), count)
    out = df.iloc[picks].reset_index(drop=True)
    out["arrival_s"] = times
    note = (
        f"resample(horizon_s={horizon_s:g}, rate_per_s={rate:.6g}): {count:,} Poisson arrivals, "
        f"rows drawn with replacement from {len(df):,}"
    )
    return _derived(df, out, note, horizon_s)


def tile(df: pd.DataFrame, horizon_s: float) -> pd.DataFrame:
    """Repeat the trace back to back until ``[0, horizon_s)`` is covered, cut at ``horizon_s``.

    Copy ``k`` is offset by ``k`` × :func:`coverage_s` (last arrival plus the mean gap), so the
    joins keep the trace's mean rate and the result stays sorted.

    Example: ``tile(df, 86_400)`` turns a one-hour trace into a day of 24 copies.

    Raises:
        TraceError: if the trace has no span to repeat (fewer than two distinct arrivals).
    """
    horizon_s = _positive("horizon_s", horizon_s)
    span = coverage_s(df)
    t = _arrivals(df)
    # All requests at one instant have no span of their own (coverage_s would be the time of
    # that instant, not a period of the trace).
    if span <= 0 or t[-1] <= t[0]:
        _fail(
            _source(df),
            f"cannot tile a trace of {len(df)} request(s) with no time span",
            "use resample(..., rate_per_s=...) instead",
        )
    copies = math.ceil(horizon_s / span)
    if copies * len(df) > _MAX_ROWS:
        _fail(
            _source(df),
            f"tiling {len(df):,} requests spanning {span:g} s over {horizon_s:g} s would make "
            f"{copies * len(df):,} rows, more than the limit of {_MAX_ROWS:,}",
            "shorten the horizon or scale the rate down (scale_rate with a factor below 1)",
        )
    times = (t[None, :] + span * np.arange(copies)[:, None]).ravel()
    keep = times < horizon_s
    out = df.iloc[np.tile(np.arange(len(df)), copies)[keep]].reset_index(drop=True)
    out["arrival_s"] = times[keep]
    note = (
        f"tile(horizon_s={horizon_s:g}): {copies:,} copies of {span:,.6g} s, "
        f"{int(keep.sum()):,} requests"
    )
    return _derived(df, out, note, horizon_s)


def _fmt_s(x: float) -> str:
    return f"{x:,.0f} s" if abs(x) >= 100 or x == int(x) else f"{x:.3g} s"


def check_covers(df: pd.DataFrame, horizon_s: float, label: str | None = None) -> None:
    """Raise a TraceError unless the trace covers ``[0, horizon_s)`` (see :func:`coverage_s`).

    Args:
        df: a request table.
        horizon_s: the scenario horizon, s.
        label: where the trace comes from in the caller's terms (e.g. ``"workload.path"``),
            put before the file name in the message.
    """
    covered = coverage_s(df)
    if covered >= horizon_s:
        return
    where = f"{label} ({_source(df)})" if label else _source(df)
    scale = covered / horizon_s if horizon_s > 0 else 0.0
    # a trace that covers nothing (one request, or none left after skip_s) cannot be stretched
    stretch = (f", or set workload.rate_scale to at most {scale:.3g} to stretch the trace over "
               "the horizon (fewer requests per second)" if scale > 0 else "")  # fmt: skip
    fixes = (f"shorten time.horizon_s to at most {_fmt_s(covered)}, or set workload.replay to "
             "'tile' or 'resample'" if covered > 0 else
             "check workload.skip_s and the file: no request is left to replay")  # fmt: skip
    _fail(
        where,
        f"the trace covers [0 s, {_fmt_s(covered)}) but the scenario needs "
        f"[0 s, {_fmt_s(horizon_s)})",
        fixes + stretch,
    )

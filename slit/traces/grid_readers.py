"""Readers of hourly grid, price and weather files into UTC-indexed frames with unit-named columns.

``read_grid(path, format=...)`` returns a DataFrame indexed by ``time_utc`` (tz-aware, UTC,
strictly increasing, one row per hour, no gaps) whose columns carry their units in their names.
The formats and their columns:

============== ===========================================================================
format         columns
============== ===========================================================================
electricitymaps ``carbon_g_per_kwh`` (direct), ``carbon_lca_g_per_kwh`` (life cycle),
               ``low_carbon_pct``, ``renewable_pct``, ``estimated`` (bool)
eia930         ``gen_<FUEL>_mwh`` per EIA fuel code, ``carbon_g_per_kwh`` and
               ``ewif_l_per_kwh`` from the mix (options ``carbon_table``, ``water_table``)
prices         ``price_usd_per_mwh`` (may be negative)
openmeteo      ``temperature_c``, ``relative_humidity_pct``, ``wetbulb_c`` (Stull 2011)
watttime       ``marginal_carbon_g_per_kwh``: a WattTime marginal operating emissions rate
               (MOER) series, 5-minute readings averaged into hours
csv            a ``time_utc`` column with a UTC offset, then any numeric columns
============== ===========================================================================

Every file is checked: a missing file, an empty file, a missing column, a non-numeric value, a
NaN, a negative value where none is physical, duplicated or unsorted timestamps and gaps in the
hourly grid each raise :class:`~slit.errors.TraceError` naming the file, the column and the line,
what is valid and how to fix it. Nothing is repaired unless a :class:`GridRepair` asks for it;
each repair made is listed in ``frame.attrs["repairs"]`` so that a run can record it.

New formats can be added with :func:`register_grid_format`.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from slit.errors import TraceError
from slit.jsonio import repeated_keys
from slit.models.fuel_mix import FUEL_CODES, carbon_from_fuel_mix, ewif_from_fuel_mix
from slit.models.psychrometrics import wetbulb_stull_c
from slit.models.ranges import SIGNAL_RANGES
from slit.plugins import GRID_FORMATS

LINE = "_line"
"""Internal column: the 1-based line (CSV) or element (JSON) of the source a row came from."""

NONNEGATIVE_COLUMNS = frozenset(
    {"carbon_g_per_kwh", "carbon_lca_g_per_kwh", "marginal_carbon_g_per_kwh", "ewif_l_per_kwh",
     "wue_l_per_kwh"}
)  # fmt: skip
"""Columns where a negative value is not physical (prices and temperatures may be negative)."""

PERCENT_COLUMNS = frozenset({"low_carbon_pct", "renewable_pct", "relative_humidity_pct"})
"""Columns that must lie in [0, 100]."""


# --------------------------------------------------------------------------------------------
# Repairs


@dataclass(frozen=True)
class GridRepair:
    """Repairs a scenario may ask for; all are off by default.

    Attributes:
        sort: sort rows by time instead of rejecting out-of-order timestamps.
        drop_duplicates: keep the first of rows with the same timestamp.
        fill_gaps: fill missing hours: ``"none"`` (reject gaps), ``"ffill"`` (hold the last
            value) or ``"linear"`` (interpolate in time).
        max_gap_h: longest gap, in hours, that ``fill_gaps`` may fill; longer gaps still fail.
        fill_nan: fill NaN values with the same methods as ``fill_gaps``.
        clip_negative: set negative values of non-negative quantities to 0.
    """

    sort: bool = False
    drop_duplicates: bool = False
    fill_gaps: Literal["none", "ffill", "linear"] = "none"
    max_gap_h: int = 6
    fill_nan: Literal["none", "ffill", "linear"] = "none"
    clip_negative: bool = False


NO_REPAIR = GridRepair()


# --------------------------------------------------------------------------------------------
# Opening files


def _display(path: Path, label: str | None) -> str:
    return label or path.name


def _read_text(path: Path, label: str) -> str:
    """The whole file as text (gunzipped by extension), with clear errors for bad files."""
    if not path.exists():
        raise TraceError(
            f"{label}: file not found ({path.name}); check the path, which is resolved "
            "relative to the scenario file"
        )
    if path.is_dir():
        raise TraceError(f"{label}: is a directory, not a file")
    try:
        raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise TraceError(
            f"{label}: the gzip file is truncated or corrupt ({exc}); download or compress it again"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TraceError(
            f"{label}: not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}); save the "
            "file as UTF-8"
        ) from None
    if not text.strip():
        raise TraceError(f"{label}: the file is empty; it needs a header and hourly rows")
    return text


def _read_csv(path: Path, label: str) -> pd.DataFrame:
    text = _read_text(path, label)
    try:
        frame = pd.read_csv(io.StringIO(text), skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise TraceError(f"{label}: cannot be read as CSV ({exc})") from None
    if frame.empty:
        raise TraceError(f"{label}: the file has a header but no rows")
    header = [c.strip() for c in text.splitlines()[0].split(",")]
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:  # pandas would rename the second to "name.1" and read only the first
        raise TraceError(f"{label}: the header names {', '.join(twice)} twice; keep one column "
                         "of each name")  # fmt: skip
    # data row i (0-based) sits on line i + 2: line 1 is the header
    frame[LINE] = np.arange(len(frame)) + 2
    return frame


def _require_columns(frame: pd.DataFrame, needed: Iterable[str], label: str, fmt: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if c != LINE]
        raise TraceError(
            f"{label}: missing column(s) {', '.join(repr(c) for c in missing)} for format "
            f"'{fmt}'; found {found}. Check the format or rename the columns"
        )


def _numeric(frame: pd.DataFrame, column: str, label: str) -> pd.Series:
    """Column as float; a value that is not a number is an error naming its line."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise TraceError(
            f"{label}: column '{column}', line {frame[LINE].iloc[i]}: "
            f"'{frame[column].iloc[i]}' is not a number; "
            f"{int(bad.sum())} such value(s) in all. Use plain decimal numbers"
        )
    return values.astype(float)


def _parse_times(
    values: pd.Series, frame: pd.DataFrame, label: str, column: str, assume_utc: bool
) -> pd.DatetimeIndex:
    """Timestamps as a UTC DatetimeIndex; naive stamps are an error unless ``assume_utc``."""
    text = values.astype(str)
    try:
        parsed = pd.to_datetime(text, format="ISO8601", utc=False)
    except (ValueError, TypeError):
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        bad = parsed.isna()
        i = int(np.argmax(bad.to_numpy())) if bad.any() else 0
        raise TraceError(
            f"{label}: column '{column}', line {frame[LINE].iloc[i]}: '{text.iloc[i]}' is not "
            "an ISO 8601 time (or times mix UTC offsets); write e.g. 2023-01-01T00:00:00Z"
        ) from None
    if getattr(parsed.dt, "tz", None) is None:
        if not assume_utc:
            raise TraceError(
                f"{label}: column '{column}' holds times without a timezone (e.g. "
                f"'{text.iloc[0]}'); add a UTC offset such as '+00:00' or 'Z' to every time, "
                "or name the column 'time_utc' and set timezone: UTC"
            )
        parsed = parsed.dt.tz_localize("UTC")
    return pd.DatetimeIndex(parsed.dt.tz_convert("UTC"), name="time_utc")


# --------------------------------------------------------------------------------------------
# Format readers: each returns a frame indexed by (possibly unchecked) UTC times plus LINE


GridReader = Callable[..., pd.DataFrame]


def register_grid_format(
    name: str, description: str, *, replace: bool = False
) -> Callable[[GridReader], GridReader]:
    """Decorator that adds a grid-file format to :data:`slit.plugins.GRID_FORMATS` under
    ``name`` (a name already taken is an error unless ``replace=True``).

    A reader is called as ``reader(path: Path, label: str, **options)`` and returns a DataFrame
    indexed by UTC ``time_utc`` with unit-named float columns and the source line of each row
    in a ``_line`` column; :func:`read_grid` does the checks and repairs.
    """
    return GRID_FORMATS.register(name, description=description, replace=replace)


def grid_formats() -> dict[str, str]:
    """Registered grid-file formats and a one-line description of each."""
    return {name: GRID_FORMATS.description(name) for name in GRID_FORMATS.names()}


def _pick(columns: Iterable[str], *words: str) -> str | None:
    """The first column whose lower-cased name contains every one of ``words``."""
    for c in columns:
        low = str(c).lower()
        if all(w in low for w in words):
            return str(c)
    return None


@register_grid_format(
    "electricitymaps",
    "Electricity Maps hourly CSV: carbon intensity direct and life cycle, g/kWh",
)
def _electricitymaps(path: Path, label: str) -> pd.DataFrame:
    raw = _read_csv(path, label)
    time_col = _pick(raw.columns, "datetime") or "Datetime (UTC)"
    direct = _pick(raw.columns, "carbon intensity", "direct")
    lca = _pick(raw.columns, "carbon intensity", "lca")
    needed = [time_col, direct or "Carbon Intensity gCO₂eq/kWh (direct)"]
    _require_columns(raw, needed, label, "electricitymaps")
    # The header states UTC; the stamps themselves carry no offset.
    idx = _parse_times(raw[time_col], raw, label, time_col, assume_utc=True)
    out = pd.DataFrame(
        {"carbon_g_per_kwh": _numeric(raw, str(direct), label).to_numpy()}, index=idx
    )
    if lca:
        out["carbon_lca_g_per_kwh"] = _numeric(raw, lca, label).to_numpy()
    for words, name in ((("low carbon",), "low_carbon_pct"), (("renewable",), "renewable_pct")):
        col = _pick(raw.columns, *words)
        if col:
            out[name] = _numeric(raw, col, label).to_numpy()
    est = _pick(raw.columns, "estimated")
    if est and est in raw.columns:
        out["estimated"] = raw[est].astype(str).str.strip().str.lower().eq("true").to_numpy()
    zone = _pick(raw.columns, "zone id")
    if zone:
        out.attrs["zone"] = str(raw[zone].iloc[0])
    out[LINE] = raw[LINE].to_numpy()
    return out


@register_grid_format(
    "eia930",
    "EIA-930 hourly generation by fuel (MWh) -> carbon intensity and EWIF from per-fuel factors",
)
def _eia930(
    path: Path, label: str, carbon_table: str = "ipcc2014", water_table: str = "li2023"
) -> pd.DataFrame:
    raw = _read_csv(path, label)
    # Some exports leave the first header cell empty; it is still the time column.
    first = str(raw.columns[0])
    time_col = "timestamp" if "timestamp" in raw.columns else first
    if time_col != "timestamp" and not (first == "" or first.startswith("Unnamed")):
        _require_columns(raw, ["timestamp"], label, "eia930")
    fuels = [f for f in FUEL_CODES if f in raw.columns]
    if not fuels:
        raise TraceError(
            f"{label}: no fuel columns for format 'eia930'; expected some of "
            f"{', '.join(FUEL_CODES)} (MWh per hour), found {list(raw.columns[:-1])}"
        )
    idx = _parse_times(raw[time_col], raw, label, time_col, assume_utc=True)
    gen = pd.DataFrame({f: _numeric(raw, f, label).to_numpy() for f in fuels}, index=idx)
    # NaN generation gives NaN intensities, which check_hourly rejects or fills
    out = gen.rename(columns={f: f"gen_{f}_mwh" for f in fuels})
    try:
        out["carbon_g_per_kwh"] = carbon_from_fuel_mix(gen, carbon_table).to_numpy()
        out["ewif_l_per_kwh"] = ewif_from_fuel_mix(gen, water_table).to_numpy()
    except TraceError as exc:  # an unknown factor table: say which file's option named it
        raise TraceError(f"{label}: {exc} (option carbon_table or water_table)") from None
    out.attrs["carbon_table"] = carbon_table
    out.attrs["water_table"] = water_table
    out[LINE] = raw[LINE].to_numpy()
    return out


@register_grid_format("prices", "Hourly wholesale electricity price CSV, USD/MWh")
def _prices(path: Path, label: str) -> pd.DataFrame:
    raw = _read_csv(path, label)
    price = _pick(raw.columns, "price") or "Price (USD/MWh)"
    time_col = _pick(raw.columns, "utc") or "Datetime (UTC)"
    _require_columns(raw, [time_col, price], label, "prices")
    idx = _parse_times(raw[time_col], raw, label, time_col, assume_utc=True)
    # Markets whose local hours start on the half hour (IEX, India) stamp blocks at HH:30 UTC;
    # a block is filed under the UTC hour in which it starts.
    idx = pd.DatetimeIndex(idx.floor("h"), name="time_utc")
    out = pd.DataFrame({"price_usd_per_mwh": _numeric(raw, price, label).to_numpy()}, index=idx)
    out[LINE] = raw[LINE].to_numpy()
    return out


@register_grid_format(
    "openmeteo",
    "Open-Meteo hourly JSON (local time): temperature, humidity -> wet-bulb temperature, °C",
)
def _openmeteo(path: Path, label: str) -> pd.DataFrame:
    text = _read_text(path, label)
    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        twice = repeated_keys(pairs)
        if twice:  # json keeps the last silently; a second offset would move every hour
            raise TraceError(f"{label}: the key(s) {', '.join(map(repr, twice))} appear twice "
                             "in one object; keep one")  # fmt: skip
        return dict(pairs)

    try:
        doc = json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise TraceError(f"{label}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    hourly = doc.get("hourly") if isinstance(doc, dict) else None
    if not isinstance(hourly, dict):
        raise TraceError(f"{label}: no 'hourly' object; this is not an Open-Meteo response")
    needed = ["time", "temperature_2m", "relative_humidity_2m"]
    missing = [k for k in needed if k not in hourly]
    if missing:
        raise TraceError(
            f"{label}: hourly variable(s) {', '.join(missing)} missing; request "
            "hourly=temperature_2m,relative_humidity_2m from Open-Meteo"
        )
    lengths = {k: len(hourly[k]) if isinstance(hourly[k], list) else None for k in needed}
    if None in lengths.values() or len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}: {'not a list' if n is None else n}" for k, n in lengths.items())
        raise TraceError(f"{label}: the hourly lists must be lists of one length ({shown}); "
                         "the file may be truncated or edited")  # fmt: skip
    raw = pd.DataFrame({k: hourly[k] for k in needed})
    raw[LINE] = np.arange(len(raw)) + 1  # element number within hourly.time
    local = pd.to_datetime(raw["time"], format="ISO8601")
    # Open-Meteo stamps hours in local time on a regular grid shifted by one fixed offset
    # (utc_offset_seconds); subtracting it gives UTC. Applying the DST rules of `timezone`
    # instead would create gaps and repeats at the clock changes.
    offset_s = doc.get("utc_offset_seconds")
    if offset_s is None:
        raise TraceError(f"{label}: no 'utc_offset_seconds'; cannot convert local time to UTC")
    # real offsets lie within -12 h and +14 h
    if (isinstance(offset_s, bool) or not isinstance(offset_s, (int, float))
            or not math.isfinite(offset_s) or not -12 * 3600 <= offset_s <= 14 * 3600):  # fmt: skip
        raise TraceError(f"{label}: utc_offset_seconds is {offset_s!r}; a time zone's offset "
                         "lies between -43200 and 50400 s")  # fmt: skip
    idx = pd.DatetimeIndex(
        (local - pd.Timedelta(seconds=int(offset_s))).dt.tz_localize("UTC"), name="time_utc"
    )
    temp = _numeric(raw, "temperature_2m", label).to_numpy()
    rh = _numeric(raw, "relative_humidity_2m", label).to_numpy()
    # a humidity outside 0-100 % or an air temperature no place has would give a NaN or
    # absurd wet-bulb, reported later as something else: say it here, with its element
    for name, values, lo, hi, unit in (("relative_humidity_2m", rh, 0.0, 100.0, "%"),
                                       ("temperature_2m", temp, -90.0, 60.0, "°C")):  # fmt: skip
        bad = np.flatnonzero((values < lo) | (values > hi))
        if len(bad):
            i = int(bad[0])
            raise TraceError(
                f"{label}: hourly.{name}[{i}] is {values[i]:g} {unit}, outside {lo:g}-{hi:g} "
                f"{unit} ({len(bad)} such value(s)); the file may be corrupt"
            )
    out = pd.DataFrame(
        {
            "temperature_c": temp,
            "relative_humidity_pct": rh,
            "wetbulb_c": wetbulb_stull_c(temp, rh),
        },
        index=idx,
    )
    minutes = idx.minute.to_numpy()
    if len(idx) > 1 and minutes[0] != 0 and (minutes == minutes[0]).all():
        # A half-hour time zone (India, +05:30) puts local hours at HH:30 UTC. Temperatures are
        # instantaneous readings, so the value on the UTC hour is interpolated between the two
        # readings around it; the last reading has no successor and is dropped.
        hours = pd.DatetimeIndex(idx[:-1].ceil("h"), name="time_utc")
        t_src = (idx - idx[0]) / pd.Timedelta(seconds=1)
        t_dst = (hours - idx[0]) / pd.Timedelta(seconds=1)
        out = pd.DataFrame(
            {c: np.interp(t_dst, t_src, out[c].to_numpy()) for c in out.columns}, index=hours
        )
        out.attrs["transforms"] = [
            f"readings at HH:{minutes[0]:02d} UTC interpolated to the UTC hour"
        ]
        raw = raw.iloc[:-1]
    for key in ("latitude", "longitude", "timezone"):
        if key in doc:
            out.attrs[key] = doc[key]
    out[LINE] = raw[LINE].to_numpy()
    return out


G_PER_KWH_PER_LB_PER_MWH = 0.45359237
"""gCO2/kWh in one lb CO2/MWh (453.59237 g per lb over 1,000 kWh per MWh)."""


@register_grid_format(
    "watttime",
    "WattTime marginal emissions (MOER) CSV: time, one value column -> marginal carbon "
    "intensity, g/kWh (5-minute readings averaged into hours)",
)
def _watttime(
    path: Path, label: str, unit: str = "g_per_kwh", value_column: str | None = None
) -> pd.DataFrame:
    """A WattTime MOER series as exported by vessim (``oootime,Caiso_North``) or the WattTime
    API (``point_time,value``): the first column is the time (UTC; stamps without an offset are
    read as UTC, as WattTime stamps them), the value column is the only other one or
    ``value_column``. ``unit``: ``g_per_kwh`` (vessim's export) or ``lb_per_mwh`` (the
    WattTime API's own unit). Each reading holds for the interval until the next; readings
    within an hour are averaged into it."""
    if unit not in ("g_per_kwh", "lb_per_mwh"):
        raise TraceError(f"{label}: option unit must be g_per_kwh or lb_per_mwh, not {unit!r}")
    raw = _read_csv(path, label)
    columns = [str(c) for c in raw.columns if c != LINE]
    time_col = columns[0]
    values = [c for c in columns[1:] if value_column is None or c == value_column]
    if value_column is not None and not values:
        raise TraceError(f"{label}: no column {value_column!r} (option value_column); the "
                         f"file has {', '.join(map(repr, columns[1:]))}")  # fmt: skip
    if len(values) != 1:
        raise TraceError(
            f"{label}: format 'watttime' needs one value column beside the time, found "
            f"{', '.join(map(repr, values)) or 'none'}; name one with option value_column"
        )
    idx = _parse_times(raw[time_col], raw, label, time_col, assume_utc=True)
    moer = _numeric(raw, values[0], label).to_numpy()
    if unit == "lb_per_mwh":
        moer = moer * G_PER_KWH_PER_LB_PER_MWH
    out = pd.DataFrame({"marginal_carbon_g_per_kwh": moer}, index=idx)
    out[LINE] = raw[LINE].to_numpy()
    out.attrs["unit"] = unit
    # a file out of order or with a repeated time is left to check_hourly, which names the line
    if idx.is_monotonic_increasing and idx.is_unique and (idx != idx.floor("h")).any():
        out = _hourly_means(out, label)
    return out


@register_grid_format(
    "csv", "CSV with a time_utc column (ISO 8601 with offset) and numeric columns"
)
def _csv(
    path: Path, label: str, time_column: str = "time_utc", timezone: str | None = None
) -> pd.DataFrame:
    raw = _read_csv(path, label)
    _require_columns(raw, [time_column], label, "csv")
    if timezone not in (None, "UTC"):
        raise TraceError(f"{label}: timezone '{timezone}' is not supported; give UTC times")
    idx = _parse_times(raw[time_column], raw, label, time_column, assume_utc=timezone == "UTC")
    cols = [c for c in raw.columns if c not in (time_column, LINE)]
    if not cols:
        raise TraceError(f"{label}: no value columns beside '{time_column}'")
    out = pd.DataFrame({c: _numeric(raw, c, label).to_numpy() for c in cols}, index=idx)
    out[LINE] = raw[LINE].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# Checks and repairs


def _where(frame: pd.DataFrame, i: int) -> str:
    return f"line {int(frame[LINE].iloc[i])} ({frame.index[i]:%Y-%m-%d %H:%M} UTC)"


def _fill(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    values = frame.drop(columns=[LINE])
    values = values.ffill() if how == "ffill" else values.interpolate(method="time")
    values[LINE] = frame[LINE].fillna(0).astype(int)
    return values


def check_hourly(frame: pd.DataFrame, label: str, repair: GridRepair = NO_REPAIR) -> pd.DataFrame:
    """Check (and, where ``repair`` asks, fix) a frame from a reader; drop the line column.

    Raises:
        TraceError: naming the file, column and line of the first problem found.
    """
    repairs: list[str] = list(frame.attrs.get("repairs", []))
    attrs = dict(frame.attrs)
    idx = pd.DatetimeIndex(frame.index)
    # order
    if not idx.is_monotonic_increasing:
        back = np.flatnonzero(np.diff(idx.asi8) < 0)
        if not repair.sort:
            i = int(back[0]) + 1
            raise TraceError(
                f"{label}: times go backwards at {_where(frame, i)}, after "
                f"{idx[i - 1]:%Y-%m-%d %H:%M}; sort the file by time, or set repair.sort"
            )
        frame = frame.sort_index(kind="stable")
        repairs.append(f"{label}: sorted {len(back)} out-of-order row(s) by time")
        idx = pd.DatetimeIndex(frame.index)
    # duplicates
    dup = idx.duplicated()
    if dup.any():
        if not repair.drop_duplicates:
            i = int(np.argmax(dup))
            raise TraceError(
                f"{label}: time {idx[i]:%Y-%m-%d %H:%M} UTC appears twice (second at line "
                f"{int(frame[LINE].iloc[i])}; {int(dup.sum())} duplicate(s) in all); keep one "
                "row per hour, or set repair.drop_duplicates"
            )
        frame = frame[~dup]
        repairs.append(f"{label}: dropped {int(dup.sum())} row(s) with a repeated time")
        idx = pd.DatetimeIndex(frame.index)
    # hourly grid
    off_grid = (idx != idx.floor("h")) if len(idx) else np.array([], bool)
    if np.any(off_grid):
        i = int(np.argmax(off_grid))
        raise TraceError(
            f"{label}: time at {_where(frame, i)} is not on the hour; slit reads hourly "
            "series stamped at the start of each hour. For sub-hourly data set the option "
            "hourly: mean"
        )
    if len(idx) > 1:
        step_h = np.diff(idx.tz_convert(None).to_numpy()) / np.timedelta64(1, "h")
        gaps = np.flatnonzero(step_h > 1)
        if gaps.size:
            longest = float(step_h.max()) - 1
            if repair.fill_gaps == "none" or longest > repair.max_gap_h:
                i = int(gaps[0])
                why = (
                    f"longer than repair.max_gap_h = {repair.max_gap_h} h"
                    if repair.fill_gaps != "none"
                    else "fill it in the file, or set repair.fill_gaps to ffill or linear"
                )
                raise TraceError(
                    f"{label}: {int(step_h[i]) - 1} hour(s) missing after {_where(frame, i)} "
                    f"({gaps.size} gap(s) in all, the longest {longest:g} h); {why}"
                )
            full = pd.date_range(idx[0], idx[-1], freq="h", name="time_utc")
            missing_h = len(full) - len(idx)
            frame = _fill(frame.reindex(full), repair.fill_gaps)
            repairs.append(
                f"{label}: filled {missing_h} missing hour(s) in {gaps.size} gap(s) "
                f"by {repair.fill_gaps}"
            )
    # values
    values = frame.drop(columns=[LINE]).select_dtypes("number")
    nan = values.isna()
    if nan.any().any():
        if repair.fill_nan == "none":
            col = str(nan.any()[nan.any()].index[0])
            i = int(np.argmax(nan[col].to_numpy()))
            raise TraceError(
                f"{label}: column '{col}', {_where(frame, i)}: empty or NaN value "
                f"({int(nan[col].sum())} in this column); fill it, or set repair.fill_nan"
            )
        n = int(nan.to_numpy().sum())
        rows = int(nan.any(axis=1).sum())
        frame = _fill(frame, repair.fill_nan)
        repairs.append(f"{label}: filled {n} NaN value(s) in {rows} hour(s) by {repair.fill_nan}")
        values = frame.drop(columns=[LINE]).select_dtypes("number")
        if values.isna().any().any():  # leading NaN cannot be forward-filled
            col = str(values.isna().any()[values.isna().any()].index[0])
            raise TraceError(f"{label}: column '{col}' starts with NaN, which cannot be filled")
    for col in values.columns:
        v = values[col].to_numpy()
        if not np.isfinite(v).all():
            i = int(np.argmax(~np.isfinite(v)))
            raise TraceError(
                f"{label}: column '{col}', {_where(frame, i)}: {v[i]:g} is not a finite number "
                f"({int((~np.isfinite(v)).sum())} in all); correct the file"
            )
        if col in NONNEGATIVE_COLUMNS and (v < 0).any():
            if not repair.clip_negative:
                i = int(np.argmax(v < 0))
                raise TraceError(
                    f"{label}: column '{col}', {_where(frame, i)}: negative value {v[i]:g} "
                    f"({int((v < 0).sum())} in all); it must be >= 0. Correct the file, or set "
                    "repair.clip_negative"
                )
            repairs.append(f"{label}: clipped {int((v < 0).sum())} negative '{col}' value(s) to 0")
            frame[col] = np.maximum(v, 0.0)
        bounds = SIGNAL_RANGES.get(str(col))
        if bounds is not None:
            w = frame[col].to_numpy()  # after any clip of negatives
            out_of = (w < bounds.lo) | (w > bounds.hi)
            if out_of.any():
                i = int(np.argmax(out_of))
                raise TraceError(
                    f"{label}: column '{col}', {_where(frame, i)}: {w[i]:g} is outside the "
                    f"physical range {bounds.describe()} ({int(out_of.sum())} in all; "
                    f"{bounds.why}); check the file's unit, or correct the value"
                )
        if col in PERCENT_COLUMNS and ((v < 0) | (v > 100)).any():
            i = int(np.argmax((v < 0) | (v > 100)))
            raise TraceError(
                f"{label}: column '{col}', {_where(frame, i)}: {v[i]:g} is not a percentage "
                "in [0, 100]"
            )
    out = frame.drop(columns=[LINE])
    out.attrs = attrs
    out.attrs["repairs"] = repairs
    return out


def read_grid(
    path: str | os.PathLike[str],
    format: str = "csv",
    *,
    label: str | None = None,
    repair: GridRepair = NO_REPAIR,
    **options: Any,
) -> pd.DataFrame:
    """Read an hourly grid, price or weather file into a checked, UTC-indexed frame.

    Args:
        path: the file (``.gz`` is decompressed).
        format: one of :func:`grid_formats`.
        label: name used in messages (default: the file name).
        repair: repairs allowed (none by default).
        **options: format options, e.g. ``water_table="macknick2012"`` for ``eia930``, and
            ``hourly="mean"`` (any format) to average sub-hourly readings into hours instead of
            rejecting times that are not on the hour.

    Returns:
        DataFrame indexed by ``time_utc`` with unit-named columns; ``attrs`` holds ``source``
        (the file name), ``format``, ``repairs`` and format metadata.
    """
    p = Path(path)
    name = _display(p, label)
    if format not in GRID_FORMATS:
        raise TraceError(f"{name}: {GRID_FORMATS.unknown_message(format)}")
    reader = GRID_FORMATS.get(format)
    hourly = options.pop("hourly", "strict")
    if hourly not in ("strict", "mean"):
        raise TraceError(f"{name}: option hourly must be 'strict' or 'mean', not {hourly!r}")
    try:
        frame = reader(p, name, **options)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            import inspect
            import re

            given = re.findall(r"keyword argument '(\w+)'", str(exc))
            takes = [n for n, p in inspect.signature(reader).parameters.items()
                     if p.kind is p.KEYWORD_ONLY or n not in ("path", "label")]  # fmt: skip
            takes = [n for n in takes if n not in ("path", "label")] + ["hourly"]
            raise TraceError(
                f"{name}: format '{format}' has no option {', '.join(map(repr, given))}; its "
                f"options: {', '.join(takes)}"
            ) from None
        raise
    if hourly == "mean":
        frame = _hourly_means(frame, name)
    out = check_hourly(frame, name, repair)
    out.attrs.update({"source": p.name, "format": format})
    return out


def _hourly_means(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Average sub-hourly readings into the hour they fall in (option ``hourly: mean``).

    Each hour gets the plain mean of its readings, so a series with a reading every 5, 15 or 30
    minutes becomes the hourly series slit uses; the count is recorded in ``attrs``.
    """
    attrs = dict(frame.attrs)
    hours = pd.DatetimeIndex(frame.index).floor("h")
    values = frame.drop(columns=[LINE]).groupby(hours).mean(numeric_only=True)
    values[LINE] = frame[LINE].groupby(hours).first().to_numpy()
    values.index = pd.DatetimeIndex(values.index, name="time_utc")
    values.attrs = attrs
    values.attrs["transforms"] = [
        *attrs.get("transforms", []),
        f"{label}: averaged {len(frame)} readings into {len(values)} hours",
    ]
    return values


def covered_range(frame: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[first hour, last hour + 1 h)`` that an hourly frame covers."""
    return frame.index[0], frame.index[-1] + pd.Timedelta(hours=1)


def check_covers(
    frame: pd.DataFrame, start_utc: pd.Timestamp, end_utc: pd.Timestamp, label: str
) -> None:
    """Raise a TraceError if ``frame`` does not cover ``[start_utc, end_utc)``."""
    first, end = covered_range(frame)
    if start_utc < first or end_utc > end:
        raise TraceError(
            f"{label}: covers [{first:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) UTC but the "
            f"scenario needs [{start_utc:%Y-%m-%d %H:%M}, {end_utc:%Y-%m-%d %H:%M}) UTC; "
            "move time.start_utc into the covered range, shorten time.horizon_s, or supply a "
            "longer file"
        )

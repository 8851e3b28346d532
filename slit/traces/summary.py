"""What is bundled, and a short summary (coverage, mean, range, units) of any signal or trace.

Backs ``slit traces list`` and ``slit traces show``; the functions return DataFrames so that a
notebook gets the same figures as the command line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slit.traces import profiles

_UNIT_SUFFIXES = (
    ("_g_per_kwh", "gCO2e/kWh"),
    ("_usd_per_mwh", "USD/MWh"),
    ("_l_per_kwh", "L/kWh"),
    ("_mwh", "MWh"),
    ("_pct", "%"),
    ("_tokens", "tokens"),
    ("_c", "°C"),
    ("_s", "s"),
)

_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)

PROFILE_SIGNALS = ("carbon_g_per_kwh", "carbon_lca_g_per_kwh", "price_usd_per_mwh",
                   "wetbulb_c", "ewif_l_per_kwh")  # fmt: skip
"""Signals that the bundled month x hour profile holds for each zone."""


def unit_of(column: str) -> str:
    """The unit a column name carries in its suffix (``carbon_g_per_kwh`` -> ``gCO2e/kWh``)."""
    for suffix, unit in _UNIT_SUFFIXES:
        if column.endswith(suffix):
            return unit
    return ""


def _short_source(text: str) -> str:
    """'EIA-930 2022 hourly fuel mix of CISO, li2023 factors' -> 'EIA-930 CISO 2022'."""
    words = text.replace(",", "").split()
    if text.startswith("EIA-930") and len(words) > 6:
        return f"EIA-930 {words[6]} {words[1]}"
    if text.startswith("codecarbon") and len(words) > 3:
        return f"{words[3]} mix {words[1]}"
    return text


def bundled_zones() -> pd.DataFrame:
    """One row per bundled grid zone: name, continent, which signals it has, annual means."""
    rows = []
    for zone, info in profiles.load_region_catalog().items():
        rows.append(
            {
                "zone": zone,
                "name": info.get("display_name", ""),
                "continent": info.get("continent", ""),
                "carbon_g_per_kwh": info.get("carbon_g_per_kwh_annual_mean_2023"),
                "price_usd_per_mwh": info.get("price_usd_per_mwh_annual_mean_2023"),
                "wetbulb_c": info.get("wetbulb_c_annual_mean_2023"),
                "ewif_l_per_kwh": info.get("ewif_l_per_kwh"),
                "ewif_from": _short_source(str(info.get("ewif_source", ""))),
            }
        )
    return pd.DataFrame(rows)


def bundled_request_profiles() -> pd.DataFrame:
    """One row per bundled request-size profile: requests, duration, rate, mean sizes."""
    rows = []
    for name in profiles.request_profile_names():
        p = profiles.load_request_profile(name)
        rows.append(
            {
                "profile": name,
                "requests": p.get("requests"),
                "duration_s": p.get("duration_s"),
                "mean_rate_per_s": p.get("mean_rate_per_s"),
                "prompt_tokens_mean": p.get("prompt_tokens_mean"),
                "output_tokens_mean": p.get("output_tokens_mean"),
            }
        )
    return pd.DataFrame(rows)


def zone_profile_summary(zone: str) -> pd.DataFrame:
    """Annual mean, range of month-hour means and mean hourly spread of each profile signal.

    The annual mean weighs each month by its days. Raises KeyError for an unknown zone.
    """
    table = profiles.load_grid_profile()
    rows = table[table["zone"] == zone]
    if rows.empty:
        valid = ", ".join(sorted(set(table["zone"])))
        raise KeyError(f"unknown grid zone {zone!r}; valid zones: {valid}")
    weights = _DAYS_IN_MONTH[rows["month"].to_numpy() - 1]
    out = []
    for sig in PROFILE_SIGNALS:
        mean = rows[f"{sig}_mean"].to_numpy(float)
        std = rows[f"{sig}_std"].to_numpy(float)
        ok = np.isfinite(mean)
        out.append(
            {
                "column": sig,
                "unit": unit_of(sig),
                "coverage": "12 months x 24 UTC hours" if ok.all() else "no data",
                "mean": float(np.average(mean[ok], weights=weights[ok])) if ok.any() else None,
                "min": float(mean[ok].min()) if ok.any() else None,
                "max": float(mean[ok].max()) if ok.any() else None,
                "hourly_std": float(np.average(std[ok], weights=weights[ok])) if ok.any() else None,
            }
        )
    return pd.DataFrame(out)


def frame_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Coverage, mean, min and max of each numeric column of a grid frame or request trace."""
    if isinstance(frame.index, pd.DatetimeIndex) and len(frame.index):
        end = frame.index[-1] + pd.Timedelta(hours=1)
        coverage = f"{frame.index[0]:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC ({len(frame)} h)"
    elif "arrival_s" in frame.columns and len(frame):
        coverage = f"{len(frame)} requests over {float(frame['arrival_s'].iloc[-1]):,.0f} s"
    else:
        coverage = f"{len(frame)} rows"
    out = []
    for col in frame.columns:
        values = frame[col]
        if values.dtype == bool or not pd.api.types.is_numeric_dtype(values):
            continue
        v = values.to_numpy(float)
        out.append(
            {
                "column": str(col),
                "unit": unit_of(str(col)),
                "coverage": coverage,
                "mean": float(np.nanmean(v)),
                "min": float(np.nanmin(v)),
                "max": float(np.nanmax(v)),
            }
        )
    return pd.DataFrame(out)

"""Build the bundled profiles in ``traces/`` from a local copy of the raw data.

slit does not ship raw third-party time series. It ships compact statistics that this module
derives from them, plus a ``MANIFEST.csv`` naming the source and licence of each output:

- ``grid_month_hour.csv``: per zone, UTC month and UTC hour of day, the mean and standard
  deviation of grid carbon intensity (direct and life-cycle), wholesale electricity price,
  outdoor wet-bulb temperature and EWIF, the lag-1 autocorrelation of the standardised hourly
  residuals (per zone and month), and the mean and spread of each signal's monthly normal
  scores, the daily shape of the generator in :mod:`slit.traces.profiles`;
- ``grid_month_quantiles.csv``: per zone, signal and month (and the whole year), the quantiles
  of the hourly values from the observed minimum to the maximum, their lag-1 autocorrelation
  and the generator's AR(1) coefficient, calibrated so that generated months reproduce it;
- ``regions.yaml``: one entry per zone with its location, time zone, annual water intensity of
  electricity (EWIF) and annual mean carbon intensity;
- ``requests_azure2023.json``: request-size quantiles, arrival statistics and the intra-hour
  rate shape of the two Azure LLM inference traces of 2023.

Run it as ``python -m slit.builders.profiles --from DATA_DIR --out OUT_DIR``. ``DATA_DIR`` is laid
out as described in ``docs/traces.md`` (``carbon/electricitymaps_hourly``,
``prices/hourly_wholesale``, ``weather/openmeteo_hourly``, ``water/…``,
``llm_traces/azure_2023``). The outputs hold no path of the machine that built them; the build
time comes from ``SOURCE_DATE_EPOCH`` when it is set, so that builds can be reproduced byte for
byte.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from scipy.signal import lfilter
from scipy.special import ndtri

from slit.builders.cloud_rtt import derive_zone_rtt_table, write_zone_rtt_table
from slit.errors import TraceError
from slit.models.cloud_rtt import RTT_FILES, fit_distance_model, read_rtt_matrix
from slit.models.fuel_mix import ewif_from_fuel_mix
from slit.models.psychrometrics import STULL_VALID_RH_PCT, STULL_VALID_T_C
from slit.traces.grid_readers import GridRepair, read_grid
from slit.traces.profiles import (
    EXTREME_COLUMNS,
    EXTREME_COUNT,
    LATENT_SIGMA_FLOOR,
    QUANTILE_COLUMNS,
    condition_on_month,
    latent_cdf,
    latent_to_values,
    quantile_knots,
)
from slit.traces.profiles import (
    QUANTILE_LEVELS as GRID_QUANTILE_LEVELS,
)

FloatArray = npt.NDArray[np.float64]

YEAR = 2023
"""Calendar year of the grid, price and weather data the profiles summarise."""

QUANTILE_LEVELS: tuple[float, ...] = (
    0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0,
)  # fmt: skip
"""Probability levels at which request-size quantiles are stored (inverse-CDF knots)."""

GRID_FILE = "grid_month_hour.csv"
QUANTILE_FILE = "grid_month_quantiles.csv"
REGIONS_FILE = "regions.yaml"
REQUESTS_FILE = "requests_azure2023.json"
ZONE_RTT_FILE = "zone_rtt_azure_p95.csv"
MANIFEST_FILE = "MANIFEST.csv"

# Data-directory layout, relative to DATA_DIR. Only these relative descriptions are written to
# the outputs, never the directory itself.
_CARBON = "carbon/electricitymaps_hourly/{zone}_{year}_hourly.csv.gz"
_PRICE = "prices/hourly_wholesale/{zone}_electricity_prices_{year}.csv.gz"
_WEATHER = "weather/openmeteo_hourly/{zone}_{year}.json.gz"
_MIXES = "water/ecologits_0.11.3_electricity_mixes.json"
_AZURE = "llm_traces/azure_2023/AzureLLMInferenceTrace_{kind}.csv"
_EIA = "carbon/eia930_fuelmix_hourly_2022/{ba}_2022_fuelmix_ci.csv.gz"
_COUNTRY_MIX = "carbon/annual_country/codecarbon_3.3.2_global_energy_mix.json"

EWIF_TABLE = "li2023"
"""Per-fuel water factors of the bundled EWIF (Li et al. 2023, as in the SLIT paper)."""

EIA_BALANCING_AUTHORITY = {
    "US-CAL-CISO": "CISO",
    "US-MIDA-PJM": "PJM",
    "US-NY-NYIS": "NYIS",
    "US-TEX-ERCO": "ERCO",
}
"""US zones whose hourly EWIF comes from the EIA-930 fuel mix of their balancing authority."""

# codecarbon's country mix (TWh by source) mapped to EIA fuel codes
_COUNTRY_FUEL_KEYS = {
    "COL": ("coal_TWh",),
    "NG": ("gas_TWh",),
    "OIL": ("oil_TWh",),
    "NUC": ("nuclear_TWh",),
    "WAT": ("hydroelectricity_TWh",),
    "SUN": ("solar_TWh",),
    "WND": ("wind_TWh",),
    "OTH": ("biofuel_TWh", "other_renewable_exc_biofuel_TWh"),
}

# Minimum number of hour-to-hour pairs for a lag-1 autocorrelation estimate; fewer (or a flat
# signal) gives 0, i.e. white noise.
_MIN_PAIRS = 48
# AR(1) coefficients are kept inside (-1, 1) so that the generator's innovation scale
# sqrt(1 - phi^2) stays positive.
_PHI_LIMIT = 0.999


@dataclass(frozen=True)
class ZoneInfo:
    """Hand-entered facts about a zone that the raw files do not state."""

    display_name: str
    continent: str
    country_iso3: str
    price_market: str | None


# Keyed by the zone id used in the raw file names. The market/node of each price series is the
# one the upstream extractor used (see docs/traces.md).
ZONES: dict[str, ZoneInfo] = {
    "AU-NSW": ZoneInfo("New South Wales (NEM)", "Oceania", "AUS", "AEMO, NSW1 region"),
    "AU-VIC": ZoneInfo("Victoria (NEM)", "Oceania", "AUS", "AEMO, VIC1 region"),
    "BR-SP": ZoneInfo("São Paulo (Central Brazil grid)", "South America", "BRA", "ONS/CCEE PLD"),
    "CA-ON": ZoneInfo("Ontario (IESO)", "North America", "CAN", "IESO"),
    "CL-SIC": ZoneInfo("Chile (SEN)", "South America", "CHL", "CDEC"),
    "DE-LU": ZoneInfo("Germany (DE-LU)", "Europe", "DEU", "ENTSO-E day-ahead, DE-LU"),
    "GB": ZoneInfo("Great Britain", "Europe", "GBR", None),
    "IN-WE": ZoneInfo("Western India", "Asia", "IND", "IEX day-ahead market"),
    "JP-TK": ZoneInfo("Tokyo (TEPCO area)", "Asia", "JPN", "JEPX, Tokyo area"),
    "KR": ZoneInfo("South Korea", "Asia", "KOR", "KPX system marginal price"),
    "SG": ZoneInfo("Singapore", "Asia", "SGP", "USEP"),
    "US-CAL-CISO": ZoneInfo(
        "California (CAISO)", "North America", "USA", "CAISO day-ahead, TH_NP15_GEN-APND"
    ),
    "US-MIDA-PJM": ZoneInfo(
        "Mid-Atlantic (PJM)", "North America", "USA", "PJM real-time hourly, DOM zone"
    ),
    "US-NY-NYIS": ZoneInfo("New York (NYISO)", "North America", "USA", "NYISO day-ahead, CAPITL"),
    "US-TEX-ERCO": ZoneInfo("Texas (ERCOT)", "North America", "USA", "ERCOT, HB_HUBAVG"),
    "ZA": ZoneInfo("South Africa (Eskom)", "Africa", "ZAF", "Eskom"),
}


# --------------------------------------------------------------------------------------------
# Small numeric helpers
# --------------------------------------------------------------------------------------------


def _round_sig(x: npt.ArrayLike, sig: int = 4, max_decimals: int = 4) -> npt.NDArray[np.float64]:
    """Round to ``sig`` significant digits but at most ``max_decimals`` decimals (NaN kept).

    Four significant digits are far below the sampling noise of a month-hour mean over about
    30 days, and keep the bundled files small.
    """
    a = np.asarray(x, dtype=float)
    out = np.full(a.shape, np.nan)
    finite = np.isfinite(a)
    nonzero = finite & (a != 0)
    out[finite & (a == 0)] = 0.0
    mags = np.floor(np.log10(np.abs(a[nonzero])))
    decimals = np.minimum(sig - 1 - mags, max_decimals).astype(int)
    out[nonzero] = [round(v, int(d)) for v, d in zip(a[nonzero], decimals, strict=True)]
    # round() can leave -0.0, which would print as "-0.0"
    out[out == 0] = 0.0
    return out


def _r(x: float, sig: int = 4, max_decimals: int = 4) -> float | None:
    """Scalar :func:`_round_sig` for YAML/JSON output; NaN becomes None (null)."""
    v = float(_round_sig([x], sig, max_decimals)[0])
    return None if math.isnan(v) else v


def _spearman(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Spearman rank correlation: Pearson correlation of the average ranks (ties shared)."""
    ra = pd.Series(np.asarray(a, float)).rank(method="average").to_numpy()
    rb = pd.Series(np.asarray(b, float)).rank(method="average").to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


# --------------------------------------------------------------------------------------------
# Reading the raw files
# --------------------------------------------------------------------------------------------


def _read_carbon(data_dir: Path, zone: str) -> pd.DataFrame:
    """Hourly carbon intensity of ``zone`` in ``YEAR`` (UTC index), direct and LCA, g/kWh."""
    rel = _CARBON.format(zone=zone, year=YEAR)
    grid = read_grid(data_dir / rel, "electricitymaps", label=rel)
    frame = pd.DataFrame(
        {
            "carbon": grid["carbon_g_per_kwh"],
            "carbon_lca": grid["carbon_lca_g_per_kwh"],
            "estimated": grid["estimated"],
        }
    )
    frame.attrs["em_zone_id"] = str(grid.attrs.get("zone", zone))
    return frame


def _read_price(data_dir: Path, zone: str) -> pd.Series | None:
    """Hourly wholesale price of ``zone`` in ``YEAR`` (UTC index), USD/MWh; None if absent."""
    rel = _PRICE.format(zone=zone, year=YEAR)
    if not (data_dir / rel).exists():
        return None
    return read_grid(data_dir / rel, "prices", label=rel)["price_usd_per_mwh"].rename("price")


def _read_weather(data_dir: Path, zone: str) -> tuple[pd.Series, dict[str, Any]]:
    """Hourly wet-bulb temperature (°C, UTC index) and the file's location metadata."""
    rel = _WEATHER.format(zone=zone, year=YEAR)
    grid = read_grid(data_dir / rel, "openmeteo", label=rel)
    temp = grid["temperature_c"].to_numpy()
    rh = grid["relative_humidity_pct"].to_numpy()
    (t_lo, t_hi), (rh_lo, rh_hi) = STULL_VALID_T_C, STULL_VALID_RH_PCT
    meta = {
        "latitude": float(grid.attrs["latitude"]),
        "longitude": float(grid.attrs["longitude"]),
        "timezone": str(grid.attrs["timezone"]),
        "outside_stull_range_h": int(
            np.sum((rh < rh_lo) | (rh > rh_hi) | (temp < t_lo) | (temp > t_hi))
        ),
    }
    return grid["wetbulb_c"].rename("wetbulb"), meta


def _read_ewif(data_dir: Path, zone: str) -> tuple[pd.Series | None, list[str]]:
    """Hourly EWIF (L/kWh) of the balancing authority of a US ``zone`` from its EIA-930 fuel
    mix, with the Li et al. (2023) factors; None for zones without such data.

    The few hours with a missing fuel value are interpolated in time; the returned list says
    how many.
    """
    ba = EIA_BALANCING_AUTHORITY.get(zone)
    if ba is None:
        return None, []
    rel = _EIA.format(ba=ba)
    grid = read_grid(
        data_dir / rel,
        "eia930",
        label=rel,
        repair=GridRepair(fill_nan="linear"),
        water_table=EWIF_TABLE,
    )
    return grid["ewif_l_per_kwh"].rename("ewif"), list(grid.attrs["repairs"])


def _country_ewif(mix: dict[str, Any], table: str) -> float:
    """Annual EWIF (L/kWh) of a country's generation mix (codecarbon's 2023 TWh by fuel)."""
    gen = pd.DataFrame(
        [
            {
                code: sum(float(mix.get(key) or 0.0) for key in keys)
                for code, keys in _COUNTRY_FUEL_KEYS.items()
            }
        ]
    )
    return float(ewif_from_fuel_mix(gen, table).iloc[0])


def _hour_steps(idx: pd.DatetimeIndex) -> npt.NDArray[np.bool_]:
    """For each neighbouring pair of timestamps, whether they are exactly one hour apart."""
    naive = idx.tz_convert(None) if idx.tz is not None else idx
    return np.diff(naive.to_numpy()) == np.timedelta64(1, "h")


def _load_mixes(data_dir: Path) -> dict[str, dict[str, Any]]:
    """EcoLogits electricity mixes keyed by ISO-3 code (``WOR`` = world)."""
    raw = json.loads((data_dir / _MIXES).read_text(encoding="utf-8"))
    rows = raw["electricity_mixes"] if isinstance(raw, dict) else raw
    # The file nests the list once more in some releases; flatten one level if so.
    if rows and isinstance(rows[0], list):
        rows = [r for chunk in rows for r in chunk]
    return {str(r["name"]): r for r in rows}


def _discover_zones(data_dir: Path) -> list[str]:
    """Zones that have a carbon file for ``YEAR``; each must be described in :data:`ZONES`."""
    folder = data_dir / Path(_CARBON).parent
    suffix = f"_{YEAR}_hourly.csv.gz"
    zones = sorted(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}"))
    if not zones:
        raise FileNotFoundError(
            f"no carbon files matching {Path(_CARBON).parent}/*{suffix} in the data directory"
        )
    unknown = [z for z in zones if z not in ZONES]
    if unknown:
        raise ValueError(
            f"zone(s) {', '.join(unknown)} have data but no entry in slit.builders.profiles.ZONES"
        )
    return zones


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _month_hour_stats(s: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Mean and sample std (ddof=1) per (UTC month, UTC hour), and the standardised residual.

    The residual z = (x − mean) / std of the value's own month-hour cell is what the generator
    reproduces as unit-variance AR(1) noise; cells with zero spread give NaN residuals.
    """
    when = pd.DatetimeIndex(s.index)
    key = [when.month.rename("month"), when.hour.rename("hour_utc")]
    grouped = s.groupby(key)
    stats = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1)})
    mean = grouped.transform("mean")
    std = grouped.transform("std")
    # A constant cell (a tariff, a price floor) can come out with a rounding-level std such as
    # 1e-14; treat that as zero spread so its residuals do not turn into amplified float noise.
    flat = std <= 1e-9 * np.maximum(1.0, mean.abs())
    z = (s - mean) / std.mask(flat)
    return stats, z


def _residual_correlation(carbon: pd.Series, price: pd.Series | None,
                          wetbulb: pd.Series) -> dict[str, float | None]:  # fmt: skip
    """Pearson correlation of the month-hour standardised residuals of each pair of signals.

    Computed over the hours where all available residuals are defined; the generator mixes its
    innovations to reproduce it. Price pairs are None for a zone without prices.
    """
    parts = {"carbon": _month_hour_stats(carbon)[1], "wetbulb": _month_hour_stats(wetbulb)[1]}
    if price is not None:
        parts["price"] = _month_hour_stats(price)[1]
    return _pair_correlations(parts)


def _pair_correlations(parts: dict[str, pd.Series]) -> dict[str, float | None]:
    """Pearson correlation of each pair of residual series over the hours where all are
    defined, rounded to 3 decimals; a pair with a missing signal is None."""
    corr = pd.DataFrame(parts).dropna().corr()

    def pair(a: str, b: str) -> float | None:
        return _r(float(corr.at[a, b]), 3, 3) if a in corr and b in corr else None  # type: ignore[arg-type]

    return {
        "carbon_price": pair("carbon", "price"),
        "carbon_wetbulb": pair("carbon", "wetbulb"),
        "price_wetbulb": pair("price", "wetbulb"),
    }


def _lag1_by_month(z: pd.Series) -> pd.Series:
    """Lag-1 autocorrelation of the hourly residual ``z`` per UTC month (index 1..12).

    Pairs (z_t, z_{t+1}) are filed under the month of t; only pairs one hour apart with both
    values defined count. Months with too few pairs or no spread get 0 (white noise).
    """
    t = pd.DatetimeIndex(z.index)
    a = z.to_numpy()[:-1]
    b = z.to_numpy()[1:]
    one_hour = _hour_steps(t)
    ok = one_hour & np.isfinite(a) & np.isfinite(b)
    months = t.month.to_numpy()[:-1]
    out = {}
    for m in range(1, 13):
        sel = ok & (months == m)
        if sel.sum() < _MIN_PAIRS or np.std(a[sel]) == 0 or np.std(b[sel]) == 0:
            out[m] = 0.0
            continue
        phi = float(np.corrcoef(a[sel], b[sel])[0, 1])
        out[m] = float(np.clip(phi, -_PHI_LIMIT, _PHI_LIMIT))
    return pd.Series(out, name="lag1")


def _zone_table(zone: str, carbon: pd.DataFrame, price: pd.Series | None, wetbulb: pd.Series,
                ewif: pd.Series | float) -> pd.DataFrame:  # fmt: skip
    """The 12 × 24 rows of ``grid_month_hour.csv`` for one zone.

    ``ewif`` is an hourly series (month-hour statistics as for the other signals) or one
    annual value (every cell gets that mean, zero spread and no autocorrelation).
    """
    grid = pd.MultiIndex.from_product([range(1, 13), range(24)], names=["month", "hour_utc"])
    out = pd.DataFrame(index=grid)

    def add(prefix: str, s: pd.Series | None, lag_col: str | None) -> None:
        if s is None:
            out[f"{prefix}_mean"] = np.nan
            out[f"{prefix}_std"] = np.nan
            if lag_col:
                out[lag_col] = np.nan
                out[f"{prefix}_nscore_mean"] = np.nan
                out[f"{prefix}_nscore_std"] = np.nan
            return
        stats, z = _month_hour_stats(s)
        stats = stats.reindex(grid)
        out[f"{prefix}_mean"] = stats["mean"]
        out[f"{prefix}_std"] = stats["std"]
        if lag_col:
            lag = _lag1_by_month(z)
            out[lag_col] = lag.reindex(grid.get_level_values("month")).to_numpy()
            # the generator's latent daily shape (life-cycle carbon shares direct carbon's)
            nscore = _nscore_cells(s)[0].reindex(grid)
            out[f"{prefix}_nscore_mean"] = nscore["mean"]
            out[f"{prefix}_nscore_std"] = nscore["std"]

    add("carbon_g_per_kwh", carbon["carbon"], "lag1_autocorr")
    add("carbon_lca_g_per_kwh", carbon["carbon_lca"], None)
    add("price_usd_per_mwh", price, "price_lag1_autocorr")
    add("wetbulb_c", wetbulb, "wetbulb_lag1_autocorr")
    if isinstance(ewif, pd.Series):
        add("ewif_l_per_kwh", ewif, "ewif_lag1_autocorr")
    else:
        out["ewif_l_per_kwh_mean"] = float(ewif)
        out["ewif_l_per_kwh_std"] = 0.0
        out["ewif_lag1_autocorr"] = 0.0
        out["ewif_l_per_kwh_nscore_mean"] = np.nan
        out["ewif_l_per_kwh_nscore_std"] = np.nan
    out = out.reset_index()
    out.insert(0, "zone", zone)
    return out


# --------------------------------------------------------------------------------------------
# Source statistics for the generator: normal scores, monthly quantiles, calibrated persistence
# --------------------------------------------------------------------------------------------

# Latent month-hour statistics are stored with 3 decimals (normal-score units); the generator
# and the calibration below both use the rounded values, so they agree exactly.
_NSCORE_DECIMALS = 3
# Monthly quantiles keep 5 significant digits: p1/p50/p99 are reproduced to 0.005 %.
_QUANTILE_SIG = 5
# The AR(1) coefficient of each month is calibrated on this many simulated months, all drawn
# from one fixed seed (common random numbers make the fitted lag-1 a smooth, monotone function
# of the coefficient and the build deterministic).
_CALIBRATION_MONTHS = 48
_CALIBRATION_SEED = 2023
_CALIBRATION_STEPS = 14  # bisection steps on [0, phi*]: resolution 6e-5
# Coefficients at which the peak of the generated lag-1 is looked for (it lies near 1).
_CALIBRATION_GRID = (0.9, 0.95, 0.97, 0.98, 0.985, 0.99, 0.993, 0.995, 0.997, _PHI_LIMIT)


def _normal_scores(s: pd.Series) -> pd.Series:
    """Monthly normal scores g = Φ⁻¹((rank − ½)/n) of ``s``, ranked within each UTC month.

    Ties share their average rank, so a value repeated many times (a price floor, a tariff)
    gets one score. Within each month the scores are standard normal whatever the values'
    distribution; the generator works in this space.
    """
    month = pd.DatetimeIndex(s.index).month
    ranks = s.groupby(month).rank(method="average")
    n = s.groupby(month).transform("size")
    return pd.Series(ndtri((ranks - 0.5) / n), index=s.index)


def _nscore_cells(s: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Month-hour mean and sample std of the monthly normal scores (rounded as stored), and the
    latent residual e = (g − mean)/max(std, floor) of each hour.
    """
    g = _normal_scores(s)
    when = pd.DatetimeIndex(s.index)
    key = [when.month.rename("month"), when.hour.rename("hour_utc")]
    grouped = g.groupby(key)
    stats = pd.DataFrame(
        {
            "mean": np.round(grouped.mean(), _NSCORE_DECIMALS),
            "std": np.round(grouped.std(ddof=1).fillna(0.0), _NSCORE_DECIMALS),
        }
    )
    cell = stats.reindex(pd.MultiIndex.from_arrays(key))
    sigma = np.maximum(cell["std"].to_numpy(), LATENT_SIGMA_FLOOR)
    resid = pd.Series((g.to_numpy() - cell["mean"].to_numpy()) / sigma, index=s.index)
    return stats, resid


def _latent_residual_correlation(carbon: pd.Series, price: pd.Series | None,
                                 wetbulb: pd.Series) -> dict[str, float | None]:  # fmt: skip
    """Pearson correlation of the latent (normal-score) residuals of each pair of signals.

    This is the correlation the generator gives its latent noise; price pairs are None for a
    zone without prices.
    """
    parts = {"carbon": _nscore_cells(carbon)[1], "wetbulb": _nscore_cells(wetbulb)[1]}
    if price is not None:
        parts["price"] = _nscore_cells(price)[1]
    return _pair_correlations(parts)


def _value_lag1(s: pd.Series, month: int | None = None) -> float:
    """Lag-1 autocorrelation of the hourly values: Pearson correlation of (x_t, x_{t+1}) over
    pairs one hour apart, both in UTC month ``month`` (all pairs when None). NaN without spread.
    """
    t = pd.DatetimeIndex(s.index)
    v = s.to_numpy(float)
    ok = _hour_steps(t)
    if month is not None:
        mo = t.month.to_numpy()
        ok = ok & (mo[:-1] == month) & (mo[1:] == month)
    a, b = v[:-1][ok], v[1:][ok]
    if a.size < _MIN_PAIRS or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def _generated_lag1(phi: float, eps: FloatArray, mu: FloatArray, sigma: FloatArray,
                    cdf: FloatArray, knots: tuple[FloatArray, FloatArray]) -> float:  # fmt: skip
    """Mean lag-1 autocorrelation of the values of simulated months, one per row of ``eps``.

    Runs the generator's steps for one month (AR(1) noise started in its stationary state,
    conditioning on the month's latent distribution, mapping to values) with coefficient
    ``phi``; ``mu``/``sigma`` hold each hour's latent cell.
    """
    c = math.sqrt(1.0 - phi * phi)
    # lfilter gives y_0 = c·eps_0 + zi; zi = (1 − c)·eps_0 starts at e_0 = eps_0.
    e = lfilter([c], [1.0, -phi], eps, axis=1, zi=(1.0 - c) * eps[:, :1])[0]
    cond = condition_on_month(e, mu, sigma, cdf)
    x = latent_to_values(mu + sigma * cond, cdf, knots)
    a = x[:, :-1] - x[:, :-1].mean(axis=1, keepdims=True)
    b = x[:, 1:] - x[:, 1:].mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    ok = den > 0
    return float(np.mean((a * b).sum(axis=1)[ok] / den[ok])) if ok.any() else math.nan


def _calibrate_phi(
    target: float,
    mu24: FloatArray,
    sigma24: FloatArray,
    knots: tuple[FloatArray, FloatArray],
    hours: int,
) -> float:
    """AR(1) coefficient of the latent noise that gives generated months the source's lag-1.

    The lag-1 autocorrelation of the values is not that of the latent noise: the daily cycle
    adds to it, the quantile map bends it, and conditioning a month on its distribution
    stretches a persistent draw and lowers it. So the coefficient is found by simulation: the
    mean lag-1 of :data:`_CALIBRATION_MONTHS` generated months of ``hours`` hours (starting at
    00 UTC) is matched to the source month's ``target``. That mean rises with the coefficient
    up to a peak phi* (near 1 the month's draw barely moves and conditioning turns it into an
    exaggerated daily cycle, which lowers the lag-1 again), so phi* is located on
    :data:`_CALIBRATION_GRID` and the target is solved by bisection on [0, phi*]. A target
    below what white noise gives returns 0; one above the peak returns phi*, the closest the
    model comes (docs/traces.md reports these shortfalls).
    """
    if not math.isfinite(target) or knots[1][0] == knots[1][-1]:
        return 0.0
    hour = np.arange(hours) % 24
    mu = mu24[hour]
    sigma = np.maximum(sigma24[hour], LATENT_SIGMA_FLOOR)
    cdf = latent_cdf(mu24, np.maximum(sigma24, LATENT_SIGMA_FLOOR))
    eps = np.random.default_rng(_CALIBRATION_SEED).standard_normal((_CALIBRATION_MONTHS, hours))

    def lag1(phi: float) -> float:
        return _generated_lag1(phi, eps, mu, sigma, cdf, knots)

    if lag1(0.0) >= target:
        return 0.0
    peak_lag1, peak = max((lag1(phi), phi) for phi in _CALIBRATION_GRID)
    if peak_lag1 <= target:
        return peak
    lo, hi = 0.0, peak
    for _ in range(_CALIBRATION_STEPS):
        mid = 0.5 * (lo + hi)
        if lag1(mid) < target:
            lo = mid
        else:
            hi = mid
    return round(0.5 * (lo + hi), 4)


def _quantile_rows(
    zone: str, signal: str, s: pd.Series, nscore: pd.DataFrame, phi: FloatArray | None = None
) -> tuple[list[dict[str, Any]], FloatArray]:
    """Rows of ``grid_month_quantiles.csv`` for one zone and signal, and the 12 coefficients.

    ``nscore`` holds the (rounded) latent cells of the signal that drives ``signal`` (its own,
    or direct carbon's for life-cycle carbon). ``phi`` reuses the driving signal's calibrated
    coefficients instead of calibrating anew (life-cycle carbon).
    """
    levels = np.asarray(GRID_QUANTILE_LEVELS)
    month_of = pd.DatetimeIndex(s.index).month.to_numpy()
    values = s.to_numpy(float)
    rows: list[dict[str, Any]] = []
    phis = np.zeros(12)
    for m in range(0, 13):
        v = values if m == 0 else values[month_of == m]
        q = _round_sig(np.quantile(v, levels), _QUANTILE_SIG)
        ordered = np.sort(v)
        k = np.arange(2, EXTREME_COUNT + 1)
        extremes = _round_sig(np.concatenate([ordered[k - 1], ordered[::-1][k[::-1] - 1]]),
                              _QUANTILE_SIG)  # fmt: skip
        lag1 = _value_lag1(s, None if m == 0 else m)
        fitted = math.nan
        row: dict[str, Any] = {"zone": zone, "signal": signal, "month": m, "hours": int(len(v))}
        row.update({col: float(x) for col, x in zip(QUANTILE_COLUMNS, q, strict=True)})
        row.update({col: float(x) for col, x in zip(EXTREME_COLUMNS, extremes, strict=True)})
        if m >= 1:
            if phi is None:
                cells = nscore.xs(m, level="month").reindex(range(24))
                fitted = _calibrate_phi(
                    lag1,
                    cells["mean"].to_numpy(float),
                    cells["std"].to_numpy(float),
                    quantile_knots(row),
                    len(v),
                )
            else:
                fitted = float(phi[m - 1])
            phis[m - 1] = fitted
        row["lag1"] = _r(lag1, 4, 4)
        row["phi"] = None if m == 0 else fitted
        rows.append(row)
    return rows, phis


def _zone_quantiles(zone: str, carbon: pd.DataFrame, price: pd.Series | None, wetbulb: pd.Series,
                    ewif: pd.Series | float) -> list[dict[str, Any]]:  # fmt: skip
    """All rows of ``grid_month_quantiles.csv`` for one zone (signals it has hourly data for)."""
    rows: list[dict[str, Any]] = []
    carbon_cells = _nscore_cells(carbon["carbon"])[0]
    carbon_rows, carbon_phi = _quantile_rows(zone, "carbon_g_per_kwh", carbon["carbon"],
                                             carbon_cells)  # fmt: skip
    rows += carbon_rows
    rows += _quantile_rows(zone, "carbon_lca_g_per_kwh", carbon["carbon_lca"], carbon_cells,
                           carbon_phi)[0]  # fmt: skip
    for signal, s in (("price_usd_per_mwh", price), ("wetbulb_c", wetbulb),
                      ("ewif_l_per_kwh", ewif)):  # fmt: skip
        if isinstance(s, pd.Series):
            rows += _quantile_rows(zone, signal, s, _nscore_cells(s)[0])[0]
    return rows


GRID_COLUMNS = [
    "zone", "month", "hour_utc",
    "carbon_g_per_kwh_mean", "carbon_g_per_kwh_std",
    "carbon_lca_g_per_kwh_mean", "carbon_lca_g_per_kwh_std",
    "price_usd_per_mwh_mean", "price_usd_per_mwh_std",
    "wetbulb_c_mean", "wetbulb_c_std",
    "ewif_l_per_kwh_mean", "ewif_l_per_kwh_std",
    "lag1_autocorr", "price_lag1_autocorr", "wetbulb_lag1_autocorr", "ewif_lag1_autocorr",
    "carbon_g_per_kwh_nscore_mean", "carbon_g_per_kwh_nscore_std",
    "price_usd_per_mwh_nscore_mean", "price_usd_per_mwh_nscore_std",
    "wetbulb_c_nscore_mean", "wetbulb_c_nscore_std",
    "ewif_l_per_kwh_nscore_mean", "ewif_l_per_kwh_nscore_std",
]  # fmt: skip
"""Column order of ``grid_month_hour.csv``."""

QUANTILE_TABLE_COLUMNS = [
    "zone", "signal", "month", "hours", "lag1", "phi", *QUANTILE_COLUMNS, *EXTREME_COLUMNS,
]  # fmt: skip
"""Column order of ``grid_month_quantiles.csv``."""


def _request_stats(data_dir: Path, kind: str) -> dict[str, Any]:
    """Size and arrival statistics of one Azure 2023 trace (``kind`` = ``conv`` or ``code``)."""
    rel = _AZURE.format(kind=kind)
    raw = pd.read_csv(data_dir / rel)
    t = pd.to_datetime(raw["TIMESTAMP"], format="ISO8601")
    if not t.is_monotonic_increasing:
        order = np.argsort(t.to_numpy(), kind="stable")
        raw, t = raw.iloc[order].reset_index(drop=True), t.iloc[order].reset_index(drop=True)
    t_s = (t - t.iloc[0]).dt.total_seconds().to_numpy()
    duration = float(t_s[-1])
    prompt = raw["ContextTokens"].to_numpy(float)
    output = raw["GeneratedTokens"].to_numpy(float)
    gaps = np.diff(t_s)
    # Per-minute counts over whole minutes from the first arrival; a trailing partial minute
    # would read as a spurious dip, so it is dropped.
    full_minutes = int(duration // 60)
    counts = np.bincount((t_s // 60).astype(int), minlength=full_minutes + 1)[:full_minutes]
    shape = counts / counts.mean()
    levels = np.asarray(QUANTILE_LEVELS)
    return {
        "source_file": rel,
        "requests": int(len(raw)),
        "first_arrival_wallclock": t.iloc[0].strftime("%Y-%m-%d %H:%M:%S"),
        "duration_s": _r(duration, 6, 3),
        "mean_rate_per_s": _r(len(raw) / duration, 4, 4),
        "quantile_levels": [float(q) for q in levels],
        "prompt_tokens_quantiles": [_r(v, 6, 2) for v in np.quantile(prompt, levels)],
        "output_tokens_quantiles": [_r(v, 6, 2) for v in np.quantile(output, levels)],
        "prompt_tokens_mean": _r(prompt.mean(), 6, 2),
        "output_tokens_mean": _r(output.mean(), 6, 2),
        "spearman_prompt_output": _r(_spearman(prompt, output), 4, 4),
        "interarrival_cv": _r(float(gaps.std(ddof=1) / gaps.mean()), 4, 4),
        "minute_bin_s": 60,
        "per_minute_rate_shape": [_r(v, 4, 4) for v in shape],
    }


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _write_grid(table: pd.DataFrame, path: Path) -> None:
    """Write the grid table with rounded floats and empty cells for missing values."""
    out = table[GRID_COLUMNS].copy()
    for c in GRID_COLUMNS[3:]:
        if "_nscore_" in c:  # already rounded to _NSCORE_DECIMALS; the generator uses them so
            out[c] = np.round(out[c].to_numpy(float), _NSCORE_DECIMALS) + 0.0
        else:
            out[c] = _round_sig(out[c].to_numpy(float))
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n", na_rep="", float_format="%.10g")
    path.write_text(buf.getvalue(), encoding="utf-8")


def _write_quantiles(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the monthly quantile table (values already rounded; empty cells for None)."""
    table = pd.DataFrame(rows, columns=QUANTILE_TABLE_COLUMNS)
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n", na_rep="", float_format="%.10g")
    path.write_text(buf.getvalue(), encoding="utf-8")


def _built_at_utc() -> str:
    """Build time (UTC, ISO 8601); ``SOURCE_DATE_EPOCH`` pins it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC) if epoch else dt.datetime.now(tz=dt.UTC)
    return now.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256_of(paths: Iterable[Path]) -> str:
    """One SHA-256 over the inputs (sorted by name), to tell whether raw data changed."""
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.name):
        h.update(p.name.encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


_ELECTRICITYMAPS_LICENCE = (
    "Electricity Maps data: ODbL-1.0 as stated by the sustain-cluster repository (MIT code); "
    "attribute Electricity Maps; ODbL share-alike applies to derived databases; check current "
    "Electricity Maps terms before redistribution"
)
_PRICE_LICENCE = (
    "sustain-cluster repository MIT; underlying prices remain under each market operator's "
    "terms (CAISO, NYISO, PJM, ERCOT, ENTSO-E, JEPX, USEP, KPX, IEX, AEMO, CCEE, IESO, CDEC, "
    "Eskom); only aggregated statistics are shipped"
)
_OPENMETEO_LICENCE = "Open-Meteo historical weather API data: CC-BY-4.0 (attribute Open-Meteo)"
_ECOLOGITS_LICENCE = "ecologits 0.11.3: MPL-2.0"
_CODECARBON_LICENCE = "codecarbon 3.3.2: MIT (country mix from Ember / Our World in Data)"
_AZURE_LICENCE = "CC-BY-4.0 (cite Patel et al., Splitwise, ISCA 2024)"


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def build_profiles(data_dir: Path, out_dir: Path) -> list[Path]:
    """Derive the bundled profiles from the raw data in ``data_dir`` into ``out_dir``.

    Writes ``grid_month_hour.csv`` (g/kWh, USD/MWh, °C, L/kWh), ``grid_month_quantiles.csv``
    (the same units), ``regions.yaml`` (degrees, L/kWh, g/kWh), ``requests_azure2023.json``
    (tokens, seconds, 1/s), ``zone_rtt_azure_p95.csv`` (ms) and ``MANIFEST.csv``, and returns
    their paths in that order. Raises ``FileNotFoundError`` for a missing input file and
    ``ValueError`` for inputs that are not complete hourly series.
    """
    data_dir = Path(data_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    zones = _discover_zones(data_dir)
    mixes = _load_mixes(data_dir)
    world = mixes["WOR"]
    country_mix = json.loads((data_dir / _COUNTRY_MIX).read_text(encoding="utf-8"))
    ewif_notes: list[str] = []

    tables: list[pd.DataFrame] = []
    quantile_rows: list[dict[str, Any]] = []
    regions: list[dict[str, Any]] = []
    inputs: dict[str, list[Path]] = {"grid": [], "regions": [], "requests": []}
    no_price: list[str] = []
    ewif_world: list[str] = []
    for zone in zones:
        info = ZONES[zone]
        carbon = _read_carbon(data_dir, zone)
        price = _read_price(data_dir, zone)
        wetbulb, meta = _read_weather(data_dir, zone)
        hourly_ewif, repairs = _read_ewif(data_dir, zone)
        ewif_notes += repairs
        ewif_country = _country_ewif(country_mix[info.country_iso3], EWIF_TABLE)
        ewif_value = hourly_ewif if hourly_ewif is not None else ewif_country
        tables.append(_zone_table(zone, carbon, price, wetbulb, ewif_value))
        quantile_rows += _zone_quantiles(zone, carbon, price, wetbulb, ewif_value)
        residual_corr = _residual_correlation(carbon["carbon"], price, wetbulb)
        latent_corr = _latent_residual_correlation(carbon["carbon"], price, wetbulb)
        if hourly_ewif is not None:
            inputs["grid"].append(data_dir / _EIA.format(ba=EIA_BALANCING_AUTHORITY[zone]))
        carbon_path = data_dir / _CARBON.format(zone=zone, year=YEAR)
        weather_path = data_dir / _WEATHER.format(zone=zone, year=YEAR)
        inputs["grid"] += [carbon_path, weather_path]
        inputs["regions"] += [carbon_path, weather_path]
        if price is None:
            no_price.append(zone)
        else:
            inputs["grid"].append(data_dir / _PRICE.format(zone=zone, year=YEAR))

        mix = mixes.get(info.country_iso3)
        warnings = (mix or {}).get("warnings") or []
        world_default = mix is None or "electricity-mix-wue-world" in warnings
        if world_default:
            ewif_world.append(zone)
        ewif_ecologits = float((world if mix is None else mix)["wue"])
        ewif = float(hourly_ewif.mean()) if hourly_ewif is not None else ewif_country
        regions.append(
            {
                "zone": zone,
                "display_name": info.display_name,
                "continent": info.continent,
                "country_iso3": info.country_iso3,
                "electricitymaps_zone_id": carbon.attrs["em_zone_id"],
                "latitude": _r(meta["latitude"], 8, 4),
                "longitude": _r(meta["longitude"], 8, 4),
                "timezone": meta["timezone"],
                "ewif_l_per_kwh": _r(ewif, 5, 4),
                "ewif_source": (
                    f"EIA-930 2022 hourly fuel mix of {EIA_BALANCING_AUTHORITY[zone]}, "
                    f"{EWIF_TABLE} factors"
                    if hourly_ewif is not None
                    else f"codecarbon 2023 annual {info.country_iso3} generation mix, "
                    f"{EWIF_TABLE} factors"
                ),
                "ewif_ecologits_l_per_kwh": _r(ewif_ecologits, 5, 4),
                "ewif_ecologits_is_world_default": bool(world_default),
                "carbon_g_per_kwh_annual_mean_2023": _r(carbon["carbon"].mean(), 5, 1),
                "carbon_lca_g_per_kwh_annual_mean_2023": _r(carbon["carbon_lca"].mean(), 5, 1),
                "carbon_estimated_fraction_2023": _r(carbon["estimated"].mean(), 3, 3),
                "has_price": price is not None,
                "price_market": info.price_market if price is not None else None,
                "price_usd_per_mwh_annual_mean_2023": (
                    _r(price.mean(), 5, 2) if price is not None else None
                ),
                "wetbulb_c_annual_mean_2023": _r(wetbulb.mean(), 4, 2),
                "residual_correlation": residual_corr,
                "nscore_residual_correlation": latent_corr,
                "weather_hours_outside_stull_range": meta["outside_stull_range_h"],
            }
        )
    inputs["regions"] += [data_dir / _MIXES, data_dir / _COUNTRY_MIX]
    inputs["grid"].append(data_dir / _COUNTRY_MIX)

    paths: list[Path] = []
    grid_path = out_dir / GRID_FILE
    _write_grid(pd.concat(tables, ignore_index=True), grid_path)
    paths.append(grid_path)
    quantile_path = out_dir / QUANTILE_FILE
    _write_quantiles(quantile_rows, quantile_path)
    paths.append(quantile_path)

    regions_doc = {
        "format": "slit.regions/1",
        "year": YEAR,
        "sources": (
            "Location and time zone: Open-Meteo historical weather API (CC-BY-4.0), top-level "
            "fields of the weather file of each zone (the point whose weather is used). "
            "ewif_l_per_kwh: mean water consumed per kWh generated (L/kWh), from the "
            f"per-fuel factors '{EWIF_TABLE}' (Li et al. 2023) applied to the EIA-930 2022 "
            "hourly fuel mix of the zone's balancing authority (US zones) or to the 2023 annual "
            "country generation mix shipped with codecarbon 3.3.2 (MIT; Ember/OWID data); "
            "ewif_source says which. ewif_ecologits_l_per_kwh: the country value of ecologits "
            "0.11.3 (MPL-2.0) for comparison; ewif_ecologits_is_world_default marks countries "
            f"that take its world default of {world['wue']} L/kWh. carbon_*_annual_mean_2023: "
            "mean of the "
            "2023 hourly Electricity Maps data (attribute Electricity Maps; ODbL). "
            "residual_correlation: correlation of the hourly carbon, price and wet-bulb residuals "
            "about their month-hour means in 2023; nscore_residual_correlation: the same for "
            "the residuals of the monthly normal scores about their month-hour means (the "
            "correlation of the profile generator's latent noise). "
            "display_name, continent and country_iso3 are entered by hand. The "
            "electricitymaps_zone_id is the zone id inside the data file, which for some "
            "zones differs from the slit zone key (e.g. BR-SP data are for BR-CS)."
        ),
        "zones_without_price": no_price,
        "zones_with_ecologits_world_default_ewif": ewif_world,
        "regions": regions,
    }
    regions_path = out_dir / REGIONS_FILE
    regions_path.write_text(
        yaml.safe_dump(regions_doc, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )
    paths.append(regions_path)

    requests_doc = {
        "format": "slit.request-profiles/1",
        "notes": (
            "Statistics of the Azure LLM inference traces of 2023 (Azure/AzurePublicDataset, "
            "CC-BY-4.0; Patel et al., Splitwise, ISCA 2024). Token quantiles use linear "
            "interpolation between order statistics. per_minute_rate_shape holds the arrival "
            "count in each whole minute from the first arrival, divided by its mean. "
            "Timestamps of the trace are wall-clock values without a stated time zone."
        ),
        "profiles": {
            f"azure2023-{kind}": _request_stats(data_dir, kind) for kind in ("conv", "code")
        },
    }
    inputs["requests"] = [data_dir / _AZURE.format(kind=k) for k in ("conv", "code")]
    requests_path = out_dir / REQUESTS_FILE
    requests_path.write_text(json.dumps(requests_doc, indent=1) + "\n", encoding="utf-8")
    paths.append(requests_path)

    rtt = derive_zone_rtt_table(data_dir, zones)
    fit_a, fit_b, fit_r2 = fit_distance_model(
        read_rtt_matrix(data_dir / RTT_FILES["azure"], "azure"), "azure"
    )
    rtt_path = write_zone_rtt_table(rtt, out_dir / ZONE_RTT_FILE)
    paths.append(rtt_path)
    n_measured = int((rtt["method"] == "measured").sum())
    n_distance = int((rtt["method"] == "distance").sum())

    built = _built_at_utc()
    price_note = (
        f"; no price file for {', '.join(no_price)} (price columns left empty)" if no_price else ""
    )
    rows = [
        {
            "file": GRID_FILE,
            "derived_from": (
                f"{_CARBON.format(zone='<ZONE>', year=YEAR)}; "
                f"{_PRICE.format(zone='<ZONE>', year=YEAR)}; "
                f"{_WEATHER.format(zone='<ZONE>', year=YEAR)}; "
                f"{_EIA.format(ba='<BA>')}; {_COUNTRY_MIX}"
            ),
            "source": (
                "Electricity Maps hourly carbon intensity and standardised wholesale prices via "
                "github:HewlettPackard/sustain-cluster@293fbd15; Open-Meteo historical weather "
                "via the same repository; EWIF from US EIA-930 hourly fuel mix via "
                "github:HewlettPackard/dc-rl@a92b4755 (US zones) and pypi:codecarbon==3.3.2 "
                f"annual country mix (others), per-fuel factors {EWIF_TABLE}"
                + price_note
                + (f"; EWIF repairs: {'; '.join(ewif_notes)}" if ewif_notes else "")
            ),
            "licence": f"{_ELECTRICITYMAPS_LICENCE} | prices: {_PRICE_LICENCE} | "
            f"weather: {_OPENMETEO_LICENCE} | EIA-930: US public domain | {_CODECARBON_LICENCE}",
            "date_range": f"{YEAR}-01-01/{YEAR}-12-31 (carbon, prices: UTC; weather: local "
            "calendar year shifted to UTC); EWIF: 2022 (EIA-930) or 2023 (country mix)",
            "units": "carbon gCO2eq/kWh; price USD/MWh; wet-bulb degC (Stull 2011); EWIF L/kWh; "
            "lag1 dimensionless; nscore standard-normal units",
            "inputs_sha256": _sha256_of(inputs["grid"]),
        },
        {
            "file": QUANTILE_FILE,
            "derived_from": (
                f"{_CARBON.format(zone='<ZONE>', year=YEAR)}; "
                f"{_PRICE.format(zone='<ZONE>', year=YEAR)}; "
                f"{_WEATHER.format(zone='<ZONE>', year=YEAR)}; {_EIA.format(ba='<BA>')}"
            ),
            "source": (
                "Monthly quantiles (linear interpolation between order statistics; p0 and p100 "
                "the observed minimum and maximum), the 2nd-10th smallest and largest values, "
                "hour-to-hour lag-1 autocorrelation of the "
                "values, and the generator's AR(1) coefficient calibrated by simulation "
                f"({_CALIBRATION_MONTHS} months, seed {_CALIBRATION_SEED}) of: Electricity Maps "
                "hourly carbon intensity and standardised wholesale prices via "
                "github:HewlettPackard/sustain-cluster@293fbd15; Open-Meteo historical weather "
                "via the same repository; EWIF from US EIA-930 hourly fuel mix via "
                f"github:HewlettPackard/dc-rl@a92b4755, per-fuel factors {EWIF_TABLE} (US zones "
                "only; other zones' EWIF is one annual value and has no rows)" + price_note
            ),
            "licence": f"{_ELECTRICITYMAPS_LICENCE} | prices: {_PRICE_LICENCE} | "
            f"weather: {_OPENMETEO_LICENCE} | EIA-930: US public domain",
            "date_range": f"{YEAR}-01-01/{YEAR}-12-31 (carbon, prices: UTC; weather: local "
            "calendar year shifted to UTC); EWIF: 2022 (EIA-930)",
            "units": "quantiles in the signal's unit (gCO2eq/kWh, USD/MWh, degC, L/kWh); "
            "lag1 and phi dimensionless; hours count",
            "inputs_sha256": _sha256_of([p for p in inputs["grid"] if "codecarbon" not in p.name]),
        },
        {
            "file": REGIONS_FILE,
            "derived_from": (
                f"{_WEATHER.format(zone='<ZONE>', year=YEAR)} (location, timezone); {_MIXES}; "
                f"{_CARBON.format(zone='<ZONE>', year=YEAR)}; {_EIA.format(ba='<BA>')}; "
                f"{_COUNTRY_MIX}"
            ),
            "source": (
                "Open-Meteo via github:HewlettPackard/sustain-cluster@293fbd15; "
                "pypi:ecologits==0.11.3 electricity_mixes.json; Electricity Maps via "
                "github:HewlettPackard/sustain-cluster@293fbd15"
                + "; pypi:codecarbon==3.3.2 global_energy_mix.json; EIA-930 via "
                "github:HewlettPackard/dc-rl@a92b4755"
                + (
                    f"; ecologits world-default EWIF for {', '.join(ewif_world)}"
                    if ewif_world
                    else ""
                )
            ),
            "licence": f"{_OPENMETEO_LICENCE} | {_ECOLOGITS_LICENCE} | {_ELECTRICITYMAPS_LICENCE}"
            f" | {_CODECARBON_LICENCE} | EIA-930: US public domain",
            "date_range": f"{YEAR} (carbon means); EWIF 2022 (EIA-930) or 2023 (country mix)",
            "units": "degrees; L/kWh; gCO2eq/kWh; USD/MWh; degC",
            "inputs_sha256": _sha256_of(inputs["regions"]),
        },
        {
            "file": REQUESTS_FILE,
            "derived_from": _AZURE.format(kind="{conv,code}"),
            "source": "github:Azure/AzurePublicDataset@b469a113 (AzureLLMInferenceTrace 2023)",
            "licence": _AZURE_LICENCE,
            "date_range": "2023-11-16 18:15 to 19:14 (trace wall clock)",
            "units": "tokens; s; requests/s; dimensionless (rho, CV, rate shape)",
            "inputs_sha256": _sha256_of(inputs["requests"]),
        },
    ]
    rows.append(
        {
            "file": ZONE_RTT_FILE,
            "derived_from": RTT_FILES["azure"],
            "source": (
                "Azure network round-trip latency statistics (Microsoft Learn, "
                "articles/networking/azure-network-latency.md, 30-day P95 window ending "
                "2026-07-30) via github:mbender-ms/azure-docs@5b3e2055; zone pairs through the "
                f"primary Azure region of each zone (slit/data/catalog/cloud_regions.yaml): "
                f"{n_measured} measured, {n_distance} from the line fitted to the measured "
                f"region pairs (rtt_ms = {fit_a:.1f} + {fit_b:.5f} km, R2 {fit_r2:.2f}), "
                "same-zone pairs take the 2 ms base RTT"
            ),
            "licence": "CC-BY-4.0 (attribute Microsoft, Azure network latency statistics)",
            "date_range": "30 days ending 2026-07-30",
            "units": "ms (round-trip, P95)",
            "inputs_sha256": _sha256_of([data_dir / RTT_FILES["azure"]]),
        }
    )
    manifest_path = out_dir / MANIFEST_FILE
    fields = ["file", "derived_from", "source", "licence", "date_range", "units", "builder",
              "built_at_utc", "inputs_sha256"]  # fmt: skip
    with manifest_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({**row, "builder": "slit.builders.profiles", "built_at_utc": built})
    paths.append(manifest_path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m slit.builders.profiles --from DATA_DIR --out OUT_DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m slit.builders.profiles",
        description="Derive slit's bundled grid, region and request profiles from raw data.",
    )
    parser.add_argument(
        "--from",
        dest="data_dir",
        type=Path,
        required=True,
        help="folder holding the raw data (carbon/, prices/, weather/, ...)",
    )
    parser.add_argument(
        "--out", dest="out_dir", type=Path, required=True, help="folder to write the profiles to"
    )
    args = parser.parse_args(argv)
    try:
        paths = build_profiles(args.data_dir, args.out_dir)
    except (FileNotFoundError, ValueError, KeyError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(f"{p.name}\t{p.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

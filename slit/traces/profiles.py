"""Bundled profiles and the synthetic series drawn from them.

slit ships statistics, not raw third-party series (see ``docs/traces.md``). This module loads
them from ``slit/data/profiles`` and turns them into inputs for the simulator:

- :func:`grid_series_from_profile` draws hourly carbon intensity, electricity price and wet-bulb
  temperature for a zone as month-hour mean plus persistent (AR(1)) noise scaled by the
  month-hour standard deviation, and adds the zone's constant water intensity of electricity;
- :func:`sample_token_lengths` draws correlated prompt/output token counts from the stored
  quantiles of a request trace through a Gaussian copula.

The profiles are produced by :mod:`slit.traces.build`.
"""

from __future__ import annotations

import copy
import json
import math
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

GRID_FILE = "grid_month_hour.csv"
REGIONS_FILE = "regions.yaml"
REQUESTS_FILE = "requests_azure2023.json"
ZONE_RTT_FILE = "zone_rtt_azure_p95.csv"

FloatArray = npt.NDArray[np.float64]

SERIES_COLUMNS = ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c", "ewif_l_per_kwh")
"""Columns of :func:`grid_series_from_profile`, the same names the grid signals use."""


def bundled_profiles_dir() -> Path:
    """Folder of the profiles shipped inside the installed ``slit`` package."""
    # importlib.resources finds the package data wherever slit is installed (checkout, wheel,
    # site-packages); slit is a regular package on disk, so the result is a real path.
    return Path(str(files("slit") / "data" / "profiles"))


def _dir(profiles_dir: Path | str | None) -> Path:
    return bundled_profiles_dir() if profiles_dir is None else Path(profiles_dir)


# Loaded files are cached per folder; the public loaders hand out copies so that a caller
# cannot alter what the next caller sees.
@lru_cache(maxsize=8)
def _catalog_cached(folder: str) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((Path(folder) / REGIONS_FILE).read_text(encoding="utf-8"))
    return {str(r["zone"]): r for r in doc["regions"]}


@lru_cache(maxsize=8)
def _grid_cached(folder: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / GRID_FILE, dtype={"zone": str})


@lru_cache(maxsize=8)
def _requests_cached(folder: str) -> dict[str, Any]:
    return json.loads((Path(folder) / REQUESTS_FILE).read_text(encoding="utf-8"))


def load_region_catalog(profiles_dir: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """Zones of ``regions.yaml`` keyed by zone id.

    Each entry holds ``zone``, ``display_name``, ``continent``, ``country_iso3``,
    ``latitude``/``longitude`` (degrees), ``timezone`` (IANA name), ``ewif_l_per_kwh`` (litres
    of water consumed off-site per kWh of electricity) and ``ewif_source``,
    ``carbon_g_per_kwh_annual_mean_2023`` (gCO2eq/kWh), ``has_price`` and a few more facts
    described in ``docs/traces.md``. ``profiles_dir`` defaults to the bundled profiles.
    """
    return copy.deepcopy(_catalog_cached(str(_dir(profiles_dir))))


def load_grid_profile(profiles_dir: Path | str | None = None) -> pd.DataFrame:
    """The month-hour table ``grid_month_hour.csv`` (one row per zone, UTC month, UTC hour).

    Columns: ``zone``, ``month`` (1–12), ``hour_utc`` (0–23), mean and sample standard deviation
    of ``carbon_g_per_kwh`` and ``carbon_lca_g_per_kwh`` (gCO2eq/kWh), ``price_usd_per_mwh``
    (USD/MWh; NaN for zones without price data) and ``wetbulb_c`` (°C), each as ``<name>_mean``
    and ``<name>_std``, and the lag-1 autocorrelations ``lag1_autocorr`` (carbon),
    ``price_lag1_autocorr`` and ``wetbulb_lag1_autocorr`` of the standardised hourly residuals.
    """
    return _grid_cached(str(_dir(profiles_dir))).copy()


def _ar1_unit(
    phi: npt.NDArray[np.float64], eps: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """AR(1) noise with unit stationary variance: e_t = phi_t·e_{t-1} + sqrt(1 − phi_t²)·eps_t.

    e_0 = eps_0 starts the process in its stationary distribution, and the innovation scale
    sqrt(1 − phi²) keeps the variance at 1 even when phi changes from month to month.
    """
    e = np.empty_like(eps)
    if eps.size == 0:
        return e
    scale = np.sqrt(1.0 - phi**2)
    e[0] = eps[0]
    prev = eps[0]
    for t in range(1, eps.size):
        prev = phi[t] * prev + scale[t] * eps[t]
        e[t] = prev
    return e


def residual_correlation(zone: str, profiles_dir: Path | str | None = None) -> FloatArray:
    """Correlation matrix of the standardised hourly residuals of carbon, price, wet-bulb.

    From ``residual_correlation`` in ``regions.yaml`` (measured on 2023 data); an identity for
    profiles built without it, and zero correlation with price where a zone has no prices.
    """
    entry = _catalog_cached(str(_dir(profiles_dir))).get(zone, {})
    rc = entry.get("residual_correlation") or {}
    out = np.eye(3)
    for (i, j), key in {(0, 1): "carbon_price", (0, 2): "carbon_wetbulb",
                        (1, 2): "price_wetbulb"}.items():  # fmt: skip
        value = rc.get(key)
        if value is not None and np.isfinite(value):
            out[i, j] = out[j, i] = float(value)
    return out


def _correlate(eps: FloatArray, corr: FloatArray, phis: FloatArray,
               month: npt.NDArray[np.int64]) -> FloatArray:  # fmt: skip
    """Mix independent innovations so that the AR(1) outputs have correlation ``corr``.

    AR(1) processes with coefficients phi_i, phi_j driven by innovations of correlation r have a
    lag-0 correlation r·sqrt((1-phi_i²)(1-phi_j²))/(1-phi_i·phi_j); the innovations therefore
    get r' = corr·(1-phi_i·phi_j)/sqrt((1-phi_i²)(1-phi_j²)) per month, projected onto the
    nearest valid correlation matrix when that leaves it, and are mixed by its Cholesky factor.
    Carbon's innovations (the first row) are left as drawn.
    """
    if np.allclose(corr, np.eye(3)) or eps.shape[1] == 0:
        return eps
    out = eps.copy()
    for mo in np.unique(month):
        sel = month == mo
        phi = phis[:, np.flatnonzero(sel)[0]]
        scale = np.sqrt(1.0 - phi**2)
        adj = corr * (1.0 - np.outer(phi, phi)) / np.outer(scale, scale)
        np.fill_diagonal(adj, 1.0)
        w, v = np.linalg.eigh(adj)
        if w.min() < 1e-6:  # not positive definite: clip eigenvalues, renormalise
            adj = v @ np.diag(np.maximum(w, 1e-6)) @ v.T
            d = np.sqrt(np.diag(adj))
            adj = adj / np.outer(d, d)
        out[:, sel] = np.linalg.cholesky(adj) @ eps[:, sel]
    return out


def grid_series_from_profile(
    zone: str,
    start_utc: pd.Timestamp,
    hours: int,
    rng: np.random.Generator,
    noise_scale: float = 1.0,
    *,
    carbon_basis: str = "direct",
    profiles_dir: Path | str | None = None,
) -> pd.DataFrame:
    """Synthetic hourly grid signals of ``zone`` for ``hours`` hours from ``start_utc``.

    For a signal x with month-hour mean mu_{m,h}, standard deviation sigma_{m,h} and lag-1
    autocorrelation phi_m in the profile, the value at UTC hour t (month m(t), hour h(t)) is

        x_t = mu_{m,h} + noise_scale · sigma_{m,h} · e_t,
        e_t = phi_{m(t)} · e_{t-1} + sqrt(1 − phi_{m(t)}²) · eps_t,   eps_t ~ N(0, 1),

    so that e has unit stationary variance and the same hour-to-hour persistence as the real
    residuals. The innovations of carbon, price and wet-bulb temperature are correlated so that
    their residuals keep the correlation measured in 2023 (:func:`residual_correlation`).

    Returns a DataFrame indexed by a tz-aware UTC ``DatetimeIndex`` named ``time_utc`` (hourly
    steps) with columns ``carbon_g_per_kwh`` (gCO2eq/kWh, clipped at 0), ``price_usd_per_mwh``
    (USD/MWh; negative prices are kept; NaN for zones without price data, see the catalog's
    ``has_price``), ``wetbulb_c`` (°C) and ``ewif_l_per_kwh`` (L/kWh, clipped at 0; the zones
    whose EWIF comes from an annual mix have zero spread, so it is constant there). EWIF noise
    is independent of the others (its data are of another year) and drawn last.

    Args:
        zone: zone id of the bundled profile (e.g. ``"US-CAL-CISO"``).
        start_utc: first timestamp; a naive timestamp is taken as UTC, an aware one is
            converted. Any year may be used: the profile is of a typical year.
        hours: number of hourly rows (≥ 0).
        rng: NumPy generator; the same generator state gives the same series.
        noise_scale: multiplier of the standard deviation (0 returns the month-hour means).
        carbon_basis: ``"direct"`` (operational emissions) or ``"lca"`` (life-cycle).
        profiles_dir: profile folder; defaults to the bundled one.

    Raises:
        KeyError: unknown zone; the message lists the valid zones.
        ValueError: negative ``hours`` or ``noise_scale``, or an unknown ``carbon_basis``.
    """
    folder = str(_dir(profiles_dir))
    grid = _grid_cached(folder)
    catalog = _catalog_cached(folder)
    valid = sorted(set(grid["zone"]) & set(catalog))
    if zone not in valid:
        raise KeyError(f"unknown grid zone {zone!r}; valid zones: {', '.join(valid)}")
    if hours < 0:
        raise ValueError(f"hours must be >= 0, got {hours}")
    if not noise_scale >= 0:
        raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
    carbon_prefix = {"direct": "carbon_g_per_kwh", "lca": "carbon_lca_g_per_kwh"}.get(carbon_basis)
    if carbon_prefix is None:
        raise ValueError(f"carbon_basis must be 'direct' or 'lca', got {carbon_basis!r}")

    start = pd.Timestamp(start_utc)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    index = pd.date_range(start, periods=int(hours), freq="h", name="time_utc")

    # A (12 × 24) grid of each statistic, so that every timestamp looks up its own cell.
    table = (
        grid[grid["zone"] == zone]
        .set_index(["month", "hour_utc"])
        .reindex(pd.MultiIndex.from_product([range(1, 13), range(24)]))
    )

    def cells(column: str) -> npt.NDArray[np.float64]:
        return table[column].to_numpy(float).reshape(12, 24)

    m = index.month.to_numpy() - 1
    h = index.hour.to_numpy()
    signals = [
        ("carbon_g_per_kwh", carbon_prefix, "lag1_autocorr"),
        ("price_usd_per_mwh", "price_usd_per_mwh", "price_lag1_autocorr"),
        ("wetbulb_c", "wetbulb_c", "wetbulb_lag1_autocorr"),
    ]
    # A missing coefficient (zone without prices) becomes white noise; the values stay NaN
    # through the mean anyway.
    phis = np.stack(
        [np.clip(np.nan_to_num(cells(lag)[m, h], nan=0.0), -0.999, 0.999) for *_, lag in signals]
    )
    # One row of innovations per signal, drawn together so the draw order is fixed, then mixed
    # so that the residuals of carbon, price and wet-bulb keep their measured correlation.
    eps = rng.standard_normal((3, len(index)))
    eps = _correlate(eps, residual_correlation(zone, profiles_dir), phis, m)
    out: dict[str, npt.NDArray[np.float64]] = {}
    for row, (name, prefix, _) in enumerate(signals):
        mean = cells(f"{prefix}_mean")[m, h]
        std = cells(f"{prefix}_std")[m, h]
        noise = _ar1_unit(phis[row], eps[row])
        # noise_scale = 0 must return the means exactly, so skip the product (0 · NaN std).
        out[name] = mean + noise_scale * std * noise if noise_scale > 0 else mean.copy()
    out["carbon_g_per_kwh"] = np.clip(out["carbon_g_per_kwh"], 0.0, None)
    if "ewif_l_per_kwh_mean" in table.columns:
        # Drawn after the other signals so that adding EWIF did not change their series.
        mean = cells("ewif_l_per_kwh_mean")[m, h]
        std = np.nan_to_num(cells("ewif_l_per_kwh_std")[m, h], nan=0.0)
        phi = np.nan_to_num(cells("ewif_lag1_autocorr")[m, h], nan=0.0)
        eps_w = rng.standard_normal(len(index))
        noise = _ar1_unit(np.clip(phi, -0.999, 0.999), eps_w)
        ewif = mean + noise_scale * std * noise if noise_scale > 0 else mean.copy()
        out["ewif_l_per_kwh"] = np.clip(ewif, 0.0, None)
    else:
        out["ewif_l_per_kwh"] = np.full(len(index), float(catalog[zone]["ewif_l_per_kwh"]))
    return pd.DataFrame({c: out[c] for c in SERIES_COLUMNS}, index=index)


def request_profile_names(profiles_dir: Path | str | None = None) -> list[str]:
    """Names of the bundled request profiles (e.g. ``azure2023-conv``)."""
    return sorted(_requests_cached(str(_dir(profiles_dir)))["profiles"])


def load_request_profile(
    name: str = "azure2023-conv", profiles_dir: Path | str | None = None
) -> dict[str, Any]:
    """Request statistics of one bundled trace (``"azure2023-conv"`` or ``"azure2023-code"``).

    Keys: ``requests`` (count), ``duration_s`` (s), ``mean_rate_per_s`` (1/s),
    ``quantile_levels`` with ``prompt_tokens_quantiles`` and ``output_tokens_quantiles``
    (tokens), ``prompt_tokens_mean``/``output_tokens_mean`` (tokens),
    ``spearman_prompt_output``, ``interarrival_cv`` (coefficient of variation of the gaps
    between arrivals) and ``per_minute_rate_shape`` (arrivals per minute divided by their mean;
    ``minute_bin_s`` = 60 s). Raises ``KeyError`` listing the valid names for an unknown one.
    """
    profiles = _requests_cached(str(_dir(profiles_dir)))["profiles"]
    if name not in profiles:
        raise KeyError(f"unknown request profile {name!r}; valid: {', '.join(sorted(profiles))}")
    return {"name": name, **copy.deepcopy(profiles[name])}


def _std_normal_cdf(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Phi(z) = erfc(−z/√2)/2; erfc keeps precision in the lower tail."""
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return 0.5 * np.asarray(erfc(-np.asarray(z, float) / math.sqrt(2.0)), dtype=float)


def sample_token_lengths(
    profile: dict[str, Any], n: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Draw ``n`` (prompt tokens, output tokens) pairs from a request profile.

    Marginals follow the stored quantiles by inverse-CDF sampling with linear interpolation
    between the quantile knots. The dependence between prompt and output length is a Gaussian
    copula: the stored Spearman rank correlation rho_s becomes the normal correlation
    r = 2·sin(π·rho_s/6) (exact for a Gaussian copula), the two standard normals
    (z1, r·z1 + sqrt(1 − r²)·z2) are mapped to uniforms by the normal CDF, and the uniforms to
    token counts. Counts are rounded to integers and are at least 1.

    Returns two int64 arrays of length ``n`` (tokens). The same ``rng`` state gives the same
    draws. Raises ``ValueError`` for negative ``n``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    levels = np.asarray(profile["quantile_levels"], float)
    prompt_q = np.asarray(profile["prompt_tokens_quantiles"], float)
    output_q = np.asarray(profile["output_tokens_quantiles"], float)
    rho_s = float(profile.get("spearman_prompt_output", 0.0))
    r = 2.0 * math.sin(math.pi * rho_s / 6.0)
    z = rng.standard_normal((2, int(n)))
    u_prompt = _std_normal_cdf(z[0])
    u_output = _std_normal_cdf(r * z[0] + math.sqrt(max(0.0, 1.0 - r * r)) * z[1])
    prompt = np.interp(u_prompt, levels, prompt_q)
    output = np.interp(u_output, levels, output_q)
    return (
        np.maximum(np.rint(prompt), 1).astype(np.int64),
        np.maximum(np.rint(output), 1).astype(np.int64),
    )


@lru_cache(maxsize=8)
def _zone_rtt_cached(folder: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / ZONE_RTT_FILE, dtype={"src_zone": str, "dst_zone": str})


def load_zone_rtt_table(profiles_dir: Path | str | None = None) -> pd.DataFrame:
    """Zone-to-zone RTT (ms) derived from the Azure P95 latency statistics.

    Long format: ``src_zone``, ``dst_zone``, ``rtt_ms``, ``provider``, ``statistic`` and
    ``method`` (``measured``, ``distance`` for pairs the table lacks, ``base`` for a zone with
    itself). Built by :mod:`slit.traces.build`; see ``docs/network.md``.
    """
    return _zone_rtt_cached(str(_dir(profiles_dir))).copy()

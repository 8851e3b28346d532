"""Bundled profiles and the synthetic series drawn from them.

slit ships statistics, not raw third-party series (see ``docs/traces.md``). This module loads
them from ``traces/`` and turns them into inputs for the simulator:

- :func:`grid_series_from_profile` draws hourly carbon intensity, electricity price, wet-bulb
  temperature and water intensity of electricity for a zone through a Gaussian copula: persistent
  (AR(1)) latent noise about each month-hour's normal-score shape, mapped through the source's
  monthly quantiles, so that generated values keep the source's range, monthly quantiles, daily
  cycle and hour-to-hour autocorrelation;
- :func:`sample_token_lengths` draws correlated prompt/output token counts from the stored
  quantiles of a request trace through a Gaussian copula.

The profiles are produced by :mod:`slit.builders.profiles`.
"""

from __future__ import annotations

import copy
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

# the region catalogue's home is slit.catalogue; its names stay importable from here
from slit.catalogue.regions import REGIONS_FILE as REGIONS_FILE
from slit.catalogue.regions import bundled_profiles_dir as bundled_profiles_dir
from slit.catalogue.regions import load_region_catalog as load_region_catalog
from slit.catalogue.regions import profiles_folder, regions_cached

GRID_FILE = "grid_month_hour.csv"
QUANTILE_FILE = "grid_month_quantiles.csv"
REQUESTS_FILE = "requests_azure2023.json"
ZONE_RTT_FILE = "zone_rtt_azure_p95.csv"

FloatArray = npt.NDArray[np.float64]

SERIES_COLUMNS = ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c", "ewif_l_per_kwh")
"""Columns of :func:`grid_series_from_profile`, the same names the grid signals use."""

QUANTILE_LEVELS: tuple[float, ...] = (
    0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0,
)  # fmt: skip
"""Probability levels of the monthly quantiles in ``grid_month_quantiles.csv``.

0 and 1 are the observed minimum and maximum, so that the generated values never leave the
observed range. Quantiles are numpy's default (linear interpolation between order statistics).
"""

EXTREME_COUNT = 10
"""Number of smallest and largest values of each month stored as they are (``low1``… are p0…).

The tails of a month are kept at full resolution: the 2nd…10th smallest (``low2``…``low10``) and
largest (``high2``…``high10``) hourly values, at the positions (k − 1)/(n − 1) that numpy's
quantile gives the k-th order statistic of n. A heavy-tailed price that stays flat up to its
p99 and then jumps to its spikes is thus drawn with the jump where the data have it, not as a
ramp between two sparse knots (which lifted a generated p99 by up to 19 %), and a month's p1
and p99 (within the 10 extremes for months of 672–744 hours) are reproduced exactly.
"""


def quantile_column(level: float) -> str:
    """Column name of a quantile level in ``grid_month_quantiles.csv``: 0.01 -> ``p1``."""
    return "p" + f"{100.0 * level:.6f}".rstrip("0").rstrip(".")


QUANTILE_COLUMNS: tuple[str, ...] = tuple(quantile_column(q) for q in QUANTILE_LEVELS)
"""``p0``, ``p1``, ``p2``, ``p5``, ``p10``, …, ``p99``, ``p100``."""

EXTREME_COLUMNS: tuple[str, ...] = tuple(
    [f"low{k}" for k in range(2, EXTREME_COUNT + 1)]
    + [f"high{k}" for k in range(EXTREME_COUNT, 1, -1)]
)
"""``low2`` … ``low10``, ``high10`` … ``high2`` (see :data:`EXTREME_COUNT`)."""


def quantile_knots(row: pd.Series | dict[str, Any]) -> tuple[FloatArray, FloatArray]:
    """Knots (probability levels, values) of one month's quantile function.

    The union of :data:`QUANTILE_LEVELS` with the stored extremes at their positions
    (k − 1)/(n − 1), n = ``hours``, sorted by level; the generator interpolates linearly between
    them. ``row`` is a row of ``grid_month_quantiles.csv``.
    """
    n = int(row["hours"])
    levels = list(QUANTILE_LEVELS)
    values = [float(row[c]) for c in QUANTILE_COLUMNS]
    span = max(n - 1, 1)
    for k in range(2, EXTREME_COUNT + 1):
        levels += [(k - 1) / span, (n - k) / span]
        values += [float(row[f"low{k}"]), float(row[f"high{k}"])]
    lv = np.asarray(levels, dtype=float)
    vv = np.asarray(values, dtype=float)
    order = np.lexsort((vv, lv))
    return lv[order], vv[order]


LATENT_GRID = np.linspace(-8.0, 8.0, 3201)
"""Points (standard-normal units, step 0.005) at which each month's latent CDF is tabulated."""

LATENT_SIGMA_FLOOR = 0.02
"""Smallest latent spread of a month-hour cell (standard-normal units).

A cell whose values are all equal (a tariff, a price floor) has zero spread in normal-score
space; the floor turns its point mass into a narrow normal so that the monthly latent CDF stays
continuous and invertible. 0.02 is four steps of :data:`LATENT_GRID`.
"""

LATENT_SIGNALS: dict[str, str] = {
    "carbon_g_per_kwh": "carbon_g_per_kwh",
    "carbon_lca_g_per_kwh": "carbon_g_per_kwh",
    "price_usd_per_mwh": "price_usd_per_mwh",
    "wetbulb_c": "wetbulb_c",
    "ewif_l_per_kwh": "ewif_l_per_kwh",
}
"""Signal of the quantile table -> signal whose latent (month-hour shape, persistence) drives it.

Life-cycle carbon shares the latent of direct carbon: within a month the two are almost
monotone in each other (rank correlation at least 0.945 in every zone and month of 2023), so
one draw moves both.
"""


# Loaded files are cached per folder; the public loaders hand out copies so that a caller
# cannot alter what the next caller sees.
@lru_cache(maxsize=8)
def _grid_cached(folder: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / GRID_FILE, dtype={"zone": str})


@lru_cache(maxsize=8)
def _quantile_groups(folder: str) -> dict[tuple[str, str], pd.DataFrame]:
    """The monthly rows (months 1-12, indexed by month) of every (zone, signal) of the
    quantile table, split once: filtering the whole table per zone and signal cost more than
    the rest of a day's run."""
    qt = _quantiles_cached(folder)
    qt = qt[qt["month"] >= 1]
    return {
        (str(z), str(sig)): g.set_index("month").reindex(range(1, 13))
        for (z, sig), g in qt.groupby(["zone", "signal"], sort=False)
    }


@lru_cache(maxsize=8)
def _grid_cells(folder: str) -> dict[str, pd.DataFrame]:
    """Per zone, the month-hour rows of the grid profile on the full 12 x 24 index."""
    full = pd.MultiIndex.from_product([range(1, 13), range(24)])
    return {
        str(z): g.set_index(["month", "hour_utc"]).reindex(full)
        for z, g in _grid_cached(folder).groupby("zone", sort=False)
    }


@lru_cache(maxsize=8)
def _requests_cached(folder: str) -> dict[str, Any]:
    return json.loads((Path(folder) / REQUESTS_FILE).read_text(encoding="utf-8"))


def load_grid_profile(profiles_dir: Path | str | None = None) -> pd.DataFrame:
    """The month-hour table ``grid_month_hour.csv`` (one row per zone, UTC month, UTC hour).

    Columns: ``zone``, ``month`` (1–12), ``hour_utc`` (0–23), mean and sample standard deviation
    of ``carbon_g_per_kwh`` and ``carbon_lca_g_per_kwh`` (gCO2eq/kWh), ``price_usd_per_mwh``
    (USD/MWh; NaN for zones without price data), ``wetbulb_c`` (°C) and ``ewif_l_per_kwh``
    (L/kWh), each as ``<name>_mean`` and ``<name>_std``; the lag-1 autocorrelations
    ``lag1_autocorr`` (carbon), ``price_lag1_autocorr``, ``wetbulb_lag1_autocorr`` and
    ``ewif_lag1_autocorr`` of the standardised hourly residuals; and, for the generator, the
    mean and standard deviation of each signal's monthly normal scores in the cell
    (``<name>_nscore_mean``, ``<name>_nscore_std``, standard-normal units).
    """
    return _grid_cached(str(profiles_folder(profiles_dir))).copy()


@lru_cache(maxsize=8)
def _quantiles_cached(folder: str) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / QUANTILE_FILE, dtype={"zone": str, "signal": str})


def load_grid_quantiles(profiles_dir: Path | str | None = None) -> pd.DataFrame:
    """The source statistics ``grid_month_quantiles.csv`` (one row per zone, signal, month).

    Columns: ``zone``, ``signal`` (``carbon_g_per_kwh``, ``carbon_lca_g_per_kwh``,
    ``price_usd_per_mwh``, ``wetbulb_c``, ``ewif_l_per_kwh``), ``month`` (1–12, and 0 for the
    whole year), ``hours`` (number of hourly values), ``lag1`` (lag-1 autocorrelation of the
    hourly values, over pairs one hour apart inside the month or year), ``phi`` (AR(1)
    coefficient of the generator's latent noise in that month, chosen so that generated months
    reproduce ``lag1``; empty for month 0), the quantiles of the values at
    :data:`QUANTILE_LEVELS`, in the signal's unit, as ``p0`` (observed minimum) … ``p100``
    (observed maximum), and the 2nd…10th smallest and largest values (:data:`EXTREME_COLUMNS`).
    Signals a zone lacks (GB's price; EWIF of zones with one annual value) have no rows.
    """
    return _quantiles_cached(str(profiles_folder(profiles_dir))).copy()


def _ar1_unit(phi: FloatArray, eps: FloatArray) -> FloatArray:
    """AR(1) noise with unit stationary variance: e_t = phi_t·e_{t-1} + sqrt(1 − phi_t²)·eps_t.

    e_0 = eps_0 starts the process in its stationary distribution, and the innovation scale
    sqrt(1 − phi²) keeps the variance at 1 even when phi changes from month to month. Each run
    of equal coefficients is one linear filter, carrying the state across runs.
    """
    e = np.empty_like(eps)
    if eps.size == 0:
        return e
    e[0] = eps[0]
    starts = np.flatnonzero(np.diff(phi)) + 1
    bounds = [1, *starts[starts > 1].tolist(), eps.size]
    prev = eps[0]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if a >= b:
            continue
        p = float(phi[a])
        c = math.sqrt(1.0 - p * p)
        # e_t = c·eps_t + p·e_{t-1}, in the order of operations of scipy.signal.lfilter with
        # state zi = p·e_{a-1} (the same series to the bit) but without importing scipy.signal,
        # which costs over a second at start-up; a run is at most a few thousand steps
        run = eps[a:b].tolist()
        for i, x in enumerate(run):
            prev = c * x + p * prev
            run[i] = prev
        e[a:b] = run
    return e


def _residual_correlation(zone: str, profiles_dir: Path | str | None, key: str) -> FloatArray:
    """The 3 × 3 (carbon, price, wet-bulb) correlation matrix stored under ``key``."""
    entry = regions_cached(str(profiles_folder(profiles_dir))).get(zone, {})
    rc = entry.get(key) or {}
    out = np.eye(3)
    for (i, j), name in {(0, 1): "carbon_price", (0, 2): "carbon_wetbulb",
                         (1, 2): "price_wetbulb"}.items():  # fmt: skip
        value = rc.get(name)
        if value is not None and np.isfinite(value):
            out[i, j] = out[j, i] = float(value)
    return out


def residual_correlation(zone: str, profiles_dir: Path | str | None = None) -> FloatArray:
    """Correlation matrix of the standardised hourly residuals of carbon, price, wet-bulb.

    From ``residual_correlation`` in ``regions.yaml``: residuals (x − mean)/std about the
    month-hour mean and standard deviation of the values, measured on 2023 data. An identity
    for profiles built without it, and zero correlation with price where a zone has no prices.
    The generator reproduces :func:`latent_residual_correlation`, the same quantity in
    normal-score space.
    """
    return _residual_correlation(zone, profiles_dir, "residual_correlation")


def latent_residual_correlation(zone: str, profiles_dir: Path | str | None = None) -> FloatArray:
    """Correlation matrix of the normal-score residuals of carbon, price and wet-bulb.

    From ``nscore_residual_correlation`` in ``regions.yaml``: each signal's values are turned
    into monthly normal scores Φ⁻¹(rank), standardised by the month-hour mean and spread of
    those scores, and correlated hour by hour (2023 data). This is the correlation of the
    generator's latent noise. Identity where it is missing; zero with price for a zone without
    prices.
    """
    return _residual_correlation(zone, profiles_dir, "nscore_residual_correlation")


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


def latent_cdf(mu: FloatArray, sigma: FloatArray) -> FloatArray:
    """CDF of a month's latent value on :data:`LATENT_GRID`.

    In a month the latent at UTC hour h is N(mu_h, sigma_h²) and every hour of the day is
    equally frequent, so its distribution over the month is the mixture
    G(g) = (1/24)·Σ_h Φ((g − mu_h)/sigma_h). ``mu`` and ``sigma`` hold the 24 cells (normal-score
    units; sigma already floored at :data:`LATENT_SIGMA_FLOOR`); returns G at each grid point.
    """
    z = (LATENT_GRID[:, None] - mu[None, :]) / sigma[None, :]
    from scipy.special import ndtr  # imported here: scipy costs ~1 s at start-up

    return np.asarray(ndtr(z).mean(axis=1), dtype=float)


def condition_on_month(e: FloatArray, mu: FloatArray, sigma: FloatArray,
                       cdf: FloatArray) -> FloatArray:  # fmt: skip
    """Latent noise of one calendar month, conditioned on the month's latent distribution.

    ``e`` holds the unit AR(1) noise of the month's hours (last axis; leading axes are
    independent months), ``mu``/``sigma`` the latent cell of each hour and ``cdf`` the month's
    :func:`latent_cdf`. The k-th smallest of the latent values g = mu + sigma·e (k = 1…n) is
    moved to G⁻¹((k − 1)/(n − 1)), the month's latent quantile at that plotting position, and
    the noise is read back as (g' − mu)/sigma. (k − 1)/(n − 1) is the position at which numpy's
    default (linear) sample quantile reads the k-th value, the definition of the stored
    quantiles, so the month's sample quantiles come out as the stored ones, p0 and p100 being
    the observed minimum and maximum; the two end positions are held 1e-9 inside (0, 1) so
    that G⁻¹ stays finite. The ranks, and with them the persistence, the daily
    cycle and the cross-signal dependence of the draw, are kept; only the month's empirical
    distribution is replaced by its expected one, so that a generated month reproduces the
    source month's quantiles instead of scattering about them as a persistent signal's month
    otherwise does (a month of wet-bulb temperature holds only some ten independent values).
    """
    g = mu + sigma * e
    n = g.shape[-1]
    if n == 0:
        return e.copy()
    positions = np.arange(n) / max(n - 1, 1) if n > 1 else np.full(1, 0.5)
    target = np.interp(np.clip(positions, 1e-9, 1.0 - 1e-9), cdf, LATENT_GRID)
    ranks = np.argsort(np.argsort(g, axis=-1, kind="stable"), axis=-1, kind="stable")
    return np.asarray((target[ranks] - mu) / sigma, dtype=float)


def latent_to_values(
    g: FloatArray, cdf: FloatArray, knots: tuple[FloatArray, FloatArray]
) -> FloatArray:
    """Map latent values of a month to the signal's unit: x = Q(G(g)).

    G is the month's :func:`latent_cdf` (interpolated on :data:`LATENT_GRID`) and Q the
    source's monthly quantile function, linear between the :func:`quantile_knots`. The result
    lies in [Q(0), Q(1)], the month's observed minimum and maximum.
    """
    u = np.interp(g, LATENT_GRID, cdf)
    return np.asarray(np.interp(u, knots[0], knots[1]), dtype=float)


class _LatentModel:
    """Tables of one zone and signal for the generator, indexed by month − 1 (0–11)."""

    def __init__(self, mu: FloatArray, sigma: FloatArray, phi: FloatArray,
                 knots: list[tuple[FloatArray, FloatArray]]) -> None:  # fmt: skip
        self.mu = mu  # (12, 24) latent cell means, normal-score units
        self.sigma = sigma  # (12, 24) latent cell spreads, floored
        self.phi = phi  # (12,) AR(1) coefficients
        self.knots = knots  # 12 × (levels, values in the signal's unit)
        # each month's latent CDF, computed when a window first needs that month (a day's run
        # needs one month of twelve; the CDF is the costly part of the tables)
        self._cdf: list[FloatArray | None] = [None] * 12

    def cdf(self, m: int) -> FloatArray:
        """Latent CDF of month index ``m`` (0–11) on :data:`LATENT_GRID`."""
        cdf = self._cdf[m]
        if cdf is None:
            cdf = self._cdf[m] = latent_cdf(self.mu[m], self.sigma[m])
        return cdf


@lru_cache(maxsize=128)
def _latent_model(folder: str, zone: str, signal: str) -> _LatentModel | None:
    """The generator tables of ``signal`` in ``zone``; None where the zone lacks the signal."""
    groups = _quantile_groups(folder)
    rows = groups.get((zone, signal))
    if rows is None or rows.empty:
        return None
    latent = LATENT_SIGNALS[signal]
    phi = groups[(zone, latent)]["phi"].to_numpy(float)
    cells = _grid_cells(folder)[zone]
    mu = cells[f"{latent}_nscore_mean"].to_numpy(float).reshape(12, 24)
    sigma = cells[f"{latent}_nscore_std"].to_numpy(float).reshape(12, 24)
    return _LatentModel(
        np.nan_to_num(mu, nan=0.0),
        np.maximum(np.nan_to_num(sigma, nan=1.0), LATENT_SIGMA_FLOOR),
        np.clip(np.nan_to_num(phi, nan=0.0), -0.999, 0.999),
        [
            quantile_knots({str(k): x for k, x in rows.loc[m].to_dict().items()})
            for m in range(1, 13)
        ],
    )


def _values_from_latent(model: _LatentModel, e: FloatArray, index: pd.DatetimeIndex,
                        noise_scale: float) -> FloatArray:  # fmt: skip
    """Hourly values of one signal from its unit AR(1) noise ``e`` over whole calendar months.

    Each calendar month of ``index`` (which must consist of whole months) is conditioned on its
    latent distribution (:func:`condition_on_month`), scaled by ``noise_scale`` in normal-score
    space and mapped to values (:func:`latent_to_values`).
    """
    out = np.empty(len(index))
    month = index.month.to_numpy() - 1
    hour = index.hour.to_numpy()
    period = index.year.to_numpy() * 12 + month
    cuts = np.flatnonzero(np.diff(period)) + 1
    for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(index)], strict=True):
        m = int(month[a])
        mu = model.mu[m, hour[a:b]]
        sigma = model.sigma[m, hour[a:b]]
        g = mu.copy()
        if noise_scale > 0:
            g += noise_scale * sigma * condition_on_month(e[a:b], mu, sigma, model.cdf(m))
        out[a:b] = latent_to_values(g, model.cdf(m), model.knots[m])
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

    A Gaussian copula with the source's monthly marginals (``docs/traces.md`` gives the
    equations). For a signal in UTC month m and hour h, the latent value is

        g_t = mu_{m,h} + s · sigma_{m,h} · ẽ_t,
        e_t = phi_m · e_{t-1} + sqrt(1 − phi_m²) · eps_t,   eps_t ~ N(0, 1),

    where mu/sigma are the month-hour mean and spread of the source's monthly normal scores
    (the daily shape, ``*_nscore_*`` in ``grid_month_hour.csv``), phi_m is chosen by the builder
    so that generated months have the source's hour-to-hour autocorrelation of the values, ẽ is
    e conditioned so that each calendar month's latent values take the month's latent
    distribution G_m exactly (:func:`condition_on_month`) and s is ``noise_scale``. The value is
    x_t = Q_m(G_m(g_t)) with Q_m the source's quantile function of month m
    (``grid_month_quantiles.csv``). So every value lies between the source month's observed
    minimum and maximum, a generated month (s = 1) has the source month's quantiles, and the
    innovations of carbon, price and wet-bulb are correlated as their normal-score residuals
    were in 2023 (:func:`latent_residual_correlation`). The noise is drawn over the whole
    calendar months that the window touches and then cut to the window, so the conditioning
    never squeezes a month's range into a few hours.

    Returns a DataFrame indexed by a tz-aware UTC ``DatetimeIndex`` named ``time_utc`` (hourly
    steps) with columns ``carbon_g_per_kwh`` (gCO2eq/kWh), ``price_usd_per_mwh`` (USD/MWh;
    negative only in zones and months whose source has negative prices; NaN for zones without
    price data, see the catalog's ``has_price``), ``wetbulb_c`` (°C) and ``ewif_l_per_kwh``
    (L/kWh; constant in the zones whose EWIF comes from an annual mix). EWIF noise is
    independent of the others (its data are of another year) and drawn last.

    Args:
        zone: zone id of the bundled profile (e.g. ``"US-CAL-CISO"``).
        start_utc: first timestamp; a naive timestamp is taken as UTC, an aware one is
            converted. Any year may be used: the profile is of a typical year.
        hours: number of hourly rows (≥ 0).
        rng: NumPy generator; the same generator state gives the same series.
        noise_scale: multiplier of the latent noise in normal-score space. 0 returns the
            typical day of each month, x = Q_m(G_m(mu_{m,h})) (about the month-hour median),
            without day-to-day variation; 1 reproduces the source's monthly distribution;
            above 1 pushes values towards the month's observed extremes (the support stays the
            observed range), below 1 towards the typical day.
        carbon_basis: ``"direct"`` (operational emissions) or ``"lca"`` (life-cycle; same draw
            as direct carbon, mapped through the life-cycle quantiles).
        profiles_dir: profile folder; defaults to the bundled one.

    Raises:
        KeyError: unknown zone; the message lists the valid zones.
        ValueError: negative ``hours`` or ``noise_scale``, or an unknown ``carbon_basis``.
    """
    folder = str(profiles_folder(profiles_dir))
    grid = _grid_cached(folder)
    catalog = regions_cached(folder)
    valid = sorted(set(grid["zone"]) & set(catalog))
    if zone not in valid:
        raise KeyError(f"unknown grid zone {zone!r}; valid zones: {', '.join(valid)}")
    if hours < 0:
        raise ValueError(f"hours must be >= 0, got {hours}")
    if not noise_scale >= 0:
        raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
    carbon_signal = {"direct": "carbon_g_per_kwh", "lca": "carbon_lca_g_per_kwh"}.get(carbon_basis)
    if carbon_signal is None:
        raise ValueError(f"carbon_basis must be 'direct' or 'lca', got {carbon_basis!r}")

    start = pd.Timestamp(start_utc)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    index = pd.date_range(start, periods=int(hours), freq="h", name="time_utc")
    if len(index) == 0:
        return pd.DataFrame({c: np.empty(0) for c in SERIES_COLUMNS}, index=index)
    # The draw covers whole calendar months (UTC), so that each month can be conditioned on its
    # distribution; the window is cut out at the end.
    first = start.floor("h").replace(day=1, hour=0)
    last = index[-1].floor("h").replace(day=1, hour=0) + pd.DateOffset(months=1)
    full = pd.date_range(first, last, freq="h", inclusive="left", name="time_utc")
    offset = int((index[0] - full[0]) / pd.Timedelta(hours=1))
    # A start off the hour keeps its minutes: the months are drawn on the hour and the rows
    # taken by position, which is what the hourly steps of the window require.
    window = slice(offset, offset + len(index))

    m = full.month.to_numpy() - 1
    signals = [carbon_signal, "price_usd_per_mwh", "wetbulb_c"]
    models = [_latent_model(folder, zone, s) for s in signals]
    # A zone without a signal (GB's price) gets white noise in its row so that the draw order,
    # and the other signals' series, do not depend on which signals a zone has.
    phis = np.stack([np.zeros(len(full)) if mdl is None else mdl.phi[m] for mdl in models])
    # One row of innovations per signal, drawn together so the draw order is fixed, then mixed
    # so that the latent residuals of carbon, price and wet-bulb keep their measured correlation.
    eps = rng.standard_normal((3, len(full)))
    eps = _correlate(eps, latent_residual_correlation(zone, profiles_dir), phis, m)
    out: dict[str, FloatArray] = {}
    for row, (name, mdl) in enumerate(zip(SERIES_COLUMNS[:3], models, strict=True)):
        if mdl is None:
            out[name] = np.full(len(index), np.nan)
            continue
        e = _ar1_unit(phis[row], eps[row])
        out[name] = _values_from_latent(mdl, e, full, noise_scale)[window]
    ewif = _latent_model(folder, zone, "ewif_l_per_kwh")
    if ewif is not None:
        # Drawn after the other signals so that adding EWIF did not change their series.
        eps_w = rng.standard_normal(len(full))
        e = _ar1_unit(ewif.phi[m], eps_w)
        out["ewif_l_per_kwh"] = _values_from_latent(ewif, e, full, noise_scale)[window]
    else:
        out["ewif_l_per_kwh"] = np.full(len(index), float(catalog[zone]["ewif_l_per_kwh"]))
    return pd.DataFrame({c: out[c] for c in SERIES_COLUMNS}, index=index)


def request_profile_names(profiles_dir: Path | str | None = None) -> list[str]:
    """Names of the bundled request profiles (e.g. ``azure2023-conv``)."""
    return sorted(_requests_cached(str(profiles_folder(profiles_dir)))["profiles"])


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
    profiles = _requests_cached(str(profiles_folder(profiles_dir)))["profiles"]
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
    itself). Built by :mod:`slit.builders.profiles`; see ``docs/network.md``.
    """
    return _zone_rtt_cached(str(profiles_folder(profiles_dir))).copy()


QUANTILE_TOLERANCE = 0.10
"""Allowed error of a generated monthly p1, p50 or p99, as a fraction of its scale (below)."""

QUANTILE_FLOOR_FRACTION = 0.05
"""Smallest scale of a quantile, as a fraction of the month's p1–p99 spread of the source.

The error of a generated quantile is |q_gen − q_src| / max(|q_src|, 0.05·(p99_src − p1_src)):
relative to the source value, except that a value nearer zero than 5 % of the month's spread
(a price p1 of 0 USD/MWh, a wet-bulb p1 of 0.3 °C) is judged against 5 % of the spread, since a
relative error of a value near zero measures the unit's origin, not the fit.
"""


def quantile_error(generated: float, source: float, spread: float) -> float:
    """Scaled error of a generated quantile (see :data:`QUANTILE_FLOOR_FRACTION`).

    ``spread`` is the source month's p99 − p1 in the signal's unit. A source value of zero in a
    month without spread must be reproduced exactly: error 0 or infinity.
    """
    scale = max(abs(source), QUANTILE_FLOOR_FRACTION * spread)
    diff = abs(generated - source)
    if scale <= 0:
        return 0.0 if diff <= 1e-9 else math.inf
    return diff / scale


def _lag1_within(values: FloatArray, month: npt.NDArray[np.int64] | None, m: int | None) -> float:
    """Pearson correlation of (x_t, x_{t+1}) over consecutive hours (both in month ``m``)."""
    a, b = values[:-1], values[1:]
    if m is not None and month is not None:
        ok = (month[:-1] == m) & (month[1:] == m)
        a, b = a[ok], b[ok]
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def compare_with_source(
    values: pd.Series, zone: str, signal: str, profiles_dir: Path | str | None = None
) -> pd.DataFrame:
    """Compare a generated hourly series with the source statistics stored beside the profile.

    ``values`` is one signal (``signal`` names its row in ``grid_month_quantiles.csv``) on an
    hourly UTC index covering whole months, e.g. a generated year. Returns one row per month
    (1–12) plus ``month`` 0 for the whole series, with the source's and the generated
    ``min``/``max``, ``p1``/``p50``/``p99`` (``src_*``, ``gen_*``), the scaled errors
    ``err_p1``/``err_p50``/``err_p99`` (:func:`quantile_error`; month 0 leaves them empty), the
    plain relative errors ``rel_p1``… (|q_gen − q_src|/|q_src|), ``in_range`` (generated
    minimum and maximum inside the source's observed ones) and the lag-1 autocorrelations
    ``src_lag1``/``gen_lag1``. Raises ``KeyError`` when the zone has no such signal.
    """
    qt = _quantiles_cached(str(profiles_folder(profiles_dir)))
    rows = qt[(qt["zone"] == zone) & (qt["signal"] == signal)].set_index("month")
    if rows.empty:
        raise KeyError(f"no source statistics for {signal} in zone {zone!r}")
    index = pd.DatetimeIndex(values.index)
    v = values.to_numpy(float)
    month = index.month.to_numpy()
    out = []
    for m in range(0, 13):
        src = {str(k): x for k, x in rows.loc[m].to_dict().items()}
        sel = slice(None) if m == 0 else month == m
        gen = v[sel]
        if gen.size == 0:
            continue
        g1, g50, g99 = np.quantile(gen, [0.01, 0.5, 0.99])
        s1, s50, s99 = float(src["p1"]), float(src["p50"]), float(src["p99"])
        spread = s99 - s1
        row: dict[str, Any] = {
            "month": m,
            "src_min": float(src["p0"]),
            "src_max": float(src["p100"]),
            "gen_min": float(gen.min()),
            "gen_max": float(gen.max()),
            "src_p1": s1,
            "src_p50": s50,
            "src_p99": s99,
            "gen_p1": float(g1),
            "gen_p50": float(g50),
            "gen_p99": float(g99),
            "src_lag1": float(src["lag1"]),
            "gen_lag1": _lag1_within(v, None if m == 0 else month, None if m == 0 else m),
        }
        for name, g, s in (("p1", g1, s1), ("p50", g50, s50), ("p99", g99, s99)):
            row[f"err_{name}"] = math.nan if m == 0 else quantile_error(g, s, spread)
            row[f"rel_{name}"] = abs(g - s) / abs(s) if s != 0 else (math.inf if g != s else 0.0)
        inside = row["gen_min"] >= row["src_min"] and row["gen_max"] <= row["src_max"]
        row["in_range"] = bool(inside)
        out.append(row)
    return pd.DataFrame(out)

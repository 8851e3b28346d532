"""Bundled profiles: they load, the generators behave, and the builder reproduces them."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slit.models.psychrometrics import wetbulb_stull_c
from slit.traces.profiles import (
    SERIES_COLUMNS,
    bundled_profiles_dir,
    grid_series_from_profile,
    latent_residual_correlation,
    load_grid_profile,
    load_grid_quantiles,
    load_region_catalog,
    load_request_profile,
    residual_correlation,
    sample_token_lengths,
)

SHIPPED = (
    "grid_month_hour.csv",
    "grid_month_quantiles.csv",
    "regions.yaml",
    "requests_azure2023.json",
    "zone_rtt_azure_p95.csv",
    "MANIFEST.csv",
)


def test_bundled_files_exist_and_hold_no_local_paths() -> None:
    folder = bundled_profiles_dir()
    total = 0
    for name in SHIPPED:
        path = folder / name
        assert path.is_file(), name
        text = path.read_text(encoding="utf-8")
        # the folders the builder could have read from or written to must not leak into the files
        for marker in {
            str(Path(__file__).resolve().parents[3]),
            str(Path.home()),
            tempfile.gettempdir(),
        }:
            assert marker not in text, f"{name} contains a local path ({marker})"
        total += path.stat().st_size
    assert total < 1_000_000


def test_catalog_and_grid_profile_load() -> None:
    catalog = load_region_catalog()
    assert len(catalog) == 16
    for zone, entry in catalog.items():
        assert entry["zone"] == zone
        for key in ("display_name", "continent", "latitude", "longitude", "timezone",
                    "ewif_l_per_kwh", "carbon_g_per_kwh_annual_mean_2023"):  # fmt: skip
            assert entry[key] is not None, (zone, key)
        assert entry["continent"] in {
            "North America", "Europe", "Asia", "Oceania", "South America", "Africa"
        }  # fmt: skip
        assert entry["ewif_l_per_kwh"] > 0
    assert catalog["US-CAL-CISO"]["display_name"] == "California (CAISO)"
    assert catalog["SG"]["ewif_ecologits_is_world_default"] is True
    assert catalog["US-CAL-CISO"]["ewif_source"].startswith("EIA-930 2022 hourly fuel mix of CISO")

    grid = load_grid_profile()
    assert len(grid) == 16 * 12 * 24
    assert set(grid["zone"]) == set(catalog)
    assert not grid.duplicated(["zone", "month", "hour_utc"]).any()
    assert grid["carbon_g_per_kwh_mean"].notna().all()
    assert grid["wetbulb_c_mean"].notna().all()
    assert (grid["lag1_autocorr"].abs() < 1).all()
    # Zones without a price file have empty price columns, and the catalog says so.
    no_price = set(grid.loc[grid["price_usd_per_mwh_mean"].isna(), "zone"])
    assert no_price == {z for z, e in catalog.items() if not e["has_price"]}

    manifest = list(csv.DictReader((bundled_profiles_dir() / "MANIFEST.csv").open()))
    assert {r["file"] for r in manifest} == set(SHIPPED) - {"MANIFEST.csv"}
    assert all(r["licence"] and r["source"] and r["builder"] for r in manifest)


def test_grid_series_shape_and_determinism() -> None:
    start = pd.Timestamp("2023-03-30T05:00Z")
    a = grid_series_from_profile("DE-LU", start, 100, np.random.default_rng(3))
    b = grid_series_from_profile("DE-LU", start, 100, np.random.default_rng(3))
    c = grid_series_from_profile("DE-LU", start, 100, np.random.default_rng(4))
    assert list(a.columns) == list(SERIES_COLUMNS)
    assert len(a) == 100
    assert isinstance(a.index, pd.DatetimeIndex)
    assert a.index.name == "time_utc"
    assert str(a.index.tz) == "UTC"
    assert a.index[0] == start
    assert (a.index[1:] - a.index[:-1] == pd.Timedelta(hours=1)).all()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["carbon_g_per_kwh"], c["carbon_g_per_kwh"])
    assert (a["carbon_g_per_kwh"] >= 0).all()
    assert a[list(SERIES_COLUMNS)].notna().all().all()
    assert (a["ewif_l_per_kwh"] == load_region_catalog()["DE-LU"]["ewif_l_per_kwh"]).all()


def test_zero_noise_returns_one_typical_day_per_month() -> None:
    # Spans a month boundary so that both months' cells are used. Without noise every day of a
    # month is the same typical day (its exact values are checked in test_signal_shape.py),
    # which follows the month-hour means of the profile.
    start = pd.Timestamp("2023-01-31T00:00Z")
    series = grid_series_from_profile("US-TEX-ERCO", start, 72, np.random.default_rng(0), 0.0)
    grid = load_grid_profile().set_index(["zone", "month", "hour_utc"])
    keys = [("US-TEX-ERCO", t.month, t.hour) for t in series.index]
    for col in ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c"):
        v = series[col].to_numpy()
        np.testing.assert_array_equal(v[24:48], v[48:72])  # two February days
        assert not np.array_equal(v[:24], v[24:48])  # January's day differs
        mean = grid.loc[keys, f"{col}_mean"].to_numpy()
        std = grid.loc[keys, f"{col}_std"].to_numpy()
        # the typical day (about the month-hour median) stays within a standard deviation
        # of the month-hour mean
        assert (np.abs(v - mean) <= std + 1e-9).mean() > 0.9, col


def test_noise_persistence_matches_profile() -> None:
    # KR wet-bulb: the generated months keep the source months' hour-to-hour autocorrelation
    series = grid_series_from_profile(
        "KR", pd.Timestamp("2023-01-01T00:00Z"), 24 * 365, np.random.default_rng(11)
    )
    qt = load_grid_quantiles().set_index(["zone", "signal", "month"])
    gaps = []
    for m in range(1, 13):
        v = series["wetbulb_c"][series.index.month == m].to_numpy()
        gaps.append(np.corrcoef(v[:-1], v[1:])[0, 1] - qt.loc[("KR", "wetbulb_c", m), "lag1"])
    assert np.mean(gaps) == pytest.approx(0.0, abs=0.01)
    assert np.max(np.abs(gaps)) < 0.04


def _latent_residuals(series: pd.Series, zone: str, col: str) -> np.ndarray:
    """Normal-score residuals of a generated series, computed as the builder does for data."""
    from scipy.special import ndtri

    grid = load_grid_profile().set_index(["zone", "month", "hour_utc"])
    month = pd.Series(series.index.month, index=series.index)
    period = series.index.year * 12 + series.index.month
    ranks = series.groupby(period).rank(method="average")
    n = series.groupby(period).transform("size")
    g = ndtri((ranks - 0.5) / n).to_numpy()
    keys = [(zone, m, h) for m, h in zip(month, series.index.hour, strict=True)]
    mu = grid.loc[keys, f"{col}_nscore_mean"].to_numpy()
    sigma = np.maximum(grid.loc[keys, f"{col}_nscore_std"].to_numpy(), 0.02)
    return (g - mu) / sigma


@pytest.mark.parametrize("zone", ["DE-LU", "US-TEX-ERCO", "SG"])
@pytest.mark.slow
def test_carbon_price_wetbulb_residuals_keep_their_measured_correlation(zone: str) -> None:
    hours = 24 * 365 * 3
    series = grid_series_from_profile(
        zone, pd.Timestamp("2023-01-01T00:00Z"), hours, np.random.default_rng(5)
    )
    cols = ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c")
    got = np.corrcoef(np.stack([_latent_residuals(series[c], zone, c) for c in cols]))
    want = latent_residual_correlation(zone)
    assert got[0, 1] == pytest.approx(want[0, 1], abs=0.04)
    # wet-bulb residuals persist for days (lag-1 about 0.98), so three years hold only some
    # hundred independent values and its correlations scatter by about 0.07 between seeds
    assert got[0, 2] == pytest.approx(want[0, 2], abs=0.2)
    assert got[1, 2] == pytest.approx(want[1, 2], abs=0.2)
    # the residuals of the values about their month-hour means, as measured on the data,
    # keep the sign and rough size of the carbon-price correlation
    grid = load_grid_profile().set_index(["zone", "month", "hour_utc"])
    keys = [(zone, t.month, t.hour) for t in series.index]

    def z(col: str) -> np.ndarray:
        mean = grid.loc[keys, f"{col}_mean"].to_numpy()
        std = grid.loc[keys, f"{col}_std"].to_numpy()
        return (series[col].to_numpy() - mean) / std

    raw = np.corrcoef(z("carbon_g_per_kwh"), z("price_usd_per_mwh"))[0, 1]
    assert raw == pytest.approx(residual_correlation(zone)[0, 1], abs=0.15)


def test_zone_without_prices_and_unknown_zone() -> None:
    gb = grid_series_from_profile("GB", pd.Timestamp("2023-06-01"), 5, np.random.default_rng(1))
    assert gb["price_usd_per_mwh"].isna().all()
    assert gb["carbon_g_per_kwh"].notna().all()
    with pytest.raises(KeyError, match="US-CAL-CISO"):
        grid_series_from_profile("XX-NOPE", pd.Timestamp("2023-06-01"), 5, np.random.default_rng(1))


@pytest.mark.parametrize("name", ["azure2023-conv", "azure2023-code"])
def test_token_sampler_reproduces_median(name: str) -> None:
    profile = load_request_profile(name)
    prompt, output = sample_token_lengths(profile, 20_000, np.random.default_rng(5))
    assert prompt.dtype == np.int64 and output.dtype == np.int64
    assert len(prompt) == len(output) == 20_000
    assert prompt.min() >= 1 and output.min() >= 1
    median_at = profile["quantile_levels"].index(0.5)
    assert np.median(prompt) == pytest.approx(
        profile["prompt_tokens_quantiles"][median_at], rel=0.05
    )
    assert np.median(output) == pytest.approx(
        profile["output_tokens_quantiles"][median_at], rel=0.05
    )
    rho = pd.Series(prompt).corr(pd.Series(output), method="spearman")
    assert rho == pytest.approx(profile["spearman_prompt_output"], abs=0.05)
    again = sample_token_lengths(profile, 100, np.random.default_rng(5))
    np.testing.assert_array_equal(again[0], prompt[:100])


def test_request_profile_unknown_name() -> None:
    with pytest.raises(KeyError, match="azure2023-conv"):
        load_request_profile("nope")


def test_wetbulb_stull_check_value() -> None:
    # Stull (2011) quotes T = 20 °C, RH = 50 % -> Tw = 13.7 °C.
    assert wetbulb_stull_c(20.0, 50.0) == pytest.approx(13.7, abs=0.05)
    arr = wetbulb_stull_c(np.array([20.0, 30.0]), np.array([50.0, 99.0]))
    assert arr.shape == (2,)
    assert arr[1] == pytest.approx(30.0, abs=0.7)  # near saturation, Tw ≈ T


@pytest.mark.slow
def test_builder_reproduces_shipped_files(built_profiles_dir: Path) -> None:
    tmp_path = built_profiles_dir  # `slit traces build` run once for the session (conftest)
    assert {p.name for p in tmp_path.iterdir()} == set(SHIPPED)
    shipped = bundled_profiles_dir()
    for name in SHIPPED[:4]:
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name

    def rows(path: Path) -> list[dict[str, str]]:
        with path.open(encoding="utf-8") as f:
            return [{k: v for k, v in r.items() if k != "built_at_utc"} for r in csv.DictReader(f)]

    assert rows(tmp_path / "MANIFEST.csv") == rows(shipped / "MANIFEST.csv")

"""Grid, price and weather readers: real files, fuel-mix intensities, and every error path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slit.errors import TraceError
from slit.models.fuel_mix import (
    carbon_from_fuel_mix,
    ewif_from_fuel_mix,
    fuel_factor_tables,
    fuel_factors,
)
from slit.models.psychrometrics import wetbulb_stull_c
from slit.traces.grid_readers import (
    GridRepair,
    check_covers,
    grid_formats,
    read_grid,
)
from slit.traces.profiles import load_grid_profile
from tests.conftest import require_shared_data

EM = "carbon/electricitymaps_hourly/{zone}_2023_hourly.csv.gz"
EIA = "carbon/eia930_fuelmix_hourly_2022/{ba}_2022_fuelmix_ci.csv.gz"
PRICE = "prices/hourly_wholesale/{zone}_electricity_prices_2023.csv.gz"
WEATHER = "weather/openmeteo_hourly/{zone}_2023.json.gz"


# --------------------------------------------------------------------------------------------
# Real data (skipped without ../shared/data)


def test_electricitymaps_ciso_2023_matches_the_published_mean() -> None:
    data = require_shared_data()
    frame = read_grid(data / EM.format(zone="US-CAL-CISO"), "electricitymaps")
    assert len(frame) == 8760
    assert frame.index.tz is not None and str(frame.index.tz) == "UTC"
    assert frame.index.is_monotonic_increasing
    assert frame["carbon_g_per_kwh"].mean() == pytest.approx(194, abs=1)
    assert (frame["carbon_lca_g_per_kwh"] >= frame["carbon_g_per_kwh"]).mean() > 0.99
    assert frame.attrs["repairs"] == []


def test_bundled_ciso_profile_annual_mean_is_within_two_percent_of_the_data() -> None:
    data = require_shared_data()
    frame = read_grid(data / EM.format(zone="US-CAL-CISO"), "electricitymaps")
    table = load_grid_profile()
    prof = table[table["zone"] == "US-CAL-CISO"]
    # Each month-hour mean weighs as many hours as that month has days.
    days = pd.Series([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], index=range(1, 13))
    weights = prof["month"].map(days)
    annual = float(np.average(prof["carbon_g_per_kwh_mean"], weights=weights))
    measured = frame["carbon_g_per_kwh"].mean()
    assert abs(annual / measured - 1) < 0.02


def test_eia930_carbon_reproduces_the_published_intensity() -> None:
    data = require_shared_data()
    path = data / EIA.format(ba="PJM")
    frame = read_grid(path, "eia930", repair=GridRepair(fill_nan="linear"))
    raw = pd.read_csv(path)
    published = raw["avg_CI"].to_numpy()
    ok = np.isfinite(published) & raw[["COL", "NG"]].notna().all(axis=1).to_numpy()
    np.testing.assert_allclose(frame["carbon_g_per_kwh"].to_numpy()[ok], published[ok], rtol=1e-9)


def test_eia930_ciso_2022_ewif_needs_a_requested_repair_and_records_it() -> None:
    data = require_shared_data()
    path = data / EIA.format(ba="CISO")
    with pytest.raises(TraceError, match=r"CISO_2022_fuelmix_ci.csv.gz: column 'gen_\w+_mwh', "
                       r"line \d+ \(2022-.*NaN.*repair.fill_nan"):  # fmt: skip
        read_grid(path, "eia930")
    frame = read_grid(path, "eia930", repair=GridRepair(fill_nan="linear"))
    assert len(frame) == 8760
    assert any("filled" in r for r in frame.attrs["repairs"])
    ewif = frame["ewif_l_per_kwh"]
    assert 0.2 < ewif.min() and ewif.max() < 1.5  # li2023: no plant consumes > 2.3 L/kWh
    # Solar displaces gas at midday (UTC 18-22 h is Californian noon), so EWIF dips then.
    by_hour = ewif.groupby(ewif.index.hour).mean()
    assert by_hour.loc[[19, 20, 21]].mean() < by_hour.loc[[4, 5, 6]].mean()
    mack = read_grid(path, "eia930", repair=GridRepair(fill_nan="linear"),
                     water_table="macknick2012")  # fmt: skip
    # Counting hydro reservoir evaporation raises CISO's EWIF several-fold.
    assert mack["ewif_l_per_kwh"].mean() > 2 * ewif.mean()


def test_eia930_file_with_an_empty_first_header_cell() -> None:
    data = require_shared_data()
    frame = read_grid(data / EIA.format(ba="WAAT"), "eia930")
    assert len(frame) >= 8759
    assert frame["carbon_g_per_kwh"].between(0, 1000).all()


def test_prices_at_half_past_are_filed_under_their_hour() -> None:
    data = require_shared_data()
    frame = read_grid(data / PRICE.format(zone="IN-WE"), "prices")
    assert len(frame) == 8760
    assert (frame.index.minute == 0).all()
    ciso = read_grid(data / PRICE.format(zone="US-CAL-CISO"), "prices")
    assert (ciso["price_usd_per_mwh"] < 0).any()  # negative prices are kept


def test_openmeteo_local_time_becomes_utc_and_wetbulb_is_below_air_temperature() -> None:
    data = require_shared_data()
    frame = read_grid(data / WEATHER.format(zone="US-CAL-CISO"), "openmeteo")
    assert len(frame) == 8760
    # the file states one fixed offset for the whole year (utc_offset_seconds = -25200, GMT-7)
    assert frame.index[0] == pd.Timestamp("2023-01-01 07:00", tz="UTC")
    assert (frame["wetbulb_c"] <= frame["temperature_c"] + 0.7).all()
    # afternoon (local) is warmer than night: 22-23 UTC is 15-16 h at GMT-7
    hourly = frame["temperature_c"].groupby(frame.index.hour).mean()
    assert hourly.loc[[22, 23]].mean() > hourly.loc[[12, 13]].mean()


# --------------------------------------------------------------------------------------------
# Fuel-mix factors


def test_factor_tables_are_listed_with_sources() -> None:
    assert set(fuel_factor_tables("water")) == {"li2023", "macknick2012"}
    assert "ipcc2014" in fuel_factor_tables("carbon")
    assert fuel_factors("water", "li2023")["COL"] == pytest.approx(450 * 0.003785412)


def test_mix_intensity_is_the_generation_weighted_mean() -> None:
    gen = pd.DataFrame({"COL": [100.0, 0.0], "WND": [100.0, 50.0], "SUN": [0.0, -5.0]})
    carbon = carbon_from_fuel_mix(gen)
    assert carbon.iloc[0] == pytest.approx((820 + 11) / 2)
    assert carbon.iloc[1] == pytest.approx(11)  # negative net generation counts as zero
    ewif = ewif_from_fuel_mix(gen, "li2023")
    assert ewif.iloc[0] == pytest.approx(450 * 0.003785412 / 2)


def test_unknown_factor_table_lists_the_valid_ones() -> None:
    with pytest.raises(TraceError, match="unknown water factor table 'li2024'; valid: li2023, "
                       "macknick2012"):  # fmt: skip
        fuel_factors("water", "li2024")


def test_stull_wetbulb_check_values() -> None:
    # Stull (2011): T = 20 °C, RH = 50 % gives Tw = 13.7 °C
    assert wetbulb_stull_c(20.0, 50.0) == pytest.approx(13.7, abs=0.05)
    # saturated air: wet-bulb equals air temperature within the fit's error
    assert wetbulb_stull_c(25.0, 99.0) == pytest.approx(25.0, abs=0.7)


# --------------------------------------------------------------------------------------------
# The generic CSV format and every error path


def _csv(tmp_path: Path, text: str, name: str = "sig.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = (
    "time_utc,carbon_g_per_kwh,price_usd_per_mwh\n"
    "2023-01-01T00:00:00Z,100,50\n"
    "2023-01-01T01:00:00Z,110,-5\n"
    "2023-01-01T02:00:00Z,120,55\n"
)


def test_csv_reads_unit_named_columns(tmp_path: Path) -> None:
    frame = read_grid(_csv(tmp_path, GOOD), "csv")
    assert list(frame.columns) == ["carbon_g_per_kwh", "price_usd_per_mwh"]
    assert frame.attrs["source"] == "sig.csv" and frame.attrs["format"] == "csv"
    assert frame["price_usd_per_mwh"].iloc[1] == -5


def test_formats_are_listed() -> None:
    assert {"electricitymaps", "eia930", "prices", "openmeteo", "csv"} <= set(grid_formats())


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", r"sig.csv: the file is empty"),
        ("time_utc,carbon_g_per_kwh\n", r"sig.csv: the file has a header but no rows"),
        ("when,carbon_g_per_kwh\n2023-01-01T00:00Z,1\n",
         r"sig.csv: missing column\(s\) 'time_utc' for format 'csv'; found \['when', "),
        ("time_utc,carbon_g_per_kwh\n2023-01-01T00:00Z,1\n2023-01-01T01:00Z,abc\n",
         r"sig.csv: column 'carbon_g_per_kwh', line 3: 'abc' is not a number"),
        ("time_utc,carbon_g_per_kwh\n2023-01-01T00:00Z,1\n2023-01-01T01:00Z,\n",
         r"sig.csv: column 'carbon_g_per_kwh', line 3 \(2023-01-01 01:00 UTC\): empty or NaN"),
        ("time_utc,carbon_g_per_kwh\n2023-01-01T00:00Z,1\n2023-01-01T01:00Z,-3\n",
         r"sig.csv: column 'carbon_g_per_kwh', line 3 .*negative value -3.*must be >= 0"),
        ("time_utc,x\n2023-01-01T00:00Z,1\n2023-01-01T00:00Z,2\n",
         r"sig.csv: time 2023-01-01 00:00 UTC appears twice \(second at line 3;"),
        ("time_utc,x\n2023-01-01T01:00Z,1\n2023-01-01T00:00Z,2\n",
         r"sig.csv: times go backwards at line 3 \(2023-01-01 00:00 UTC\), after "
         r"2023-01-01 01:00; sort the file"),
        ("time_utc,x\n2023-01-01T00:00Z,1\n2023-01-01T03:00Z,2\n",
         r"sig.csv: 2 hour\(s\) missing after line 2 \(2023-01-01 00:00 UTC\) .*fill_gaps"),
        ("time_utc,x\n2023-01-01 00:00,1\n2023-01-01 01:00,2\n",
         r"sig.csv: column 'time_utc' holds times without a timezone \(e.g. '2023-01-01 00:00'"),
        ("time_utc,x\n2023-01-01T00:00Z,1\nyesterday,2\n",
         r"sig.csv: column 'time_utc', line 3: 'yesterday' is not an ISO 8601 time"),
        ("time_utc,x\n2023-01-01T00:30Z,1\n",
         r"sig.csv: time at line 2 \(2023-01-01 00:30 UTC\) is not on the hour"),
    ],
)  # fmt: skip
def test_csv_errors_name_file_column_and_line(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(TraceError, match=pattern):
        read_grid(_csv(tmp_path, text), "csv")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"nope.csv: file not found \(nope.csv\); check the path"):
        read_grid(tmp_path / "nope.csv", "csv")


def test_unknown_format_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"unknown grid-signal format 'nosuch'\. Valid .*: csv"):
        read_grid(_csv(tmp_path, GOOD), "nosuch")


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "sig.csv"
    p.write_bytes(GOOD.encode("utf-8") + b"2023-01-01T03:00Z,\xe9\xff,1\n")
    with pytest.raises(TraceError, match=r"sig.csv: not UTF-8 text \(byte \d+ is 0xe9\)"):
        read_grid(p, "csv")


def test_truncated_gzip(tmp_path: Path) -> None:
    p = tmp_path / "sig.csv.gz"
    blob = gzip.compress((GOOD * 50).encode())
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(TraceError, match=r"sig.csv.gz: the gzip file is truncated or corrupt"):
        read_grid(p, "csv")


def test_gzip_csv_reads(tmp_path: Path) -> None:
    p = tmp_path / "sig.csv.gz"
    p.write_bytes(gzip.compress(GOOD.encode()))
    assert len(read_grid(p, "csv")) == 3


def test_openmeteo_without_humidity(tmp_path: Path) -> None:
    p = tmp_path / "w.json"
    hourly = {"time": ["2023-01-01T00:00"], "temperature_2m": [1.0]}
    p.write_text(json.dumps({"utc_offset_seconds": 0, "hourly": hourly}))
    with pytest.raises(TraceError, match=r"w.json: hourly variable\(s\) relative_humidity_2m "
                       "missing"):  # fmt: skip
        read_grid(p, "openmeteo")


# --------------------------------------------------------------------------------------------
# Repairs: only when asked, and always recorded


def test_gap_fill_and_its_record(tmp_path: Path) -> None:
    text = "time_utc,x\n2023-01-01T00:00Z,1\n2023-01-01T03:00Z,4\n"
    linear = read_grid(_csv(tmp_path, text), "csv", repair=GridRepair(fill_gaps="linear"))
    assert linear["x"].tolist() == [1, 2, 3, 4]
    assert linear.attrs["repairs"] == ["sig.csv: filled 2 missing hour(s) in 1 gap(s) by linear"]
    held = read_grid(_csv(tmp_path, text), "csv", repair=GridRepair(fill_gaps="ffill"))
    assert held["x"].tolist() == [1, 1, 1, 4]
    with pytest.raises(TraceError, match="longer than repair.max_gap_h = 1 h"):
        read_grid(_csv(tmp_path, text), "csv", repair=GridRepair(fill_gaps="ffill", max_gap_h=1))


def test_sort_duplicates_nan_and_clip_repairs(tmp_path: Path) -> None:
    text = (
        "time_utc,carbon_g_per_kwh\n2023-01-01T01:00Z,-2\n2023-01-01T00:00Z,1\n"
        "2023-01-01T00:00Z,9\n2023-01-01T02:00Z,\n"
    )
    repair = GridRepair(sort=True, drop_duplicates=True, fill_nan="ffill", clip_negative=True)
    frame = read_grid(_csv(tmp_path, text), "csv", repair=repair)
    assert frame["carbon_g_per_kwh"].tolist() == [1, 0, 0]
    assert len(frame.attrs["repairs"]) == 4


def test_coverage_error_names_both_ranges(tmp_path: Path) -> None:
    frame = read_grid(_csv(tmp_path, GOOD), "csv")
    start = pd.Timestamp("2023-01-01T00:00Z")
    check_covers(frame, start, start + pd.Timedelta(hours=3), "sig.csv")
    pattern = (
        r"sig.csv: covers \[2023-01-01 00:00, 2023-01-01 03:00\) UTC but the scenario needs "
        r"\[2023-01-01 00:00, 2023-01-02 00:00\) UTC"
    )
    with pytest.raises(TraceError, match=pattern):
        check_covers(frame, start, start + pd.Timedelta(days=1), "sig.csv")


def test_sub_hourly_readings_average_into_hours_only_when_asked(tmp_path: Path) -> None:
    text = "Time,ci\n" + "".join(
        f"2023-01-01 {h:02d}:{m:02d}:00,{10 * h + m / 15}\n"
        for h in range(3)
        for m in (0, 15, 30, 45)
    )
    path = _csv(tmp_path, text)
    with pytest.raises(TraceError, match="is not on the hour.*set the option hourly: mean"):
        read_grid(path, "csv", time_column="Time", timezone="UTC")
    frame = read_grid(path, "csv", time_column="Time", timezone="UTC", hourly="mean")
    assert frame["ci"].tolist() == pytest.approx([1.5, 11.5, 21.5])
    assert frame.attrs["transforms"] == ["sig.csv: averaged 12 readings into 3 hours"]


def test_entsoe_quarter_hours_read_as_hourly_means() -> None:
    data = require_shared_data()
    path = data / "carbon/entsoe_lets_wait_awhile_2020/ger_ci.csv.gz"
    frame = read_grid(path, "csv", time_column="Time", timezone="UTC", hourly="mean")
    assert len(frame) == 9288  # 2019-12-20 to 2021-01-09, 15-minute readings
    assert 100 < frame["Carbon Intensity"].mean() < 500

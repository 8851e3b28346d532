"""Scenarios on real inputs: file signals, trace workloads, cloud RTTs, WUE, and their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from slit.errors import ScenarioError, TraceError
from slit.inputs import check_inputs, rtt_between_regions
from slit.models.water import (
    DEFAULT_WUE_SCALE,
    max_evaporative_wue_l_per_kwh,
    wue_from_wetbulb,
)
from slit.scenario.loader import load_scenario, scenario_from_dict
from slit.sim.simulate import simulate
from slit.traces.grid_readers import read_grid
from slit.traces.profiles import load_zone_rtt_table
from tests.cli.test_cli import slit
from tests.conftest import REPO, require_shared_data, small_scenario_dict


def _hourly_csv(path: Path, hours: int, start: str = "2023-07-15T00:00:00Z",
                carbon: float = 300.0) -> Path:  # fmt: skip
    idx = pd.date_range(start, periods=hours, freq="h")
    frame = pd.DataFrame(
        {
            "time_utc": idx.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "carbon_g_per_kwh": carbon + 10.0 * np.arange(hours),
        }
    )
    frame.to_csv(path, index=False)
    return path


def _file_signals(carbon_file: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": "files",
        "carbon": {"path": carbon_file, "format": "csv"},
        "price": 42.0,
        **extra,
    }


def _write(tmp_path: Path, data: dict[str, Any], name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


# --------------------------------------------------------------------------------------------
# File signals


def test_file_signals_take_the_file_and_fill_the_rest_from_the_profile(tmp_path: Path) -> None:
    _hourly_csv(tmp_path / "ci.csv", 3)
    data = small_scenario_dict()
    data["regions"][0]["zone"] = "US-CAL-CISO"
    data["regions"][0]["signals"] = _file_signals("ci.csv")
    scenario = load_scenario(_write(tmp_path, data))
    log = check_inputs(scenario)
    assert log == ["region a: wetbulb_c, ewif_l_per_kwh drawn from the profile of zone US-CAL-CISO"]
    result = simulate(scenario)
    series = result.timeseries
    a = series[series["datacenter"] == "dc-a"].sort_values("epoch")
    # the first hour of the file holds 300 g/kWh, the second 310
    assert a["carbon_g_per_kwh"].iloc[:4].tolist() == pytest.approx([300.0] * 4)
    assert a["carbon_g_per_kwh"].iloc[4] == pytest.approx(310.0)
    assert a["price_usd_per_mwh"].unique().tolist() == pytest.approx([42.0])
    assert result.metadata["inputs"] == log


def test_file_signals_without_zone_or_value_say_what_to_give(tmp_path: Path) -> None:
    _hourly_csv(tmp_path / "ci.csv", 3)
    data = small_scenario_dict()
    data["regions"][0]["signals"] = _file_signals("ci.csv")
    with pytest.raises(ScenarioError, match=r"regions\[0\].signals: no grid zone for the bundled "
                       "profile"):  # fmt: skip
        check_inputs(load_scenario(_write(tmp_path, data)))


@pytest.mark.slow
def test_validate_names_the_file_and_both_ranges_when_a_signal_is_too_short(
    tmp_path: Path,
) -> None:
    _hourly_csv(tmp_path / "ci.csv", 1)  # one hour; the scenario needs 1 h + drain
    data = small_scenario_dict()
    data["regions"][0]["signals"] = _file_signals("ci.csv", wetbulb=15.0, ewif=1.0)
    path = _write(tmp_path, data)
    proc = slit("validate", str(path))
    assert proc.returncode == 2
    assert "ci.csv (regions[0].signals.carbon): covers [2023-07-15 00:00, 2023-07-15 01:00) UTC" \
        in proc.stderr  # fmt: skip
    assert "needs [2023-07-15 00:00, 2023-07-15 02:00) UTC" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_grid_format_is_a_scenario_problem_with_the_valid_names(tmp_path: Path) -> None:
    data = small_scenario_dict()
    data["regions"][0]["signals"] = {
        "source": "files",
        "carbon": {"path": "x.csv", "format": "electricity_maps"},
    }
    with pytest.raises(ScenarioError, match=r"unknown grid-file format 'electricity_maps'. Did "
                       r"you mean 'electricitymaps'\?"):  # fmt: skip
        scenario_from_dict(data)


def test_an_unset_path_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLIT_TEST_NOPE", raising=False)
    data = small_scenario_dict()
    data["regions"][0]["signals"] = _file_signals("${SLIT_TEST_NOPE}/ci.csv")
    scenario = load_scenario(_write(tmp_path, data))
    with pytest.raises(ScenarioError, match=r"uses \$\{SLIT_TEST_NOPE\}, which is not set"):
        check_inputs(scenario)


@pytest.mark.slow
def test_requested_repairs_reach_metadata_json(tmp_path: Path) -> None:
    text = "time_utc,carbon_g_per_kwh\n2023-07-15T00:00Z,100\n2023-07-15T02:00Z,300\n"
    (tmp_path / "ci.csv").write_text(text)
    data = small_scenario_dict()
    data["time"]["horizon_s"] = 1800
    data["time"]["drain_s"] = 0
    data["regions"][0]["signals"] = _file_signals("ci.csv", wetbulb=15.0, ewif=1.0)
    path = _write(tmp_path, data)
    bad = slit("run", str(path), "--out", str(tmp_path / "bad"), "-q")
    assert bad.returncode == 2 and "repair.fill_gaps" in bad.stderr
    assert not (tmp_path / "bad").exists()  # nothing left behind
    data["regions"][0]["signals"]["repair"] = {"fill_gaps": "linear"}
    path = _write(tmp_path, data)
    proc = slit("run", str(path), "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert "ci.csv (regions[0].signals.carbon): filled 1 missing hour(s) in 1 gap(s) by linear" \
        in meta["inputs"]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Trace workloads


def _trace_csv(path: Path, n: int = 200, gap_s: float = 5.0, origins: bool = False) -> Path:
    frame = pd.DataFrame(
        {
            "arrival_s": np.arange(n) * gap_s,
            "prompt_tokens": 100 + (np.arange(n) % 7) * 50,
            "output_tokens": 20 + (np.arange(n) % 5) * 10,
        }
    )
    if origins:
        frame["origin"] = np.where(np.arange(n) % 3 == 0, "b", "a")
    frame.to_csv(path, index=False)
    return path


def _trace_scenario(tmp_path: Path, **workload: Any) -> dict[str, Any]:
    data = small_scenario_dict()
    data["workload"] = {"source": "trace", "path": "trace.csv", "format": "csv", **workload}
    return data


def test_trace_workload_replays_every_request_as_recorded(tmp_path: Path) -> None:
    _trace_csv(tmp_path / "trace.csv", origins=True)  # 200 requests over 1,000 s
    data = _trace_scenario(tmp_path)
    data["time"]["horizon_s"] = 900
    result = simulate(load_scenario(_write(tmp_path, data)))
    req = result.requests
    assert len(req) == 180  # arrivals at 0, 5, ..., 895 s
    assert (req["origin"] == "b").sum() == 60
    assert req["prompt_tokens"].iloc[:7].tolist() == [100, 150, 200, 250, 300, 350, 400]


@pytest.mark.slow
def test_trace_shorter_than_the_horizon_fails_validate_with_both_ranges(tmp_path: Path) -> None:
    _trace_csv(tmp_path / "trace.csv")
    path = _write(tmp_path, _trace_scenario(tmp_path))  # horizon 3,600 s, trace 1,000 s
    proc = slit("validate", str(path))
    assert proc.returncode == 2
    assert "trace.csv" in proc.stderr
    assert "covers [0 s, 1,000 s) but the scenario needs [0 s, 3,600 s)" in proc.stderr
    assert "tile" in proc.stderr and "Traceback" not in proc.stderr


def test_tile_and_resample_fill_the_horizon(tmp_path: Path) -> None:
    _trace_csv(tmp_path / "trace.csv")
    tiled = simulate(load_scenario(_write(tmp_path, _trace_scenario(tmp_path, replay="tile"))))
    assert len(tiled.requests) == 720
    again = simulate(load_scenario(_write(tmp_path, _trace_scenario(tmp_path, replay="resample"))))
    assert 600 < len(again.requests) < 840  # Poisson at 0.2/s over 3,600 s
    assert set(again.requests["prompt_tokens"]) <= {100, 150, 200, 250, 300, 350, 400}
    assert any("tiled" in line or "tile" in line for line in tiled.metadata["inputs"])


def test_trace_origin_outside_the_scenario_is_an_error(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "arrival_s": [0.0, 1.0],
            "prompt_tokens": [5, 5],
            "output_tokens": [5, 5],
            "origin": ["a", "mars"],
        }  # fmt: skip
    )
    frame.to_csv(tmp_path / "trace.csv", index=False)
    data = _trace_scenario(tmp_path)
    data["time"]["horizon_s"] = 2
    data["time"]["epoch_s"] = 1
    with pytest.raises(TraceError, match=r"column 'origin' names unknown region\(s\) mars; "
                       "valid: a, b"):  # fmt: skip
        check_inputs(load_scenario(_write(tmp_path, data)))


def test_trace_model_names_map_to_llms(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "arrival_s": [0.0, 1.0, 2.0],
            "prompt_tokens": [5, 5, 5],
            "output_tokens": [5, 5, 5],
            "model": ["ChatGPT", "GPT-4", "ChatGPT"],
        }  # fmt: skip
    )
    frame.to_csv(tmp_path / "trace.csv", index=False)
    data = _trace_scenario(tmp_path, model_map={"ChatGPT": "llama-3.1-8b"})
    data["time"]["horizon_s"] = 3
    data["time"]["epoch_s"] = 1
    with pytest.raises(TraceError, match="GPT-4 in column 'model' have no entry in "
                       "workload.model_map"):  # fmt: skip
        check_inputs(load_scenario(_write(tmp_path, data)))
    data["workload"]["model_map"]["GPT-4"] = "llama-3.1-8b"
    result = simulate(load_scenario(_write(tmp_path, data)))
    assert set(result.requests["model"]) == {"llama-3.1-8b"}


# --------------------------------------------------------------------------------------------
# Cloud RTT model


def test_cloud_latency_uses_the_bundled_azure_zone_table() -> None:
    data = small_scenario_dict()
    data["regions"][0]["zone"] = "US-CAL-CISO"
    data["regions"][1]["zone"] = "DE-LU"
    data["network"] = {"latency": "cloud", "base_rtt_ms": 2.0}
    rtt = rtt_between_regions(scenario_from_dict(data))
    table = load_zone_rtt_table()
    ab = table[(table["src_zone"] == "US-CAL-CISO") & (table["dst_zone"] == "DE-LU")]
    assert rtt[0, 1] == pytest.approx(float(ab["rtt_ms"].iloc[0]))
    assert 120 < rtt[0, 1] < 200  # California - Frankfurt, P95
    assert rtt[0, 0] == pytest.approx(2.0)


def test_cloud_latency_needs_a_zone_for_every_region() -> None:
    data = small_scenario_dict()
    data["network"] = {"latency": "cloud"}
    with pytest.raises(ScenarioError, match=r"regions\[0\]: no zone, which the 'cloud' latency"):
        rtt_between_regions(scenario_from_dict(data))


# --------------------------------------------------------------------------------------------
# On-site WUE


def test_wue_model_published_values_and_physical_bound() -> None:
    # the published polynomial at 77 °F (25 °C) wet-bulb: 6/5 * 4.67198 L/kWh
    assert float(wue_from_wetbulb(25.0, 6.0, 0.05, scale=1.0)) == pytest.approx(5.6064, abs=1e-3)
    assert float(wue_from_wetbulb(25.0)) == pytest.approx(5.6064 * DEFAULT_WUE_SCALE, abs=1e-3)
    assert max_evaporative_wue_l_per_kwh(6.0) == pytest.approx(1.763, abs=1e-3)
    assert float(wue_from_wetbulb(-10.0)) == pytest.approx(0.05)  # free-cooling floor
    # monotone above the floor
    tw = np.linspace(0, 32, 200)
    assert np.all(np.diff(wue_from_wetbulb(tw)) >= 0)


DEFAULT_ZONES = ("US-CAL-CISO", "US-MIDA-PJM", "KR", "DE-LU", "SG", "AU-NSW")


def test_wue_of_the_default_regions_in_2023_stays_in_range_and_peaks_when_hot_and_humid() -> None:
    data = require_shared_data()
    for zone in DEFAULT_ZONES:
        weather = read_grid(data / f"weather/openmeteo_hourly/{zone}_2023.json.gz", "openmeteo")
        wue = wue_from_wetbulb(weather["wetbulb_c"].to_numpy())
        assert 0 <= wue.min() and wue.max() <= 3.0, zone
        top = wue >= np.quantile(wue, 0.99)
        temp, rh = weather["temperature_c"], weather["relative_humidity_pct"]
        # the thirstiest hours are hot ones (the top 1 % average above the 85th temperature
        # percentile) and humid ones (more humid than the hottest 1 % of hours)
        assert temp[top].mean() > temp.quantile(0.85), zone
        hottest = temp >= temp.quantile(0.99)
        assert rh[top].mean() > rh[hottest].mean(), zone


# --------------------------------------------------------------------------------------------
# The example on real data


@pytest.mark.slow
def test_example_real_data_scenario_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = require_shared_data()
    monkeypatch.setenv("SLIT_DATA", str(data))
    path = REPO / "scenarios" / "azure-conv-real-grid.yaml"
    proc = slit("run", str(path), "--out", str(tmp_path / "run"), "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["requests"] == 19_364  # the trace's 19,366 minus two after 3,500 s
    assert summary["dropped"] == 0
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert any("filled" in line for line in meta["inputs"])


def _bundled_real(name: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A bundled scenario that reads the raw data (skips without it)."""
    monkeypatch.setenv("SLIT_DATA", str(require_shared_data()))
    return load_scenario(REPO / "scenarios" / f"{name}.yaml")


def test_follow_the_sun_spans_two_days_and_four_continents_of_real_signals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = _bundled_real("follow-the-sun", monkeypatch).config
    assert cfg.time.horizon_s >= 2 * 86_400
    assert all(r.signals.source == "files" for r in cfg.regions)
    zones = {r.zone for r in cfg.regions}
    # America, Europe, Asia, Oceania
    assert {"US-CAL-CISO", "DE-LU", "SG", "AU-NSW"} <= zones
    assert cfg.workload.diurnal_amplitude >= 0.5


def test_residency_has_heterogeneous_pools_two_llms_and_scale_to_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = _bundled_real("residency", monkeypatch)
    cfg = scenario.config
    pools = [p for dc in cfg.datacenters for p in dc.pools]
    assert {"a100-80gb", "h100-80gb", "l40s"} <= {p.gpu for p in pools}
    assert len({p.model for p in pools}) >= 2 and len(cfg.workload.models) >= 2
    assert all(p.keep_alive_s is not None for p in pools)
    assert any(not p.resident for p in pools)
    assert all(r.signals.source == "files" for r in cfg.regions)
    from slit.inputs import compile_fleet

    fleet = compile_fleet(scenario, list(cfg.workload.models))
    # moving the 70B model's load to a released site costs more than a minute of loading
    assert max(p.load_s for p in fleet.pools) > 60.0


def test_csv_signals_are_checked_like_every_other_file(tmp_path: Path) -> None:
    good = (
        "time_utc,carbon_g_per_kwh,price_usd_per_mwh,wetbulb_c,ewif_l_per_kwh\n"
        "2023-07-15T00:00:00Z,100,50,15,1\n2023-07-15T01:00:00Z,200,60,16,1\n"
    )
    (tmp_path / "sig.csv").write_text(good)
    data = small_scenario_dict()
    data["regions"][0]["signals"] = {"source": "csv", "path": "sig.csv"}
    scenario = load_scenario(_write(tmp_path, data))
    series = simulate(scenario).timeseries
    a = series[series["datacenter"] == "dc-a"].sort_values("epoch")
    assert a["carbon_g_per_kwh"].tolist()[:5] == pytest.approx([100] * 4 + [200])
    (tmp_path / "sig.csv").write_text(good.replace(":00:00Z", ":00:00"))
    with pytest.raises(TraceError, match=r"sig.csv \(regions\[0\].signals\): column 'time_utc' "
                       "holds times without a timezone"):  # fmt: skip
        check_inputs(scenario)
    (tmp_path / "sig.csv").write_text(good.replace(",ewif_l_per_kwh", "").replace(",1\n", "\n"))
    with pytest.raises(TraceError, match=r"missing column\(s\) ewif_l_per_kwh; a signals CSV"):
        check_inputs(scenario)


def test_resampled_trace_replays_are_seeded(tmp_path: Path) -> None:
    _trace_csv(tmp_path / "trace.csv")
    path = _write(tmp_path, _trace_scenario(tmp_path, replay="resample"))
    first = simulate(load_scenario(path)).requests
    again = simulate(load_scenario(path)).requests
    other = simulate(load_scenario(path), seed=8).requests
    pd.testing.assert_frame_equal(first, again)
    assert len(first) != len(other) or not first["arrival_s"].equals(other["arrival_s"])


@pytest.mark.slow
def test_missing_trace_file_fails_validate_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path, _trace_scenario(tmp_path))  # trace.csv does not exist
    proc = slit("validate", str(path))
    assert proc.returncode == 2
    assert "trace.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_extending_the_default_with_a_trace_workload_replaces_the_synthetic_keys(
    tmp_path: Path,
) -> None:
    _trace_csv(tmp_path / "trace.csv")
    child = {
        "extends": "bundled:default",
        "time": {"horizon_s": 900, "epoch_s": 900},
        "workload": {"source": "trace", "path": "trace.csv", "format": "csv"},
    }
    scenario = load_scenario(_write(tmp_path, child))
    assert scenario.config.workload.source == "trace"
    # a same-source override still merges key by key
    child["workload"] = {"rate_per_s": 3.0}
    merged = load_scenario(_write(tmp_path, child)).config.workload
    assert merged.source == "synthetic" and merged.rate_per_s == 3.0
    assert merged.profile == "azure2023-conv"

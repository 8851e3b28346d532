"""Carbon in full: operational carbon at the average or the marginal intensity, embodied carbon
of the GPUs and their servers per GPU-hour provisioned, and both in every output."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slit.errors import ScenarioError, TraceError
from slit.models import impacts
from slit.models.impacts import J_PER_KWH
from slit.scenario.loader import load_scenario, scenario_from_dict
from slit.sim.simulate import simulate
from slit.traces.grid_readers import G_PER_KWH_PER_LB_PER_MWH, read_grid
from tests.conftest import REPO, require_shared_data, small_scenario_dict

WATTTIME_SAMPLE = "carbon/marginal_watttime_sample/vessim_watttime_caiso_north_5min_2023-06.csv.gz"


def _embodied(data: dict, **embodied: object) -> dict:
    data["carbon"] = {"embodied": {"enabled": True, **embodied}}
    return data


# -- the formula ---------------------------------------------------------------------------


def test_embodied_carbon_is_amortised_linearly_per_gpu_hour() -> None:
    # 8,766 GPU-hours (one mean year) of a 500 kg GPU over 5 years: a fifth of it
    assert impacts.embodied_carbon_kg(8766.0, 500.0, 5.0) == pytest.approx(100.0)
    assert impacts.embodied_carbon_kg(0.0, 500.0, 5.0) == 0.0
    hours = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(impacts.embodied_carbon_kg(hours, 876.6, 1.0), hours / 10.0)
    # the per-GPU-second rate the simulator charges is the same formula at 1/3600 h
    assert impacts.embodied_kg_per_gpu_s(500.0, 5.0) * 3600 == pytest.approx(
        impacts.embodied_carbon_kg(1.0, 500.0, 5.0), rel=1e-12
    )


# -- the WattTime reader ---------------------------------------------------------------------


def _watttime(tmp_path: Path, rows: list[tuple[str, float]], header: str = "oootime,Caiso_North",
              name: str = "moer.csv.gz") -> Path:  # fmt: skip
    path = tmp_path / name
    text = header + "\n" + "".join(f"{t},{v}\n" for t, v in rows)
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


def _five_minutes(hours: int, value: float = 400.0) -> list[tuple[str, float]]:
    times = pd.date_range("2023-06-08", periods=12 * hours, freq="5min")
    return [(f"{t:%Y-%m-%d %H:%M:%S}", value + i % 12) for i, t in enumerate(times)]


def test_watttime_readings_are_averaged_into_utc_hours(tmp_path: Path) -> None:
    frame = read_grid(_watttime(tmp_path, _five_minutes(3)), "watttime")
    assert list(frame.columns) == ["marginal_carbon_g_per_kwh"]
    assert len(frame) == 3 and str(frame.index.tz) == "UTC"
    assert frame.index[0] == pd.Timestamp("2023-06-08T00:00Z")
    np.testing.assert_allclose(frame["marginal_carbon_g_per_kwh"], 405.5)  # mean of 400..411
    assert any("averaged 36 readings into 3 hours" in t for t in frame.attrs["transforms"])


def test_watttime_in_pounds_per_mwh_is_converted(tmp_path: Path) -> None:
    path = _watttime(tmp_path, _five_minutes(1, 1000.0), header="point_time,value")
    frame = read_grid(path, "watttime", unit="lb_per_mwh")
    assert frame["marginal_carbon_g_per_kwh"].iloc[0] == pytest.approx(
        1005.5 * G_PER_KWH_PER_LB_PER_MWH
    )


def test_watttime_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    two = _watttime(tmp_path, [], header="time,a,b", name="two.csv.gz")
    two.write_bytes(gzip.compress(b"time,a,b\n2023-06-08 00:00:00,1,2\n"))
    with pytest.raises(TraceError, match=r"two.csv.gz: format 'watttime' needs one value "
                                         r"column .*'a', 'b'; name one with option value_column"):
        read_grid(two, "watttime")
    assert read_grid(two, "watttime", value_column="b").iloc[0, 0] == 2.0
    with pytest.raises(TraceError, match=r"option unit must be g_per_kwh or lb_per_mwh"):
        read_grid(two, "watttime", value_column="b", unit="kg")
    rows = _five_minutes(2)
    backwards = _watttime(tmp_path, [rows[1], rows[0], *rows[2:]], name="back.csv.gz")
    with pytest.raises(TraceError, match=r"back.csv.gz: times go backwards at line 3"):
        read_grid(backwards, "watttime")


# -- scenario validation ---------------------------------------------------------------------


def test_marginal_intensity_without_a_marginal_signal_names_every_such_region() -> None:
    data = small_scenario_dict()
    data["regions"].append({"id": "c", "zone": "DE-LU", "signals": {"source": "profile"}})
    data["regions"][1]["signals"]["marginal_carbon_g_per_kwh"] = 500
    data["carbon"] = {"intensity": "marginal"}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    text = str(err.value)
    assert "regions[0].signals: region a has no marginal carbon intensity, and " \
           "carbon.intensity is marginal" in text  # fmt: skip
    assert "give signals.marginal_carbon_g_per_kwh, or set carbon.intensity: average" in text
    assert "region c has no marginal carbon intensity" in text
    assert "the bundled profiles hold average intensity only" in text
    assert "region b" not in text


@pytest.mark.parametrize(("key", "value", "message"), [
    ("gpu_lifetime_years", 0, "greater than or equal to 0.5"),
    ("gpu_lifetime_years", 50, "less than or equal to 20"),
    ("server_kg_per_gpu", -1, "greater than or equal to 0"),
])  # fmt: skip
def test_a_bad_embodied_setting_is_refused_at_its_key(key: str, value: float, message: str) -> None:
    with pytest.raises(ScenarioError, match=rf"carbon\.embodied\.{key}.*{message}"):
        scenario_from_dict(_embodied(small_scenario_dict(), **{key: value}))


def test_unused_embodied_settings_and_a_gpu_without_a_figure_are_said() -> None:
    from slit.scenario.unused import unused_settings

    data = small_scenario_dict()
    data["carbon"] = {"embodied": {"gpu_lifetime_years": 6}}
    notes = unused_settings(scenario_from_dict(data).config)
    assert any("carbon.embodied.gpu_lifetime_years is not used" in n for n in notes)
    data = _embodied(small_scenario_dict())
    data["catalog"] = {"gpus": {"mystery": {
        "peak_bf16_tflop_per_s": 900, "memory_gb": 80, "memory_bandwidth_gb_per_s": 3000,
        "interconnect_gb_per_s": 900, "idle_power_w": 70, "max_power_w": 700}}}  # fmt: skip
    data["datacenters"][0]["pools"][0]["gpu"] = "mystery"
    result = simulate(scenario_from_dict(data))
    assert any("GPU mystery has no embodied carbon figure" in n for n in result.metadata["inputs"])
    ts = result.timeseries
    mystery = ts[ts["datacenter"] == "dc-a"]
    # its server share only
    server_only = impacts.embodied_carbon_kg(mystery["gpu_s"] / 3600, 312.5, 5.0)
    np.testing.assert_allclose(mystery["carbon_embodied_kg"], server_only)


# -- the simulator ---------------------------------------------------------------------------


def test_embodied_carbon_per_datacenter_is_gpus_times_hours_times_the_rate() -> None:
    data = _embodied(small_scenario_dict(), gpu_lifetime_years=4, server_kg_per_gpu=200)
    data["datacenters"][1]["pools"][0]["replicas"] = 2
    scenario = scenario_from_dict(data)
    result = simulate(scenario)
    ts, req, s = result.timeseries, result.requests, result.summary
    hours = (3600 + 600) / 3600  # horizon and drain
    total = 0.0
    for d, (dc, gpus) in enumerate((("dc-a", 1), ("dc-b", 2))):
        gpu = scenario.gpus[data["datacenters"][d]["pools"][0]["gpu"]]
        expected = gpus * hours * (gpu.embodied_carbon_kg + 200) / (4 * 8766)
        assert s["per_datacenter"][dc]["carbon_embodied_kg"] == pytest.approx(expected, rel=1e-12)
        rows = ts[ts["datacenter"] == dc]
        # the requests there are charged the busy share of it, never more
        busy_share = rows["busy_gpu_s"].sum() / rows["gpu_s"].sum()
        charged = req.loc[req["datacenter"] == dc, "carbon_embodied_kg"].sum()
        assert charged == pytest.approx(expected * busy_share, rel=1e-9)
        assert charged <= expected
        total += expected
    assert s["carbon_embodied_kg"] == pytest.approx(total, rel=1e-12)
    assert s["carbon_kg"] == pytest.approx(s["carbon_operational_kg"] + total, rel=1e-12)
    # embodied carbon changes no other number
    plain = simulate(scenario_from_dict({k: v for k, v in data.items() if k != "carbon"}))
    assert plain.summary["carbon_operational_kg"] == s["carbon_operational_kg"]
    pd.testing.assert_series_equal(plain.requests["it_energy_kwh"], req["it_energy_kwh"])


def test_marginal_intensity_drives_carbon_and_carbon_aware_routing() -> None:
    def run(intensity: str, policy: str = "nearest"):
        data = small_scenario_dict()
        data["routing"] = {"policy": policy}
        # a is clean on average and dirty at the margin, b the other way round
        data["regions"][0]["signals"]["marginal_carbon_g_per_kwh"] = 800
        data["regions"][1]["signals"]["marginal_carbon_g_per_kwh"] = 100
        data["carbon"] = {"intensity": intensity}
        return simulate(scenario_from_dict(data))

    avg, marg = run("average"), run("marginal")
    for r in (avg, marg):
        ts = r.timeseries
        assert (ts["carbon_kg"] == ts["carbon_operational_kg"] + ts["carbon_embodied_kg"]).all()
        np.testing.assert_allclose(
            ts["carbon_marginal_kg"], ts["energy_kwh"] * ts["marginal_carbon_g_per_kwh"] / 1000
        )
    assert avg.summary["carbon_operational_kg"] == avg.summary["carbon_average_kg"]
    assert marg.summary["carbon_operational_kg"] == marg.summary["carbon_marginal_kg"]
    assert marg.summary["carbon_marginal_kg"] == avg.summary["carbon_marginal_kg"]
    # per request: the same energy, charged at the marginal intensity
    pd.testing.assert_series_equal(avg.requests["it_energy_kwh"], marg.requests["it_energy_kwh"])
    ratio = np.where(avg.requests["datacenter"] == "dc-a", 800 / 200, 100 / 400)
    np.testing.assert_allclose(marg.requests["carbon_kg"], avg.requests["carbon_kg"] * ratio,
                               rtol=1e-12)  # fmt: skip
    # lowest_carbon follows the chosen intensity
    by_avg = run("average", "lowest_carbon").requests["datacenter"].value_counts()
    by_marg = run("marginal", "lowest_carbon").requests["datacenter"].value_counts()
    assert by_avg.idxmax() == "dc-a" and by_marg.idxmax() == "dc-b"


def test_a_region_without_a_marginal_signal_has_no_marginal_total() -> None:
    data = small_scenario_dict()
    data["regions"][1]["signals"]["marginal_carbon_g_per_kwh"] = 100
    s = simulate(scenario_from_dict(data)).summary
    assert s["carbon_marginal_kg"] is None
    assert s["per_datacenter"]["dc-a"]["carbon_marginal_kg"] is None
    assert s["per_datacenter"]["dc-b"]["carbon_marginal_kg"] > 0


def test_the_same_seed_gives_the_same_bytes_with_embodied_carbon(tmp_path: Path) -> None:
    blobs = []
    for i in range(2):
        result = simulate(scenario_from_dict(_embodied(small_scenario_dict())))
        path = tmp_path / f"r{i}.parquet"
        result.requests.to_parquet(path)
        blobs.append((path.read_bytes(), result.summary_json()))
    assert blobs[0] == blobs[1]


stress = st.fixed_dictionaries({
    "embodied": st.booleans(),
    "lifetime": st.floats(0.5, 20.0),
    "server": st.floats(0.0, 5000.0),
    "intensity": st.sampled_from(["average", "marginal"]),
    "marginal": st.floats(0.0, 3000.0),
    "rate": st.floats(0.5, 30.0),
    "seed": st.integers(0, 2**16),
    "policy": st.sampled_from(["nearest", "lowest_carbon", "round_robin"]),
    "chunked": st.booleans(),
    "split": st.booleans(),
})  # fmt: skip


@given(p=stress)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_carbon_adds_up_and_energy_balances_in_every_output(p: dict) -> None:
    data = small_scenario_dict()
    data["seed"] = p["seed"]
    data["time"].update(horizon_s=300, epoch_s=60, drain_s=60)
    data["workload"]["rate_per_s"] = p["rate"]
    data["routing"] = {"policy": p["policy"]}
    for region in data["regions"]:
        region["signals"]["marginal_carbon_g_per_kwh"] = p["marginal"]
    data["carbon"] = {"intensity": p["intensity"], "embodied": {
        "enabled": p["embodied"], "gpu_lifetime_years": p["lifetime"],
        "server_kg_per_gpu": p["server"]}}  # fmt: skip
    pool = data["datacenters"][0]["pools"][0]
    pool.update(replicas=2, chunked_prefill=p["chunked"])
    data["datacenters"][0]["phase_split"] = {"enabled": p["split"]}
    scenario = scenario_from_dict(data)
    result = simulate(scenario)
    req, ts, s = result.requests, result.timeseries, result.summary
    # carbon = operational + embodied in every output
    for frame in (req, ts):
        parts = frame["carbon_operational_kg"] + frame["carbon_embodied_kg"]
        np.testing.assert_array_equal(frame["carbon_kg"], parts)
    for totals in (s, *s["per_datacenter"].values()):
        assert totals["carbon_kg"] == pytest.approx(
            totals["carbon_operational_kg"] + totals["carbon_embodied_kg"], rel=1e-12, abs=1e-15)
        chosen = totals[f"carbon_{p['intensity']}_kg"]
        assert totals["carbon_operational_kg"] == pytest.approx(chosen, rel=1e-12, abs=1e-15)
    for key in ("carbon_kg", "carbon_operational_kg", "carbon_embodied_kg"):
        assert s[key] == pytest.approx(ts[key].sum(), rel=1e-12, abs=1e-15)
    # energy balance: the requests' energy plus idle energy is the datacenters' IT energy
    idle_kwh = 0.0
    for dc in data["datacenters"]:
        gpu = scenario.gpus[dc["pools"][0]["gpu"]]
        rows = ts[ts["datacenter"] == dc["id"]]
        idle_gpu_s = (rows["gpu_s"] - rows["busy_gpu_s"] - rows["released_gpu_s"]).sum()
        idle_kwh += gpu.idle_power_w * (1 + 0.35) * idle_gpu_s / J_PER_KWH
    assert ts["it_energy_kwh"].sum() == pytest.approx(req["it_energy_kwh"].sum() + idle_kwh,
                                                      rel=1e-9)  # fmt: skip
    # the requests' embodied carbon is the busy share of the datacenters'
    for dc in ("dc-a", "dc-b"):
        rows = ts[ts["datacenter"] == dc]
        share = rows["busy_gpu_s"].sum() / rows["gpu_s"].sum()
        charged = req.loc[req["datacenter"] == dc, "carbon_embodied_kg"].sum()
        assert charged == pytest.approx(rows["carbon_embodied_kg"].sum() * share, rel=1e-9,
                                        abs=1e-15)  # fmt: skip
    if not p["embodied"]:
        assert s["carbon_embodied_kg"] == 0.0 and s["carbon_kg"] == s["carbon_operational_kg"]


# -- bundled scenario, optimiser, real data --------------------------------------------------


def test_the_full_carbon_scenario_runs_with_embodied_carbon() -> None:
    assert (REPO / "scenarios" / "full-carbon.yaml").is_file()
    scenario = load_scenario("bundled:full-carbon", ["time.horizon_s=600", "time.drain_s=0",
                                                     "time.epoch_s=300"])  # fmt: skip
    s = simulate(scenario).summary
    assert s["carbon_embodied_kg"] > 0
    assert s["carbon_kg"] == pytest.approx(s["carbon_operational_kg"] + s["carbon_embodied_kg"])


def test_the_evaluator_adds_the_simulators_embodied_carbon() -> None:
    from slit.optimize.demand import oracle_demands
    from slit.optimize.evaluator import FastEvaluator
    from slit.sim.policies import Plan

    over = ["time.horizon_s=900", "time.drain_s=0", "time.epoch_s=300"]
    plain = load_scenario(None, over)
    full = load_scenario("bundled:full-carbon", over)
    out = {}
    for name, scenario in (("plain", plain), ("full", full)):
        demands, models = oracle_demands(scenario)
        ev = FastEvaluator.from_scenario(scenario, models)
        a = np.eye(len(ev.region_ids), len(ev.datacenter_ids))
        out[name] = sum(ev.evaluate(a[None], d).carbon_kg[0] for d in demands)
    simulated = simulate(full, Plan(matrix=a)).summary
    assert out["full"] - out["plain"] == pytest.approx(simulated["carbon_embodied_kg"], rel=1e-9)


def _real_data() -> Path:
    env = os.environ.get("SLIT_DATA")
    return Path(env) if env and Path(env).is_dir() else require_shared_data()


def test_the_watttime_sample_reads_as_hourly_marginal_intensity() -> None:
    path = _real_data() / WATTTIME_SAMPLE
    if not path.is_file():
        pytest.skip(f"the WattTime sample is not in the real data ({WATTTIME_SAMPLE})")
    frame = read_grid(path, "watttime")
    assert len(frame) == 31 * 24  # 2023-06-08 to 2023-07-08, whole days
    assert frame.index[0] == pd.Timestamp("2023-06-08T00:00Z")
    values = frame["marginal_carbon_g_per_kwh"]
    assert 300 < values.median() < 600  # a gas-fired margin, g/kWh
    assert values.min() >= 0


def test_a_run_at_the_marginal_intensity_of_the_watttime_sample(tmp_path: Path) -> None:
    path = _real_data() / WATTTIME_SAMPLE
    if not path.is_file():
        pytest.skip(f"the WattTime sample is not in the real data ({WATTTIME_SAMPLE})")
    data = small_scenario_dict()
    data["time"].update(start_utc="2023-06-10T00:00:00Z", horizon_s=1800, epoch_s=900,
                        drain_s=0)  # fmt: skip
    data["regions"][0]["signals"] = {
        "source": "files", "carbon": 250, "price": 50, "wetbulb": 18, "ewif": 2.0,
        "marginal_carbon": {"path": str(path), "format": "watttime"}}  # fmt: skip
    data["regions"][1]["signals"]["marginal_carbon_g_per_kwh"] = 500
    data["carbon"] = {"intensity": "marginal"}
    result = simulate(scenario_from_dict(data))
    ts = result.timeseries
    at_a = ts[ts["datacenter"] == "dc-a"]
    hour = read_grid(path, "watttime")["marginal_carbon_g_per_kwh"].loc["2023-06-10 00:00Z"]
    np.testing.assert_allclose(at_a["marginal_carbon_g_per_kwh"], hour, rtol=1e-12)
    np.testing.assert_allclose(at_a["carbon_operational_kg"], at_a["carbon_marginal_kg"])
    assert result.summary["carbon_kg"] == pytest.approx(result.summary["carbon_marginal_kg"])


def test_a_signals_csv_gives_a_marginal_column_or_the_run_says_it_lacks_one(
    tmp_path: Path,
) -> None:
    from slit.inputs import compile_inputs
    from slit.inputs.compile import input_problems

    hours = pd.date_range("2023-07-15", periods=3, freq="h", tz="UTC")
    frame = pd.DataFrame({"time_utc": [t.isoformat() for t in hours],
                          "carbon_g_per_kwh": 300.0, "price_usd_per_mwh": 50.0,
                          "wetbulb_c": 15.0, "ewif_l_per_kwh": 2.0})  # fmt: skip
    frame.to_csv(tmp_path / "plain.csv", index=False)
    frame.assign(marginal_carbon_g_per_kwh=[100.0, 200.0, 300.0]).to_csv(
        tmp_path / "with.csv", index=False
    )
    data = small_scenario_dict()
    data["time"].update(horizon_s=3600, epoch_s=1800, drain_s=0)
    data["regions"][1]["signals"]["marginal_carbon_g_per_kwh"] = 500
    data["carbon"] = {"intensity": "marginal"}
    data["regions"][0]["signals"] = {"source": "csv", "path": str(tmp_path / "with.csv")}
    sig = compile_inputs(scenario_from_dict(data)).signals
    np.testing.assert_allclose(sig.operational_carbon_g_per_kwh[:, 0], [100.0, 100.0])
    data["regions"][0]["signals"]["path"] = str(tmp_path / "plain.csv")
    scenario = scenario_from_dict(data)
    with pytest.raises(ScenarioError, match=r"regions\[0\]\.signals: region a has no marginal"):
        compile_inputs(scenario)
    _, problems = input_problems(scenario)
    assert any("region 'a': its signals CSV has no marginal_carbon_g_per_kwh" in p
               for p in problems)  # fmt: skip

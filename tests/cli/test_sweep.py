"""`slit sweep`: every point × seed once, resumable, failures recorded, one sweep per folder."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from slit.cli import main
from tests.conftest import small_scenario_dict

SMOKE = Path(__file__).resolve().parents[2] / "experiments" / "smoke" / "sweep.yaml"

SWEEP = {
    "base": "bundled:default",
    "command": "run",
    "seeds": [1, 2],
    "set": ["time.horizon_s=600", "time.epoch_s=300", "time.drain_s=120"],
    "grid": {"workload.rate_per_s": [0.5, 1.0], "routing.policy": ["nearest", "lowest_carbon"]},
}


def _write(tmp_path: Path, spec: dict) -> Path:
    p = tmp_path / "sweep.yaml"
    p.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return p


@pytest.mark.slow
def test_sweep_runs_every_point_once_and_resumes(tmp_path: Path) -> None:
    path, out = _write(tmp_path, SWEEP), tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "-q", "--jobs", "2"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 8 and (table["status"] == "ok").all()
    assert {"param.workload.rate_per_s", "param.routing.policy", "seed", "carbon_kg",
            "ttft_p95_s", "wall_s"} <= set(table.columns)  # fmt: skip
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "points").iterdir()}
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 0  # nothing left to do
    again = pd.read_parquet(out / "results.parquet")
    assert len(again) == 8
    assert {p.name: p.stat().st_mtime_ns for p in (out / "points").iterdir()} == stamps
    # growing the grid runs only the new points
    bigger = dict(SWEEP, seeds=[1, 2, 3])
    assert main(["sweep", str(_write(tmp_path, bigger)), "--out", str(out), "-q"]) == 0
    assert len(pd.read_parquet(out / "results.parquet")) == 12


def test_a_failed_point_is_recorded_and_the_sweep_goes_on(tmp_path: Path, capsys) -> None:
    # a point that passes every check but fails at run time: its trace file is missing
    (tmp_path / "trace.csv").write_text(
        "arrival_s,prompt_tokens,output_tokens\n"
        + "".join(f"{i * 0.5},{100 + i},{10}\n" for i in range(1400)),
        encoding="utf-8",
    )
    base = tmp_path / "s.yaml"
    base.write_text(yaml.safe_dump({
        "extends": "bundled:default",
        "workload": {"source": "trace", "path": "trace.csv", "format": "csv"},
    }))  # fmt: skip
    spec = dict(SWEEP, base=str(base), seeds=[1], grid={"workload.path": ["trace.csv", "gone.csv"]})
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 point x seed runs failed" in err and "gone.csv" in err
    assert "--retry-failed" in err
    table = pd.read_parquet(out / "results.parquet").set_index("param.workload.path")
    assert table.loc["trace.csv", "status"] == "ok"
    assert table.loc["gone.csv", "status"] == "failed"
    assert "file not found" in table.loc["gone.csv", "error"]
    # a plain rerun keeps the failure; --retry-failed runs that point again (and only it)
    ok_file = next(p for p in (out / "points").glob("*.json") if '"ok"' in p.read_text())
    stamp = ok_file.stat().st_mtime_ns
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q",
                 "--retry-failed"]) == 1  # fmt: skip
    again = pd.read_parquet(out / "results.parquet")
    assert len(again) == 2 and (again["status"] == "failed").sum() == 1
    assert ok_file.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"grid": {"routing.policy": ["nearest", "no_such_policy"]}},
         r"sweep point routing\.policy=no_such_policy, seed 1: .*unknown policy"),
        ({"command": "optimize", "options": {"evaluatons": 10}},
         r"options\.evaluatons: Extra inputs are not permitted"),
        ({"command": "optimize", "options": {"baselines": "nearest,lowest_carbon"}},
         r"options\.baselines: Input should be a valid list"),
        ({"command": "optimize", "grid": {"options.pop_size": [10, 1]}},
         r"sweep point options\.pop_size=1: options\.pop_size: .*greater than or equal to 2"),
        ({"grid": {"workload.rate_per_s": [1.0, 300.0]}, "set": ["time.horizon_s=86400"]},
         r"workload\.rate_per_s=300\.0, seed 1: .*(more than the 20,000,000 requests|this "
         r"machine has)"),
    ],
)
def test_every_point_is_checked_before_the_first_runs(tmp_path: Path, capsys, change,
                                                      says) -> None:  # fmt: skip
    import re

    spec = {**SWEEP, "seeds": [1], **change}
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and re.search(says, err), err
    assert not (out / "points").exists() or not list((out / "points").iterdir())


@pytest.mark.slow
def test_a_changed_spec_runs_anew_and_the_folder_keeps_the_sweep_file(tmp_path: Path) -> None:
    spec = dict(SWEEP, seeds=[1], grid={"routing.policy": ["nearest"]})
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q"]) == 0
    first = pd.read_parquet(out / "results.parquet")
    assert yaml.safe_load((out / "sweep.yaml").read_text())["set"] == spec["set"]
    assert first.loc[0, "sweep.command"] == "run"
    # the same grid point under another `set`: a new run, not the old result
    changed = dict(spec, set=[*spec["set"][:2], "time.drain_s=60"])
    assert main(["sweep", str(_write(tmp_path, changed)), "--out", str(out), "-q"]) == 0
    second = pd.read_parquet(out / "results.parquet")
    assert len(second) == 1 and second.loc[0, "run_id"] != first.loc[0, "run_id"]
    assert "time.drain_s=60" in second.loc[0, "sweep.set"]
    assert len(list((out / "points").glob("*.json"))) == 2  # the old result is kept, unused
    assert yaml.safe_load((out / "sweep.yaml").read_text())["set"] == changed["set"]


@pytest.mark.slow
def test_a_second_sweep_on_the_same_folder_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / ".lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running sweep holds it
    try:
        assert main(["sweep", str(_write(tmp_path, SWEEP)), "--out", str(out), "-q"]) == 2
    finally:
        os.close(fd)
    assert "another sweep is running on this folder" in capsys.readouterr().err
    assert not (out / "results.parquet").exists()
    # a lock file left by a dead sweep blocks nothing
    assert main(["sweep", str(_write(tmp_path, SWEEP)), "--out", str(out), "-q"]) == 0


def _values(table: pd.DataFrame) -> pd.DataFrame:
    """The results without what legitimately differs between runs (wall times)."""
    return table.drop(columns=[c for c in table.columns if "wall_s" in c])


@pytest.mark.slow
def test_smoke_sweep_killed_part_way_resumes_to_the_same_table(tmp_path: Path) -> None:
    """SIGKILL part-way, rerun: exactly 8 rows, equal to an uninterrupted run's values."""
    ref = tmp_path / "ref"
    assert main(["sweep", str(SMOKE), "--out", str(ref), "-q", "--jobs", "2"]) == 0
    reference = pd.read_parquet(ref / "results.parquet")
    assert len(reference) == 8 and (reference["status"] == "ok").all()

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "slit.cli", "sweep", str(SMOKE), "--out", str(out), "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "points").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((out / "points").glob("*.json")))
    assert 2 <= done_before < 8
    assert not (out / "results.parquet").exists()
    assert main(["sweep", str(SMOKE), "--out", str(out), "-q", "--jobs", "2"]) == 0
    resumed = pd.read_parquet(out / "results.parquet")
    assert len(resumed) == 8 and resumed["run_id"].is_unique
    pd.testing.assert_frame_equal(_values(resumed), _values(reference))


@pytest.mark.slow
def test_ray_executor_gives_the_local_results(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'slit[ray]')")
    spec = dict(SWEEP, seeds=[1], grid={"routing.policy": ["nearest", "lowest_carbon"]})
    path = _write(tmp_path, spec)
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert main(["sweep", str(path), "--out", str(local), "-q"]) == 0
    assert main(["sweep", str(path), "--out", str(remote), "-q", "--executor", "ray",
                 "--jobs", "2"]) == 0  # fmt: skip
    a, b = pd.read_parquet(local / "results.parquet"), pd.read_parquet(remote / "results.parquet")
    assert len(b) == 2 and (b["status"] == "ok").all()
    pd.testing.assert_frame_equal(_values(a), _values(b))


def test_an_unknown_executor_is_refused(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", str(_write(tmp_path, SWEEP)), "--out", str(tmp_path / "o"),
              "--executor", "dask"])  # fmt: skip
    assert "invalid choice: 'dask'" in capsys.readouterr().err


def test_listed_points_cross_the_grid_and_options_reach_the_run(tmp_path: Path) -> None:
    spec = dict(SWEEP, seeds=[1], grid={"workload.rate_per_s": [0.5]},
                points=[{"options.policy": "nearest"}, {"options.policy": "lowest_carbon"}])
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q"]) == 0
    table = pd.read_parquet(out / "results.parquet").set_index("param.options.policy")
    assert len(table) == 2 and (table["status"] == "ok").all()
    assert table.loc["lowest_carbon", "carbon_kg"] < table.loc["nearest", "carbon_kg"]


def test_a_bad_sweep_file_names_the_key(tmp_path: Path, capsys) -> None:
    assert main(["sweep", str(_write(tmp_path, dict(SWEEP, command="fly"))), "--out",
                 str(tmp_path / "o"), "-q"]) == 2  # fmt: skip
    assert "sweep.yaml: command" in capsys.readouterr().err


@pytest.mark.slow
def test_an_optimize_sweep_keeps_each_points_folder(tmp_path: Path) -> None:
    spec = {"base": "bundled:default", "command": "optimize", "seeds": [1], "keep_outputs": True,
            "set": ["time.horizon_s=900", "time.epoch_s=300", "time.drain_s=120"],
            "grid": {"options.algorithm": ["slit", "slit-nolocal"]},
            "options": {"evaluations": 150, "pop_size": 10, "baselines": ["nearest"]}}
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 2 and (table["status"] == "ok").all(), table.get("error")
    assert {"balanced.carbon_kg", "nearest.ttft_p95_s", "hypervolume_mean",
            "pareto_objectives"} <= set(table.columns)  # fmt: skip
    for run_id in table["run_id"]:
        folder = out / "runs" / run_id
        assert (folder / "pareto.csv").is_file() and (folder / "summary.json").is_file()


def test_common_hypervolume_ranks_a_dominating_front_higher() -> None:
    import json

    from slit.experiment.analysis import common_hypervolume, mean_sd, one_at_a_time

    good = [[0.1, 1.0, 1.0, 1.0], [0.2, 0.5, 0.5, 0.5]]
    bad = [[0.3, 2.0, 2.0, 2.0]]
    table = pd.DataFrame({"pareto_objectives": [json.dumps(good), json.dumps(bad), None],
                          "param.options.pop_size": [20, None, None],
                          "param.time.epoch_s": [None, 300, 900], "carbon_kg": [1.0, 2.0, 4.0],
                          "run_id": ["a", "b", "c"]})  # fmt: skip
    hv = common_hypervolume(table)
    assert hv[0] > hv[1] > 0 and np.isnan(hv[2])
    oat = one_at_a_time(table)
    assert list(oat["factor"]) == ["pop_size", "time.epoch_s", "time.epoch_s"]
    stats = mean_sd(oat, ["factor"], ["carbon_kg"]).set_index("factor")
    assert stats.loc["time.epoch_s", "carbon_kg"] == 3.0
    assert stats.loc["time.epoch_s", "seeds"] == 2


def test_ray_executor_without_ray_says_how_to_install_it(tmp_path: Path, monkeypatch,
                                                          capsys) -> None:  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    spec = dict(SWEEP, seeds=[1], grid={"routing.policy": ["nearest"]})
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q",
                 "--executor", "ray"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--executor ray needs Ray" in err and "pip install 'slit[ray]'" in err
    assert not (out / "results.parquet").exists()


@pytest.mark.parametrize("n_listed", [0, 1, 3])
def test_points_are_the_listed_points_crossed_with_the_grid(n_listed: int) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from slit.experiment.sweep import SweepSpec, point_id, points

    values = st.lists(st.integers(0, 50), min_size=1, max_size=3, unique=True)

    @settings(max_examples=40, deadline=None)
    @given(st.dictionaries(st.sampled_from(["a.x", "b.y", "c.z"]), values, max_size=3),
           st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True))
    def check(grid: dict, seeds: list[int]) -> None:
        listed = [{"label": f"p{i}"} for i in range(n_listed)]
        spec = SweepSpec(base="bundled:default", grid=grid, points=listed, seeds=seeds)
        pts = points(spec)
        expected = max(1, n_listed) * int(np.prod([len(v) for v in grid.values()]))
        assert len(pts) == expected
        ids = {point_id(p, s) for p in pts for s in seeds}
        assert len(ids) == len(pts) * len(seeds)  # every point x seed has its own file

    check()


def test_python_api_runs_a_sweep_file(tmp_path: Path) -> None:
    import slit

    spec = dict(SWEEP, seeds=[1], grid={"routing.policy": ["nearest"]})
    table = slit.run_sweep(_write(tmp_path, spec), tmp_path / "out")
    assert len(table) == 1 and table["status"].iloc[0] == "ok"
    assert callable(slit.run_optimize)


@pytest.mark.slow
def test_a_grid_of_mixed_types_gives_a_table_not_a_traceback(tmp_path: Path) -> None:
    spec = {"base": "bundled:default", "seeds": [1],
            "set": ["time.horizon_s=300", "time.epoch_s=300", "time.drain_s=60"],
            "grid": {"label": [1, "b", None, [1, 2]]}}  # fmt: skip
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 4 and (table["status"] == "ok").all()
    assert set(table["param.label"].dropna()) == {"1", "b", "[1, 2]"}


def test_a_changed_data_file_runs_anew_never_a_stale_result(tmp_path: Path) -> None:
    """The point ids hash the bytes of the files a scenario reads: editing a signal file
    between two runs of one sweep gives new results, not the old ones."""
    from tests.bad_inputs import GOOD_HOURS, _signal_csv, _signal_file

    data = small_scenario_dict()
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    _signal_file(data)
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    data["regions"][0]["signals"].update(wetbulb=15.0, ewif=2.0)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "sig.csv").write_text(_signal_csv(GOOD_HOURS), encoding="utf-8")
    path = _write(tmp_path, {"base": "s.yaml", "seeds": [1],
                             "grid": {"routing.policy": ["nearest"]}})  # fmt: skip
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 0
    before = pd.read_parquet(out / "results.parquet")
    tenfold = [(t, str(float(v) * 10)) for t, v in GOOD_HOURS]
    (tmp_path / "sig.csv").write_text(_signal_csv(tenfold), encoding="utf-8")
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 0
    after = pd.read_parquet(out / "results.parquet")
    assert before["run_id"].iloc[0] != after["run_id"].iloc[0]
    assert after["carbon_kg"].iloc[0] > 2 * before["carbon_kg"].iloc[0]  # one region x10


@pytest.mark.parametrize("spec, says", [
    ({"grid": {"seed": [5, 6]}}, "sets seed"),
    ({"points": [{"seed": 5}]}, "sets seed"),
    ({"set": ["routing.policy=lowest_cost"], "grid": {"routing.policy": ["nearest"]}},
     "which set: also sets"),
    ({"options": {"policy": "lowest_cost"}, "grid": {"routing.policy": ["nearest"]}},
     "routing.policy are both given"),
])  # fmt: skip
def test_keys_set_in_two_places_are_refused(tmp_path: Path, capsys, spec: dict,
                                            says: str) -> None:  # fmt: skip
    path = _write(tmp_path, {"base": "bundled:default", **spec})
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    assert says in capsys.readouterr().err

"""`slit sweep`: every point × seed once, resumable, failures recorded, one sweep per folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from slit.cli import main

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


def test_a_failed_point_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    spec = dict(SWEEP, seeds=[1], grid={"routing.policy": ["nearest", "no_such_policy"]})
    out = tmp_path / "out"
    assert main(["sweep", str(_write(tmp_path, spec)), "--out", str(out), "-q"]) == 0
    table = pd.read_parquet(out / "results.parquet").set_index("param.routing.policy")
    assert table.loc["nearest", "status"] == "ok"
    assert table.loc["no_such_policy", "status"] == "failed"
    assert "unknown policy 'no_such_policy'" in table.loc["no_such_policy", "error"]


def test_a_second_sweep_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text("12345")
    assert main(["sweep", str(_write(tmp_path, SWEEP)), "--out", str(out), "-q"]) == 2
    assert not (out / "results.parquet").exists()


def test_a_bad_sweep_file_names_the_key(tmp_path: Path, capsys) -> None:
    assert main(["sweep", str(_write(tmp_path, dict(SWEEP, command="fly"))), "--out",
                 str(tmp_path / "o"), "-q"]) == 2  # fmt: skip
    assert "sweep.yaml: command" in capsys.readouterr().err

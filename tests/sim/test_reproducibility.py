"""Reproducibility: the same scenario and seed give byte-identical result files across runs,
across ``--jobs 1`` and ``--jobs 4``, and across the local and Ray executors; every run
records the provenance needed to reproduce it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from slit.cli import main
from tests.conftest import small_scenario_dict

RUN_BYTES = ("requests.parquet", "summary.json", "timeseries.parquet", "config.resolved.yaml")
OPTIMIZE_BYTES = RUN_BYTES + ("pareto.csv", "fronts.csv", "validated.csv",
                              "validated_datacenters.csv", "convergence.csv")  # fmt: skip


def _same_files(a: Path, b: Path, names: tuple[str, ...]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _without_wall_times(data: object) -> object:
    if isinstance(data, dict):
        return {k: _without_wall_times(v) for k, v in data.items() if "wall" not in k
                and k not in ("optimise", "validate", "per_epoch_mean")}  # fmt: skip
    return data


def test_the_same_run_twice_gives_the_same_bytes_and_records_its_provenance(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(small_scenario_dict()), encoding="utf-8")
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["run", str(scenario), "--out", str(out), "-q", "--seed", "11"]) == 0
    _same_files(*outs, RUN_BYTES)
    meta = [json.loads((out / "metadata.json").read_text()) for out in outs]
    for m in meta:
        assert m["status"] == "completed" and m["seed"] == 11
        assert m["slit_version"] and len(m["scenario_sha256"]) == 64
        assert "git_commit" in m  # the commit where the source is a git checkout, else null
    assert meta[0]["scenario_sha256"] == meta[1]["scenario_sha256"]
    assert meta[0]["git_commit"] == meta[1]["git_commit"]


def test_separate_processes_with_different_hash_seeds_give_the_same_bytes(tmp_path):
    """Nothing in a result may depend on the order of a set or a dict built from hashes of
    strings, which Python randomises per process (PYTHONHASHSEED)."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(small_scenario_dict()), encoding="utf-8")
    outs = [tmp_path / "a", tmp_path / "b"]
    for hash_seed, out in zip(("1", "2"), outs, strict=True):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = subprocess.run([sys.executable, "-m", "slit.cli", "run", str(scenario),
                               "--out", str(out), "-q", "--seed", "5"],
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
    _same_files(*outs, RUN_BYTES)


@pytest.mark.slow
def test_optimize_with_one_or_four_jobs_gives_the_same_bytes(tmp_path):
    outs = {jobs: tmp_path / f"jobs{jobs}" for jobs in (1, 4)}
    for jobs, out in outs.items():
        assert main(["optimize", "--out", str(out), "-q", "--set", "time.horizon_s=1800",
                     "--evaluations", "600", "--pop-size", "20",
                     "--jobs", str(jobs)]) == 0  # fmt: skip
    _same_files(outs[1], outs[4], OPTIMIZE_BYTES)
    ind = [json.loads((out / "indicators.json").read_text()) for out in outs.values()]
    assert _without_wall_times(ind[0]) == _without_wall_times(ind[1])


@pytest.mark.slow
def test_the_ray_executor_gives_the_local_bytes(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'slit[ray]')")
    runs = {"base": "bundled:default", "command": "run", "seeds": [1], "keep_outputs": True,
            "set": ["time.horizon_s=600", "time.epoch_s=300", "time.drain_s=120"],
            "grid": {"routing.policy": ["nearest", "lowest_carbon"]}}  # fmt: skip
    optimize = {"base": "bundled:default", "command": "optimize", "seeds": [1],
                "keep_outputs": True, "set": ["time.horizon_s=1800"],
                "points": [{"options.evaluations": 400, "options.pop_size": 20}]}  # fmt: skip
    for name, spec, names in (("runs", runs, RUN_BYTES), ("opt", optimize, OPTIMIZE_BYTES)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        local, remote = tmp_path / f"{name}-local", tmp_path / f"{name}-ray"
        assert main(["sweep", str(path), "--out", str(local), "-q"]) == 0
        assert main(["sweep", str(path), "--out", str(remote), "-q", "--executor", "ray",
                     "--jobs", "2"]) == 0  # fmt: skip
        table = pd.read_parquet(local / "results.parquet")
        assert (table["status"] == "ok").all()
        for run_id in table["run_id"]:
            _same_files(local / "runs" / run_id, remote / "runs" / run_id, names)

"""The command line: outputs of `slit run`, error exits, and the other commands."""

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

SUMMARY_KEYS = {
    "requests",
    "completed",
    "dropped",
    "ttft_s",
    "tpot_s",
    "e2e_s",
    "slo_attainment",
    "energy_kwh",
    "carbon_kg",
    "water_l",
    "cost_usd",
    "per_datacenter",
}
RUN_FILES = {
    "summary.json",
    "requests.parquet",
    "timeseries.parquet",
    "config.resolved.yaml",
    "metadata.json",
}


def slit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "slit.cli", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


@pytest.mark.slow
def test_run_default_writes_the_five_files(tmp_path):
    out = tmp_path / "run"
    code = main(["run", "--out", str(out), "-q", "--set", "time.horizon_s=1800"])
    assert code == 0
    assert {p.name for p in out.iterdir()} == RUN_FILES
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["completed"] + summary["dropped"] == summary["requests"] > 0
    for key in ("ttft_s", "tpot_s", "e2e_s"):
        assert set(summary[key]) == {"mean", "p50", "p95", "p99"}
    assert len(summary["per_datacenter"]) == 6
    req = pd.read_parquet(out / "requests.parquet")
    assert len(req) == summary["requests"]
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["carbon_kg"].sum() == pytest.approx(summary["carbon_kg"])
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["status"] == "completed" and meta["seed"] == 42 and meta["wall_s"] > 0
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["time"]["horizon_s"] == 1800
    assert not list(tmp_path.glob(".*partial"))


def test_existing_out_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--out", str(out), "-q", "--set", "time.horizon_s=900"]) == 0
    first = (out / "metadata.json").read_text()
    assert main(["run", "--out", str(out), "-q", "--set", "time.horizon_s=900"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "metadata.json").read_text() == first
    assert main(["run", "--out", str(out), "-q", "--overwrite", "--set", "time.horizon_s=900"]) == 0
    assert (out / "metadata.json").read_text() != first  # a new wall time


def test_failed_run_leaves_no_output(tmp_path):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--out",
            str(out),
            "-q",
            "--set",
            "datacenters[0].pools[0].gpu=l4",
            "--set",
            "datacenters[0].pools[1].gpu=l4",
        ]
    )
    assert code == 2
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_validate_reports_every_problem_without_traceback(tmp_path):
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "scenarios/default.yaml").read_text()
    )
    data["workload"]["rate_per_sec"] = 3
    data["time"]["epoch_s"] = "fifteen minutes"
    data["datacenters"][2]["pools"][0]["gpu"] = "a100"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = slit("validate", str(bad))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for where in ("workload.rate_per_sec", "time.epoch_s", "datacenters[2].pools[0].gpu"):
        assert where in proc.stderr, proc.stderr
    assert "did you mean 'rate_per_s'" in proc.stderr


@pytest.mark.slow
def test_validate_broken_yaml_names_the_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\nseed: [1, 2\n")
    proc = slit("validate", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}:3" in proc.stderr or f"{bad}:2" in proc.stderr


@pytest.mark.slow
def test_validate_good_files_exit_0(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(small_scenario_dict()))
    assert slit("validate", str(good), "bundled:default").returncode == 0


def test_schema_and_list_commands(capsys):
    assert main(["schema"]) == 0
    assert "datacenters" in json.loads(capsys.readouterr().out)["properties"]
    for what, expected in [
        ("policies", "lowest_carbon"),
        ("gpus", "h100-80gb"),
        ("models", "llama-3.1-70b"),
        ("regions", "US-CAL-CISO"),
    ]:
        assert main(["list", what]) == 0
        assert expected in capsys.readouterr().out


def test_list_regions_says_which_signals_each_zone_profile_lacks(capsys):
    from slit.traces.profiles import load_region_catalog

    assert main(["list", "regions"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if not line.startswith("note")}
    catalog = load_region_catalog()
    assert set(lines) == set(catalog)
    for zone, info in catalog.items():
        has_price = info.get("price_usd_per_mwh_annual_mean_2023") is not None
        assert (" price " in lines[zone]) == has_price, lines[zone]
        if not has_price:
            notes = out.split("note:")[1:]
            assert any("no bundled price profile" in n and zone in n for n in notes)


def test_list_scenarios_gives_descriptions_and_the_local_scenarios_folder(tmp_path, capsys,
                                                                         monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "mine.yaml").write_text(
        "extends: bundled:default\ndescription: three regions of my own\n", encoding="utf-8"
    )
    (tmp_path / "scenarios" / "broken.yaml").write_text("a: [", encoding="utf-8")
    assert main(["list", "scenarios"]) == 0
    out = capsys.readouterr().out
    assert "bundled:default" in out and "Six datacenters" in out
    assert "scenarios/mine.yaml" in out and "three regions of my own" in out
    assert "scenarios/broken.yaml" in out and "slit validate" in out


@pytest.mark.slow
def test_run_from_another_directory_uses_the_packaged_default(tmp_path):
    proc = slit(
        "run", "--out", str(tmp_path / "o"), "-q", "--set", "time.horizon_s=900", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr


def test_validate_reports_problems_of_every_stage_in_one_pass(tmp_path, capsys):
    """A bad routing parameter, a missing trace and a missing signal file do not depend on
    each other: all three are reported by one `slit validate`."""
    from tests.bad_inputs import _signal_file, _trace_workload

    data = small_scenario_dict()
    _signal_file(data)
    _trace_workload(data, "missing-trace.csv")
    data["regions"][0]["signals"]["carbon"]["path"] = "missing-signal.csv"
    data["routing"] = {"policy": "weighted", "params": {"carbn": 1}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "3 problems in the scenario and its inputs" in err
    for piece in ("routing.params.carbn", "missing-trace.csv (workload.path)",
                  "missing-signal.csv (regions[0].signals.carbon)"):  # fmt: skip
        assert piece in err, err


def test_help_names_the_builtin_policies_and_algorithms_of_the_registries():
    from slit.cli import BUILTIN_ALGORITHMS, BUILTIN_POLICIES
    from slit.plugins import ALGORITHMS
    from slit.sim.policies import policy_names

    assert set(BUILTIN_POLICIES) == set(policy_names())
    assert set(BUILTIN_ALGORITHMS) == set(ALGORITHMS.names())


def test_every_option_with_a_default_says_it_in_help():
    import argparse

    from slit.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        text = sub.format_help()
        for action in sub._actions:
            default = action.default
            if (not action.option_strings or default in (None, False, [], argparse.SUPPRESS)
                    or action.help is None):  # fmt: skip
                continue
            assert "default" in (action.help or "") or f"(default: {default})" in " ".join(
                text.split()
            ), f"slit {name} {action.option_strings[0]}"

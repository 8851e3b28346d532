"""Rolling optimisation and `slit optimize`: outputs, decisions, and the algorithm registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slit.cli import main
from slit.errors import RegistryError
from slit.optimize.algorithms import algorithm_names, make_algorithm
from slit.optimize.decide import VARIANTS, choose


def test_decision_variants_pick_the_expected_members() -> None:
    front = np.array([[1.0, 9.0, 9.0, 9.0], [9.0, 1.0, 9.0, 9.0], [9.0, 9.0, 1.0, 1.0],
                      [4.0, 4.0, 4.0, 4.0]])  # fmt: skip
    assert choose(front, "ttft") == 0
    assert choose(front, "carbon") == 1
    assert choose(front, "water") == 2 and choose(front, "cost") == 2
    assert choose(front, "balanced") == 3
    assert choose(front, "knee") == 3
    assert choose(front, np.array([0.0, 1.0, 0.0, 0.0])) == 1
    with pytest.raises(ValueError, match="unknown decision variant 'greenest'"):
        choose(front, "greenest")


def test_registry_lists_pymoo_algorithms_and_rejects_unknown_names() -> None:
    assert {"nsga2", "nsga3", "moead", "smsemoa", "rvea", "random"} <= set(algorithm_names())
    for name in ("nsga2", "nsga3", "moead", "smsemoa", "rvea", "random"):
        assert make_algorithm(name, 20, 4, 1) is not None
    with pytest.raises(RegistryError, match=r"unknown algorithm 'nsga4'\. Did you mean 'nsga\d'"):
        make_algorithm("nsga4", 20, 4, 1)


@pytest.mark.slow
def test_slit_optimize_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "opt"
    code = main(["optimize", "--out", str(out), "-q", "--set", "time.horizon_s=1800",
                 "--evaluations", "600", "--pop-size", "20", "--jobs", "1",
                 "--algorithm", "nsga2"])  # fmt: skip
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"pareto.csv", "fronts.csv", "convergence.csv", "validated.csv",
            "validated_datacenters.csv", "indicators.json", "plans", "metadata.json",
            "config.resolved.yaml", "summary.json", "requests.parquet",
            "timeseries.parquet"} <= names  # fmt: skip
    # the run files are the balanced plan's replay
    summary = json.loads((out / "summary.json").read_text())
    validated = pd.read_csv(out / "validated.csv").set_index("name")
    assert summary["carbon_kg"] == pytest.approx(validated.loc["balanced", "carbon_kg"])
    per_dc = pd.read_csv(out / "validated_datacenters.csv")
    totals = per_dc.groupby("name")["carbon_kg"].sum()
    assert np.allclose(totals[validated.index], validated["carbon_kg"])
    conv = pd.read_csv(out / "convergence.csv")
    assert (conv.groupby("epoch")["evaluations"].max() <= 600 + 20).all()
    assert conv["hypervolume"].between(0, 1.1**4).all()
    pareto = pd.read_csv(out / "pareto.csv")
    f = pareto[["ttft_s", "carbon_kg", "water_l", "cost_usd"]].to_numpy()
    # mutually non-dominated
    for i in range(len(f)):
        dominated = ((f <= f[i]).all(axis=1) & (f < f[i]).any(axis=1)).any()
        assert not dominated
    validated = pd.read_csv(out / "validated.csv")
    assert set(VARIANTS) <= set(validated["name"])
    assert {"helix", "splitwise", "nearest"} <= set(validated["name"])
    assert (validated["dropped"] == 0).all()
    ind = json.loads((out / "indicators.json").read_text())
    assert len(ind["hypervolume_per_epoch"]) == ind["epochs"]
    # the fast evaluator's prediction of every replayed plan
    err = ind["evaluator_max_abs_error"]
    assert err["carbon_kg"] < 0.10 and err["water_l"] < 0.10 and err["cost_usd"] < 0.10
    assert err["ttft_mean_s"] < 0.20
    plan = pd.read_csv(out / "plans" / "balanced.csv")
    sums = plan.groupby(["epoch", "origin"])["share"].sum()
    assert np.allclose(sums, 1.0)
    # every figure of an optimisation, non-empty, and the report holding its tables
    assert main(["plot", str(out), "-q"]) == 0
    figures = {"pareto_grid", "parallel", "convergence", "datacenter_impacts", "routing_share"}
    assert {p.name for p in (out / "plots").iterdir()} == {
        f"{f}.{ext}" for f in figures for ext in ("png", "pdf")}
    assert all(p.stat().st_size > 10_000 for p in (out / "plots").iterdir())
    assert main(["report", str(out), "-q"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(figures)
    for title in ("Plans and baselines replayed in the simulator", "Indicators", "Pareto set",
                  "Balanced plan, simulated", "Resolved scenario", "Provenance"):
        assert title in html
    assert "helix" in html and f"{summary['carbon_kg']:.4g}" in html


def test_unknown_algorithm_is_a_clean_error(tmp_path: Path) -> None:
    assert main(["optimize", "--out", str(tmp_path / "x"), "-q", "--algorithm", "nsga4"]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_run_optimize_returns_a_typed_result() -> None:
    from slit.optimize.run import OptimizeResult, run_optimize
    from slit.scenario.loader import scenario_from_dict
    from slit.sim.results import RunSummary, SimResult
    from tests.conftest import small_scenario_dict

    data = small_scenario_dict()
    data["time"].update(horizon_s=1800, drain_s=0)
    out = run_optimize(scenario_from_dict(data), "random", evaluations=40, pop_size=10,
                       baselines=("nearest",))  # fmt: skip
    assert isinstance(out, OptimizeResult)
    assert isinstance(out.replay, SimResult) and isinstance(out.replay.summary, RunSummary)
    assert set(out.validated["name"]) == set(VARIANTS) | {"nearest"}
    assert {"w00", *VARIANTS} <= set(out.plans)
    assert 0.0 <= out.hypervolume_mean <= 1.1**4
    assert out.indicators["epochs"] == 2 == out.fronts["epoch"].nunique()

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
    # every replayed plan, simulated beside predicted; the front recomputed on the simulated
    # TTFT p95, carbon, water and cost: its members are mutually non-dominated, and every
    # other plan is dominated by one of them
    cols = ["ttft_p95_s", "carbon_kg", "water_l", "cost_usd"]
    f = pareto[cols].to_numpy()
    nd = pareto["non_dominated"].to_numpy(bool)
    for i in range(len(f)):
        dominated = ((f[nd] <= f[i]).all(axis=1) & (f[nd] < f[i]).any(axis=1)).any()
        assert dominated != nd[i]
    assert {"predicted_ttft_s", "predicted_carbon_kg", "predicted_non_dominated",
            "slo_met_p95", "forecaster"} <= set(pareto.columns)  # fmt: skip
    summary_of = pd.read_csv(out / "validated.csv").drop_duplicates("name").set_index("name")
    assert np.allclose(pareto["carbon_kg"], summary_of.loc[pareto["plan"], "carbon_kg"])
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
    # the acceptance figures: median over the plans, with the p95 from the tail model
    assert ind["evaluator_median_abs_error"]["ttft_p95_s"] <= 0.15
    assert all(ind["evaluator_within_tolerance"].values())
    assert ind["ttft_slo_s"] == 2.0  # the scenario's SLO is honoured by default
    assert np.isfinite(pareto["predicted_ttft_p95_s"]).all()
    plan = pd.read_csv(out / "plans" / "balanced.csv")
    sums = plan.groupby(["epoch", "origin"])["share"].sum()
    assert np.allclose(sums, 1.0)
    # every figure of an optimisation, non-empty, and the report holding its tables
    assert main(["plot", str(out), "-q"]) == 0
    figures = {"pareto_grid", "parallel", "convergence", "datacenter_impacts", "routing_share"}
    assert {p.name for p in (out / "plots").iterdir()} == {
        f"{f}.{ext}" for f in figures for ext in ("png", "pdf")
    }
    assert all(p.stat().st_size > 10_000 for p in (out / "plots").iterdir())
    assert main(["report", str(out), "-q"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(figures)
    for title in (
        "Plans and baselines replayed in the simulator",
        "Indicators",
        "Plans replayed in the simulator (",
        "Balanced plan, simulated",
        "Resolved scenario",
        "Provenance",
    ):
        assert title in html
    assert "helix" in html and f"{summary['carbon_kg']:.4g}" in html


def test_unknown_algorithm_is_a_clean_error(tmp_path: Path) -> None:
    assert main(["optimize", "--out", str(tmp_path / "x"), "-q", "--algorithm", "nsga4"]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_every_replay_gets_the_same_serving_mode() -> None:
    from slit.errors import SlitError
    from slit.optimize.run import run_optimize
    from slit.scenario.loader import scenario_from_dict
    from tests.conftest import small_scenario_dict

    data = small_scenario_dict()
    data["time"].update(horizon_s=900, drain_s=0)
    for dc in data["datacenters"]:
        for pool in dc["pools"]:
            pool["replicas"] = max(2, pool.get("replicas", 1))
    scenario = scenario_from_dict(data)
    on = run_optimize(scenario, "random", evaluations=20, pop_size=10, jobs=1,
                      baselines=("nearest",), phase_split="on")  # fmt: skip
    # the balanced plan's replay split its requests as the baselines' did
    assert (on.replay.requests["kv_transfer_s"] > 0).mean() > 0.9
    assert on.indicators["phase_split"] == "on"
    off = run_optimize(scenario, "random", evaluations=20, pop_size=10, jobs=1,
                       baselines=("splitwise",), phase_split="off")  # fmt: skip
    assert (off.replay.requests["kv_transfer_s"] == 0).all()
    with pytest.raises(SlitError, match="phase_split must be 'scenario', 'on', 'off' or 'by_gpu'"):
        run_optimize(scenario, "random", evaluations=20, pop_size=10, phase_split="yes")


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
    # the variants, every plan predicted non-dominated (each replayed once) and the baseline
    assert set(VARIANTS) | {"nearest"} <= set(out.validated["name"])
    assert set(out.pareto["plan"]) == set(out.validated.loc[out.validated["kind"] == "plan",
                                                            "name"])  # fmt: skip
    assert {"w00", *VARIANTS} <= set(out.plans)
    assert 0.0 <= out.hypervolume_mean <= 1.1**4
    assert out.indicators["epochs"] == 2 == out.fronts["epoch"].nunique()


@pytest.mark.parametrize("at", [0.15, 0.3, 0.6])
def test_knee_is_the_high_trade_off_point_of_a_bent_front(at: float) -> None:
    """A front that falls steeply to a bend at ``at`` and then only slowly: the knee is the
    bend, wherever it is (the Chebyshev point of this front would not follow it)."""
    from slit.optimize.decide import knee_points, normalise

    t = np.linspace(0.0, 1.0, 41)
    steep = 1.0 - (1.0 - 0.1) * t / at
    slow = 0.1 - 0.1 * (t - at) / (1.0 - at) * 0.5
    f = np.stack([t, np.where(t < at, steep, slow), np.zeros_like(t), np.zeros_like(t)], axis=1)
    bend = int(np.argmin(np.abs(t - at)))
    assert bend in knee_points(normalise(f))
    assert choose(f, "knee") == bend


def test_knee_of_a_small_front_falls_back_to_the_chebyshev_point() -> None:
    front = np.array([[0.0, 1.0, 0.0, 0.0], [0.6, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    assert choose(front, "knee") == 1


def test_the_problem_evaluates_no_more_than_its_budget() -> None:
    from slit.optimize.demand import oracle_demands
    from slit.optimize.evaluator import FastEvaluator
    from slit.optimize.problem import UNEVALUATED, EpochProblem
    from slit.scenario.loader import scenario_from_dict
    from tests.conftest import small_scenario_dict

    scenario = scenario_from_dict(small_scenario_dict())
    demands, models = oracle_demands(scenario)
    problem = EpochProblem(FastEvaluator.from_scenario(scenario, models), demands[0], budget=5)
    x = np.random.default_rng(0).random((4, problem.n_var))
    first = problem.evaluate(x, return_as_dictionary=True)
    second = problem.evaluate(x, return_as_dictionary=True)
    assert problem.n_evaluated == 5
    assert np.all(first["F"] < UNEVALUATED)
    # of the second batch one fits the budget: the same values as before; the rest unevaluated
    assert np.allclose(second["F"][0], first["F"][0])
    assert np.all(second["F"][1:] == UNEVALUATED) and np.all(second["G"][1:] == UNEVALUATED)


def test_the_archive_holds_every_evaluated_allocation_and_nothing_past_the_budget() -> None:
    from slit.optimize.demand import oracle_demands
    from slit.optimize.evaluator import FastEvaluator
    from slit.optimize.problem import EpochProblem
    from slit.scenario.loader import scenario_from_dict
    from tests.conftest import small_scenario_dict

    scenario = scenario_from_dict(small_scenario_dict())
    demands, models = oracle_demands(scenario)
    evaluator = FastEvaluator.from_scenario(scenario, models)
    problem = EpochProblem(evaluator, demands[0], ttft_slo_s=2.0, budget=7, archive=True)
    x0, f0, g0 = problem.archived()
    assert x0.shape == (0, problem.n_var) and f0.shape == (0, 4) and g0.shape[0] == 0
    x = np.random.default_rng(1).random((5, problem.n_var))
    first = problem.evaluate(x, return_as_dictionary=True)
    problem.evaluate(x[::-1], return_as_dictionary=True)  # two of these fit the budget
    xs, fs, gs = problem.archived()
    assert len(xs) == 7
    assert np.array_equal(xs[:5], x) and np.array_equal(xs[5:], x[::-1][:2])
    assert np.allclose(fs[:5], first["F"]) and np.allclose(gs[:5], first["G"])
    # the same values as a fresh problem computes for the same allocations
    again = EpochProblem(evaluator, demands[0], ttft_slo_s=2.0).evaluate(
        xs, return_as_dictionary=True
    )
    assert np.allclose(fs, again["F"]) and np.allclose(gs, again["G"])
    with pytest.raises(ValueError, match="built with archive=False"):
        EpochProblem(evaluator, demands[0]).archived()


def test_optimize_help_states_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["optimize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: slit)", "(default: 2000)", "(default: 40)", "(default: 2)",
                  "(default: 0.0)", "oracle (perfect foresight: an upper bound"):  # fmt: skip
        assert shown in text, shown
    assert text.count("(default: slit)") == 2  # the algorithm and the forecaster


@pytest.mark.slow
def test_run_optimize_takes_a_pymoo_algorithm_and_termination() -> None:
    """pymoo's conventions: an Algorithm instance and a termination instead of a name and a
    budget; each epoch solves a fresh copy, so the caller's instance is left untouched."""
    from pymoo.algorithms.moo.nsga2 import NSGA2

    from slit.optimize.run import run_optimize
    from slit.scenario.loader import scenario_from_dict
    from tests.conftest import small_scenario_dict

    data = small_scenario_dict()
    data["time"].update(horizon_s=1800, drain_s=0)
    algo = NSGA2(pop_size=12)
    # the oracle, so that both epochs are decided (SLIT's predictor knows no demand in the
    # first); no warm start, whose copies of the extreme schedules NSGA-II would drop as
    # duplicates, so that every generation holds exactly pop_size new members
    out = run_optimize(scenario_from_dict(data), algo, termination=("n_gen", 3), baselines=(),
                       forecaster="oracle", warm_start=False)  # fmt: skip
    assert out.indicators["algorithm"] == "NSGA2"
    assert out.indicators["termination"] == "('n_gen', 3)"
    assert algo.problem is None or not hasattr(algo, "pop") or algo.pop is None  # untouched
    conv = out.convergence
    assert conv.groupby("epoch")["generation"].max().tolist() == [3, 3]
    assert (conv.groupby("epoch")["evaluations"].max() == 3 * 12).all()


def test_front_subset_keeps_the_extremes_and_spreads_along_the_front() -> None:
    from slit.optimize.run import front_subset

    t = np.linspace(0.0, 1.0, 12)
    totals = pd.DataFrame({
        "plan": [f"w{i:02d}" for i in range(12)] + ["balanced"],
        "ttft_s": list(t) + [0.5], "carbon_kg": list(1.0 - t) + [0.5],
        "water_l": 0.0, "cost_usd": 0.0, "non_dominated": [True] * 11 + [False, True],
    })  # fmt: skip
    assert front_subset(totals, None) == [f"w{i:02d}" for i in range(11)]
    picked = front_subset(totals, 4)
    assert len(picked) == 4 and {"w00", "w10"} <= set(picked)  # the extremes of the front
    assert front_subset(totals, 0) == []
    assert front_subset(totals, 50) == front_subset(totals, None)


def test_a_stuck_epoch_search_stops_with_an_error(monkeypatch) -> None:
    import slit.optimize.rolling as rolling
    from slit.errors import SlitError
    from slit.scenario.loader import scenario_from_dict
    from tests.conftest import small_scenario_dict

    monkeypatch.setattr(rolling, "EPOCH_TIMEOUT_S", -1.0)  # every generation is "too late"
    scenario = scenario_from_dict(small_scenario_dict())
    with pytest.raises(SlitError, match=r"epoch \d+: the optimiser ran .* it may be stuck"):
        rolling.optimise_horizon(scenario, "nsga2", evaluations=60, pop_size=10)

"""Typed results: a run's summary is a typed record that serialises to summary.json's object."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from slit.sim.results import DatacenterTotals, LatencyStats, RunSummary, SimResult, summarize


def _tables(completed: list[bool]) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(completed)
    requests = pd.DataFrame({
        "completed": completed, "datacenter": pd.Categorical(["x"] * n, categories=["x", "y"]),
        "drop_reason": pd.Categorical(["" if c else "queue_timeout" for c in completed]),
        "ttft_s": [0.1 * (i + 1) if c else np.nan for i, c in enumerate(completed)],
        "tpot_s": [0.01] * n, "e2e_s": [1.0] * n, "slo_met": completed,
    })  # fmt: skip
    series = pd.DataFrame({
        "datacenter": pd.Categorical(["x", "y"], categories=["x", "y"]),
        "it_energy_kwh": [1.0, 2.0], "energy_kwh": [1.2, 2.4], "carbon_kg": [0.5, 0.25],
        "water_l": [3.0, 1.0], "water_onsite_l": [2.0, 0.5], "water_offsite_l": [1.0, 0.5],
        "cost_usd": [0.1, 0.2], "busy_gpu_s": [10.0, 0.0], "gpu_s": [100.0, 100.0],
        "carbon_operational_kg": [0.4, 0.25], "carbon_embodied_kg": [0.1, 0.0],
        "carbon_average_kg": [0.4, 0.25], "carbon_marginal_kg": [0.6, np.nan],
    })  # fmt: skip
    return requests, series


def test_the_summary_is_typed_and_reads_as_its_json_object() -> None:
    s = summarize(*_tables([True, True, False]))
    assert isinstance(s, RunSummary) and isinstance(s.ttft_s, LatencyStats)
    assert isinstance(s.per_datacenter["x"], DatacenterTotals)
    assert s.requests == 3 and s.completed == 2 and s.dropped == 1
    assert s.drop_reasons == {"queue_timeout": 1}
    assert s.carbon_kg == pytest.approx(0.75) and s["carbon_kg"] == s.carbon_kg
    assert s.carbon_operational_kg + s.carbon_embodied_kg == pytest.approx(s.carbon_kg)
    # a marginal total only where every datacenter has a marginal signal
    assert s.carbon_marginal_kg is None
    assert s.per_datacenter["x"].carbon_marginal_kg == pytest.approx(0.6)
    assert s.per_datacenter["y"].carbon_marginal_kg is None
    assert s.ttft_s.p50 == s["ttft_s"]["p50"] == pytest.approx(0.15)
    assert s.per_datacenter["x"].gpu_utilization == pytest.approx(0.1)
    assert s.slo_attainment == pytest.approx(2 / 3)
    # the mapping view has summary.json's keys in its order; the dictionary is plain JSON
    as_dict = s.to_dict()
    assert list(s) == list(as_dict) and list(as_dict)[:4] == [
        "requests", "completed", "dropped", "drop_reasons"
    ]  # fmt: skip
    assert list(as_dict["per_datacenter"]["y"])[-2:] == ["gpu_utilization", "powered_gpu_hours"]
    assert json.loads(json.dumps(as_dict)) == as_dict
    with pytest.raises(KeyError):
        s["carbon"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.requests = 4  # type: ignore[misc]


def test_a_run_without_completions_has_empty_statistics() -> None:
    s = summarize(*_tables([False, False]))
    assert s.ttft_s == LatencyStats(None, None, None, None)
    assert s.to_dict()["ttft_s"] == {"mean": None, "p50": None, "p95": None, "p99": None}


def test_summary_json_is_the_typed_summary_serialised() -> None:
    requests, series = _tables([True])
    result = SimResult(requests, series, summarize(requests, series))
    assert json.loads(result.summary_json()) == result.summary.to_dict()


def test_slo_windows_met_reads_the_slo_in_every_epoch_and_origin() -> None:
    import pandas as pd

    from slit.sim.results import slo_windows_met

    # epoch 0: origin a all fast, origin b half late; epoch 1: origin a one dropped of twenty
    rows = [(0.0 + i, "a", 0.1) for i in range(20)]
    rows += [(1.0 + i, "b", 0.1 if i % 2 else 5.0) for i in range(20)]
    rows += [(100.0 + i, "a", float("nan") if i == 0 else 0.1) for i in range(20)]
    req = pd.DataFrame(rows, columns=["arrival_s", "origin", "ttft_s"])
    assert slo_windows_met(req, 60.0, 1.0) == pytest.approx(2 / 3)
    # one late request in twenty is exactly the 5 % a p95 allows
    assert slo_windows_met(req[req["origin"] == "a"], 60.0, 1.0) == 1.0
    assert np.isnan(slo_windows_met(req.iloc[:0], 60.0, 1.0))

"""The input layer: one immutable record that the simulator and the fast evaluator share."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.inputs import RunInputs, Timeline, compile_fleet, compile_inputs, epoch_count
from slit.models.latency_table import TableReplicaPerf
from slit.optimize.demand import demands_of
from slit.optimize.evaluator import FastEvaluator
from slit.scenario.loader import scenario_from_dict
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict


def _scenario(**changes: Any) -> Any:
    return scenario_from_dict(small_scenario_dict(**changes))


# -- the clock --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    horizon_s=st.floats(1.0, 1e6),
    drain_s=st.floats(0.0, 1e5),
    epoch_s=st.floats(1.0, 1e5),
)
def test_epochs_cover_the_window_once(horizon_s: float, drain_s: float, epoch_s: float) -> None:
    t = Timeline(pd.Timestamp("2023-01-01", tz="UTC"), horizon_s, drain_s, epoch_s)
    lengths = t.window_lengths_s()
    assert len(lengths) == t.n_epochs >= 1
    # every epoch but the last is whole; the last is not empty (beyond the 1e-9 tolerance)
    assert np.all(lengths[:-1] == epoch_s)
    assert lengths[-1] > -1e-9 * epoch_s
    assert lengths.sum() == pytest.approx(t.end_s, rel=1e-9, abs=1e-6 * epoch_s)
    assert t.n_horizon_epochs <= t.n_epochs


def test_a_window_a_hair_over_whole_epochs_does_not_grow_an_epoch() -> None:
    assert epoch_count(86_400.0, 900.0) == 96
    assert epoch_count(86_400.0 * (1 + 1e-13), 900.0) == 96
    assert epoch_count(86_401.0, 900.0) == 97
    assert epoch_count(0.0, 900.0) == 1


def test_signal_hours_cover_a_start_inside_an_hour() -> None:
    scenario = _scenario(
        time={"start_utc": "2023-07-15T00:30:00Z", "horizon_s": 3600, "epoch_s": 900,
              "drain_s": 0}
    )  # fmt: skip
    t = Timeline.of(scenario)
    assert t.n_epochs == 4 and t.signal_hours == 2  # 00:00-02:00 covers 00:30-01:30


# -- the record -------------------------------------------------------------------------------


def test_the_record_is_immutable_and_its_arrays_read_only() -> None:
    inputs = compile_inputs(_scenario())
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.fleet.pools[0].replicas = 9  # type: ignore[misc]
    for array in (inputs.requests.arrival_s, inputs.requests.model, inputs.fleet.rtt_ms):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_same_seed_same_inputs_other_seed_other_requests() -> None:
    scenario = _scenario()
    a, b = compile_inputs(scenario), compile_inputs(scenario)
    c = compile_inputs(scenario, seed=scenario.config.seed + 1)
    assert a.requests.frame().equals(b.requests.frame())
    assert not a.requests.frame().equals(c.requests.frame())
    assert np.array_equal(a.signals.carbon_g_per_kwh, c.signals.carbon_g_per_kwh)  # constants
    assert a.routing_seed.entropy == b.routing_seed.entropy == scenario.config.seed
    assert c.seed == scenario.config.seed + 1


def test_requests_index_the_run_models_and_regions() -> None:
    inputs = compile_inputs(_scenario())
    r = inputs.requests
    assert len(r) > 3000  # 1 request/s for an hour
    assert r.model_ids == inputs.model_ids == ("llama-3.1-8b",)
    assert set(np.unique(r.origin)) <= {0, 1} and np.all(np.diff(r.arrival_s) >= 0)
    assert np.all(r.prompt_tokens >= 1) and np.all(r.output_tokens >= 1)


def test_the_fleet_holds_every_pool_with_its_models() -> None:
    inputs = compile_inputs(_scenario())
    fleet = inputs.fleet
    assert fleet.datacenter_ids == ("dc-a", "dc-b")
    assert [(p.datacenter, p.gpu_id, p.roles) for p in fleet.pools] == [
        (0, "h100-80gb", ("mixed",)),
        (1, "a100-80gb", ("mixed",)),
    ]
    assert fleet.rtt_ms.shape == (2, 2) and fleet.rtt_ms[0, 0] < fleet.rtt_ms[0, 1]
    assert fleet.serves().tolist() == [[True, True]]
    net = _scenario().config.network
    assert fleet.transfer_s_per_token == pytest.approx(
        net.bytes_per_token * 8 / (net.bandwidth_gbit_per_s * 1e9)
    )
    assert all(p.kv_capacity_tokens > 0 and p.load_s > 0 for p in fleet.pools)


def test_a_pool_the_run_does_not_ask_for_is_kept_as_idle_only() -> None:
    fleet = compile_fleet(_scenario(), ["llama-3.1-70b"])
    assert [p.model for p in fleet.pools] == [-1, -1]
    assert not fleet.serves().any()


def test_phase_split_gives_roles_and_the_kv_link() -> None:
    data = small_scenario_dict()
    data["datacenters"][0]["pools"][0]["replicas"] = 4
    data["datacenters"][0]["phase_split"] = {"enabled": True, "kv_link_gb_per_s": 50}
    fleet = compile_inputs(scenario_from_dict(data)).fleet
    assert fleet.pools[0].roles == ("prefill",) * 2 + ("decode",) * 2
    assert fleet.datacenters[0].kv_link_bytes_per_s == 50e9
    assert fleet.datacenters[1].kv_link_bytes_per_s is None


# -- both consumers read the one record -------------------------------------------------------


def test_simulate_from_compiled_inputs_is_the_same_run() -> None:
    scenario = _scenario()
    inputs = compile_inputs(scenario, seed=11)
    a = simulate(scenario, inputs=inputs)
    b = simulate(scenario, seed=11)
    assert a.requests.equals(b.requests) and a.timeseries.equals(b.timeseries)
    assert a.summary == b.summary
    with pytest.raises(ValueError, match="compile_inputs"):
        simulate(scenario, inputs=inputs, seed=3)


def test_the_evaluator_reads_the_same_pools_as_the_simulator() -> None:
    inputs = compile_inputs(_scenario())
    ev = FastEvaluator(inputs.fleet)
    assert ev.pools == inputs.fleet.pools  # the very records, not copies rebuilt from config
    assert all(a is b for a, b in zip(ev.perfs, (p.perf for p in inputs.fleet.pools), strict=True))


def _table_scenario(latency_model: str) -> Any:
    data = small_scenario_dict()
    for dc in data["datacenters"]:
        dc["pools"] = [
            {"model": "llama-3.1-8b", "gpu": "h100-80gb", "replicas": 1,
             "latency_model": latency_model}
        ]  # fmt: skip
    data["workload"]["rate_per_s"] = 6.0
    return scenario_from_dict(data)


def test_the_evaluator_honours_a_measured_latency_table() -> None:
    by_model: dict[str, Any] = {}
    for name in ("roofline", "table"):
        inputs = compile_inputs(_table_scenario(name))
        ev = FastEvaluator(inputs.fleet)
        assert isinstance(ev.perfs[0], TableReplicaPerf) == (name == "table")
        demand = demands_of(inputs)[1]
        alloc = np.full((1, 2, 2), 0.5)
        by_model[name] = ev.evaluate(alloc, demand).ttft_mean_s[0]
    assert math.isfinite(by_model["table"]) and by_model["table"] != by_model["roofline"]


def test_oracle_demand_rates_count_the_compiled_requests() -> None:
    inputs = compile_inputs(_scenario())
    demands = demands_of(inputs)
    t = inputs.timeline
    assert len(demands) == t.n_epochs
    counted = sum(float(d.rate_per_s.sum()) * d.epoch_s for d in demands)
    assert counted == pytest.approx(len(inputs.requests))
    assert sum(d.epoch_s for d in demands) == pytest.approx(t.end_s)


def test_both_packages_build_from_the_input_layer() -> None:
    from slit.inputs import Fleet
    from slit.optimize import demand, evaluator, rolling
    from slit.sim import simulate as sim_module

    assert evaluator.Fleet is Fleet
    assert demand.RunInputs is sim_module.RunInputs is RunInputs
    assert rolling.compile_inputs is sim_module.compile_inputs is compile_inputs

"""Dispatch inside a datacenter: the shared queue against one queue per replica.

A pool's ``dispatch`` is ``shared`` (the replicas pull from one queue of the LLM), or
``round_robin``, ``shortest_queue`` or ``least_kv``, which assign each request to one replica on
arrival, where it waits in that replica's own queue. These tests follow the assignments
(a spy on :meth:`slit.sim.engine.Dispatcher._choose`), check each replica's queue is first come
first served, check the waits against queueing theory with ``max_batch_size: 1`` and fixed
lengths (a deterministic service time S), and check conservation, determinism, and that with
one replica every dispatch is the shared queue to the last bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slit.errors import ScenarioError
from slit.scenario.loader import scenario_from_dict
from slit.sim.engine import Dispatcher, Replica, Request
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict
from tests.sim.test_queueing import md_c_wait

DISPATCHES = ("shared", "round_robin", "shortest_queue", "least_kv")
PER_REPLICA = DISPATCHES[1:]
CONST = small_scenario_dict()["regions"][0]["signals"]


def _one_dc(
    pool: dict[str, Any],
    workload: dict[str, Any],
    *,
    horizon_s: float = 600.0,
    drain_s: float = 600.0,
    seed: int = 3,
    phase_split: bool = False,
) -> dict[str, Any]:
    """One region, one datacenter, one pool of Llama-3.1-8B on H100, no network delay."""
    return {
        "name": "dispatch",
        "seed": seed,
        "time": {
            "start_utc": "2023-07-15T00:00:00Z",
            "horizon_s": horizon_s,
            "epoch_s": horizon_s,
            "drain_s": drain_s,
        },
        "regions": [{"id": "a", "latitude": 37.0, "longitude": -122.0, "signals": CONST}],
        "datacenters": [
            {
                "id": "dc",
                "region": "a",
                "phase_split": {"enabled": phase_split},
                "pools": [{"model": "llama-3.1-8b", "gpu": "h100-80gb", **pool}],
            }
        ],
        "workload": workload,
        "network": {"latency": "distance", "base_rtt_ms": 0.0, "bandwidth_gbit_per_s": 1e6},
    }


def _trace(tmp_path: Path, rows: list[tuple[float, int, int]]) -> dict[str, Any]:
    """A trace workload of ``(arrival_s, prompt, output)`` rows, written into ``tmp_path``."""
    frame = pd.DataFrame(rows, columns=["arrival_s", "prompt_tokens", "output_tokens"])
    frame.to_csv(tmp_path / "trace.csv", index=False)
    return {"source": "trace", "path": str(tmp_path / "trace.csv"), "format": "csv"}


@pytest.fixture
def choices(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Every assignment of a run, in order: (request id, index of the chosen replica)."""
    seen: list[tuple[int, int]] = []
    choose = Dispatcher._choose

    def spy(self: Dispatcher, req: Request) -> Replica:
        rep = choose(self, req)
        seen.append((req.rid, self.replicas.index(rep)))
        return rep

    monkeypatch.setattr(Dispatcher, "_choose", spy)
    yield seen


# -- the event sequence ----------------------------------------------------------------------


def test_round_robin_sends_request_i_to_replica_i_mod_n_and_each_queue_is_fifo(
    choices: list[tuple[int, int]],
) -> None:
    n = 4
    pool = {"replicas": n, "max_batch_size": 1, "dispatch": "round_robin"}
    workload = {"source": "synthetic", "rate_per_s": 6.0, "diurnal_amplitude": 0.0,
                "prompt_tokens": 200, "output_tokens": 100}  # fmt: skip
    req = simulate(scenario_from_dict(_one_dc(pool, workload))).requests
    assert req["completed"].all() and len(req) > 1000
    rids = [rid for rid, _ in choices]
    assert rids == list(range(len(req)))  # one assignment per request, in arrival order
    assert [i for _, i in choices] == [k % n for k in range(len(req))]
    # the replicas queue (at 6 requests/s the load per replica is high): each queue is served
    # first come first served, one request after the other
    start = req["arrival_s"] + req["queue_s"]
    assert (req["queue_s"] > 0).sum() > 100
    for j in range(n):
        mine = start[np.arange(len(req)) % n == j].to_numpy()
        assert (np.diff(mine) > 0).all()


def test_round_robin_waits_are_single_server_queues_to_the_microsecond() -> None:
    """Request k waits on replica k mod N behind k - N only: the Lindley recursion
    ``start_k = max(arrive_k, start_{k-N} + S)`` on the run's own arrivals gives every wait."""
    n, service_s = 3, _service_time_s()
    pool = {"replicas": n, "max_batch_size": 1, "dispatch": "round_robin"}
    workload = {"source": "synthetic", "rate_per_s": 0.8 * n / service_s,
                "diurnal_amplitude": 0.0, "prompt_tokens": 200, "output_tokens": 100}  # fmt: skip
    req = simulate(scenario_from_dict(_one_dc(pool, workload, horizon_s=900))).requests
    arrive = (req["arrival_s"] + req["network_rtt_s"] / 2 + req["transfer_s"]).to_numpy()
    start = np.empty_like(arrive)
    for k, t in enumerate(arrive):
        start[k] = t if k < n else max(t, start[k - n] + service_s)
    assert (req["queue_s"] > 0).mean() > 0.2
    np.testing.assert_allclose(req["queue_s"].to_numpy(), start - arrive, rtol=0, atol=1e-6)


def test_shortest_queue_skips_a_replica_held_by_a_long_request(
    tmp_path: Path, choices: list[tuple[int, int]]
) -> None:
    # 0: a long request on replica 0; 1: a short one on replica 1, done by t = 10 s; 2 goes to
    # the empty replica 1, where round robin queues it behind the long request
    rows = [(0.0, 100, 3000), (1.0, 100, 5), (10.0, 100, 5)]
    queue_s = {}
    for dispatch in ("shortest_queue", "round_robin"):
        choices.clear()
        pool = {"replicas": 2, "max_batch_size": 1, "dispatch": dispatch}
        data = _one_dc(pool, _trace(tmp_path, rows), horizon_s=12)
        queue_s[dispatch] = simulate(scenario_from_dict(data)).requests["queue_s"].iloc[2]
        assert choices == [(0, 0), (1, 1), (2, 1 if dispatch == "shortest_queue" else 0)]
    assert queue_s["shortest_queue"] == 0.0
    assert queue_s["round_robin"] > 5.0


def test_shortest_queue_counts_queued_requests_and_breaks_ties_by_index(
    tmp_path: Path, choices: list[tuple[int, int]]
) -> None:
    # eight simultaneous arrivals on four replicas of batch 1 (the last row, after the
    # horizon, only makes the trace cover it)
    rows = [(0.0, 100, 50)] * 8 + [(5.0, 100, 50)]
    pool = {"replicas": 4, "max_batch_size": 1, "dispatch": "shortest_queue"}
    simulate(scenario_from_dict(_one_dc(pool, _trace(tmp_path, rows), horizon_s=1)))
    assert [i for _, i in choices] == [0, 1, 2, 3, 0, 1, 2, 3]


def test_least_kv_weighs_tokens_where_shortest_queue_counts_requests(
    tmp_path: Path, choices: list[tuple[int, int]]
) -> None:
    # 0: a 3,000-token prompt on replica 0; 1: a 100-token one on replica 1; both still decode
    # when 2 arrives: each replica holds one request (shortest_queue: a tie, replica 0) but
    # replica 1 holds far fewer KV tokens (least_kv: replica 1)
    rows = [(0.0, 3000, 2000), (0.5, 100, 2000), (2.0, 100, 10)]
    by = {}
    for dispatch in ("shortest_queue", "least_kv"):
        choices.clear()
        pool = {"replicas": 2, "dispatch": dispatch}
        data = _one_dc(pool, _trace(tmp_path, rows), horizon_s=2.5)
        simulate(scenario_from_dict(data))
        by[dispatch] = [i for _, i in choices]
    assert by == {"shortest_queue": [0, 1, 0], "least_kv": [0, 1, 1]}


def test_a_request_no_replica_can_hold_goes_to_one_that_can(
    tmp_path: Path, choices: list[tuple[int, int]]
) -> None:
    # two pools of one LLM share the dispatcher; the A100 pool's KV cache (a quarter of the
    # memory: about 4 GB, some 30,000 tokens) cannot hold a 40,000-token request, so round
    # robin passes it over
    rows = [(0.0, 100, 10), (0.1, 30_000, 10_000), (0.2, 100, 10)]
    pool = {"replicas": 1, "dispatch": "round_robin"}
    data = _one_dc(pool, _trace(tmp_path, rows), horizon_s=0.25)
    small = {"model": "llama-3.1-8b", "gpu": "a100-80gb", "replicas": 1,
             "kv_memory_fraction": 0.25, "dispatch": "round_robin"}  # fmt: skip
    data["datacenters"][0]["pools"].insert(0, small)
    req = simulate(scenario_from_dict(data)).requests
    assert req["completed"].all()
    assert choices == [(0, 0), (1, 1), (2, 0)]


def test_pools_of_one_llm_in_a_datacenter_must_share_the_dispatch() -> None:
    data = _one_dc({"replicas": 2, "dispatch": "round_robin"}, {"source": "synthetic"})
    data["datacenters"][0]["pools"].append(
        {"model": "llama-3.1-8b", "gpu": "a100-80gb", "dispatch": "least_kv"}
    )
    with pytest.raises(ScenarioError, match=r"pools\[1\]\.dispatch.*'least_kv' differs"):
        simulate(scenario_from_dict(data))


def test_an_unknown_dispatch_names_the_valid_ones() -> None:
    data = _one_dc({"dispatch": "fastest"}, {"source": "synthetic"})
    with pytest.raises(ScenarioError, match=r"dispatch.*shared.*round_robin.*least_kv"):
        scenario_from_dict(data)


# -- queueing theory -------------------------------------------------------------------------


def _service_time_s() -> float:
    """Prefill of 200 tokens and 100 decode iterations of one request, s."""
    pool = {"replicas": 1, "max_batch_size": 1}
    workload = {"source": "synthetic", "rate_per_s": 0.01, "diurnal_amplitude": 0.0,
                "prompt_tokens": 200, "output_tokens": 100}  # fmt: skip
    req = simulate(scenario_from_dict(_one_dc(pool, workload, horizon_s=3600))).requests
    service = req["e2e_s"] - req["network_rtt_s"] - req["queue_s"] - req["transfer_s"]
    assert service.max() - service.min() < 1e-9
    return float(service.iloc[0])


def _service_moments_s(workload: dict[str, Any]) -> tuple[float, float]:
    """Mean and mean square of the service time (prefill and decode of one request alone on a
    replica: batch 1) of ``workload``'s requests, from about 1,000 of them, s and s^2."""
    pool = {"replicas": 1, "max_batch_size": 1}
    light = dict(workload, rate_per_s=0.05)
    req = simulate(scenario_from_dict(_one_dc(pool, light, horizon_s=20_000, seed=1))).requests
    s = (req["e2e_s"] - req["network_rtt_s"] - req["queue_s"] - req["transfer_s"]).to_numpy()
    return float(s.mean()), float((s**2).mean())


def _mean_waits(
    c: int, workload: dict[str, Any], n_requests: int, dispatches: tuple[str, ...]
) -> dict[str, float]:
    """Mean queue wait per dispatch on ``c`` replicas of batch 1, the same arrivals, s."""
    waits = {}
    for dispatch in dispatches:
        pool = {"replicas": c, "max_batch_size": 1, "dispatch": dispatch}
        horizon = n_requests / workload["rate_per_s"]
        data = _one_dc(pool, workload, horizon_s=horizon, drain_s=7200, seed=11)
        req = simulate(scenario_from_dict(data)).requests
        assert req["completed"].all()
        waits[dispatch] = float(req["queue_s"].mean())
    return waits


@pytest.mark.slow
def test_with_a_fixed_service_time_round_robin_is_the_shared_queue() -> None:
    """With a deterministic service time S, first come first served on c servers hands request
    k to the server that started request k - c (the first to free up), so the shared M/D/c
    queue and round robin give every request the same wait: ``start_k = max(arrive_k,
    start_{k-c} + S)``. The shared queue's mean wait matches M/D/c (Erlang C with the
    Allen-Cunneen and Cosmetatos factors) within 10 %. Joining the shortest queue, which counts
    requests but cannot see how far each is served, waits longer."""
    c, rho, service_s = 4, 0.7, _service_time_s()
    lam = rho * c / service_s
    workload = {"source": "synthetic", "rate_per_s": lam, "diurnal_amplitude": 0.0,
                "prompt_tokens": 200, "output_tokens": 100}  # fmt: skip
    runs = {}
    for dispatch in ("shared", "round_robin", "shortest_queue"):
        pool = {"replicas": c, "max_batch_size": 1, "dispatch": dispatch}
        data = _one_dc(pool, workload, horizon_s=20_000 / lam, drain_s=3600, seed=11)
        runs[dispatch] = simulate(scenario_from_dict(data)).requests["queue_s"].to_numpy()
    np.testing.assert_allclose(runs["round_robin"], runs["shared"], rtol=0, atol=1e-6)
    assert runs["shared"].mean() == pytest.approx(md_c_wait(c, lam, service_s), rel=0.10)
    assert runs["shortest_queue"].mean() > 1.1 * runs["shared"].mean()


@pytest.mark.slow
def test_round_robin_waits_between_the_shared_queue_and_a_random_split() -> None:
    """Variable service (Azure conversation lengths, one request at a time per replica), four
    replicas at utilisation 0.7:

    - shared: M/G/4, Erlang C with the Allen-Cunneen factor ``(1 + cs^2) / 2``, within 15 %;
    - a random split would make four independent M/G/1 queues at a quarter of the rate
      (Pollaczek-Khinchine: ``lambda/4 · E[S^2] / (2 (1 - rho))``);
    - round robin gives each replica every fourth arrival: Erlang-4 gaps (squared coefficient
      of variation 1/4 instead of 1), a GI/G/1 queue whose wait lies strictly between the two
      and below Kingman's bound ``(var(A) + var(S)) / (2 E[A] (1 - rho))``;
    - joining the shortest queue lies between the shared queue and round robin.
    """
    from tests.sim.test_queueing import erlang_c

    c, rho = 4, 0.7
    workload: dict[str, Any] = {"source": "synthetic", "diurnal_amplitude": 0.0}
    mean_s, square_s2 = _service_moments_s(workload)
    lam = rho * c / mean_s
    waits = _mean_waits(c, dict(workload, rate_per_s=lam), 20_000,
                        ("shared", "round_robin", "shortest_queue"))  # fmt: skip
    scv = square_s2 / mean_s**2 - 1.0
    assert scv > 0.3  # the service really varies
    mgc = erlang_c(c, lam * mean_s) / (c / mean_s - lam) * (1.0 + scv) / 2.0
    random_split = (lam / c) * square_s2 / (2.0 * (1.0 - rho))
    gap_s = c / lam  # mean gap between a replica's arrivals; variance gap^2 / c (Erlang-c)
    kingman = (gap_s**2 / c + (square_s2 - mean_s**2)) / (2.0 * gap_s * (1.0 - rho))
    assert waits["shared"] == pytest.approx(mgc, rel=0.15), (waits, mgc)
    assert waits["shared"] < waits["shortest_queue"] < waits["round_robin"], waits
    assert waits["round_robin"] < min(random_split, kingman), (waits, random_split, kingman)


# -- conservation, determinism, equivalence --------------------------------------------------


def _stress(dispatch: str, replicas: int, rate: float, kv: float, split: bool, chunked: bool,
            drain: float, seed: int) -> dict[str, Any]:  # fmt: skip
    pool = {"replicas": replicas, "dispatch": dispatch, "kv_memory_fraction": kv,
            "chunked_prefill": chunked, "max_prefill_tokens": 2048}  # fmt: skip
    workload = {"source": "synthetic", "rate_per_s": rate, "diurnal_amplitude": 0.0}
    return _one_dc(pool, workload, horizon_s=120, drain_s=drain, seed=seed, phase_split=split)


@given(
    dispatch=st.sampled_from(PER_REPLICA),
    replicas=st.integers(1, 5),
    rate=st.floats(1.0, 60.0),
    kv=st.floats(0.25, 0.5),
    split=st.booleans(),
    chunked=st.booleans(),
    drain=st.sampled_from([0, 20, 600]),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
def test_every_request_is_accounted_for_once_under_every_dispatch(
    dispatch: str, replicas: int, rate: float, kv: float, split: bool, chunked: bool,
    drain: float, seed: int,
) -> None:  # fmt: skip
    result = simulate(
        scenario_from_dict(_stress(dispatch, replicas, rate, kv, split, chunked, drain, seed))
    )
    req, series, summary = result.requests, result.timeseries, result.summary
    assert (req["request_id"].to_numpy() == np.arange(len(req))).all()
    assert summary["requests"] == len(req) == summary["completed"] + summary["dropped"]
    done = req[req["completed"]]
    assert (done["drop_reason"] == "").all()
    assert (req.loc[~req["completed"], "drop_reason"] != "").all()
    assert int(series["arrivals"].sum()) == len(req)
    assert int(series["completions"].sum()) == len(done)
    assert (done["queue_s"] >= 0).all() and (done["ttft_s"] > 0).all()
    assert (done["e2e_s"] >= done["ttft_s"]).all()
    assert (done["it_energy_kwh"] > 0).all()


@given(
    replicas=st.sampled_from([1, 2]),
    rate=st.floats(1.0, 40.0),
    kv=st.floats(0.25, 0.5),
    chunked=st.booleans(),
    drain=st.sampled_from([0, 600]),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
def test_with_one_replica_per_side_every_dispatch_is_the_shared_queue_to_the_bit(
    replicas: int, rate: float, kv: float, chunked: bool, drain: float, seed: int
) -> None:
    """One replica (or, phase split, one prefill and one decode replica): its own queue is the
    shared queue, so every dispatch gives the same run, preemptions included."""
    split = replicas == 2
    runs = [
        simulate(scenario_from_dict(_stress(d, replicas, rate, kv, split, chunked, drain, seed)))
        for d in DISPATCHES
    ]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0].requests, other.requests, check_exact=True)
        pd.testing.assert_frame_equal(runs[0].timeseries, other.timeseries, check_exact=True)
        assert runs[0].summary == other.summary


@pytest.mark.parametrize("dispatch", PER_REPLICA)
@pytest.mark.slow
def test_the_same_scenario_twice_gives_the_same_run(dispatch: str) -> None:
    data = _stress(dispatch, 4, 60.0, 0.25, True, True, 600, 5)
    a, b = simulate(scenario_from_dict(data)), simulate(scenario_from_dict(data))
    assert a.requests["preemptions"].sum() > 0  # the run exercises re-dispatch
    pd.testing.assert_frame_equal(a.requests, b.requests, check_exact=True)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    assert a.summary == b.summary

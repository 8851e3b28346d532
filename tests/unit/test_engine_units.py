"""Unit tests of the engine's parts on their own: the energy meter, the replica's waiting queue,
the pool queue's choice of replica, and one replica's state machine driven event by event."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.catalogue.gpus import bundled_gpus
from slit.catalogue.llms import bundled_llms
from slit.inputs import PoolInputs
from slit.models.latency import ReplicaPerf, calibrated_efficiency
from slit.models.power import calibrated_power
from slit.sim.engine import (
    KV_WATERMARK,
    Datacenter,
    ImpactFactors,
    Meter,
    PoolQueue,
    Replica,
    ReplicaWaiting,
    Request,
    Simulation,
)

# -- Meter -------------------------------------------------------------------------------------


def test_meter_books_an_interval_into_the_epochs_it_spans() -> None:
    m = Meter(n_epochs=4, epoch_s=10.0)
    assert m.add_busy(5.0, 25.0, extra_w=100.0, n_gpus=2) == 0
    assert m.extra_j == pytest.approx([500.0, 1000.0, 500.0, 0.0])
    assert m.busy_gpu_s == pytest.approx([10.0, 20.0, 10.0, 0.0])
    # past the last epoch: everything goes to the last one (the drain's tail)
    assert m.epoch(1e9) == 3 and m.add_busy(35.0, 50.0, 10.0, 1) == 3
    assert m.extra_j[3] == pytest.approx(150.0)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(0.0, 100.0),
    st.floats(0.0, 50.0),
    st.floats(0.0, 1000.0),
    st.integers(1, 8),
    st.integers(1, 12),
    st.floats(0.5, 20.0),
)
def test_meter_conserves_energy_and_gpu_time(t0, dt, watts, gpus, n, epoch_s) -> None:
    """Whatever the interval and the epoch grid, the booked energy and GPU time sum to the
    interval's, and nothing is booked before the interval's epoch."""
    m = Meter(n, epoch_s)
    first = m.add_busy(t0, t0 + dt, watts, gpus)
    assert sum(m.extra_j) == pytest.approx(watts * dt, rel=1e-9, abs=1e-9)
    assert sum(m.busy_gpu_s) == pytest.approx(gpus * dt, rel=1e-9, abs=1e-9)
    assert first == m.epoch(t0)
    assert all(v == 0.0 for v in m.extra_j[:first])


# -- ReplicaWaiting -----------------------------------------------------------------------------


def _req(rid: int, prompt: int = 10, output: int = 5, generated: int = 0) -> Request:
    r = Request(rid, 0, 0, prompt, output, 0.0)
    r.generated = generated
    return r


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("afp"), st.integers(1, 500), st.integers(0, 50))))
def test_replica_waiting_keeps_the_sum_of_its_requests_tokens(ops) -> None:
    """``tokens`` is always the sum of ``prompt + generated`` over the queued requests, in
    whatever order they are added at either end and taken from the front."""
    q = ReplicaWaiting()
    for i, (op, prompt, generated) in enumerate(ops):
        if op == "a":
            q.append(_req(i, prompt, generated=generated))
        elif op == "f":
            q.appendleft(_req(i, prompt, generated=generated))
        elif q:
            q.popleft()
        assert q.tokens == sum(r.prompt + r.generated for r in q)


# -- PoolQueue ----------------------------------------------------------------------------------


class _FakeReplica(SimpleNamespace):
    def take_now(self) -> None:
        self.calls.append("take_now")

    def wake_up(self) -> None:
        self.calls.append("wake_up")


def _fake(
    running: int, step_s: float, free: bool = True, kv_used: int = 0, cold_key_s: float = 0.0,
    powered: bool = True,
) -> _FakeReplica:
    return _FakeReplica(
        wake=object() if free else None, woken=False, running=[None] * running, prefilling=[],
        max_batch=4, kv_used=kv_used, kv_admit_tokens=1000, step_s=step_s, calls=[],
        cold_key_s=cold_key_s, powered=powered,
    )  # fmt: skip


def test_pool_queue_wakes_the_replica_that_would_serve_the_head_soonest() -> None:
    q = PoolQueue()
    slow_empty, fast_busy, asleep, full_kv, full_batch = (
        _fake(0, 0.05), _fake(2, 0.01), _fake(0, 0.001, free=False),
        _fake(0, 0.001, kv_used=995), _fake(4, 0.001),
    )  # fmt: skip
    q.replicas = [slow_empty, fast_busy, asleep, full_kv, full_batch]
    q.push(_req(0, prompt=10), at_once=True)
    # (running + 1) x step: 0.05 vs 0.03; the others cannot take it (busy, no KV, no slot)
    assert fast_busy.calls == ["take_now"] and slow_empty.calls == []
    assert asleep.calls == full_kv.calls == full_batch.calls == []
    q.push_front(_req(1))  # a preempted request: at the head, and the replica is woken
    assert [r.rid for r in q.waiting] == [1, 0] and fast_busy.calls[-1] == "wake_up"


def test_pool_queue_never_wakes_a_replica_powered_down() -> None:
    q = PoolQueue()
    fast_off, slow_on = _fake(0, 0.001, powered=False), _fake(1, 0.05)
    q.replicas = [fast_off, slow_on]
    q.push(_req(0, prompt=10), at_once=True)
    assert slow_on.calls == ["take_now"] and fast_off.calls == []
    assert q.arrived == 1


def test_pool_queue_prefers_a_loaded_replica_to_one_that_must_load_its_weights() -> None:
    q = PoolQueue()
    unloaded, busy = _fake(0, 0.01, cold_key_s=20.0), _fake(3, 0.01)
    q.replicas = [unloaded, busy]
    q.push(_req(0, prompt=10), at_once=True)
    assert busy.calls == ["take_now"] and unloaded.calls == []
    busy.running = [None] * 4  # no batch slot left: only the unloaded replica can take it
    q.push(_req(1, prompt=10), at_once=True)
    assert unloaded.calls == ["take_now"]


def test_pool_queue_leaves_a_request_waiting_when_no_replica_can_take_it() -> None:
    q = PoolQueue()
    q.replicas = [_fake(0, 0.01, kv_used=1000 - 5)]
    q.push(_req(0, prompt=10))  # needs 11 tokens of KV, 5 free
    assert len(q.waiting) == 1 and q.replicas[0].calls == []


# -- one replica, event by event ----------------------------------------------------------------

MODEL, GPU = "llama-3.1-8b", "h100-80gb"


def _replica(kv_tokens: int, max_batch: int = 8, max_prefill: int = 8192):
    sim = Simulation()
    n = 4
    dc = Datacenter(sim, 0, n_epochs=n, epoch_s=3600.0,
                    factors=ImpactFactors([0.0] * n, [0.0] * n, [0.0] * n))  # fmt: skip
    sim.datacenters.append(dc)
    perf = ReplicaPerf(bundled_llms()[MODEL], bundled_gpus()[GPU], 1, calibrated_efficiency(GPU))
    pool = PoolInputs(
        datacenter=0, index=0, model_id=MODEL, model=0, gpu_id=GPU, tp=1, replicas=1,
        roles=("mixed",), perf=perf, power=calibrated_power(GPU), kv_capacity_tokens=kv_tokens,
        max_batch=max_batch, max_prefill_tokens=max_prefill, resident=True, load_s=0.0,
        chunked_prefill=False, dispatch="shared", server_overhead_fraction=0.0,
        server_overhead_w_per_gpu=0.0,
    )  # fmt: skip
    rep = Replica(sim.env, dc, dc.queue_for(0), pool)
    dc.add_replica(0, rep)
    rep.start()
    return sim, dc, rep, perf


def _deliver(sim: Simulation, dc: Datacenter, reqs: list[Request]) -> None:
    for i, r in enumerate(reqs):
        sim.live[r.rid] = r
        dc.in_flight += 1
        dc.receive(r, last_now=i == len(reqs) - 1)


def test_a_replica_prefills_then_decodes_and_finishes_a_request() -> None:
    sim, dc, rep, perf = _replica(kv_tokens=100_000)
    r = _req(0, prompt=512, output=64)
    _deliver(sim, dc, [r])
    sim.env.run()
    assert r.prefill_start == 0.0
    assert r.first_token == pytest.approx(perf.prefill_time_s(512, 512.0**2))
    assert r.generated == 64 and r.finish > r.first_token and r.preemptions == 0
    assert rep.kv_used == 0 and rep.running == [] and not sim.live  # all released
    assert len(sim.log) == 1 and dc.in_flight == 0


def test_requests_arriving_together_share_one_prefill_within_the_token_budget() -> None:
    sim, dc, rep, perf = _replica(kv_tokens=100_000, max_prefill=1024)
    reqs = [_req(i, prompt=400, output=8) for i in range(3)]
    _deliver(sim, dc, reqs)
    sim.env.run()
    # 2 x 400 fit the 1,024-token budget; the third prefills in the next iteration
    assert reqs[0].first_token == reqs[1].first_token < reqs[2].first_token
    assert reqs[2].prefill_start == pytest.approx(reqs[0].first_token)


def test_a_full_kv_cache_preempts_the_newest_and_admission_keeps_the_watermark() -> None:
    """Two requests whose prompts fit but whose outputs do not: the newest is preempted when
    the cache fills, waits (the freed room is not re-admitted while it would eat into the
    watermark), and is recomputed after the first finishes. Both finish."""
    cap = 1000
    sim, dc, rep, _ = _replica(kv_tokens=cap)
    assert rep.kv_admit_tokens == cap - int(KV_WATERMARK * cap)
    first, second = _req(0, prompt=300, output=400), _req(1, prompt=300, output=400)
    _deliver(sim, dc, [first, second])
    sim.env.run()
    assert first.preemptions == 0 and second.preemptions >= 1
    assert second.finish > first.finish
    assert first.generated == second.generated == 400 and rep.kv_used == 0

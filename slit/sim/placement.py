"""Model placement on heterogeneous GPUs by mixed-integer linear programming (Helix's placement).

Helix (Mei et al., ASPLOS 2025) decides which GPUs serve which part of a model so that the
maximum flow of requests through the resulting graph is as large as possible, and routes
requests along that flow. Here a placement decides, in each datacenter, how many replicas of
which LLM run on its GPUs of each type and at which tensor-parallel degree (the simulator's
replica is the unit; Helix's per-layer pipeline split across GPU types is not modelled), and the
flow carries requests from the origins to the datacenters:

Variables: ``n_c`` replicas of each candidate ``c = (datacenter d, LLM m, GPU g, tp)`` whose
weights and at least two mean requests fit in ``tp`` GPUs of type ``g``; ``f_odm ≥ 0``
requests/s from origin ``o`` of LLM ``m`` to ``d`` (fixed at 0 where the scenario's data
residency forbids ``o`` to use ``d``); ``θ ≥ 0``, the multiple of the workload served.

    maximise    θ
    subject to  Σ_{c at d on g} tp_c n_c  ≤  GPUs of type g at d            (inventory)
                Σ_d f_odm                =  θ λ_om                          (demand)
                Σ_o f_odm                ≤  u Σ_{c at d of m} n_c μ_c        (capacity)
                n_c ∈ {0, 1, 2, ...}

with ``λ_om`` the workload's mean rate of LLM ``m`` from ``o``, ``μ_c`` what one replica sustains
at full batch for the LLM's mean request (:meth:`slit.inputs.fleet.PoolInputs.
replica_throughput_rps`) and ``u`` the utilisation the flow may use (0.8). A second program fixes
``θ`` at 0.999 of its optimum and minimises the RTT-weighted flow less a small reward for every
GPU placed (so that the GPUs the first program left unused still serve, as in Helix, where every
node holds layers). scipy's HiGHS solves both.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp

from slit.errors import Problem, ScenarioError
from slit.inputs.fleet import candidate_pool
from slit.scenario.loader import Scenario, scenario_from_dict

FloatArray = npt.NDArray[np.float64]

TP_DEGREES = (1, 2, 4, 8)
"""Tensor-parallel degrees a placement may use."""

MIN_REQUESTS_IN_KV = 2.0
"""A candidate replica must hold at least this many mean requests in its KV cache."""


@dataclass(frozen=True)
class Candidate:
    """One way to run a replica: ``tp`` GPUs of type ``gpu`` in datacenter ``datacenter``
    (index ``d``) serving ``model`` (index ``m``), sustaining ``replica_rps`` requests/s."""

    datacenter: str
    d: int
    model: str
    m: int
    gpu: str
    tp: int
    replica_rps: float


@dataclass(frozen=True)
class Placement:
    """A placement and the scenario it makes.

    Attributes:
        scenario: the scenario with each datacenter's pools replaced by the placement.
        replicas: one row per pool placed: datacenter, LLM, GPU, tp, replicas, and the
            requests/s its replicas sustain.
        served_multiple: ``θ``, the multiple of the workload's mean rate the placement can
            route at utilisation ``u``.
        flow_rps: ``[model, origin, datacenter]`` the flow of the second program, requests/s.
    """

    scenario: Scenario
    replicas: list[dict[str, Any]]
    served_multiple: float
    flow_rps: FloatArray


def gpu_inventory(scenario: Scenario) -> list[dict[str, int]]:
    """Per datacenter, its GPUs by type: the replicas times the tp of its pools."""
    out = []
    for dc in scenario.config.datacenters:
        inv: dict[str, int] = {}
        for pool in dc.pools:
            inv[pool.gpu] = inv.get(pool.gpu, 0) + pool.replicas * pool.tp
        out.append(inv)
    return out


def candidates(
    scenario: Scenario,
    model_ids: list[str],
    prompt_tokens: FloatArray,
    output_tokens: FloatArray,
) -> list[Candidate]:
    """Every (datacenter, LLM, GPU type, tp) a replica can run on, with its throughput for the
    LLM's mean request (``prompt_tokens``, ``output_tokens``: ``[model]`` means)."""
    out = []
    for d, (dc, inv) in enumerate(zip(scenario.config.datacenters, gpu_inventory(scenario),
                                      strict=True)):  # fmt: skip
        for gpu, count in inv.items():
            template = next(p for p in dc.pools if p.gpu == gpu)
            for m, model in enumerate(model_ids):
                for tp in TP_DEGREES:
                    if tp > count:
                        break
                    pool = candidate_pool(scenario, d, template, model=model, tp=tp)
                    if pool is None:
                        continue
                    need = MIN_REQUESTS_IN_KV * (prompt_tokens[m] + output_tokens[m])
                    if pool.kv_capacity_tokens < need:
                        continue
                    rps = pool.replica_throughput_rps(prompt_tokens[m], output_tokens[m])
                    out.append(Candidate(dc.id, d, model, m, gpu, tp, rps))
    return out


def helix_placement(
    scenario: Scenario,
    model_ids: list[str],
    demand_rps: FloatArray,
    prompt_tokens: FloatArray,
    output_tokens: FloatArray,
    rtt_ms: FloatArray,
    utilization: float = 0.8,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> Placement:
    """Place replicas on every datacenter's GPUs to serve the largest multiple of the demand
    (see the module doc).

    Args:
        scenario: the scenario whose GPUs (its pools' replicas × tp, by type) are placed.
        model_ids: the run's LLMs.
        demand_rps: ``[origin, model]`` mean arrival rate, requests/s.
        prompt_tokens, output_tokens: ``[model]`` mean request lengths, tokens.
        rtt_ms: ``[origin, datacenter]`` round-trip times, ms.
        utilization: share of a replica's full-batch throughput the flow may use.
        allowed: ``[origin, datacenter]`` where an origin's requests may flow (data
            residency: ``f_odm = 0`` elsewhere); None: everywhere.

    Raises:
        ScenarioError: an LLM with demand that no GPU of the scenario can hold.
    """
    demand = np.asarray(demand_rps, float)
    n_o, n_m = demand.shape
    n_d = len(scenario.config.datacenters)
    cands = candidates(scenario, model_ids, prompt_tokens, output_tokens)
    lacking = [model_ids[m] for m in range(n_m)
               if demand[:, m].sum() > 0 and not any(c.m == m for c in cands)]  # fmt: skip
    if lacking:
        raise ScenarioError(
            [
                Problem(
                    "routing.policy",
                    f"helix placement: no GPU of the scenario can hold {', '.join(lacking)}",
                    "add GPUs with more memory, or use helix with placement: scenario",
                )
            ]
        )
    n_c = len(cands)
    n_f = n_o * n_d * n_m

    def fi(o: int, d: int, m: int) -> int:
        return n_c + (o * n_d + d) * n_m + m

    theta = n_c + n_f
    n_var = theta + 1
    rows, lo, hi = [], [], []
    inventory = gpu_inventory(scenario)
    for d, inv in enumerate(inventory):
        for gpu, count in inv.items():
            row = np.zeros(n_var)
            for i, c in enumerate(cands):
                if c.d == d and c.gpu == gpu:
                    row[i] = c.tp
            rows.append(row), lo.append(-np.inf), hi.append(float(count))
    for o in range(n_o):
        for m in range(n_m):
            row = np.zeros(n_var)
            for d in range(n_d):
                row[fi(o, d, m)] = 1.0
            row[theta] = -demand[o, m]
            rows.append(row), lo.append(0.0), hi.append(0.0)
    for d in range(n_d):
        for m in range(n_m):
            row = np.zeros(n_var)
            for o in range(n_o):
                row[fi(o, d, m)] = 1.0
            for i, c in enumerate(cands):
                if c.d == d and c.m == m:
                    row[i] = -utilization * c.replica_rps
            rows.append(row), lo.append(-np.inf), hi.append(0.0)
    a = np.array(rows)
    integrality = np.zeros(n_var)
    integrality[:n_c] = 1
    upper = np.full(n_var, np.inf)
    for i, c in enumerate(cands):
        upper[i] = inventory[c.d][c.gpu] // c.tp
    if allowed is not None:
        for o, d in zip(*np.nonzero(~np.asarray(allowed, bool)), strict=True):
            for m in range(n_m):
                upper[fi(int(o), int(d), m)] = 0.0
    bounds = Bounds(np.zeros(n_var), upper)
    cons = [LinearConstraint(a, lo, hi)]
    first = np.zeros(n_var)
    first[theta] = -1.0
    res = milp(first, constraints=cons, integrality=integrality, bounds=bounds)
    if not res.success:
        raise ScenarioError(
            [Problem("routing.policy", f"helix placement: {res.message}", "check the pools")]
        )
    best = float(res.x[theta])
    # second program: the same multiple, the least RTT-weighted flow, every GPU that can serve
    total = max(float(demand.sum()), 1e-12)
    second = np.zeros(n_var)
    for o in range(n_o):
        for d in range(n_d):
            for m in range(n_m):
                second[fi(o, d, m)] = rtt_ms[o, d] / total / max(best, 1e-12)
    gpus = sum(sum(inv.values()) for inv in inventory)
    rtt_scale = max(float(np.max(rtt_ms)), 1.0)
    for i, c in enumerate(cands):
        second[i] = -1e-3 * rtt_scale * c.tp / max(gpus, 1)
    keep = LinearConstraint(np.eye(1, n_var, theta), 0.999 * best, np.inf)
    res2 = milp(second, constraints=[*cons, keep], integrality=integrality, bounds=bounds)
    x = res2.x if res2.success else res.x
    counts = np.rint(x[:n_c]).astype(int)
    flow = np.zeros((n_m, n_o, n_d))
    for o in range(n_o):
        for d in range(n_d):
            for m in range(n_m):
                flow[m, o, d] = max(float(x[fi(o, d, m)]), 0.0)
    placed = _placed_scenario(scenario, cands, counts)
    rows_out = [
        {"datacenter": c.datacenter, "model": c.model, "gpu": c.gpu, "tp": c.tp,
         "replicas": int(k), "replica_rps": c.replica_rps}
        for c, k in zip(cands, counts, strict=True) if k > 0
    ]  # fmt: skip
    return Placement(placed, rows_out, float(x[theta]), flow)


def _placed_scenario(scenario: Scenario, cands: list[Candidate], counts: Any) -> Scenario:
    """The scenario with each datacenter's pools replaced by the placed replicas. Each new pool
    takes its serving settings from the first original pool on its GPU type in that datacenter
    (batch limits, memory share, keep-alive, load bandwidth, residency, latency model) and the
    datacenter's first pool's dispatch; a phase role is not carried over."""
    raw = copy.deepcopy(scenario.resolved_dict())
    for d, dc in enumerate(raw["datacenters"]):
        original = dc["pools"]
        dispatch = original[0].get("dispatch", "shared")
        pools = []
        for c, k in zip(cands, counts, strict=True):
            if c.d != d or k <= 0:
                continue
            template = next(p for p in original if p["gpu"] == c.gpu)
            pool = dict(template)
            pool.update(model=c.model, tp=c.tp, replicas=int(k), dispatch=dispatch)
            pool.pop("phase_role", None)
            pool.pop("prefill_replicas", None)
            pool.pop("kv_memory_fraction", None)
            pools.append(pool)
        if not pools:  # a datacenter left without replicas keeps one pool of none
            pool = dict(original[0])
            pool.update(replicas=0)
            pool.pop("phase_role", None)
            pool.pop("prefill_replicas", None)
            pools.append(pool)
        dc["pools"] = pools
    return scenario_from_dict(raw, label=f"{scenario.config.name} (helix placement)")

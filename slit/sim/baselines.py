"""Baseline routing policies from the LLM-serving literature, ``helix`` and ``splitwise``, and
the carbon-blind packing baseline ``consolidate``.

``helix`` (after Mei et al., "Helix: Serving Large Language Models over Heterogeneous GPUs and
Network via Max-Flow", ASPLOS 2025) solves, per LLM, a min-cost max-flow problem
source -> origins -> datacenters -> sink whose sink edges carry each datacenter's serving
capacity (requests/s) and whose origin -> datacenter edges cost the RTT, then samples each
request's datacenter in proportion to its origin's flows. ``splitwise`` (after Patel et al.,
"Splitwise: Efficient Generative LLM Inference Using Phase Splitting", ISCA 2024) is
latency-first: the nearest datacenter that is not overloaded. The phase split itself is a
datacenter feature (``datacenters[].phase_split.enabled``). See ``docs/baselines.md``.

All three ignore carbon, water and cost.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from slit.errors import Problem, ScenarioError
from slit.sim.policies import FloatArray, RoutingContext, RoutingPolicy, register_policy

if TYPE_CHECKING:
    from slit.inputs import RunInputs
    from slit.scenario.loader import Scenario

# Integer scaling of the flow problem (networkx's network simplex is exact on integers only).
_RPS_SCALE = 1000  # capacities in milli-requests/s
_RTT_SCALE = 100  # costs in 10 microsecond units


class PoolHint(BaseModel):
    """What a datacenter's replicas run on, to estimate their throughput from the latency model."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gpu: str
    tp: int = Field(1, ge=1)


class HelixParams(BaseModel):
    """Parameters of the ``helix`` policy.

    Serving capacity of a datacenter for an LLM, requests/s, by precedence: ``capacity_rps``
    (``{datacenter: {llm: rps}}``), else replicas x the latency-model estimate for the GPU named
    in ``pools`` (``{datacenter: {gpu, tp}}``), else replicas x ``per_replica_rps``. Replicas of a
    datacenter serving several LLMs are split equally between them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    per_replica_rps: float = Field(2.0, gt=0)
    capacity_rps: dict[str, dict[str, float]] = Field(default_factory=dict)
    pools: dict[str, PoolHint] = Field(default_factory=dict)
    prompt_tokens: int = Field(1024, ge=1)
    output_tokens: int = Field(256, ge=1)
    batch_size: int = Field(16, ge=1)
    demand: Literal["capacity", "observed"] = "capacity"
    demand_rps: float | None = Field(None, gt=0)
    recompute_tolerance: float = Field(0.02, ge=0)
    placement: Literal["milp", "scenario"] = "milp"
    """``milp``: place the LLMs' replicas on every datacenter's GPUs (its pools' replicas ×
    tp, by type) by Helix's throughput-maximising program (:mod:`slit.sim.placement`), then
    route over the placed capacities; ``scenario``: keep the scenario's pools."""
    placement_utilization: float = Field(0.8, gt=0, le=1)
    """Share of a replica's full-batch throughput the placement's flow may use."""


def replica_rps_estimate(
    model: str, gpu: str, tp: int, prompt_tokens: int, output_tokens: int, batch_size: int
) -> float:
    """Requests/s one replica sustains: a request costs its prefill alone plus its share of
    ``output_tokens`` decode steps of a batch of ``batch_size``, i.e.
    ``1 / (t_prefill + output_tokens * t_decode(batch_size) / batch_size)``."""
    from slit.models.latency import decode_step_time_s, prefill_time_s

    t_pre = prefill_time_s(model, gpu, tp, prompt_tokens)
    t_dec = decode_step_time_s(model, gpu, tp, batch_size, prompt_tokens + output_tokens // 2)
    return 1.0 / (t_pre + output_tokens * t_dec / batch_size)


def max_flow_min_cost_shares(
    demand_rps: FloatArray,
    capacity_rps: FloatArray,
    rtt_ms: FloatArray,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Flows ``[origin, datacenter]`` (requests/s) of the min-cost maximum flow

    source -(demand_o)-> origin o -(unbounded, cost rtt[o, d])-> datacenter d -(capacity_d)-> sink,

    with an origin -> datacenter edge only where ``allowed[o, d]`` (data residency; None: all).
    """
    import networkx as nx  # imported here: ~0.25 s, only needed by helix

    n_o, n_d = rtt_ms.shape
    g = nx.DiGraph()
    dem = np.round(np.asarray(demand_rps, float) * _RPS_SCALE).astype(np.int64)
    cap = np.round(np.asarray(capacity_rps, float) * _RPS_SCALE).astype(np.int64)
    big = int(max(dem.sum(), cap.sum(), 1))
    for o in range(n_o):
        g.add_edge("s", ("o", o), capacity=int(dem[o]), weight=0)
        for d in range(n_d):
            if allowed is not None and not allowed[o, d]:
                continue
            cost = int(round(float(rtt_ms[o, d]) * _RTT_SCALE))
            g.add_edge(("o", o), ("d", d), capacity=big, weight=cost)
    for d in range(n_d):
        g.add_edge(("d", d), "t", capacity=int(cap[d]), weight=0)
    flow = nx.max_flow_min_cost(g, "s", "t")
    out = np.zeros((n_o, n_d))
    for o in range(n_o):
        for d, f in flow[("o", o)].items():
            out[o, d[1]] = f / _RPS_SCALE
    return out


@register_policy("helix")
class Helix(RoutingPolicy):
    """Min-cost max-flow (Helix): spread requests over serving capacity, RTT as the flow cost.

    It reads its own count of arrivals, never the datacenters' load, so its requests are
    routed before the run (the same calls in the same order: the same draws)."""

    Params = HelixParams
    uses_load: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.fallbacks = 0
        self.recomputes = 0

    def place(self, scenario: Scenario, inputs: RunInputs) -> Scenario:
        """With ``placement: milp``, the scenario with its replicas placed by Helix's program
        for the run's mean demand (each origin's and LLM's mean rate over the horizon and the
        LLMs' mean lengths); the rows placed go to ``placement_report`` (run metadata)."""
        from slit.sim.placement import helix_placement

        p: Any = self.params
        if p.placement == "scenario":
            return scenario
        req = inputs.requests
        n_o, n_m = len(inputs.fleet.region_ids), len(inputs.model_ids)
        demand = np.zeros((n_o, n_m))
        np.add.at(demand, (np.asarray(req.origin), np.asarray(req.model)), 1.0)
        demand /= inputs.timeline.horizon_s
        prompt, output = (np.nan_to_num(x, nan=1.0) for x in req.mean_lengths_tokens())
        placed = helix_placement(
            scenario, list(inputs.model_ids), demand, prompt, output, inputs.fleet.rtt_ms,
            utilization=p.placement_utilization,
            allowed=inputs.fleet.allowed if inputs.fleet.restricted else None,
        )  # fmt: skip
        self.placement_report = {
            "served_multiple": placed.served_multiple,
            "replicas": [{k: (float(v) if k == "replica_rps" else v) for k, v in row.items()}
                         for row in placed.replicas],
        }  # fmt: skip
        return placed.scenario

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        n_m, n_o, n_d = len(ctx.model_ids), len(ctx.region_ids), len(ctx.datacenter_ids)
        self.capacity_rps = self._capacities(ctx)  # [model, datacenter]
        self._counts = np.zeros((n_m, n_o))  # arrivals since the last recomputation
        self._since_s = 0.0
        self._epoch = 0
        self._shares = np.full((n_m, n_o), 1.0 / max(n_o, 1))
        self._rate = np.zeros(n_m)
        self.flows = np.zeros((n_m, n_o, n_d))
        self._solve()
        self._nearest = np.array(
            [
                [self._argmin(ctx.rtt_ms[o, c], c, o) if len(c) else -1 for c in self.by_origin[o]]
                for o in range(n_o)
            ],
            dtype=np.int64,
        )

    def _capacities(self, ctx: RoutingContext) -> FloatArray:
        p: Any = self.params
        problems = []
        for where, table in (("capacity_rps", p.capacity_rps), ("pools", p.pools)):
            for dc in table:
                if dc not in ctx.datacenter_ids:
                    problems.append(
                        Problem(
                            f"routing.params.{where}.{dc}",
                            "unknown datacenter",
                            f"valid: {', '.join(ctx.datacenter_ids)}",
                        )
                    )
        for dc, row in p.capacity_rps.items():
            for m, rps in row.items():
                if m not in ctx.model_ids:
                    problems.append(
                        Problem(
                            f"routing.params.capacity_rps.{dc}.{m}",
                            "unknown LLM",
                            f"valid: {', '.join(ctx.model_ids)}",
                        )
                    )
                elif rps < 0:
                    problems.append(
                        Problem(f"routing.params.capacity_rps.{dc}.{m}", "must be >= 0", "")
                    )
        if problems:
            raise ScenarioError(problems)
        n_served = np.maximum(ctx.serves.sum(axis=0), 1)
        cap = np.zeros(ctx.serves.shape)
        for m, model in enumerate(ctx.model_ids):
            for d, dc in enumerate(ctx.datacenter_ids):
                if not ctx.serves[m, d]:
                    continue
                if model in p.capacity_rps.get(dc, {}):
                    cap[m, d] = p.capacity_rps[dc][model]
                    continue
                if ctx.throughput_rps is not None and dc not in p.pools:
                    # what the simulator's own pools sustain at full batch
                    cap[m, d] = ctx.throughput_rps[m, d]
                    continue
                replicas = ctx.capacity[d] / n_served[d]
                per = p.per_replica_rps
                if dc in p.pools:
                    hint = p.pools[dc]
                    try:
                        per = replica_rps_estimate(
                            model,
                            hint.gpu,
                            hint.tp,
                            p.prompt_tokens,
                            p.output_tokens,
                            p.batch_size,
                        )
                    except KeyError as exc:
                        raise ScenarioError(
                            [
                                Problem(
                                    f"routing.params.pools.{dc}",
                                    f"no bundled GPU or LLM {exc}",
                                    "name a bundled GPU, or give capacity_rps instead",
                                )
                            ]
                        ) from None
                cap[m, d] = replicas * per
        return cap

    def _solve(self) -> None:
        """Recompute the flows of every LLM from the current demand estimate."""
        assert self.ctx is not None
        p: Any = self.params
        self.recomputes += 1
        self._rows: dict[tuple[int, int], tuple[list[float], float, list[int]]] = {}
        for m, cand in enumerate(self.candidates):
            self.flows[m] = 0.0
            if not len(cand):
                continue
            cap = self.capacity_rps[m, cand]
            if p.demand == "capacity":
                total = cap.sum()
            elif p.demand_rps is not None:
                # the given total, split over the LLMs as observed (equally before any arrival)
                seen = self._rate.sum()
                total = p.demand_rps * (
                    self._rate[m] / seen if seen > 0 else 1.0 / len(self.candidates)
                )
            else:
                # before any arrival is seen, assume the LLM saturates its capacity
                total = self._rate[m] if self._rate[m] > 0 else cap.sum()
            allowed = None if self.ctx.allowed is None else self.ctx.allowed[:, cand]
            flows = max_flow_min_cost_shares(
                self._shares[m] * total, cap, self.ctx.rtt_ms[:, cand], allowed
            )
            self.flows[m][:, cand] = flows

    def _observe_epoch(self, t_s: float) -> None:
        """At an epoch boundary, update the demand estimate and re-solve if it moved."""
        assert self.ctx is not None
        p: Any = self.params
        e = self.ctx.epoch_of(t_s)
        if e <= self._epoch:
            return
        start_s = e * self.ctx.epoch_s
        elapsed = max(start_s - self._since_s, 1e-9)
        counts = self._counts
        self._epoch, self._since_s = e, start_s
        self._counts = np.zeros_like(counts)
        totals = counts.sum(axis=1)
        if totals.sum() <= 0:
            return
        shares = np.where(
            totals[:, None] > 0, counts / np.maximum(totals[:, None], 1), self._shares
        )
        rate = totals / elapsed
        moved = np.abs(shares - self._shares).max() > p.recompute_tolerance
        if p.demand == "observed":
            rel = np.abs(rate - self._rate) / np.maximum(self._rate, 1e-12)
            moved = moved or bool((rel > p.recompute_tolerance).any())
        self._shares, self._rate = shares, rate
        if moved:
            self._solve()

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        assert self.ctx is not None
        self._observe_epoch(t_s)
        self._counts[model, origin] += 1
        row = self._rows.get((origin, model))
        if row is None:
            # the flows' cumulative shares as plain numbers, until the next re-solve (the sums
            # are numpy's, so the draws fall where they would with numpy per request)
            cand = self.by_origin[origin][model]
            weights = self.flows[model, origin, cand]
            row = np.cumsum(weights).tolist(), float(weights.sum()), [int(c) for c in cand]
            self._rows[(origin, model)] = row
        cum, total, ids = row
        if total <= 0:
            self.fallbacks += 1
            return int(self._nearest[origin, model])
        u = self.ctx.rng.random() * total
        return ids[min(bisect_right(cum, u), len(ids) - 1)]


class SplitwiseParams(BaseModel):
    """Parameters of the ``splitwise`` policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    load_threshold: float = Field(4.0, gt=0)


@register_policy("splitwise")
class Splitwise(RoutingPolicy):
    """Latency-first (Splitwise baseline): the nearest datacenter below a load threshold."""

    Params = SplitwiseParams

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        # [origin][model] -> able datacenters, nearest first (ties by index)
        self._by_rtt: list[list[npt.NDArray[np.int64]]] = [
            [c[np.lexsort((c, ctx.rtt_ms[o, c]))] for c in self.by_origin[o]]
            for o in range(len(ctx.region_ids))
        ]

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        p: Any = self.params
        ordered = self._by_rtt[origin][model]
        below = ordered[load[ordered] < p.load_threshold]
        if len(below):
            return int(below[0])
        return self._argmin(load[ordered], ordered, origin)


class ConsolidateParams(BaseModel):
    """Parameters of the ``consolidate`` policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_load: float = Field(8.0, gt=0)
    """Requests in flight per able replica at which a datacenter counts as full and the next
    one in the order takes the request."""


@register_policy("consolidate")
class Consolidate(RoutingPolicy):
    """Carbon-blind packing: the first datacenter, in one order for all origins, not yet full.

    Every request goes to the first datacenter in that order whose load is below ``max_load``
    requests in flight per able replica; when all are at it, to the least loaded one.

    The order is fixed before the run and blind to carbon, water and price: the datacenters
    that can sustain the most requests/s of the LLM first (``throughput_rps``, else the replica
    count), ties to the lowest mean RTT over the origins, then the index. So load concentrates
    on as few sites as can take it, which separates what packing saves (busier replicas batch
    more tokens per joule) from what carbon-aware routing saves.
    """

    Params = ConsolidateParams

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        n_models = len(ctx.model_ids)
        size = (
            np.asarray(ctx.throughput_rps, float)
            if ctx.throughput_rps is not None
            else np.broadcast_to(ctx.capacity, (n_models, len(ctx.capacity)))
        )
        mean_rtt = np.asarray(ctx.rtt_ms, float).mean(axis=0)
        self._order: list[list[int]] = []
        for m, cand in enumerate(self.candidates):
            ids = [int(d) for d in cand]
            # largest throughput first, then the most central, then the index
            keys = np.lexsort((np.array(ids), mean_rtt[ids], -size[m, ids]))
            self._order.append([ids[k] for k in keys])
        self._max_load = float(self.params.max_load)  # type: ignore[attr-defined]
        # [origin][model]: the order restricted to the datacenters the origin may use (the
        # same lists when nothing is restricted)
        self._order_by: list[list[list[int]]] = []
        for o in range(len(ctx.region_ids)):
            if self.by_origin[o] is self.candidates:
                self._order_by.append(self._order)
                continue
            allowed = [set(c.tolist()) for c in self.by_origin[o]]
            self._order_by.append([[d for d in order if d in allowed[m]]
                                   for m, order in enumerate(self._order)])  # fmt: skip

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        for d in self._order_by[origin][model]:
            if load[d] < self._max_load:
                return d
        cand = self.by_origin[origin][model]
        return self._argmin(load[cand], cand, origin)

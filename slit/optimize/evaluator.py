"""The fast evaluator: one epoch of a whole population of allocations, vectorised with numpy.

An allocation ``A[origin, datacenter]`` (rows sum to 1) sends that share of each origin's
requests to each datacenter (per LLM, renormalised over the datacenters serving it that the
origin may use under the scenario's data residency; a row with no such datacenter sends to the
nearest one that does). For each pool — the replicas of one LLM
on one GPU type in one datacenter — the evaluator takes the arrival rate that results and
models continuous batching in steady state with the same latency and power models as the
simulator (:mod:`slit.models`):

* a replica (arrival rate ``λ``) spends the share ``ρ_p = λ t_p`` of its time in prefill
  iterations (``t_p`` = prefill of one mean prompt), which stall decoding;
* its decode batch ``b`` solves ``b = λ · out · step(b) / (1 − ρ_p)`` (Little's law: each
  request stays ``out`` iterations of ``step(b)`` seconds), at most ``b_max`` = the batch or
  KV-cache limit; ``step(b)`` is the roofline decode iteration at context ``prompt + out/2``;
* its utilisation is ``u = λ (t_p + out · step(b_max) / b_max)``, the share of its capacity at
  full batch, and must stay below 1;
* a request waits for a prefill slot as in an M/D/c queue of the pool's ``c = n`` replicas
  (Erlang C with the Allen–Cunneen factor ½ for deterministic service), and for a batch slot
  as in an M/D/c queue of ``n · b_max`` slots holding a request for ``t_p + out·step(b_max)``;
* TTFT = RTT + prompt transfer + the two waits + half a decode iteration (the one under way
  when it arrives, if the replica is decoding) + ``t_p``;
* the TTFT *distribution* (for the p95 and the SLO) is a mixture over origins, pools and prompt
  lengths: each request's TTFT is ``d(L) + W``, where ``d(L)`` = RTT + transfer of ``L`` tokens
  + the prefill of ``L`` tokens + half a decode iteration. ``d`` grows with ``L``, so its
  distribution follows from the prompt-length quantiles at :data:`PROMPT_CELL_EDGES` (finer in
  the tail): within each cell between two edges ``d`` is taken as uniform (a piecewise-linear
  distribution function, which keeps the quantile continuous). The wait ``W`` is 0 with probability
  ``1 − P_w`` and else exponential with mean ``θ`` (the M/M/c shape of Erlang C, scaled by the
  Allen–Cunneen factor ``(1 + c_s²)/2`` of the prefill times' squared coefficient of variation
  ``c_s²``); the two waits above combine into one with ``P_w = 1 − (1 − C_pre)(1 − C_slot)``
  and the same mean. :class:`TailModel` holds it; :meth:`TailModel.exceedance` is
  ``P(TTFT > t)`` per origin, :func:`ttft_quantile` the quantile of several epochs together;
* IT energy = epoch × replicas × (``ρ_p`` P_prefill + ``f_d`` P_decode(b) + rest P_idle) with
  the decode busy share ``f_d = λ · out · step(b) / b``; the prefill and decode powers are the
  simulator's (:func:`slit.models.power.iteration_activity` of the iteration's compute, memory
  and per-request shares, here element-wise as ``iteration_activity_array``); carbon, water and
  cost follow from the epoch's per-IT-kWh factors of the datacenter (PUE, WUE and EWIF folded
  in; carbon at the scenario's chosen intensity, average or marginal);
* carbon adds the embodied carbon of every GPU of the fleet for the epoch (charged per GPU-hour
  provisioned, as the simulator charges it; the same for every allocation, and 0 unless
  ``carbon.embodied`` is enabled).

Idle pools draw idle power. Everything is an array over ``[population, pool]``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from slit.inputs import Fleet, compile_fleet, served_models
from slit.models.power import iteration_activity, iteration_activity_array
from slit.scenario.loader import Scenario

FloatArray = npt.NDArray[np.float64]

INFEASIBLE_TTFT_S = 1.0e3
"""TTFT reported for a pool pushed past its capacity (its queue would grow without bound)."""

PROMPT_CELL_EDGES = np.array(
    [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.9625, 0.975,
     0.9875, 1.0]
)  # fmt: skip
"""Probability edges of the prompt-length cells the TTFT distribution is built on: tenths up to
the 80th percentile, finer above it, where the p95 lies."""


def prompt_quantiles(prompt_tokens: npt.ArrayLike) -> FloatArray:
    """The prompt length, tokens, at each probability of :data:`PROMPT_CELL_EDGES` (the first
    and last are the sample's minimum and maximum), from a sample of prompt lengths."""
    sample = np.asarray(prompt_tokens, float)
    if sample.size == 0:
        return np.ones(len(PROMPT_CELL_EDGES))
    return np.quantile(sample, PROMPT_CELL_EDGES)


@dataclass(frozen=True)
class EpochDemand:
    """What an epoch asks for and what its energy costs, per origin, LLM and datacenter.

    Attributes:
        rate_per_s: ``[origin, model]`` mean arrival rate, requests/s.
        prompt_tokens, output_tokens: ``[model]`` mean prompt and output length, tokens.
        carbon_g_per_it_kwh, water_l_per_it_kwh, price_usd_per_it_mwh: ``[datacenter]``
            impact of one more kWh (MWh) of IT energy there this epoch (PUE folded in).
        epoch_s: epoch length, s.
        prompt_quantiles_tokens: ``[model, edge]`` prompt lengths at the probabilities of
            :data:`PROMPT_CELL_EDGES` (:func:`prompt_quantiles`), for the TTFT distribution;
            ``None`` puts every prompt at the mean.
        warm_at_start: ``[pool]`` or ``[population, pool]`` share of each pool's replicas
            with their weights loaded when the epoch starts (scale to zero, pools with a
            ``keep_alive_s``; :attr:`EpochOutcome.warm_at_end` of the epoch before);
            ``None``: as the run starts (``resident`` pools loaded, others not).
        base_rate_per_pool: ``[pool]`` requests/s sent to each pool whatever the allocation:
            deferrable requests a shift plan releases there this epoch
            (:mod:`slit.optimize.shifting`). They load the pools (waits, utilisation,
            energy) but are not in ``rate_per_s`` and not in the TTFT objective (their
            objective is their deadline). ``None``: none.
    """

    rate_per_s: FloatArray
    prompt_tokens: FloatArray
    output_tokens: FloatArray
    carbon_g_per_it_kwh: FloatArray
    water_l_per_it_kwh: FloatArray
    price_usd_per_it_mwh: FloatArray
    epoch_s: float
    prompt_quantiles_tokens: FloatArray | None = None
    warm_at_start: FloatArray | None = None
    base_rate_per_pool: FloatArray | None = None


MAX_DRAIN_UTIL = 0.95
"""The highest prefill utilisation the drain of a load's backlog is computed at (the epoch
problem's utilisation cap): the factor ``1/(1 − ρ)`` stays finite at or past capacity."""


def drain_factor(prefill_util: FloatArray | float) -> FloatArray:
    """``1/(1 − ρ_p)``: how many times the requests that queue during a weight load wait, once
    the queue's drain at the prefill capacity left over is counted (``ρ_p`` capped at
    :data:`MAX_DRAIN_UTIL`; see :meth:`FastEvaluator._residency`)."""
    return 1.0 / (1.0 - np.minimum(prefill_util, MAX_DRAIN_UTIL))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class TailModel:
    """The TTFT distribution of one epoch for each population member (see the module doc).

    Attributes:
        flow_per_s: ``[population, origin, pool]`` requests/s from each origin to each pool.
        base_s: ``[population, origin, pool, edge]`` TTFT without the wait, s, at each prompt
            quantile edge; within a cell (weight :attr:`cell_weight`) it is uniform between
            the cell's two edges.
        cell_weight: ``[cell]`` probability of each prompt cell.
        wait_probability: ``[population, pool]`` probability that a request waits.
        wait_mean_s: ``[population, pool]`` mean wait of those that do, s.
        epoch_s: epoch length, s (how many requests a rate is, across epochs).
        cold_share: ``[population, pool]`` share of a pool's requests of the epoch that find
            it released and wait for its weights to load (they arrive during the load, so
            their extra wait is uniform on ``[0, load_s]``); ``None``: none.
        load_s: ``[pool]`` weight load time, s (with ``cold_share`` or ``reload_share``).
        reload_share: ``[population, pool]`` share of a pool's requests that find it released
            in steady serving, because its traffic is so sparse that it idles past its
            keep-alive between requests (see :meth:`FastEvaluator._residency`); their wait is
            modelled like ``cold_share``'s. Unlike the first load of an epoch it is part of
            steady serving (:meth:`without_loads` keeps it). ``None``: none.
    """

    flow_per_s: FloatArray
    base_s: FloatArray
    cell_weight: FloatArray
    wait_probability: FloatArray
    wait_mean_s: FloatArray
    epoch_s: float
    cold_share: FloatArray | None = None
    load_s: FloatArray | None = None
    reload_share: FloatArray | None = None

    def without_loads(self) -> TailModel:
        """The distribution of steady serving: without the waits for the epoch's first weight
        loads (what the epoch's SLO constraint bounds, see
        :class:`~slit.optimize.problem.EpochProblem`); the reloads of sparse traffic stay."""
        return self if self.cold_share is None else replace(self, cold_share=None)

    def member(self, i: int) -> TailModel:
        """The distribution of population member ``i`` alone (a population of one)."""
        cut = slice(i, i + 1)
        return TailModel(
            self.flow_per_s[cut], self.base_s[cut], self.cell_weight,
            self.wait_probability[cut], self.wait_mean_s[cut], self.epoch_s,
            None if self.cold_share is None else self.cold_share[cut], self.load_s,
            None if self.reload_share is None else self.reload_share[cut],
        )  # fmt: skip

    def exceedance(self, t_s: float | FloatArray) -> FloatArray:
        """``[population, origin]`` share of each origin's requests with TTFT above ``t_s``
        (seconds: a number, or ``[population]`` / ``[population, 1]`` values); 0 for an origin
        without requests."""
        n = self._exceeding(t_s)  # [P, O] requests/s above t
        rate = self.flow_per_s.sum(axis=2)
        return np.where(rate > 0, n / np.where(rate > 0, rate, 1.0), 0.0)

    def _exceeding(self, t_s: float | FloatArray) -> FloatArray:
        """``[population, origin]`` requests/s whose TTFT is above ``t_s``.

        Only the (member, origin, pool) routes that carry requests are computed (allocations
        are sparse). With ``d`` uniform on a cell ``[lo, hi]`` and ``E(x) = exp(−max(t − x,
        0)/θ)`` at the cell's edges: ``P(d > t) = clip((hi − t)/(hi − lo), 0, 1)`` and
        ``E[exp(−(t − d)/θ); d ≤ t] = θ (E(hi) − E(lo)) / (hi − lo)`` (``E(lo) 1(t > lo)`` for a
        cell of width 0)."""
        n_pop, n_o = self.flow_per_s.shape[:2]
        p_i, o_i, k_i = np.nonzero(self.flow_per_s > 0)
        out = np.zeros(n_pop * n_o)
        if not len(p_i):
            return out.reshape(n_pop, n_o)
        t = np.asarray(t_s, float).reshape(-1)
        t = (t[p_i] if t.size > 1 else np.full(len(p_i), float(t[0])))[:, None]  # [route, 1]
        edges = self.base_s[p_i, o_i, k_i]  # [route, edge]
        theta = np.maximum(self.wait_mean_s[p_i, k_i], 1e-12)[:, None]
        pw = self.wait_probability[p_i, k_i]
        share = self._share_above(t, edges, theta, pw)
        if self.load_s is not None and (
            self.cold_share is not None or self.reload_share is not None
        ):
            cold = np.zeros(len(p_i))
            for part in (self.cold_share, self.reload_share):
                if part is not None:
                    cold = cold + part[p_i, k_i]
            cold = np.minimum(cold, 1.0)
            hit = np.flatnonzero(cold > 0)
            if len(hit):
                # the load's extra wait, uniform on [0, load_s]: the mean over its quartiles'
                # midpoints of the share above t less that wait
                load = self.load_s[k_i[hit]][:, None]
                late = (
                    sum(
                        self._share_above(t[hit] - load * u, edges[hit], theta[hit], pw[hit])
                        for u in (0.125, 0.375, 0.625, 0.875)
                    )
                    / 4.0
                )
                share[hit] = (1.0 - cold[hit]) * share[hit] + cold[hit] * late
        np.add.at(out, p_i * n_o + o_i, share * self.flow_per_s[p_i, o_i, k_i])
        return out.reshape(n_pop, n_o)

    def _share_above(
        self, t: FloatArray, edges: FloatArray, theta: FloatArray, pw: FloatArray
    ) -> FloatArray:
        """``[route]`` share of a route's requests above ``t`` (``[route, 1]``), from its
        wait-free TTFT at the cell edges and its wait (see :meth:`_exceeding`)."""
        e = np.exp(-np.maximum(t - edges, 0.0) / theta)
        lo, hi = edges[:, :-1], edges[:, 1:]
        width = hi - lo
        wide = width > 1e-9
        span = np.where(wide, width, 1.0)
        above = np.where(wide, np.clip((hi - t) / span, 0.0, 1.0), lo > t)
        narrow = np.where(t > lo, e[:, :-1], 0.0)
        waits = np.where(wide, theta * (e[:, 1:] - e[:, :-1]) / span, narrow)
        return (above * self.cell_weight).sum(axis=1) + pw * (waits * self.cell_weight).sum(axis=1)  # type: ignore[no-any-return]


def ttft_quantile(tails: list[TailModel], q: float = 0.95, member: int | None = None) -> FloatArray:
    """The ``q`` quantile of TTFT, s, over every request of ``tails`` (epochs, weighted by their
    requests), per population member (or only ``member``), by bisection on the mixture's
    exceedance. NaN without requests."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"ttft_quantile: q must be in (0, 1), got {q}")
    if member is not None:
        tails = [t.member(member) for t in tails]
    n_pop = tails[0].flow_per_s.shape[0]
    total = sum(t.flow_per_s.sum(axis=(1, 2)) * t.epoch_s for t in tails)
    target = (1.0 - q) * total

    def above(t: FloatArray) -> FloatArray:
        return sum(tl._exceeding(t).sum(axis=1) * tl.epoch_s for tl in tails)  # type: ignore[return-value]

    lo = np.zeros(n_pop)
    hi = np.ones(n_pop)
    for _ in range(60):  # grow the bracket until few enough requests are above it
        more = above(hi) > target
        if not more.any():
            break
        hi = np.where(more, hi * 2.0, hi)
    for _ in range(50):
        mid = (lo + hi) / 2.0
        more = above(mid) > target
        lo, hi = np.where(more, mid, lo), np.where(more, hi, mid)
    return np.where(total > 0, hi, np.nan)


@dataclass(frozen=True)
class EpochOutcome:
    """Per population member: the epoch's objectives, its worst pool utilisation, when
    asked for its TTFT distribution (:class:`TailModel`), and ``[population, pool]`` the share
    of each pool's replicas loaded when the epoch ends (:attr:`EpochDemand.warm_at_start` of
    the next; ``None`` without scale to zero)."""

    ttft_mean_s: FloatArray
    carbon_kg: FloatArray
    water_l: FloatArray
    cost_usd: FloatArray
    it_energy_kwh: FloatArray
    max_utilization: FloatArray
    tail: TailModel | None = None
    warm_at_end: FloatArray | None = None
    powered: FloatArray | None = None
    """``[population, pool]`` replicas powered in the epoch under capacity control
    (:meth:`FastEvaluator.control_capacity`); None without it."""

    def objectives(self) -> FloatArray:
        """``[population, 4]``: TTFT mean (s), carbon (kg), water (L), cost (USD)."""
        return np.stack([self.ttft_mean_s, self.carbon_kg, self.water_l, self.cost_usd], axis=1)


def _erlang_c(servers: FloatArray, offered: FloatArray) -> FloatArray:
    """Probability of waiting in M/M/c with ``servers`` c and offered load a (< c), arrays.

    Erlang B by its stable recursion B_k = a B_{k-1} / (k + a B_{k-1}), then
    C = c B / (c − a (1 − B)). ``servers`` are whole numbers; a ≥ c gives 1.
    """
    # With many servers at low load nobody waits: for c > 8 and a/c < 0.1, C < 1e-7. Skipping
    # those keeps the recursion short (it runs to the largest c that matters).
    matters = (servers <= 8) | (offered > 0.1 * servers)
    c_max = int(servers[matters].max()) if matters.any() else 0
    b = np.ones_like(offered)
    out = np.ones_like(offered)
    for k in range(1, c_max + 1):
        b = offered * b / (k + offered * b)
        at = servers == k
        if at.any():
            out = np.where(at, k * b / np.maximum(k - offered * (1 - b), 1e-300), out)
    out = np.where(matters, out, 0.0)
    return np.where(offered >= servers, 1.0, np.clip(out, 0.0, 1.0))


class FastEvaluator:
    """The epoch model of one scenario's datacenters, pools and network (see module doc).

    Build it from a :class:`~slit.inputs.Fleet` (or with :meth:`from_scenario`);
    :meth:`evaluate` then takes a population of allocations ``[population, origin,
    datacenter]`` and one epoch's :class:`EpochDemand`.
    """

    def __init__(self, fleet: Fleet) -> None:
        """The evaluator of ``fleet``'s pools and network (its ``model_ids`` are the LLMs an
        :class:`EpochDemand` gives rates for)."""
        self.fleet = fleet
        self.region_ids = list(fleet.region_ids)
        self.datacenter_ids = list(fleet.datacenter_ids)
        self.model_ids = list(fleet.model_ids)
        self.rtt_s = np.asarray(fleet.rtt_ms, float) / 1000.0  # [origin, datacenter]
        self.transfer_s_per_token = fleet.transfer_s_per_token
        idle_w = np.zeros(len(self.datacenter_ids))
        # pools serving an LLM the epochs ask for; the others only idle
        self.pools = tuple(p for p in fleet.pools if p.model >= 0)
        for pool in fleet.pools:
            if pool.model < 0:
                idle_w[pool.datacenter] += pool.it_power_w(0.0) * pool.replicas
        self.perfs = [p.perf for p in self.pools]
        self.pool_dc = np.array([p.datacenter for p in self.pools], dtype=np.int64)
        self.pool_model = np.array([p.model for p in self.pools], dtype=np.int64)
        self.replicas = np.array([p.replicas for p in self.pools], float)
        # the pools of one LLM in one datacenter (same LLM, same datacenter)
        self._peers = [
            (self.pool_model == self.pool_model[k]) & (self.pool_dc == self.pool_dc[k])
            for k in range(len(self.pools))
        ]
        # scale to zero: pools with a keep-alive release their replicas when idle
        self.keep_alive_s = np.array(
            [np.inf if p.keep_alive_s is None else p.keep_alive_s for p in self.pools], float
        )
        self.scales = np.isfinite(self.keep_alive_s)
        self.load_s = np.array([p.load_s for p in self.pools], float)
        self.warm_initial = np.array([1.0 if p.resident else 0.0 for p in self.pools])
        self.max_batch = np.array([p.max_batch for p in self.pools], float)
        self.kv_capacity = np.array([p.kv_capacity_tokens for p in self.pools], float)
        self.extra_idle_w = idle_w
        # capacity control (control_capacity): the utilisation the powered replicas aim at
        self.capacity_target: float | None = None
        self.min_powered = np.zeros(len(self.pools))
        # embodied carbon of every GPU provisioned, per second of an epoch, kg/s
        self.embodied_kg_per_s = float(sum(float(p.embodied_kg(1.0)) for p in fleet.pools))
        self.serves = fleet.serves()
        # data residency: [origin, datacenter] where an origin may be served; `restricted`
        # when it forbids anything (allocations are then masked with it)
        self.allowed = fleet.allowed
        self.restricted = fleet.restricted
        # [model, origin, datacenter]: the datacenters able to take the origin's requests
        self.able = self.serves[:, None, :] & self.allowed[None]
        # the nearest able datacenter for each model and origin, for rows that put no weight
        # on any
        self.nearest = np.argmin(np.where(self.able, self.rtt_s[None], np.inf), axis=2)

    def control_capacity(self, target_utilization: float, min_replicas: int) -> None:
        """Power only the replicas each candidate's load needs, as the scenario's ``capacity``
        section lets the optimiser decide: in every pool the fewest replicas ``n`` with
        utilisation ``λ (t_p + out · step(b_max) / b_max) / n <= target_utilization``, at
        least ``min_replicas`` per LLM and datacenter (taken from its pools in order), at most
        the pool's replicas. Powered-down replicas draw no power; the TTFT model sees only the
        powered ones. (The weight load of a replica powered up is not modelled here; the
        simulator's replay pays it.)"""
        if not 0 < target_utilization <= 1:
            raise ValueError("target_utilization must be in (0, 1]")
        self.capacity_target = float(target_utilization)
        mins = np.zeros(len(self.pools))
        for k in range(len(self.pools)):
            before = self.replicas[self._peers[k] & (np.arange(len(self.pools)) < k)].sum()
            mins[k] = np.clip(min_replicas - before, 0, self.replicas[k])
        self.min_powered = mins

    @classmethod
    def from_scenario(cls, scenario: Scenario, model_ids: list[str] | None = None) -> FastEvaluator:
        """The evaluator of a scenario's fleet (its network and pools with their latency,
        power and KV models, :func:`slit.inputs.compile_fleet`) for ``model_ids`` (default:
        the LLMs its pools serve)."""
        return cls(compile_fleet(scenario, model_ids or served_models(scenario)))

    # -- per-epoch pool coefficients ----------------------------------------------------------
    def _coefficients(self, demand: EpochDemand) -> dict[str, FloatArray]:
        """Per pool, the linear-in-batch decode lines and the prefill time at mean lengths
        (cached per pair of mean lengths: an optimiser asks for the same epoch many times)."""
        cells = demand.prompt_quantiles_tokens
        key = (
            tuple(demand.prompt_tokens.tolist()),
            tuple(demand.output_tokens.tolist()),
            None if cells is None else tuple(np.ravel(cells).tolist()),
        )
        cache = self.__dict__.setdefault("_coef_cache", {})
        if key not in cache:
            cache[key] = self._compute_coefficients(demand)
        return cache[key]  # type: ignore[no-any-return]

    def _compute_coefficients(self, demand: EpochDemand) -> dict[str, FloatArray]:
        keys = (
            "ac",
            "cw",
            "am",
            "mw",
            "f0",
            "f1",
            "tp",
            "bmax",
            "p_idle",
            "p_pre",
            "p_span",
            "a_base",
            "a_comp",
            "a_mem",
            "a_req",
            "t_req",
            "a_comm",
            "comm0",
            "comm1",
        )
        out = {k: np.zeros(len(self.perfs)) for k in keys}
        for k, pool in enumerate(self.pools):
            perf = pool.perf
            m = self.pool_model[k]
            prompt, output = float(demand.prompt_tokens[m]), float(demand.output_tokens[m])
            ctx = prompt + output / 2.0
            c1, _, m1, _, f1 = perf.decode_lines(1, ctx)
            c2, _, m2, _, f2 = perf.decode_lines(2, 2.0 * ctx)
            out["ac"][k], out["cw"][k] = c2 - c1, 2.0 * c1 - c2
            out["am"][k], out["mw"][k] = m2 - m1, 2.0 * m1 - m2
            out["f1"][k], out["f0"][k] = f2 - f1, 2.0 * f1 - f2
            out["tp"][k] = perf.prefill_time_s(prompt, prompt * prompt)
            per_request_kv = max(prompt + output, 1.0)
            out["bmax"][k] = max(1.0, min(self.max_batch[k], self.kv_capacity[k] // per_request_kv))
            it_w = pool.it_power_w
            power = pool.power
            out["p_idle"][k] = it_w(0.0)
            c, mem, f = perf.prefill_terms(prompt, prompt * prompt)
            comm = perf.comm_time_s(prompt)
            out["p_pre"][k] = it_w(iteration_activity(c, mem, max(c, mem) + f, power, 0.0, comm))
            # IT power is linear in the activity: P(a) = p_idle + p_span * a
            out["p_span"][k] = it_w(1.0) - out["p_idle"][k]
            out["a_base"][k] = power.base_activity
            out["a_comp"][k] = power.compute_activity
            out["a_mem"][k] = power.memory_activity
            out["a_req"][k] = power.request_activity
            out["t_req"][k] = perf.eff.per_request_overhead_s
            # all-reduce time of a decode step: comm0 + comm1 * batch (0 at tp 1)
            out["a_comm"][k] = power.comm_activity
            out["comm0"][k] = perf.comm_time_s(0.0)
            out["comm1"][k] = perf.comm_time_s(1.0) - out["comm0"][k]
        # the prefill time at each prompt quantile edge; its mean and squared coefficient of
        # variation over the cells (each cell at the mean of its edges)
        cells = self._cells(demand)
        weight = self.cell_weight(demand)
        out["tp_cells"] = np.zeros((len(self.perfs), cells.shape[1]))
        for k, pool in enumerate(self.pools):
            lengths = cells[self.pool_model[k]]
            out["tp_cells"][k] = [pool.perf.prefill_time_s(x, x * x) for x in lengths]
        tp_mid = (out["tp_cells"][:, :-1] + out["tp_cells"][:, 1:]) / 2.0
        tp_mean = tp_mid @ weight
        tp_var = ((tp_mid - tp_mean[:, None]) ** 2) @ weight
        out["tp_mean"] = tp_mean
        out["tp_cs2"] = tp_var / np.maximum(tp_mean, 1e-12) ** 2
        # pools of one LLM in one datacenter share its traffic in proportion to what their
        # replicas sustain (one queue serves them all and an idle replica pulls work as soon
        # as it can, so a faster GPU type takes more): each pool's share of their capacity
        cap = np.array([pool.replicas * pool.replica_throughput_rps(
            float(demand.prompt_tokens[self.pool_model[k]]),
            float(demand.output_tokens[self.pool_model[k]]))
            for k, pool in enumerate(self.pools)])  # fmt: skip
        out["pool_weight"] = np.array(
            [cap[k] / cap[self._peers[k]].sum() for k in range(len(self.pools))]
        )
        return out

    def pool_weight(self, demand: EpochDemand) -> FloatArray:
        """``[pool]`` each pool's share of its LLM's traffic in its datacenter: its share of
        the capacity (replicas × full-batch throughput at the epoch's mean lengths) of the
        LLM's pools there."""
        return self._coefficients(demand)["pool_weight"]

    @staticmethod
    def _cells(demand: EpochDemand) -> FloatArray:
        """``[model, edge]`` prompt lengths (the mean alone, as a cell of width 0, without
        quantiles)."""
        if demand.prompt_quantiles_tokens is None:
            return np.repeat(np.asarray(demand.prompt_tokens, float)[:, None], 2, axis=1)
        return np.asarray(demand.prompt_quantiles_tokens, float)

    @staticmethod
    def cell_weight(demand: EpochDemand) -> FloatArray:
        """``[cell]`` probability of each prompt cell of ``demand``."""
        if demand.prompt_quantiles_tokens is None:
            return np.ones(1)
        return np.diff(PROMPT_CELL_EDGES)

    # -- the evaluation -----------------------------------------------------------------------
    def model_shares(self, alloc: FloatArray, demand: EpochDemand) -> dict[int, FloatArray]:
        """Per LLM with demand, ``[population, origin, datacenter]`` shares: the allocation
        restricted to the datacenters serving it that the origin may use (data residency) and
        renormalised; a row with no weight on any of them sends to the nearest of them."""
        a = np.asarray(alloc, float)
        if a.ndim == 2:
            a = a[None]
        out = {}
        for m in range(len(self.model_ids)):
            if not demand.rate_per_s[:, m].any():
                continue
            masked = a * self.able[m][None]
            total = masked.sum(axis=2, keepdims=True)
            fallback = np.zeros_like(masked)
            fallback[:, np.arange(a.shape[1]), self.nearest[m]] = 1.0
            out[m] = np.where(total > 0, masked / np.where(total > 0, total, 1.0), fallback)
        return out

    def pool_rates(self, shares: dict[int, FloatArray], demand: EpochDemand,
                   n_pop: int) -> FloatArray:  # fmt: skip
        """``[population, pool]`` arrival rate, requests/s, from :meth:`model_shares`."""
        rates = np.zeros((n_pop, len(self.perfs)))
        weight = self.pool_weight(demand)
        for m, share in shares.items():
            to_dc = np.einsum("o,pod->pd", demand.rate_per_s[:, m], share)  # [P, datacenter]
            pools = np.flatnonzero(self.pool_model == m)
            rates[:, pools] = to_dc[:, self.pool_dc[pools]] * weight[pools][None, :]
        return rates

    def evaluate(self, alloc: FloatArray, demand: EpochDemand, tail: bool = False) -> EpochOutcome:
        """Objectives of every allocation in ``alloc`` (``[population, origin, datacenter]``);
        with ``tail``, also the TTFT distribution (:attr:`EpochOutcome.tail`)."""
        a = np.asarray(alloc, float)
        if a.ndim == 2:
            a = a[None]
        co = self._coefficients(demand)
        shares = self.model_shares(a, demand)
        lam_alloc = self.pool_rates(shares, demand, a.shape[0])  # [P, K]
        lam = lam_alloc
        if demand.base_rate_per_pool is not None:
            lam = lam_alloc + np.asarray(demand.base_rate_per_pool, float)[None, :]
        out_len = demand.output_tokens[self.pool_model][None, :]

        def step(b: FloatArray) -> FloatArray:
            comp = co["ac"] * b + co["cw"]
            mem = co["am"] * b + co["mw"]
            return np.maximum(comp, mem) + co["f0"] + co["f1"] * b

        bmax = co["bmax"][None, :]
        # a replica's busy time per request at full batch: its utilisation is λ_r times it
        per_request = co["tp"] + out_len * step(bmax) / bmax
        powered = None
        n = self.replicas[None, :]
        if self.capacity_target is not None:
            need = np.ceil(lam * per_request / self.capacity_target - 1e-9)
            n = powered = np.clip(need, self.min_powered[None, :], self.replicas[None, :])
        lam_r = np.where(n > 0, lam / np.where(n > 0, n, 1.0), 0.0)
        rho_p = lam_r * co["tp"]
        util = lam_r * per_request
        free = np.clip(1.0 - rho_p, 1e-6, 1.0)

        def busy_batch(b: FloatArray) -> FloatArray:
            # requests decoding at once are Poisson with mean b (M/G/inf): the replica decodes
            # with probability 1 - e^-b, and then holds b / (1 - e^-b) of them on average
            return np.maximum(b / np.maximum(-np.expm1(-b), 1e-12), 1.0)

        b = np.minimum(lam_r * out_len * step(np.ones_like(lam_r)) / free, bmax)
        tol_scale = float(bmax.max())
        for _ in range(30):  # fixed point of b = λ out step(b_busy) / (1 − ρ_p)
            nb = np.minimum(np.maximum(lam_r * out_len * step(busy_batch(b)) / free, 0.0), bmax)
            # the map contracts fast (about 3e-3 per iteration): stop once every batch has
            # settled to 1e-12 of its limit; iterating on only flips a last bit back and forth
            settled = np.abs(nb - b).max() <= 1e-12 * tol_scale
            b = nb
            if settled:
                break
        b_busy = np.minimum(busy_batch(b), bmax)
        step_b = step(b_busy)
        f_dec = np.clip(-np.expm1(-b) * free, 0.0, 1.0 - np.clip(rho_p, 0, 1))

        # waits: prefill servers (M/G/n: Erlang C's probability of waiting, and the mean wait
        # of those who wait, M/M/c's s / (n - a) times the Allen-Cunneen factor (1 + c_s²)/2 of
        # the prefill times) and batch slots (M/D/(n b_max), holding a request for a prefill
        # and its decode); see the module doc
        reps = np.broadcast_to(n, lam.shape)
        s_pre = co["tp_mean"][None, :]
        a_pre = lam * s_pre
        c_pre = _erlang_c(reps, a_pre)
        theta_pre = (1.0 + co["tp_cs2"][None, :]) / 2.0 * s_pre / np.maximum(reps - a_pre, 1e-9)
        slots = np.broadcast_to(n * bmax, lam.shape)
        hold = co["tp"] + out_len * step(bmax)
        a_slot = lam * hold
        c_slot = _erlang_c(np.floor(slots), a_slot)
        theta_slot = 0.5 * hold / np.maximum(slots - a_slot, 1e-9)
        wait_mean = c_pre * theta_pre + c_slot * theta_slot
        residual = f_dec * step_b / 2.0
        ttft_pool = wait_mean + s_pre + residual
        over = (util >= 1.0) | (rho_p >= 1.0)
        ttft_pool = np.where(over, INFEASIBLE_TTFT_S, ttft_pool)
        f_pre = np.clip(rho_p, 0.0, 1.0)
        f_idle = np.clip(1.0 - f_pre - f_dec, 0.0, 1.0)
        released, cold, warm_end, reload = self._residency(
            lam, co["tp"] + out_len * step_b, f_idle, demand, rho_p
        )
        if cold is not None and reload is not None:
            # the requests a load holds up wait uniformly between 0 and L (mean L/2), but of a
            # reload of sparse traffic the one that finds the pool released waits all of L
            behind = lam * self.load_s[None, :] * drain_factor(rho_p)
            reload_wait = self.load_s[None, :] * (1.0 + behind / 2.0) / (1.0 + behind)
            ttft_pool = ttft_pool + cold * self.load_s[None, :] / 2.0 + reload * reload_wait
        tail_model = None
        if tail:
            tail_model = self._tail(
                a, demand, shares, co, c_pre, c_slot, wait_mean, residual, over, cold, reload
            )

        # network part: per origin → datacenter flow of requests
        net_s = self.rtt_s[None] + 0.0  # [1, O, D]
        total_rate = demand.rate_per_s.sum()
        ttft_sum = (lam_alloc * ttft_pool).sum(axis=1)
        for m, share in shares.items():
            xfer = demand.prompt_tokens[m] * self.transfer_s_per_token
            ttft_sum += np.einsum("o,pod,pod->p", demand.rate_per_s[:, m], share, net_s + xfer)
        ttft_mean = ttft_sum / max(total_rate, 1e-12)

        # energy, J per pool over the epoch
        comp_b = co["ac"] * b_busy + co["cw"]
        mem_b = co["am"] * b_busy + co["mw"]
        act = iteration_activity_array(
            comp_b, mem_b, step_b, co["a_base"], co["a_comp"], co["a_mem"],
            co["t_req"] * b_busy, co["a_req"], co["comm0"] + co["comm1"] * b_busy, co["a_comm"],
        )  # fmt: skip
        p_dec = co["p_idle"] + co["p_span"] * act
        watts = n * (f_pre * co["p_pre"] + f_dec * p_dec + (f_idle - released) * co["p_idle"])
        e_kwh = watts * demand.epoch_s / 3.6e6  # [P, K]
        d_idx = self.pool_dc
        carbon = (e_kwh * demand.carbon_g_per_it_kwh[d_idx]).sum(axis=1) / 1000.0
        water = (e_kwh * demand.water_l_per_it_kwh[d_idx]).sum(axis=1)
        cost = (e_kwh * demand.price_usd_per_it_mwh[d_idx]).sum(axis=1) / 1000.0
        idle_kwh = self.extra_idle_w * demand.epoch_s / 3.6e6  # [D]
        carbon += float((idle_kwh * demand.carbon_g_per_it_kwh).sum()) / 1000.0
        water += float((idle_kwh * demand.water_l_per_it_kwh).sum())
        cost += float((idle_kwh * demand.price_usd_per_it_mwh).sum()) / 1000.0
        energy = e_kwh.sum(axis=1) + float(idle_kwh.sum())
        if self.embodied_kg_per_s:
            carbon += self.embodied_kg_per_s * demand.epoch_s
        return EpochOutcome(
            ttft_mean, carbon, water, cost, energy, util.max(axis=1), tail_model, warm_end,
            powered,
        )

    def _residency(
        self,
        lam: FloatArray,
        hold_s: FloatArray,
        f_idle: FloatArray,
        demand: EpochDemand,
        prefill_util: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray | None, FloatArray | None, FloatArray | None]:
        """Scale to zero of the pools with a keep-alive ``K`` (``[population, pool]`` each):
        the share of the epoch their replicas are released (drawing no power, at most their
        idle share), the share of their requests that wait for a load, and the share of their
        replicas loaded at the epoch's end.

        With traffic ``λ`` a pool keeps loaded about as many replicas as requests it holds at
        once, ``B = λ h`` (``h``: a request's prefill and decode), with a margin for their
        Poisson spread, ``B + 3√B + 1`` of its ``n`` (dispatch fills a loaded replica before
        it loads another), and, when requests are rarer than ``1/(K + h)``, the one it keeps
        is loaded only that share of the time; replicas loaded at the start stay loaded while
        each still gets a request within ``K`` (``min(ω₀, λK/n)``: dispatch spreads requests
        over the loaded replicas, an idle one first). Without traffic its replicas loaded at the
        start stay so ``min(K, epoch)`` and are then released. A pool with no replica loaded
        at the start (share ``ω₀``, from :attr:`EpochDemand.warm_at_start`) makes the requests
        of its first ``load_s`` wait for the load: the share ``max(0, 1 − ω₀ n)
        min(1, load_s / epoch)`` of the epoch's, and more: the ``λL`` requests that queue
        during the load wait for their prefills, which the pool then runs at the rate it has
        left over, ``μ − λ`` (``μ``: prefills/s; decode slots are plentiful, so the prefills
        are what a first token waits for), and the requests that come meanwhile wait too. In
        a fluid view the queue grows to ``λL`` and drains in ``Lρ/(1 − ρ)`` (``ρ = λ/μ``,
        the prefill utilisation ``prefill_util``), so ``λL/(1 − ρ)`` requests wait, each an
        extra wait uniform on ``[0, L]``: the shares are those of the load alone times
        ``1/(1 − ρ)`` (``ρ`` capped at :data:`MAX_DRAIN_UTIL`), at most 1.

        Sparse traffic also reloads in steady serving: a request that comes more than
        ``K + h`` after the one before (probability ``exp(−λ(K + h))`` for Poisson arrivals)
        finds the pool released and waits the load ``L``, and so do the ``λL`` that come
        during it and its drain: the share ``min(1, exp(−λ(K + h)) (1 + λL/(1 − ρ)))`` of
        its requests (fourth result)."""
        zeros = np.zeros_like(lam)
        if not self.scales.any():
            return zeros, None, None, None
        n = self.replicas[None, :]
        # every result of a pool without a keep-alive is masked below: 0 keeps its terms finite
        keep = np.where(self.scales, self.keep_alive_s, 0.0)[None, :]
        start = self.warm_initial if demand.warm_at_start is None else demand.warm_at_start
        w0 = np.broadcast_to(np.asarray(start, float), lam.shape)
        busy = lam > 0
        held = lam * hold_s
        need = np.minimum(n, held + 3.0 * np.sqrt(held) + 1.0) / n
        need = need * np.minimum(1.0, lam * (keep + hold_s))
        # replicas loaded at the start stay loaded while each still gets a request within the
        # keep-alive: dispatch spreads requests over the loaded replicas (an idle one first)
        kept = np.minimum(w0, lam * keep / n)
        busy_loaded = np.minimum(np.maximum(need, kept), 1.0)
        stay = np.minimum(keep, demand.epoch_s) / demand.epoch_s  # idle pools: K, then released
        loaded = np.where(busy, busy_loaded, w0 * stay)
        scales = self.scales[None, :]
        released = np.where(scales, np.minimum(1.0 - loaded, f_idle), 0.0)
        end = np.where(busy, busy_loaded, np.where(keep >= demand.epoch_s, w0, 0.0))
        warm_end = np.where(scales, end, 1.0)
        cold = np.clip(1.0 - w0 * n, 0.0, 1.0) * np.minimum(
            1.0, self.load_s[None, :] / demand.epoch_s
        )
        drain = drain_factor(0.0 if prefill_util is None else prefill_util)
        cold = np.where(scales & busy, np.minimum(1.0, cold * drain), 0.0)
        load = self.load_s[None, :]
        reload = np.minimum(1.0, np.exp(-lam * (keep + hold_s)) * (1.0 + lam * load * drain))
        reload = np.where(scales & busy, reload, 0.0)
        return released, cold, warm_end, reload

    def _tail(
        self, a: FloatArray, demand: EpochDemand, shares: dict[int, FloatArray],
        co: dict[str, FloatArray], c_pre: FloatArray, c_slot: FloatArray, wait_mean: FloatArray,
        residual_s: FloatArray, over: FloatArray, cold: FloatArray | None = None,
        reload: FloatArray | None = None,
    ) -> TailModel:  # fmt: skip
        """The :class:`TailModel` of one evaluation (see the module doc): the two waits as one,
        waiting with probability ``1 − (1 − C_pre)(1 − C_slot)`` and the same mean."""
        n_pop, n_o = a.shape[0], a.shape[1]
        n_k = len(self.perfs)
        pw = 1.0 - (1.0 - c_pre) * (1.0 - c_slot)
        theta = np.where(pw > 0, wait_mean / np.maximum(pw, 1e-300), 0.0)
        # an overloaded pool: every request is late
        pw = np.where(over, 1.0, pw)
        theta = np.where(over, INFEASIBLE_TTFT_S, theta)
        # flows origin -> pool and the wait-free TTFT at each prompt cell
        flow = np.zeros((n_pop, n_o, n_k))
        cells = self._cells(demand)
        base = np.zeros((n_pop, n_o, n_k, cells.shape[1]))
        for m, share in shares.items():
            pools = np.flatnonzero(self.pool_model == m)
            dcs = self.pool_dc[pools]
            to_pool = demand.rate_per_s[:, m][None, :, None] * share[:, :, dcs]  # [P, O, pool]
            flow[:, :, pools] = to_pool * co["pool_weight"][pools][None, None, :]
            xfer = cells[m] * self.transfer_s_per_token  # [cell]
            base[:, :, pools, :] = (
                self.rtt_s[:, dcs][None, :, :, None] + xfer[None, None, None, :]
                + co["tp_cells"][pools][None, None, :, :] + residual_s[:, pools][:, None, :, None]
            )  # fmt: skip
        return TailModel(
            flow, base, self.cell_weight(demand), pw, theta, demand.epoch_s,
            cold, None if cold is None else self.load_s, reload,
        )  # fmt: skip

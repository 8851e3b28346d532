"""Time shifting of deferrable requests in the optimiser: how much backlog each datacenter
serves in each epoch.

A workload with deferrable classes (``workload.classes``) lets the optimiser decide *when* as
well as *where*. The shift plan is made once for the horizon, before the epochs' allocation
searches, on the forecast the optimiser has (the demand forecaster's rates times each class's
share; the signals as the optimiser sees them, with ``signal_error``):

* the deferrable requests forecast to arrive in epoch ``a`` from origin ``o`` for LLM ``m``
  with deadline ``D`` form a *lot*; it may be served in epochs ``a .. L`` with
  ``L = floor((a · epoch_s + D − margin_s) / epoch_s)``, clipped to the run's last epoch that
  ends ``margin_s`` before the run's end, at datacenters that serve ``m`` (and that the
  origin's data may go to);
* serving one request of ``m`` at datacenter ``d`` in epoch ``t`` costs
  ``kWh_req[m, d] · score[t, d]``: the IT energy of a request on the pool at full batch
  (replica power at full activity over its full-batch throughput) times the epoch's signal per
  IT kWh. ``score`` is the carbon, water or price signal, or for ``balanced`` the sum of the
  three, each divided by its mean over the horizon and the datacenters;
* each (epoch, datacenter, LLM) slot takes at most ``target · X[m, d] · epoch_s − I[t, d, m]``
  requests: its replicas' full-batch throughput ``X`` at the target utilisation, less the
  interactive requests forecast to reach it if each origin's interactive requests went to its
  nearest datacenter serving the LLM (the allocation that follows is not known yet);
* lots are placed earliest deadline first, each into the cheapest slots of its window that
  have room (a greedy transport heuristic; ties go to the earlier epoch, then the lower index);
  what finds no room is placed in its last epoch at its cheapest datacenter regardless, and
  counted in ``overflow_requests``.

The epochs' searches then allocate the interactive requests only, with the released
deferrable ones as a fixed load on the pools (:attr:`EpochDemand.base_rate_per_pool`), and
the replay releases the real backlog by the plan's fractions
(:class:`slit.sim.deferral.PlannedRelease`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from slit.inputs import RunInputs

FloatArray = npt.NDArray[np.float64]
ShiftObjective = Literal["carbon", "water", "cost", "balanced"]
SHIFT_OBJECTIVES: tuple[str, ...] = ("carbon", "water", "cost", "balanced")
SHIFT_SOLVERS: tuple[str, ...] = ("greedy", "exact")
"""How the shift problem is solved: :func:`greedy_shift` or :func:`exact_shift`."""


@dataclass(frozen=True)
class ShiftPlan:
    """When and where the optimiser plans to serve the deferrable requests.

    Attributes:
        released: ``[epoch, origin, model, datacenter]`` requests planned for release.
        fractions: ``[epoch, origin, model, datacenter]`` the same as a share of the backlog
            the plan expects at the epoch (what :class:`~slit.sim.deferral.PlannedRelease`
            applies to the real backlog).
        score: ``[epoch, datacenter]`` the cost per IT kWh the plan minimised.
        margin_s: time kept before each deadline, s.
        objective: what ``score`` is.
        overflow_requests: requests that found no room in their window.
    """

    released: FloatArray
    fractions: FloatArray
    score: FloatArray
    margin_s: float
    objective: str
    overflow_requests: float

    def base_rate_per_pool(self, e: int, pool_dc: Any, pool_model: Any, pool_weight: Any,
                           length_s: float) -> FloatArray:  # fmt: skip
        """``[pool]`` requests/s the plan sends to each pool in epoch ``e``."""
        per_dm = self.released[e].sum(axis=0)  # [model, datacenter]
        return per_dm[pool_model, pool_dc] * pool_weight / max(length_s, 1e-12)


def _score(signals: dict[str, FloatArray], objective: str) -> FloatArray:
    if objective == "balanced":
        return sum(v / max(float(np.nanmean(v)), 1e-12) for v in signals.values())  # type: ignore[return-value]
    return signals[objective]


def deferrable_lots(inputs: RunInputs, rates: FloatArray | None = None) -> FloatArray:
    """``[epoch, origin, model, class]`` deferrable requests arriving (class 0, interactive,
    left at zero): counted from the run's requests, or with ``rates`` (``[epoch, origin,
    model]`` forecast requests/s of every class) as rate x epoch length x class share."""
    req = inputs.requests
    tl = inputs.timeline
    n_o, n_m = len(inputs.fleet.region_ids), len(inputs.model_ids)
    n_c = len(req.class_ids)
    out = np.zeros((tl.n_epochs, n_o, n_m, n_c))
    if req.request_class is None:
        return out
    if rates is None:
        e = np.minimum((req.arrival_s // tl.epoch_s).astype(np.int64), tl.n_epochs - 1)
        np.add.at(out, (e, req.origin, req.model, req.request_class), 1.0)
        out[..., 0] = 0.0
        return out
    # the shares each class takes of each (origin, LLM), as the workload draws them
    counts = np.zeros((n_o, n_m, n_c))
    np.add.at(counts, (req.origin, req.model, req.request_class), 1.0)
    share = counts / np.maximum(counts.sum(axis=2, keepdims=True), 1.0)
    share[..., 0] = 0.0
    lengths = tl.window_lengths_s()
    return rates[:, :, :, None] * lengths[:, None, None, None] * share[None]


@dataclass(frozen=True)
class ShiftProblem:
    """The transport problem a shift plan solves (see the module doc).

    Attributes:
        lots: ``[epoch, origin, model, class]`` deferrable requests arriving.
        last: ``[epoch, origin, model, class]`` the last epoch each lot may be served in.
        able: ``[origin, model]`` the datacenters that may serve such a request.
        cost: ``[epoch, model, datacenter]`` the cost of serving one request there then.
        room: ``[epoch, model, datacenter]`` the requests each slot takes at most.
        score: ``[epoch, datacenter]`` the cost per IT kWh.
        margin_s: time kept before each deadline, s.
        objective: what ``score`` is.
    """

    lots: FloatArray
    last: npt.NDArray[np.int64]
    able: list[list[npt.NDArray[np.int64]]]
    cost: FloatArray
    room: FloatArray
    score: FloatArray
    margin_s: float
    objective: str

    def entries(self) -> list[tuple[int, int, int, int, int]]:
        """``(last epoch, arrival epoch, origin, model, class)`` of every lot, earliest
        deadline first, then earliest arrival."""
        return sorted((int(self.last[a, o, m, c]), int(a), int(o), int(m), int(c))
                      for a, o, m, c in zip(*np.nonzero(self.lots), strict=True))  # fmt: skip

    def total_cost(self, released: FloatArray) -> float:
        """The cost of releasing ``released[epoch, origin, model, datacenter]``."""
        per = np.where(np.isfinite(self.cost), self.cost, 0.0)
        return float(np.einsum("eomd,emd->", released, per))


def shift_problem(
    inputs: RunInputs,
    lots: FloatArray,
    interactive_rate: FloatArray,
    signals: dict[str, FloatArray],
    *,
    objective: str = "balanced",
    margin_s: float | None = None,
    target_utilization: float = 0.7,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> ShiftProblem:
    """The :class:`ShiftProblem` of the deferrable ``lots`` (``[epoch, origin, model,
    class]``, see :func:`deferrable_lots`) given the forecast ``interactive_rate``
    (``[epoch, origin, model]`` requests/s) and per-IT-kWh ``signals`` (``carbon``,
    ``water``, ``cost``, each ``[epoch, datacenter]``); see the module doc."""
    if objective not in SHIFT_OBJECTIVES:
        raise ValueError(f"shift objective must be one of {SHIFT_OBJECTIVES}, not {objective!r}")
    fleet, tl, req = inputs.fleet, inputs.timeline, inputs.requests
    n_e, n_o, n_m, n_c = lots.shape
    n_d = len(fleet.datacenter_ids)
    epoch_s = tl.epoch_s
    margin = epoch_s if margin_s is None else float(margin_s)
    lengths = tl.window_lengths_s()
    score = np.asarray(_score(signals, objective), float)
    serves = fleet.serves()  # [model, datacenter]
    ok_od = np.ones((n_o, n_d), bool) if allowed is None else np.asarray(allowed, bool)
    # full-batch throughput and energy per request of each (model, datacenter)
    prompts, outputs = req.mean_lengths_tokens()
    thr = np.zeros((n_m, n_d))
    joules = np.zeros((n_m, n_d))
    for pool in fleet.pools:
        m = pool.model
        if m < 0 or np.isnan(prompts[m]) or pool.replicas == 0:
            continue
        x = pool.replica_throughput_rps(float(prompts[m]), float(outputs[m]))
        thr[m, pool.datacenter] += x * pool.replicas
        joules[m, pool.datacenter] += pool.it_power_w(1.0) * pool.replicas  # W at full batch
    kwh_req = np.where(thr > 0, joules / np.maximum(thr, 1e-12) / 3.6e6, np.inf)
    # interactive requests forecast to reach each slot, if each origin went to its nearest
    rtt = np.asarray(fleet.rtt_ms, float)
    room = target_utilization * thr[None] * lengths[:, None, None]  # [epoch, model, dc]
    able = [[np.flatnonzero(serves[m] & ok_od[o]) for m in range(n_m)] for o in range(n_o)]
    for m in range(n_m):
        for o in range(n_o):
            if len(able[o][m]):
                d = able[o][m][np.argmin(rtt[o, able[o][m]])]
                room[:, m, d] -= interactive_rate[:, o, m] * lengths
    room = np.maximum(room, 0.0)
    deadlines = np.zeros(n_c)
    if req.deadline_s is not None and req.request_class is not None:
        for c in range(1, n_c):
            mine = req.request_class == c
            deadlines[c] = float(req.deadline_s[mine][0]) if mine.any() else 0.0
    last_ok = max(0, int(np.floor((tl.end_s - margin) / epoch_s - 1e-9)))
    a = np.arange(n_e)[:, None]
    latest = np.floor((a * epoch_s + deadlines[None, :] - margin) / epoch_s).astype(np.int64)
    last = np.maximum(a, np.minimum(np.minimum(latest, last_ok), n_e - 1))  # [epoch, class]
    last = np.broadcast_to(last[:, None, None, :], lots.shape).astype(np.int64)
    cost = kwh_req[None] * score[:, None, :]  # [epoch, model, datacenter]
    return ShiftProblem(np.asarray(lots, float), last, able, cost, room, score, margin,
                        objective)  # fmt: skip


def plan_shift(problem: ShiftProblem, solver: str = "greedy") -> ShiftPlan:
    """The shift plan of ``problem`` (:func:`shift_problem`), by ``solver``: ``greedy``
    (:func:`greedy_shift`) or ``exact`` (:func:`exact_shift`)."""
    if solver not in SHIFT_SOLVERS:
        raise ValueError(f"shift solver must be one of {SHIFT_SOLVERS}, not {solver!r}")
    return greedy_shift(problem) if solver == "greedy" else exact_shift(problem)


def greedy_shift(problem: ShiftProblem) -> ShiftPlan:
    """Place the lots earliest deadline first, each into the cheapest slots of its window
    that have room (ties: the earlier epoch, then the lower index); what finds no room goes
    to its last epoch at its cheapest datacenter and counts as overflow."""
    lots = problem.lots
    n_e, n_o, n_m, _ = lots.shape
    n_d = problem.cost.shape[2]
    room = problem.room.copy()
    released = np.zeros((n_e, n_o, n_m, n_d))
    overflow = 0.0
    for last, a, o, m, c in problem.entries():
        count = float(lots[a, o, m, c])
        able = problem.able[o][m]
        if len(able) == 0:
            continue  # nowhere to serve it: the routing policy's fallback decides
        window = np.arange(a, last + 1)
        cost = problem.cost[window][:, m][:, able]  # [t, candidate]
        order = np.lexsort((np.broadcast_to(able[None, :], cost.shape).ravel(),
                            np.broadcast_to(window[:, None], cost.shape).ravel(),
                            cost.ravel()))  # fmt: skip
        for j in order:
            if count <= 0:
                break
            t, d = int(window[j // len(able)]), int(able[j % len(able)])
            take = min(count, room[t, m, d])
            if take > 0:
                room[t, m, d] -= take
                released[t, o, m, d] += take
                count -= take
        if count > 0:
            overflow += count
            released[last, o, m, able[int(np.argmin(problem.cost[last, m, able]))]] += count
    return shift_plan_of(problem, released, overflow)


def shift_plan_of(problem: ShiftProblem, released: FloatArray, overflow: float) -> ShiftPlan:
    """The :class:`ShiftPlan` of ``released[epoch, origin, model, datacenter]``: with the
    fraction of the expected backlog each release is."""
    lots = problem.lots
    n_o, n_m = lots.shape[1:3]
    arrived = lots.sum(axis=3).cumsum(axis=0)  # [epoch, origin, model] arrived by epoch's end
    gone = np.concatenate([np.zeros((1, n_o, n_m)), released.sum(axis=3).cumsum(axis=0)[:-1]])
    backlog = arrived - gone
    fractions = np.where(backlog[..., None] > 1e-9,
                         released / np.maximum(backlog[..., None], 1e-12), 0.0)  # fmt: skip
    fractions = np.clip(fractions, 0.0, 1.0)
    return ShiftPlan(released, fractions, problem.score, problem.margin_s, problem.objective,
                     overflow)  # fmt: skip


def exact_shift(problem: ShiftProblem) -> ShiftPlan:
    """The optimal shift plan, a min-cost flow solved by networkx's network simplex: lots ->
    the (epoch, LLM, datacenter) slots of their windows -> a sink, each slot's capacity its
    room, and an overflow edge per lot at a cost above any slot's (what no slot holds goes to
    the lot's last epoch at its cheapest datacenter, as in :func:`greedy_shift`). Requests and
    room are whole numbers (lots rounded, room rounded down), costs integers (1e6 over the
    largest slot cost). Its edges grow with lots x window epochs x datacenters: a day of
    hourly epochs solves in under a second, a day of 15-minute ones in about ten
    (``benchmarks/shift_plan_gap.py``)."""
    import networkx as nx

    lots = np.rint(problem.lots).astype(np.int64)
    n_e, n_o, n_m, _ = lots.shape
    n_d = problem.cost.shape[2]
    finite = problem.cost[np.isfinite(problem.cost)]
    scale = 1e6 / max(float(finite.max()), 1e-300)
    overflow_weight = int(2e6) + 1  # above any slot's cost
    g = nx.DiGraph()
    total = 0
    for last, a, o, m, c in problem.entries():
        count = int(lots[a, o, m, c])
        able = problem.able[o][m]
        if count == 0 or len(able) == 0:
            continue
        lot = ("lot", a, o, m, c)
        g.add_node(lot, demand=-count)
        total += count
        for t in range(a, last + 1):
            for d in able:
                g.add_edge(lot, ("slot", t, m, int(d)),
                           weight=int(round(problem.cost[t, m, d] * scale)))  # fmt: skip
        g.add_edge(lot, "overflow", weight=overflow_weight)
    for node in [n for n in g.nodes if n[0] == "slot"]:
        _, t, m, d = node
        g.add_edge(node, "sink", capacity=int(np.floor(problem.room[t, m, d])), weight=0)
    g.add_edge("overflow", "sink", weight=0)
    g.add_node("sink", demand=total)
    _, flow = nx.network_simplex(g)
    released = np.zeros((n_e, n_o, n_m, n_d))
    overflow = 0.0
    for lot, out in flow.items():
        if not isinstance(lot, tuple) or lot[0] != "lot":
            continue
        _, a, o, m, c = lot
        for node, f in out.items():
            if f <= 0:
                continue
            if node == "overflow":
                # as the greedy does: at its last epoch, its cheapest datacenter
                last = int(problem.last[a, o, m, c])
                able = problem.able[o][m]
                d = int(able[int(np.argmin(problem.cost[last, m, able]))])
                released[last, o, m, d] += f
                overflow += f
            else:
                _, t, _, d = node
                released[t, o, m, d] += f
    return shift_plan_of(problem, released, overflow)

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


def plan_shift(
    inputs: RunInputs,
    lots: FloatArray,
    interactive_rate: FloatArray,
    signals: dict[str, FloatArray],
    *,
    objective: str = "balanced",
    margin_s: float | None = None,
    target_utilization: float = 0.7,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> ShiftPlan:
    """The shift plan of the deferrable ``lots`` (``[epoch, origin, model, class]``, see
    :func:`deferrable_lots`) given the forecast ``interactive_rate`` (``[epoch, origin,
    model]`` requests/s) and per-IT-kWh ``signals`` (``carbon``, ``water``, ``cost``, each
    ``[epoch, datacenter]``); see the module doc."""
    if objective not in SHIFT_OBJECTIVES:
        raise ValueError(f"shift objective must be one of {SHIFT_OBJECTIVES}, not {objective!r}")
    fleet, tl, req = inputs.fleet, inputs.timeline, inputs.requests
    n_e, n_o, n_m, n_c = lots.shape
    n_d = len(fleet.datacenter_ids)
    epoch_s = tl.epoch_s
    margin = epoch_s if margin_s is None else float(margin_s)
    lengths = tl.window_lengths_s()
    score = _score(signals, objective)
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
    for m in range(n_m):
        for o in range(n_o):
            able = np.flatnonzero(serves[m] & ok_od[o])
            if len(able):
                d = able[np.argmin(rtt[o, able])]
                room[:, m, d] -= interactive_rate[:, o, m] * lengths
    room = np.maximum(room, 0.0)
    deadlines = np.zeros(n_c)
    if req.deadline_s is not None and req.request_class is not None:
        for c in range(1, n_c):
            mine = req.request_class == c
            deadlines[c] = float(req.deadline_s[mine][0]) if mine.any() else 0.0
    last_ok = max(0, int(np.floor((tl.end_s - margin) / epoch_s - 1e-9)))
    released = np.zeros((n_e, n_o, n_m, n_d))
    overflow = 0.0
    entries = []
    for a, o, m, c in zip(*np.nonzero(lots), strict=True):
        latest = int(np.floor((a * epoch_s + deadlines[c] - margin) / epoch_s))
        entries.append((max(a, min(latest, last_ok, n_e - 1)), a, o, m, c))
    entries.sort()  # earliest deadline first, then earliest arrival
    for last, a, o, m, c in entries:
        count = float(lots[a, o, m, c])
        able = np.flatnonzero(serves[m] & ok_od[o])
        if len(able) == 0:
            continue  # nowhere to serve it: the routing policy's fallback decides
        window = np.arange(a, last + 1)
        cost = kwh_req[m, able][None, :] * score[window][:, able]  # [t, candidate]
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
            costs = kwh_req[m, able] * score[last, able]
            released[last, o, m, able[int(np.argmin(costs))]] += count
    # the fraction of the expected backlog each release is
    arrived = lots.sum(axis=3).cumsum(axis=0)  # [epoch, origin, model] arrived by epoch's end
    gone = np.concatenate([np.zeros((1, n_o, n_m)), released.sum(axis=3).cumsum(axis=0)[:-1]])
    backlog = arrived - gone
    fractions = np.where(backlog[..., None] > 1e-9,
                         released / np.maximum(backlog[..., None], 1e-12), 0.0)  # fmt: skip
    fractions = np.clip(fractions, 0.0, 1.0)
    return ShiftPlan(released, fractions, np.asarray(score, float), margin, objective, overflow)

"""Capacity that follows load: powering replicas down and up at epoch boundaries.

The scenario's ``capacity`` section chooses how many replicas of each (datacenter, LLM) group
are powered in each epoch: all of them (``fixed``), as many as the recent load needs
(``follow_load``), or the counts of a plan (``plan``, what the optimiser writes). A group is
the replicas of one LLM in one datacenter, which share one queue.

Powering down a replica (:meth:`~slit.sim.engine.Replica.power_down`) stops it taking new
requests; it finishes the ones it holds and then releases its GPUs, which draw no power from
then on (the released GPU time is booked as ``released_gpu_s``; embodied carbon is charged on
provisioned GPUs whether powered or not). Powering one up loads its weights again, paying the
load time ``M_O / BW_g`` of SLIT's model-loading term before it serves. Idle replicas are
powered down first, then those holding the fewest requests.

``follow_load`` is a reactive autoscaler, as Kubernetes' horizontal autoscaler is: at the start
of epoch ``e`` it powers the fewest replicas, in the order they were built and at least
``min_replicas``, whose full-batch throughput (:meth:`slit.inputs.PoolInputs.replica_throughput_rps`
at the run's mean lengths) covers ``(arrivals in epoch e-1 + requests queued now) / epoch_s``
divided by ``target_utilization``. Every replica is powered in the first epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from slit.inputs import RunInputs
from slit.sim.engine import PoolQueue, Replica, Simulation


@dataclass
class ReplicaGroup:
    """The replicas of one LLM in one datacenter (one shared queue)."""

    datacenter: int
    datacenter_id: str
    model: int
    model_id: str
    queue: PoolQueue
    replicas: list[Replica]
    throughput_rps: list[float]
    last_arrived: int = 0


class CapacityController:
    """Applies a scenario's ``capacity`` policy to the engine's replicas at every epoch start.

    Args:
        config: the scenario's ``capacity`` section.
        sim: the engine, its replicas built.
        inputs: the run's compiled inputs (epochs, mean request lengths, fleet ids).
    """

    def __init__(self, config: Any, sim: Simulation, inputs: RunInputs) -> None:
        self.config = config
        self.sim = sim
        self.epoch_s = inputs.timeline.epoch_s
        self.n_epochs = inputs.timeline.n_epochs
        fleet = inputs.fleet
        prompts, outputs = inputs.requests.mean_lengths_tokens()
        rate = {}
        for pool in fleet.pools:
            m = pool.model
            if m < 0 or math.isnan(prompts[m]):
                rate[(pool.datacenter, pool.index)] = 1.0
            else:
                rate[(pool.datacenter, pool.index)] = pool.replica_throughput_rps(
                    float(prompts[m]), float(outputs[m])
                )
        self.groups: list[ReplicaGroup] = []
        for d, dc in enumerate(sim.datacenters):
            dc_in = fleet.datacenters[d]
            for m, reps in dc.replicas_by_model.items():
                per_replica = []
                for pool in dc_in.pools:
                    if pool.model == m:
                        per_replica += [rate[(d, pool.index)]] * pool.replicas
                queue = reps[0].queue
                self.groups.append(ReplicaGroup(d, dc_in.id, m, fleet.model_ids[m], queue,
                                                reps, per_replica))  # fmt: skip
        # powered replicas per datacenter at each epoch's start (the time series reads it)
        self.powered = [[float(sum(len(r) for r in dc.replicas_by_model.values()))] * self.n_epochs
                        for dc in sim.datacenters]  # fmt: skip

    def process(self, until_s: float) -> Any:
        """SimPy process: apply the policy at time 0 and at every epoch start before
        ``until_s``."""
        env = self.sim.env
        for e in range(self.n_epochs):
            t = e * self.epoch_s
            if t >= until_s:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            self.apply(e)

    def apply(self, e: int) -> None:
        """Set every group's powered replicas for epoch ``e``."""
        for g in self.groups:
            target = self.target(g, e)
            if target is not None:
                _set_powered(g.replicas, max(0, min(target, len(g.replicas))))
        for d, dc in enumerate(self.sim.datacenters):
            self.powered[d][e] = float(
                sum(r.powered for reps in dc.replicas_by_model.values() for r in reps)
            )
        for g in self.groups:
            g.last_arrived = g.queue.arrived

    def target(self, g: ReplicaGroup, e: int) -> int | None:
        """Replicas of group ``g`` to power in epoch ``e`` (None: leave as they are)."""
        cfg = self.config
        if cfg.policy == "plan":
            table = cfg.epochs[min(e, len(cfg.epochs) - 1)]
            row = table.get(g.datacenter_id)
            if row is None or g.model_id not in row:
                return len(g.replicas)
            return int(row[g.model_id])
        if cfg.policy == "follow_load":
            if e == 0:
                return len(g.replicas)
            arrived = g.queue.arrived - g.last_arrived
            need_rps = (arrived + len(g.queue.waiting)) / self.epoch_s / cfg.target_utilization
            n, covered = 0, 0.0
            while n < len(g.replicas) and (covered < need_rps or n < cfg.min_replicas):
                covered += g.throughput_rps[n]
                n += 1
            return n
        return None


def _set_powered(replicas: list[Replica], target: int) -> None:
    """Power up or down replicas of one group until ``target`` of them are powered."""
    on = [r for r in replicas if r.powered]
    if len(on) > target:
        # idle ones first, then those holding the fewest requests; later-built first on ties
        order = sorted(range(len(on)), key=lambda i: (not on[i].idle(), on[i].holding(), -i))
        for i in order[: len(on) - target]:
            on[i].power_down()
    elif len(on) < target:
        off = [r for r in replicas if not r.powered]
        for r in off[: target - len(on)]:
            r.power_up()

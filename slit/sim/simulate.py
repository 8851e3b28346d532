"""``simulate(scenario, policy)``: run one scenario through the simulator.

The path is one way down: the input layer compiles the scenario into a
:class:`~slit.inputs.RunInputs` record (:func:`~slit.inputs.compile_inputs`); :func:`simulate`
builds the engine's datacenters and replicas from it (:mod:`slit.sim.engine`), runs SimPy to
the end of the accounting window and turns the engine's logs into the records, the series and
the summary (:mod:`slit.sim.results`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from slit.inputs import EpochSignals, RunInputs, compile_fleet, compile_inputs
from slit.models import impacts
from slit.models.impacts import J_PER_KWH
from slit.models.latency import EfficiencyParams
from slit.models.power import PowerParams
from slit.scenario.loader import Scenario
from slit.sim.capacity import CapacityController
from slit.sim.deferral import (
    DeferrableJobs,
    DeferralPolicy,
    make_deferral,
    schedule_releases,
)
from slit.sim.engine import Datacenter, ImpactFactors, Replica, Simulation
from slit.sim.policies import RoutingContext, RoutingPolicy, make_policy
from slit.sim.request_log import DROP_REASONS
from slit.sim.results import SimResult, summarize

ProgressCallback = Callable[[float, float], None]


def _impact_factors(sig: EpochSignals, d: int) -> ImpactFactors:
    carbon, water, cost = impacts.per_it_joule(
        sig.operational_carbon_g_per_kwh[:, d],
        sig.price_usd_per_mwh[:, d],
        sig.wue_l_per_kwh[:, d],
        sig.ewif_l_per_kwh[:, d],
        sig.pue[d],
        sig.scarcity[d],
    )
    return ImpactFactors(
        carbon_kg_per_j=carbon.tolist(), water_l_per_j=water.tolist(), cost_usd_per_j=cost.tolist()
    )


def _throughput_rps(inputs: RunInputs) -> np.ndarray:
    """``[model, datacenter]`` requests/s the replicas can sustain at full batch
    (:meth:`~slit.inputs.PoolInputs.replica_throughput_rps` at the run's own mean lengths per
    LLM, summed replica by replica)."""
    fleet = inputs.fleet
    out = np.zeros((len(fleet.model_ids), len(fleet.datacenter_ids)))
    prompts, outputs = inputs.requests.mean_lengths_tokens()
    for m in range(len(fleet.model_ids)):
        if np.isnan(prompts[m]):
            continue
        prompt, output = float(prompts[m]), float(outputs[m])
        for pool in fleet.pools:
            if pool.model == m:
                rate = pool.replica_throughput_rps(prompt, output)
                for _ in pool.roles:
                    out[m, pool.datacenter] += rate
    return out


def _slots(inputs: RunInputs) -> np.ndarray:
    """``[model, datacenter]`` requests the replicas hold at once at full batch: each
    replica's batch limit, or its KV cache over the LLM's mean request, whichever is less."""
    fleet = inputs.fleet
    out = np.zeros((len(fleet.model_ids), len(fleet.datacenter_ids)))
    prompts, outputs = inputs.requests.mean_lengths_tokens()
    for pool in fleet.pools:
        m = pool.model
        if m < 0 or np.isnan(prompts[m]):
            continue
        b = pool.full_batch(float(prompts[m]), float(outputs[m]))
        out[m, pool.datacenter] += b * len(pool.roles)
    return out


def _build_engine(inputs: RunInputs) -> tuple[Simulation, np.ndarray, np.ndarray]:
    """The engine's datacenters and started replicas, one per replica of every pool; with
    each datacenter's GPU count and idle IT power, W."""
    fleet, timeline = inputs.fleet, inputs.timeline
    sim = Simulation()
    n_dc = len(fleet.datacenters)
    gpu_count, idle_w = np.zeros(n_dc), np.zeros(n_dc)
    for d, dc_in in enumerate(fleet.datacenters):
        dc = Datacenter(
            sim, d, timeline.n_epochs, timeline.epoch_s, _impact_factors(inputs.signals, d)
        )
        sim.datacenters.append(dc)
        if dc_in.kv_link_bytes_per_s is not None:
            dc.kv_link_bytes_per_s = dc_in.kv_link_bytes_per_s
        for pool in dc_in.pools:
            m = pool.model
            for role in pool.roles:
                queue = (
                    dc.decode_queue_for(m, pool.dispatch)
                    if role == "decode"
                    else dc.queue_for(m, pool.dispatch)
                )
                rep = Replica(sim.env, dc, queue, pool, role)
                dc.add_replica(m, rep)
                rep.start()
                gpu_count[d] += pool.tp
                idle_w[d] += rep.idle_w
    return sim, gpu_count, idle_w


def simulate(
    scenario: Scenario,
    policy: str | RoutingPolicy | None = None,
    *,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    power: PowerParams | None = None,
    efficiency: EfficiencyParams | None = None,
    inputs: RunInputs | None = None,
    deferral: DeferralPolicy | None = None,
) -> SimResult:
    """Simulate a scenario and return per-request records, per-epoch series and a summary.

    Args:
        scenario: a validated scenario (see :func:`slit.load_scenario`).
        policy: a registered policy name, a policy instance, or None for the scenario's
            ``routing`` section.
        seed: overrides ``scenario.config.seed``.
        progress: called as ``progress(sim_time_s, end_s)`` once per simulated epoch.
        power: GPU power parameters for every pool; None takes each pool's GPU type's
            calibrated ones (:func:`slit.models.power.calibrated_power`).
        efficiency: latency parameters for every pool; None takes each pool's GPU type's
            calibrated ones (:func:`slit.models.latency.calibrated_efficiency`). With ``power``,
            what replays a measurement under the parameters fitted to its own serving software
            (:mod:`slit.calibration.replay`).
        inputs: the run's inputs compiled already (:func:`slit.inputs.compile_inputs` of this
            scenario); ``seed``, ``power`` and ``efficiency`` are then theirs and must not be
            given.
        deferral: a deferral policy instance for the deferrable requests instead of the
            scenario's ``routing.deferral`` (e.g. the optimiser's planned releases).
    """
    wall0 = time.perf_counter()
    if inputs is None:
        inputs = compile_inputs(scenario, seed=seed, efficiency=efficiency, power=power)
    elif seed is not None or power is not None or efficiency is not None:
        raise ValueError("give seed, power and efficiency to compile_inputs, not with inputs")
    cfg = scenario.config
    fleet, timeline, requests = inputs.fleet, inputs.timeline, inputs.requests
    end_s, epoch_s = timeline.end_s, timeline.epoch_s
    rtt_s = fleet.rtt_ms / 1000.0

    notes: list[str] = []
    if policy is None:
        policy = make_policy(cfg.routing.policy, cfg.routing.params)
    elif isinstance(policy, str):
        if policy != cfg.routing.policy and cfg.routing.params:
            # the scenario's parameters belong to its own policy: say they are not used
            notes.append(
                f"routing: policy {policy!r} runs with its defaults; the scenario's "
                f"routing.params ({', '.join(sorted(cfg.routing.params))}) are those of "
                f"{cfg.routing.policy!r} and are not used"
            )
        policy = make_policy(policy, cfg.routing.params if policy == cfg.routing.policy else {})
    placed = policy.place(scenario, inputs)
    if placed is not scenario:
        # the policy placed the replicas itself (helix): the run serves with its pools
        if inputs.overrides:
            raise ValueError(
                f"policy {policy.name!r} places replicas itself; it cannot run on inputs "
                f"compiled with {', '.join(inputs.overrides)} overrides"
            )
        scenario = placed
        inputs = replace(inputs, fleet=compile_fleet(scenario, list(inputs.model_ids)))
        fleet = inputs.fleet
        rtt_s = fleet.rtt_ms / 1000.0

    sim, gpu_count, idle_w = _build_engine(inputs)
    signals = inputs.signals
    ctx = RoutingContext(
        region_ids=fleet.region_ids,
        datacenter_ids=fleet.datacenter_ids,
        model_ids=fleet.model_ids,
        rtt_ms=fleet.rtt_ms,
        serves=fleet.serves(),
        epoch_s=epoch_s,
        carbon_g_per_kwh=signals.carbon_g_per_it_kwh,
        water_l_per_kwh=signals.water_l_per_it_kwh,
        price_usd_per_mwh=signals.price_usd_per_it_mwh,
        capacity=np.array(
            [sum(len(v) for v in dc.replicas_by_model.values()) for dc in sim.datacenters], float
        ),
        rng=np.random.default_rng(inputs.routing_seed),
        throughput_rps=_throughput_rps(inputs),
        slots=_slots(inputs),
        slo_ttft_s=cfg.slo.ttft_s,
        allowed=fleet.allowed,
        datacenter_regions=tuple(fleet.region_ids[dc.region] for dc in fleet.datacenters),
    )
    policy.setup(ctx)
    release_s, release_dc = _releases(cfg, inputs, policy, ctx, end_s, deferral)

    per_token_s = fleet.transfer_s_per_token
    sim.env.process(
        sim.arrivals(
            requests.arrival_s,
            requests.origin,
            requests.model,
            requests.prompt_tokens,
            requests.output_tokens,
            policy,
            rtt_s,
            per_token_s,
            end_s,
            release_s,
            release_dc,
        )
    )
    controller = None
    if scenario.config.capacity.policy != "fixed":
        controller = CapacityController(scenario.config.capacity, sim, inputs)
        sim.env.process(controller.process(end_s))
    if progress is not None:
        sim.env.process(sim.ticker(epoch_s, end_s, lambda now: progress(now, end_s)))
    sim.env.run(until=end_s)
    for dc in sim.datacenters:
        for replicas in dc.replicas_by_model.values():
            for rep in replicas:
                rep.settle()
    sim.close()
    wall_s = time.perf_counter() - wall0

    records = _request_records(sim, scenario, inputs, rtt_s, release_s)
    series = _timeseries(sim, inputs, gpu_count, idle_w, controller, records)
    summary = summarize(records, series, cfg.data_residency)
    fallbacks = getattr(policy, "fallbacks", None)
    if fallbacks:
        # a plan that leaves an origin without a share sends it to the nearest able datacenter
        notes.append(
            f"routing: {fallbacks:,} of {len(records):,} requests found no share in the plan "
            "on a datacenter able to serve them and went to the nearest able one"
        )
    metadata: dict[str, Any] = {
        "seed": inputs.seed,
        "policy": policy.name,
        "simulated_s": end_s,
        "wall_s": wall_s,
        "requests_per_wall_s": len(records) / wall_s if wall_s > 0 else None,
        "plan_fallbacks": getattr(policy, "fallbacks", None),
        "plan_spills": getattr(policy, "spills", None),
        "deferral": (deferral.name or type(deferral).__name__) if deferral is not None
        else cfg.routing.deferral.policy if inputs.requests.request_class is not None
        else None,
        "placement": getattr(policy, "placement_report", None),
        "inputs": list(inputs.log) + notes,
        "pool_models": [pool.provenance(dc.id) for dc in fleet.datacenters for pool in dc.pools],
        # parameters given to simulate() instead of the catalog's (pool_models then describes
        # the catalog entry the pools would otherwise have used)
        "overrides": list(inputs.overrides),
    }
    return SimResult(records, series, summary, metadata)


def _releases(
    cfg: Any,
    inputs: RunInputs,
    policy: RoutingPolicy,
    ctx: RoutingContext,
    end_s: float,
    deferral: DeferralPolicy | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """When each request leaves its origin and the datacenter its deferral policy chose
    (-1: the routing policy's choice), or ``(None, None)`` when every request leaves as it
    arrives and is routed by the routing policy (no deferrable request, or deferral
    ``at_once``): the engine then takes its arrival-order path."""
    requests = inputs.requests
    deferrable = requests.deferrable
    if deferrable is None:
        return None, None
    # built whenever the workload has classes, so that bad parameters are always reported
    if deferral is None:
        deferral = make_deferral(cfg.routing.deferral.policy, cfg.routing.deferral.params)
    if not deferrable.any():
        return None, None
    idx = np.flatnonzero(deferrable)
    allowed = getattr(ctx, "allowed", None)
    candidates = [
        [
            np.flatnonzero(ctx.serves[m] & (True if allowed is None else allowed[o]))
            for m in range(len(ctx.model_ids))
        ]
        for o in range(len(ctx.region_ids))
    ]
    assert requests.deadline_s is not None
    jobs = DeferrableJobs(
        index=idx,
        origin=requests.origin[idx].astype(np.int64),
        model=requests.model[idx].astype(np.int64),
        arrival_s=requests.arrival_s[idx].astype(np.float64),
        deadline_at_s=requests.arrival_s[idx] + requests.deadline_s[idx],
        end_s=end_s,
        candidates=candidates,
    )
    out = schedule_releases(deferral, jobs, ctx)
    if np.array_equal(out.release_s, jobs.arrival_s) and (out.datacenter < 0).all():
        return None, None  # nothing deferred: the arrival-order path gives the same run
    release_s = requests.arrival_s.astype(np.float64, copy=True)
    release_s[idx] = out.release_s
    release_dc = np.full(len(requests), -1, dtype=np.int64)
    release_dc[idx] = out.datacenter
    return release_s, release_dc


def _request_records(
    sim: Simulation,
    scenario: Scenario,
    inputs: RunInputs,
    rtt_s: np.ndarray,
    release_s: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per released request: its inputs (from the request arrays, which the request
    objects copied) and what happened to it (from the engine's request log)."""
    cfg = scenario.config
    fleet, workload = inputs.fleet, inputs.requests
    per_token_s = fleet.transfer_s_per_token
    n = sim.released
    c = sim.log.columns(n)
    sim.log.clear()
    # requests are released in workload order, so the first n rows are theirs
    arrival = workload.arrival_s[:n]
    origin_idx = workload.origin[:n].astype(np.int64, copy=False)
    model_idx = workload.model[:n].astype(np.int64, copy=False)
    prompt = workload.prompt_tokens[:n].astype(np.int64, copy=False)
    output = workload.output_tokens[:n].astype(np.int64, copy=False)
    dc_idx = c["dc"]
    routed = dc_idx >= 0
    # the same doubles the engine stored: an RTT looked up, a prompt times the per-token time
    rtt = np.where(routed, rtt_s[origin_idx, np.maximum(dc_idx, 0)], 0.0)
    transfer = np.where(routed, prompt * per_token_s, 0.0)
    first = c["first_token"]
    finish = c["finish"]
    drop = np.asarray(DROP_REASONS, dtype=object)[c["drop"]]
    completed = ~np.isnan(finish)
    drop[(~completed) & (drop == "")] = "unfinished"
    drop[completed] = ""
    ttft = first + rtt / 2.0 - arrival
    e2e = finish + rtt / 2.0 - arrival
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(output > 1, (finish - first) / (output - 1), np.nan)
    ttft[~completed] = np.nan
    slo = cfg.slo
    slo_met = completed & (ttft <= slo.ttft_s) & ((output <= 1) | (tpot <= slo.tpot_s))
    # request classes: a deferrable request's objective is its deadline, not the SLOs
    class_idx = (
        np.zeros(n, dtype=np.int64)
        if workload.request_class is None
        else workload.request_class[:n].astype(np.int64, copy=False)
    )
    deferrable = class_idx > 0
    deadline = np.full(n, np.nan)
    defer = np.zeros(n)
    missed = np.zeros(n, dtype=bool)
    if deferrable.any():
        assert workload.deadline_s is not None
        deadline[deferrable] = workload.deadline_s[:n][deferrable]
        if release_s is not None:
            defer = release_s[:n] - arrival
            # a request never routed (still held at its origin at the end) waited all along
            defer[~routed] = np.nan
        missed = deferrable & ~(completed & (e2e <= deadline))
        slo_met = np.where(deferrable, ~missed, slo_met)
    region_ids, dc_ids, model_ids = fleet.region_ids, fleet.datacenter_ids, fleet.model_ids
    frame = pd.DataFrame(
        {
            "request_id": np.arange(n, dtype=np.int64),
            "origin": pd.Categorical.from_codes(origin_idx, categories=pd.Index(region_ids)),
            "model": pd.Categorical.from_codes(model_idx, categories=pd.Index(model_ids)),
            "datacenter": pd.Categorical.from_codes(dc_idx, categories=pd.Index(dc_ids)),
            "prompt_tokens": prompt,
            "output_tokens": output,
            "request_class": pd.Categorical.from_codes(
                class_idx, categories=pd.Index(workload.class_ids)
            ),
            "arrival_s": arrival,
            "deadline_s": deadline,
            "defer_s": defer,
            "network_rtt_s": rtt,
            "transfer_s": transfer,
            "queue_s": c["prefill_start"] - c["arrive_dc"],
            "load_wait_s": c["load_wait"],
            "kv_transfer_s": c["kv_transfer_s"],
            "ttft_s": ttft,
            "tpot_s": tpot,
            "e2e_s": e2e,
            "completed": completed,
            "drop_reason": pd.Categorical(drop.astype(str)),
            "preemptions": c["preemptions"],
            "it_energy_kwh": c["energy_j"] / J_PER_KWH,
            "carbon_operational_kg": c["carbon_kg"],
            "carbon_embodied_kg": c["embodied_kg"],
            "carbon_kg": c["carbon_kg"] + c["embodied_kg"],
            "water_l": c["water_l"],
            "cost_usd": c["cost_usd"],
            "slo_met": slo_met,
            "deadline_missed": missed,
        }
    )
    return frame


def _timeseries(
    sim: Simulation,
    inputs: RunInputs,
    gpu_count: np.ndarray,
    idle_w: np.ndarray,
    controller: CapacityController | None = None,
    records: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per epoch and datacenter: arrivals (and of them the deferrable requests, by
    their release, from ``records``), completions, GPU time, energy, impacts and the signals
    they were computed with."""
    fleet, timeline, sig = inputs.fleet, inputs.timeline, inputs.signals
    n_epochs, epoch_s = timeline.n_epochs, timeline.epoch_s
    start = timeline.start_utc
    length_s = timeline.window_lengths_s()
    # deferrable requests routed to each datacenter, by the epoch of their release
    deferred = np.zeros((len(fleet.datacenters), n_epochs), dtype=np.int64)
    if records is not None and "request_class" in records:
        mine = (records["request_class"] != "interactive").to_numpy() & records[
            "datacenter"].notna().to_numpy()  # fmt: skip
        if mine.any():
            release = (records["arrival_s"] + records["defer_s"]).to_numpy()[mine]
            e = np.minimum((release // epoch_s).astype(np.int64), n_epochs - 1)
            d = records["datacenter"].cat.codes.to_numpy()[mine]
            np.add.at(deferred, (d, e), 1)
    frames = []
    for d, dc_in in enumerate(fleet.datacenters):
        meter = sim.datacenters[d].meter
        it_j = idle_w[d] * length_s + np.asarray(meter.extra_j, dtype=float)
        it_kwh = it_j / J_PER_KWH
        fac_kwh = it_kwh * dc_in.pue
        scarcity = dc_in.scarcity
        onsite = impacts.water_onsite_l(it_kwh, sig.wue_l_per_kwh[:, d], scarcity)
        offsite = impacts.water_offsite_l(fac_kwh, sig.ewif_l_per_kwh[:, d], scarcity)
        average = impacts.carbon_kg(fac_kwh, sig.carbon_g_per_kwh[:, d])
        marginal = impacts.carbon_kg(fac_kwh, sig.marginal[:, d])
        operational = marginal if sig.carbon_intensity == "marginal" else average
        # embodied carbon of every GPU provisioned, busy, idle or released (scale to zero)
        embodied = np.zeros(n_epochs)
        for pool in dc_in.pools:
            embodied = embodied + pool.embodied_kg(length_s)
        frames.append(
            pd.DataFrame(
                {
                    "epoch": np.arange(n_epochs),
                    "start_s": np.arange(n_epochs) * epoch_s,
                    "time_utc": start + pd.to_timedelta(np.arange(n_epochs) * epoch_s, unit="s"),
                    "datacenter": dc_in.id,
                    "region": fleet.region_ids[dc_in.region],
                    "arrivals": np.asarray(meter.arrivals, dtype=np.int64),
                    "deferrable_arrivals": deferred[d],
                    "completions": np.asarray(meter.completions, dtype=np.int64),
                    "busy_gpu_s": np.asarray(meter.busy_gpu_s, dtype=float),
                    "weight_loads": np.asarray(meter.loads, dtype=np.int64),
                    "released_gpu_s": np.asarray(meter.released_gpu_s, dtype=float),
                    "powered_replicas": np.asarray(
                        controller.powered[d]
                        if controller is not None
                        else [float(sum(p.replicas for p in dc_in.pools))] * n_epochs,
                        dtype=float,
                    ),
                    "gpu_s": gpu_count[d] * length_s,
                    "it_energy_kwh": it_kwh,
                    "energy_kwh": fac_kwh,
                    "carbon_operational_kg": operational,
                    "carbon_average_kg": average,
                    "carbon_marginal_kg": marginal,
                    "carbon_embodied_kg": embodied,
                    "carbon_kg": operational + embodied,
                    "water_onsite_l": onsite,
                    "water_offsite_l": offsite,
                    "water_l": onsite + offsite,
                    "cost_usd": impacts.cost_usd(fac_kwh, sig.price_usd_per_mwh[:, d]),
                    "carbon_g_per_kwh": sig.carbon_g_per_kwh[:, d],
                    "marginal_carbon_g_per_kwh": sig.marginal[:, d],
                    "price_usd_per_mwh": sig.price_usd_per_mwh[:, d],
                    "wetbulb_c": sig.wetbulb_c[:, d],
                    "wue_l_per_kwh": sig.wue_l_per_kwh[:, d],
                    "ewif_l_per_kwh": sig.ewif_l_per_kwh[:, d],
                    "pue": dc_in.pue,
                }
            )
        )
    series = pd.concat(frames, ignore_index=True)
    series["datacenter"] = pd.Categorical(
        series["datacenter"], categories=list(fleet.datacenter_ids)
    )
    series["region"] = pd.Categorical(series["region"], categories=list(fleet.region_ids))
    return series

"""``simulate(scenario, policy)``: run one scenario through the simulator."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from slit.errors import Problem, ScenarioError
from slit.models import impacts
from slit.models.impacts import J_PER_KWH
from slit.models.latency import (
    EfficiencyParams,
    ReplicaPerf,
    calibrated_efficiency,
    calibration_provenance,
)
from slit.models.network import transfer_time_s
from slit.models.power import PowerParams, calibrated_power
from slit.scenario.loader import Scenario
from slit.sim.engine import Datacenter, ImpactFactors, Replica, Simulation
from slit.sim.inputs import (
    EpochSignals,
    RandomStreams,
    build_requests,
    epoch_signals,
    rtt_between_regions,
)
from slit.sim.policies import RoutingContext, RoutingPolicy, make_policy
from slit.sim.request_log import DROP_REASONS
from slit.sim.results import SimResult, summarize

ProgressCallback = Callable[[float, float], None]


def _impact_factors(sig: EpochSignals, d: int) -> ImpactFactors:
    carbon, water, cost = impacts.per_it_joule(
        sig.carbon_g_per_kwh[:, d],
        sig.price_usd_per_mwh[:, d],
        sig.wue_l_per_kwh[:, d],
        sig.ewif_l_per_kwh[:, d],
        sig.pue[d],
        sig.scarcity[d],
    )
    return ImpactFactors(
        carbon_kg_per_j=carbon.tolist(), water_l_per_j=water.tolist(), cost_usd_per_j=cost.tolist()
    )


def _replica_perf(
    scenario: Scenario, pool: Any, d: int, p: int, efficiency: EfficiencyParams | None = None
) -> ReplicaPerf:
    """The latency model of a pool's replicas: calibrated roofline or measured tables."""
    llm, gpu = scenario.pool_llm(pool), scenario.gpus[pool.gpu]
    eff = efficiency or calibrated_efficiency(pool.gpu)
    if pool.latency_model == "roofline":
        return ReplicaPerf(llm, gpu, pool.tp, eff)
    from slit.models.latency_table import TableReplicaPerf

    try:
        return TableReplicaPerf(llm, gpu, pool.tp, eff, gpu_id=pool.gpu, model_id=pool.model)
    except ValueError as exc:
        raise ScenarioError(
            [
                Problem(
                    f"datacenters[{d}].pools[{p}].latency_model",
                    str(exc),
                    "use latency_model: roofline, or a GPU, model and tp the tables cover",
                )
            ]
        ) from None


def _throughput_rps(sim: Simulation, requests: pd.DataFrame, n_models: int) -> np.ndarray:
    """``[model, datacenter]`` requests/s the replicas can sustain at full batch.

    A replica at its batch limit ``b`` spends ``t_p + out · step(b) / b`` of its time per
    request (prefill of the mean prompt, its share of ``out`` decode iterations), so it serves
    the inverse of that per second; the mean lengths are the run's own, per LLM.
    """
    out = np.zeros((n_models, len(sim.datacenters)))
    for m in range(n_models):
        mine = requests[requests["model"] == m]
        if mine.empty:
            continue
        prompt = float(mine["prompt_tokens"].mean())
        output = float(mine["output_tokens"].mean())
        for dc in sim.datacenters:
            for rep in dc.replicas_by_model.get(m, []):
                b = max(1, min(rep.max_batch, int(rep.kv_capacity // max(prompt + output, 1.0))))
                t_p = rep.perf.prefill_time_s(prompt, prompt * prompt)
                step = rep.perf.decode_step_time_s(b, b * (prompt + output / 2.0))
                out[m, dc.index] += 1.0 / (t_p + output * step / b)
    return out


def _replica_roles(dc_cfg: Any, pool: Any, d: int, p: int) -> list[str]:
    """Role of each replica of a pool: all ``mixed``, or prefill and decode replicas when the
    datacenter serves phase-split (pools of one replica stay mixed)."""
    split = dc_cfg.phase_split
    if not split.enabled or pool.replicas < 2:
        return ["mixed"] * pool.replicas
    n_prefill = (
        pool.prefill_replicas
        if pool.prefill_replicas is not None
        else min(pool.replicas - 1, max(1, round(pool.replicas * split.prefill_fraction)))
    )
    if not 1 <= n_prefill < pool.replicas:
        raise ScenarioError(
            [
                Problem(
                    f"datacenters[{d}].pools[{p}].prefill_replicas",
                    f"{n_prefill} of {pool.replicas} replicas would leave no "
                    + ("prefill" if n_prefill < 1 else "decode")
                    + " replica",
                    f"give between 1 and {pool.replicas - 1}",
                )
            ]
        )
    return ["prefill"] * n_prefill + ["decode"] * (pool.replicas - n_prefill)


def _check_dispatch(dc_cfg: Any, d: int) -> None:
    """Every pool of one LLM in a datacenter has the same dispatch: their replicas share one
    queue or one dispatcher."""
    first: dict[str, int] = {}
    for p, pool in enumerate(dc_cfg.pools):
        q = first.setdefault(pool.model, p)
        if pool.dispatch != dc_cfg.pools[q].dispatch:
            raise ScenarioError(
                [
                    Problem(
                        f"datacenters[{d}].pools[{p}].dispatch",
                        f"'{pool.dispatch}' differs from pools[{q}].dispatch "
                        f"'{dc_cfg.pools[q].dispatch}' of the same LLM ({pool.model}) in "
                        f"datacenter {dc_cfg.id}",
                        f"give every pool of {pool.model} in {dc_cfg.id} the same dispatch: "
                        "the replicas of one LLM in a datacenter share one queue or dispatcher",
                    )
                ]
            )


def _pool_model_record(
    dc_id: str, p: int, pool: Any, perf: ReplicaPerf, kv_tokens: int
) -> dict[str, Any]:
    """What a pool's latency, power and memory rest on, for metadata.json: the calibration
    entry and what it borrowed, the all-reduce line's origin and the KV capacity."""
    rec: dict[str, Any] = {
        "datacenter": dc_id,
        "pool": p,
        "model": pool.model,
        "gpu": pool.gpu,
        "tp": pool.tp,
        "kv_capacity_tokens": kv_tokens,
        "latency_power_calibration": calibration_provenance(pool.gpu),
    }
    if perf.allreduce is not None and pool.tp > 1:
        rec["allreduce"] = perf.allreduce.source
    return rec


def simulate(
    scenario: Scenario,
    policy: str | RoutingPolicy | None = None,
    *,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    power: PowerParams | None = None,
    efficiency: EfficiencyParams | None = None,
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
    """
    wall0 = time.perf_counter()
    cfg = scenario.config
    seed = cfg.seed if seed is None else seed
    region_ids = [r.id for r in cfg.regions]
    streams = RandomStreams.from_seed(seed, region_ids)
    input_log: list[str] = []
    requests, model_ids = build_requests(scenario, streams.workload, input_log)
    end_s = cfg.time.horizon_s + cfg.time.drain_s
    epoch_s = cfg.time.epoch_s
    n_epochs = max(1, math.ceil(end_s / epoch_s - 1e-9))
    signals = epoch_signals(scenario, streams, n_epochs, input_log)
    region_rtt_ms = rtt_between_regions(scenario, input_log)
    dc_region = [region_ids.index(dc.region) for dc in cfg.datacenters]
    rtt_ms = region_rtt_ms[:, dc_region]
    rtt_s = rtt_ms / 1000.0

    if policy is None:
        policy = make_policy(cfg.routing.policy, cfg.routing.params)
    elif isinstance(policy, str):
        policy = make_policy(policy, cfg.routing.params if policy == cfg.routing.policy else {})

    sim = Simulation()
    pool_models: list[dict[str, Any]] = []
    model_index = {m: i for i, m in enumerate(model_ids)}
    serves = np.zeros((len(model_ids), len(cfg.datacenters)), dtype=bool)
    gpu_count = np.zeros(len(cfg.datacenters))
    idle_w = np.zeros(len(cfg.datacenters))
    for d, dc_cfg in enumerate(cfg.datacenters):
        dc = Datacenter(sim, d, n_epochs, epoch_s, _impact_factors(signals, d))
        sim.datacenters.append(dc)
        _check_dispatch(dc_cfg, d)
        for p, pool in enumerate(dc_cfg.pools):
            if pool.replicas == 0:
                continue
            perf = _replica_perf(scenario, pool, d, p, efficiency)
            kv_tokens = perf.kv_capacity_tokens(
                pool.gpu_memory_utilization,
                max_batched_tokens=pool.max_prefill_tokens,
                max_num_seqs=pool.max_batch_size,
            )
            if kv_tokens <= 0:  # load_scenario refuses these; a Scenario built by hand may not
                raise ScenarioError(
                    [
                        Problem(
                            f"datacenters[{d}].pools[{p}]",
                            f"{pool.model} leaves no room for a KV block on {pool.tp} x {pool.gpu}",
                            "raise tp, lower weight_precision, or pick a GPU with more memory",
                        )
                    ]
                )
            pool_models.append(_pool_model_record(dc_cfg.id, p, pool, perf, kv_tokens))
            weight_bytes = scenario.pool_llm(pool).weight_bytes
            load_s = weight_bytes / (pool.load_bandwidth_gb_per_s * 1e9)
            m = model_index[pool.model]
            serves[m, d] = True
            roles = _replica_roles(dc_cfg, pool, d, p)
            if "decode" in roles:
                dc.kv_link_bytes_per_s = dc_cfg.phase_split.kv_link_gb_per_s * 1e9
            for role in roles:
                rep = Replica(
                    sim.env,
                    dc,
                    (
                        dc.decode_queue_for(m, pool.dispatch)
                        if role == "decode"
                        else dc.queue_for(m, pool.dispatch)
                    ),
                    perf,
                    kv_tokens,
                    pool.max_batch_size,
                    pool.max_prefill_tokens,
                    pool.resident,
                    load_s,
                    dc_cfg.server_overhead_fraction,
                    power or calibrated_power(pool.gpu),
                    role,
                    pool.chunked_prefill,
                    dc_cfg.server_overhead_w_per_gpu,
                )
                dc.add_replica(m, rep)
                rep.start()
                gpu_count[d] += pool.tp
                idle_w[d] += rep.idle_w

    ctx = RoutingContext(
        region_ids=tuple(region_ids),
        datacenter_ids=tuple(dc.id for dc in cfg.datacenters),
        model_ids=tuple(model_ids),
        rtt_ms=rtt_ms,
        serves=serves,
        epoch_s=epoch_s,
        carbon_g_per_kwh=signals.carbon_g_per_it_kwh,
        water_l_per_kwh=signals.water_l_per_it_kwh,
        price_usd_per_mwh=signals.price_usd_per_it_mwh,
        capacity=np.array(
            [sum(len(v) for v in dc.replicas_by_model.values()) for dc in sim.datacenters], float
        ),
        rng=streams.routing,
        throughput_rps=_throughput_rps(sim, requests, len(model_ids)),
    )
    policy.setup(ctx)

    net = cfg.network
    per_token_s = float(transfer_time_s(1, net.bytes_per_token, net.bandwidth_gbit_per_s))
    sim.env.process(
        sim.arrivals(
            requests["arrival_s"].to_numpy(),
            requests["origin"].to_numpy(),
            requests["model"].to_numpy(),
            requests["prompt_tokens"].to_numpy(),
            requests["output_tokens"].to_numpy(),
            policy,
            rtt_s,
            per_token_s,
            end_s,
        )
    )
    if progress is not None:
        sim.env.process(sim.ticker(epoch_s, end_s, lambda now: progress(now, end_s)))
    sim.env.run(until=end_s)
    for dc in sim.datacenters:
        for replicas in dc.replicas_by_model.values():
            for rep in replicas:
                rep.settle()
    sim.close()
    wall_s = time.perf_counter() - wall0

    records = _request_records(sim, scenario, model_ids, requests, rtt_s, per_token_s)
    series = _timeseries(sim, scenario, signals, n_epochs, gpu_count, idle_w)
    summary = summarize(records, series)
    metadata: dict[str, Any] = {
        "seed": seed,
        "policy": policy.name,
        "simulated_s": end_s,
        "wall_s": wall_s,
        "requests_per_wall_s": len(records) / wall_s if wall_s > 0 else None,
        "plan_fallbacks": getattr(policy, "fallbacks", None),
        "inputs": input_log,
        "pool_models": pool_models,
        # parameters given to simulate() instead of the catalog's (pool_models then describes
        # the catalog entry the pools would otherwise have used)
        "overrides": [n for n, v in (("efficiency", efficiency), ("power", power)) if v],
    }
    return SimResult(records, series, summary, metadata)


def _request_records(
    sim: Simulation,
    scenario: Scenario,
    model_ids: list[str],
    workload: pd.DataFrame,
    rtt_s: np.ndarray,
    per_token_s: float,
) -> pd.DataFrame:
    """One row per released request: its inputs (from the workload arrays, which the request
    objects copied) and what happened to it (from the engine's request log)."""
    cfg = scenario.config
    n = sim.released
    c = sim.log.columns(n)
    sim.log.clear()
    # requests are released in workload order, so the first n rows are theirs
    arrival = workload["arrival_s"].to_numpy()[:n]
    origin_idx = workload["origin"].to_numpy()[:n].astype(np.int64, copy=False)
    model_idx = workload["model"].to_numpy()[:n].astype(np.int64, copy=False)
    prompt = workload["prompt_tokens"].to_numpy()[:n].astype(np.int64, copy=False)
    output = workload["output_tokens"].to_numpy()[:n].astype(np.int64, copy=False)
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
    region_ids = [r.id for r in cfg.regions]
    dc_ids = [dc.id for dc in cfg.datacenters]
    frame = pd.DataFrame(
        {
            "request_id": np.arange(n, dtype=np.int64),
            "origin": pd.Categorical.from_codes(origin_idx, categories=pd.Index(region_ids)),
            "model": pd.Categorical.from_codes(model_idx, categories=pd.Index(model_ids)),
            "datacenter": pd.Categorical.from_codes(dc_idx, categories=pd.Index(dc_ids)),
            "prompt_tokens": prompt,
            "output_tokens": output,
            "arrival_s": arrival,
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
            "carbon_kg": c["carbon_kg"],
            "water_l": c["water_l"],
            "cost_usd": c["cost_usd"],
            "slo_met": slo_met,
        }
    )
    return frame


def _timeseries(
    sim: Simulation,
    scenario: Scenario,
    sig: EpochSignals,
    n_epochs: int,
    gpu_count: np.ndarray,
    idle_w: np.ndarray,
) -> pd.DataFrame:
    cfg = scenario.config
    epoch_s = cfg.time.epoch_s
    start = pd.Timestamp(cfg.time.start_utc).tz_convert("UTC")
    end_s = cfg.time.horizon_s + cfg.time.drain_s
    length_s = np.minimum(epoch_s, end_s - np.arange(n_epochs) * epoch_s)
    frames = []
    for d, dc_cfg in enumerate(cfg.datacenters):
        meter = sim.datacenters[d].meter
        it_j = idle_w[d] * length_s + np.asarray(meter.extra_j, dtype=float)
        it_kwh = it_j / J_PER_KWH
        fac_kwh = it_kwh * dc_cfg.pue
        scarcity = dc_cfg.water.scarcity_factor
        onsite = impacts.water_onsite_l(it_kwh, sig.wue_l_per_kwh[:, d], scarcity)
        offsite = impacts.water_offsite_l(fac_kwh, sig.ewif_l_per_kwh[:, d], scarcity)
        frames.append(
            pd.DataFrame(
                {
                    "epoch": np.arange(n_epochs),
                    "start_s": np.arange(n_epochs) * epoch_s,
                    "time_utc": start + pd.to_timedelta(np.arange(n_epochs) * epoch_s, unit="s"),
                    "datacenter": dc_cfg.id,
                    "region": dc_cfg.region,
                    "arrivals": np.asarray(meter.arrivals, dtype=np.int64),
                    "completions": np.asarray(meter.completions, dtype=np.int64),
                    "busy_gpu_s": np.asarray(meter.busy_gpu_s, dtype=float),
                    "gpu_s": gpu_count[d] * length_s,
                    "it_energy_kwh": it_kwh,
                    "energy_kwh": fac_kwh,
                    "carbon_kg": impacts.carbon_kg(fac_kwh, sig.carbon_g_per_kwh[:, d]),
                    "water_onsite_l": onsite,
                    "water_offsite_l": offsite,
                    "water_l": onsite + offsite,
                    "cost_usd": impacts.cost_usd(fac_kwh, sig.price_usd_per_mwh[:, d]),
                    "carbon_g_per_kwh": sig.carbon_g_per_kwh[:, d],
                    "price_usd_per_mwh": sig.price_usd_per_mwh[:, d],
                    "wetbulb_c": sig.wetbulb_c[:, d],
                    "wue_l_per_kwh": sig.wue_l_per_kwh[:, d],
                    "ewif_l_per_kwh": sig.ewif_l_per_kwh[:, d],
                    "pue": dc_cfg.pue,
                }
            )
        )
    series = pd.concat(frames, ignore_index=True)
    series["datacenter"] = pd.Categorical(
        series["datacenter"], categories=[dc.id for dc in cfg.datacenters]
    )
    series["region"] = pd.Categorical(series["region"], categories=[r.id for r in cfg.regions])
    return series

"""The serving fleet of a run: datacenters, their pools (each with its latency, power and
KV-cache model) and the network between origins and datacenters.

Both the simulator (:mod:`slit.sim`) and the fast evaluator (:mod:`slit.optimize.evaluator`)
are built from one :class:`Fleet`, so they cannot disagree on a pool's models: a pool with
``latency_model: table`` is timed by the measured tables in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from slit.errors import Problem, ScenarioError
from slit.inputs.geography import rtt_between_regions
from slit.models.impacts import embodied_carbon_kg, embodied_kg_per_gpu_s
from slit.models.latency import (
    EfficiencyParams,
    ReplicaPerf,
    calibrated_efficiency,
    calibration_provenance,
)
from slit.models.network import transfer_time_s
from slit.models.power import PowerParams, calibrated_power, it_power_w
from slit.scenario.loader import Scenario

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PoolInputs:
    """One pool: the replicas of one LLM on one GPU type and tensor-parallel degree in one
    datacenter, with the models that time, power and size them.

    Attributes:
        datacenter: index of its datacenter (scenario order).
        index: its position in the datacenter's ``pools`` list (for messages).
        model_id: the LLM it serves; ``model`` is its index in the run's LLM ids, or -1 when
            the run asks for none of its requests (the pool then only idles).
        gpu_id, tp: GPU type and GPUs per replica.
        replicas: replicas of the pool; ``roles`` their roles (``mixed``, or ``prefill`` and
            ``decode`` under phase split).
        perf: the latency model (roofline, or measured tables).
        power: the GPU power parameters.
        kv_capacity_tokens: KV-cache tokens of one replica.
        max_batch, max_prefill_tokens: batch limits of one replica (sequences, tokens).
        resident: whether the weights are loaded at the start; ``load_s`` the time to load
            them otherwise, s.
        keep_alive_s: idle time after which a replica unloads and releases its GPUs, s
            (``None``: never).
        chunked_prefill: whether prompts are prefilled in chunks beside decoding.
        dispatch: how requests reach its replicas (one shared queue or a dispatcher).
        server_overhead_fraction, server_overhead_w_per_gpu: the server's power beyond the
            GPUs, as a share of GPU power and W per GPU.
        embodied_kg_per_gpu: embodied carbon of one GPU with its share of the server (the GPU
            catalogue's ``embodied_carbon_kg`` + ``carbon.embodied.server_kg_per_gpu``), kg
            CO2e; 0 when embodied carbon is off. ``embodied_lifetime_years`` amortises it.
    """

    datacenter: int
    index: int
    model_id: str
    model: int
    gpu_id: str
    tp: int
    replicas: int
    roles: tuple[str, ...]
    perf: ReplicaPerf
    power: PowerParams
    kv_capacity_tokens: int
    max_batch: int
    max_prefill_tokens: int
    resident: bool
    load_s: float
    chunked_prefill: bool
    dispatch: str
    server_overhead_fraction: float
    server_overhead_w_per_gpu: float
    keep_alive_s: float | None = None
    embodied_kg_per_gpu: float = 0.0
    embodied_lifetime_years: float = 5.0

    @property
    def embodied_kg_per_gpu_s(self) -> float:
        """Embodied carbon of one of its GPUs for one second, kg/s (0 when it is off)."""
        return embodied_kg_per_gpu_s(self.embodied_kg_per_gpu, self.embodied_lifetime_years)

    def embodied_kg(self, seconds: npt.ArrayLike) -> FloatArray:
        """Embodied carbon of every GPU of the pool provisioned for ``seconds``, kg."""
        gpu_hours = self.tp * self.replicas * np.asarray(seconds, float) / 3600.0
        return np.asarray(
            embodied_carbon_kg(gpu_hours, self.embodied_kg_per_gpu, self.embodied_lifetime_years)
        )

    def it_power_w(self, activity: float) -> float:
        """IT power of one replica's GPUs and their share of the server at ``activity``, W."""
        return it_power_w(
            self.perf.gpu,
            self.tp,
            activity,
            self.server_overhead_fraction,
            self.server_overhead_w_per_gpu,
        )

    def full_batch(self, prompt_tokens: float, output_tokens: float) -> int:
        """Requests one replica holds at once at full batch for requests of these mean
        lengths: its batch slots, or its KV cache over ``prompt + output``, whichever is
        less (at least 1)."""
        per_request = max(prompt_tokens + output_tokens, 1.0)
        return max(1, min(self.max_batch, int(self.kv_capacity_tokens // per_request)))

    def replica_throughput_rps(self, prompt_tokens: float, output_tokens: float) -> float:
        """Requests/s one replica sustains at full batch for requests of these mean lengths.

        At its batch limit ``b`` (batch slots, or the KV cache over ``prompt + output``) a
        replica spends ``t_p + out · step(b) / b`` per request: the prefill of the prompt and its
        share of ``out`` decode iterations at context ``b (prompt + out / 2)``."""
        b = self.full_batch(prompt_tokens, output_tokens)
        t_p = self.perf.prefill_time_s(prompt_tokens, prompt_tokens * prompt_tokens)
        step = self.perf.decode_step_time_s(b, b * (prompt_tokens + output_tokens / 2.0))
        return 1.0 / (t_p + output_tokens * step / b)

    def provenance(self, datacenter_id: str) -> dict[str, Any]:
        """What the pool's latency, power and memory rest on, for metadata.json: the
        calibration entry and what it borrowed, the all-reduce line's origin and the KV
        capacity."""
        rec: dict[str, Any] = {
            "datacenter": datacenter_id,
            "pool": self.index,
            "model": self.model_id,
            "gpu": self.gpu_id,
            "tp": self.tp,
            "kv_capacity_tokens": self.kv_capacity_tokens,
            "latency_power_calibration": calibration_provenance(self.gpu_id),
        }
        if self.perf.allreduce is not None and self.tp > 1:
            rec["allreduce"] = self.perf.allreduce.source
        return rec


@dataclass(frozen=True)
class DatacenterInputs:
    """One datacenter: where it is, its facility factors and its pools (those with replicas).

    Attributes:
        id, region: its id and the index of its region.
        pue: power usage effectiveness; ``scarcity`` the water scarcity factor.
        kv_link_bytes_per_s: the prefill-to-decode KV link when it serves phase-split (some
            pool has decode replicas), else None.
        pools: its pools with at least one replica, in scenario order.
    """

    id: str
    region: int
    pue: float
    scarcity: float
    kv_link_bytes_per_s: float | None
    pools: tuple[PoolInputs, ...]


@dataclass(frozen=True)
class Fleet:
    """Datacenters, pools and network of a run.

    Attributes:
        region_ids, datacenter_ids, model_ids: names, in the order every array uses.
        rtt_ms: ``[origin region, datacenter]`` round-trip time, ms (read-only).
        transfer_s_per_token: time to send one prompt token to a datacenter, s.
        datacenters: one record per datacenter.
        allowed: ``[origin region, datacenter]`` True where the origin's requests may be served
            (data residency, read-only; all True without a ``data_residency`` section).
    """

    region_ids: tuple[str, ...]
    datacenter_ids: tuple[str, ...]
    model_ids: tuple[str, ...]
    rtt_ms: FloatArray
    transfer_s_per_token: float
    datacenters: tuple[DatacenterInputs, ...]
    allowed: npt.NDArray[np.bool_]

    @property
    def restricted(self) -> bool:
        """Whether some origin may not use some datacenter (a ``data_residency`` section that
        restricts anything)."""
        return not bool(self.allowed.all())

    @property
    def pools(self) -> tuple[PoolInputs, ...]:
        """Every pool with replicas, datacenter by datacenter."""
        return tuple(p for dc in self.datacenters for p in dc.pools)

    def serves(self) -> npt.NDArray[np.bool_]:
        """``[model, datacenter]``: whether a pool there serves the LLM."""
        out = np.zeros((len(self.model_ids), len(self.datacenter_ids)), dtype=bool)
        for pool in self.pools:
            if pool.model >= 0:
                out[pool.model, pool.datacenter] = True
        return out


def data_residency_mask(scenario: Scenario) -> npt.NDArray[np.bool_]:
    """``[origin region, datacenter]``: whether the datacenter lies in a region where the
    origin's requests may be served (``data_residency``; True everywhere for an origin it does
    not name). Read-only."""
    cfg = scenario.config
    allowed = np.ones((len(cfg.regions), len(cfg.datacenters)), dtype=bool)
    for o, region in enumerate(cfg.regions):
        regions = cfg.data_residency.get(region.id)
        if regions is not None:
            allowed[o] = [dc.region in regions for dc in cfg.datacenters]
    allowed.flags.writeable = False
    return allowed


def residency_problems(
    scenario: Scenario, fleet: Fleet, origin: npt.ArrayLike, model: npt.ArrayLike
) -> list[Problem]:
    """Origins whose requests (``origin``, ``model``: index arrays, e.g. of a trace) ask for an
    LLM that some datacenter serves but none the origin may use (data residency): the run
    could only serve them outside their regions. Empty without residency."""
    if not fleet.restricted or not len(np.asarray(origin)):
        return []
    from slit.scenario.loader import residency_lacks, residency_problem

    cfg = scenario.config
    n_m = len(fleet.model_ids)
    pairs = np.unique(np.asarray(origin, np.int64) * n_m + np.asarray(model, np.int64))
    problems = []
    for o in sorted({int(p) // n_m for p in pairs}):
        region = fleet.region_ids[o]
        asked = [fleet.model_ids[int(p) % n_m] for p in pairs if int(p) // n_m == o]
        lacking, serving = residency_lacks(cfg, region, asked)
        if lacking:
            problems.append(residency_problem(
                cfg, region, lacking, serving, f"data_residency.{region}",
                f"{'the trace' if cfg.workload.source == 'trace' else 'the workload'} asks for "
                "from this origin",
            ))  # fmt: skip
    return problems


def replica_perf(
    scenario: Scenario, pool: Any, d: int, p: int, efficiency: EfficiencyParams | None = None
) -> ReplicaPerf:
    """The latency model of a pool's replicas: calibrated roofline or measured tables.

    Raises:
        ScenarioError: ``latency_model: table`` for a GPU, LLM and tp the tables do not cover.
    """
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


def replica_roles(
    dc_cfg: Any, pool: Any, d: int, p: int, gpu_peaks: dict[str, float] | None = None
) -> tuple[str, ...]:
    """Role of each replica of a pool: all ``mixed``, or prefill and decode replicas when the
    datacenter serves phase-split (pools of one replica stay mixed); with ``roles: by_gpu``,
    by the pools' GPU types (``gpu_peaks``: BF16 peak per GPU id)."""
    split = dc_cfg.phase_split
    if split.enabled and pool.phase_role is not None:
        return (pool.phase_role,) * pool.replicas
    if split.enabled and split.roles == "by_gpu" and gpu_peaks is not None:
        # Splitwise-HA: the LLM's pools on its fastest GPU type prompt, the others generate
        peers = {q.gpu for q in dc_cfg.pools if q.model == pool.model and q.replicas > 0}
        if len(peers) > 1:
            fastest = max(gpu_peaks[g] for g in peers)
            role = "prefill" if gpu_peaks[pool.gpu] >= fastest else "decode"
            return (role,) * pool.replicas
    if not split.enabled or pool.replicas < 2:
        return ("mixed",) * pool.replicas
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
    return ("prefill",) * n_prefill + ("decode",) * (pool.replicas - n_prefill)


def _check_phases(pools: tuple[PoolInputs, ...], d: int) -> None:
    """Every LLM of a datacenter that has prefill-only replicas has decode-only ones, and the
    other way round (a pool given a ``phase_role`` needs a partner pool)."""
    for model_id in {pool.model_id for pool in pools}:
        mine = [pool for pool in pools if pool.model_id == model_id]
        roles = {r for pool in mine for r in pool.roles}
        for have, lack in (("prefill", "decode"), ("decode", "prefill")):
            if have in roles and lack not in roles:
                first = next(pool for pool in mine if have in pool.roles)
                raise ScenarioError(
                    [
                        Problem(
                            f"datacenters[{d}].pools[{first.index}].phase_role",
                            f"{model_id} has {have} replicas here but no {lack} replica",
                            f"give another pool of {model_id} in this datacenter "
                            f"phase_role: {lack}, or drop phase_role",
                        )
                    ]
                )


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


def _pool(
    scenario: Scenario,
    dc_cfg: Any,
    d: int,
    p: int,
    pool: Any,
    model_index: dict[str, int],
    efficiency: EfficiencyParams | None,
    power: PowerParams | None,
) -> PoolInputs:
    perf = replica_perf(scenario, pool, d, p, efficiency)
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
    weight_bytes = scenario.pool_llm(pool).weight_bytes
    embodied = scenario.config.carbon.embodied
    return PoolInputs(
        datacenter=d,
        index=p,
        model_id=pool.model,
        model=model_index.get(pool.model, -1),
        gpu_id=pool.gpu,
        tp=pool.tp,
        replicas=pool.replicas,
        roles=replica_roles(
            dc_cfg, pool, d, p, {g: spec.peak_bf16_tflop_per_s for g, spec in scenario.gpus.items()}
        ),
        perf=perf,
        power=power or calibrated_power(pool.gpu),
        kv_capacity_tokens=kv_tokens,
        max_batch=pool.max_batch_size,
        max_prefill_tokens=pool.max_prefill_tokens,
        resident=pool.resident,
        load_s=weight_bytes / (pool.load_bandwidth_gb_per_s * 1e9),
        keep_alive_s=pool.keep_alive_s,
        chunked_prefill=pool.chunked_prefill,
        dispatch=pool.dispatch,
        server_overhead_fraction=dc_cfg.server_overhead_fraction,
        server_overhead_w_per_gpu=dc_cfg.server_overhead_w_per_gpu,
        embodied_kg_per_gpu=(
            scenario.gpus[pool.gpu].embodied_carbon_kg + embodied.server_kg_per_gpu
            if embodied.enabled
            else 0.0
        ),
        embodied_lifetime_years=embodied.gpu_lifetime_years,
    )


def candidate_pool(
    scenario: Scenario, d: int, template: Any, *, model: str, tp: int
) -> PoolInputs | None:
    """One replica of ``model`` on ``tp`` GPUs of ``template``'s type in datacenter ``d``, with
    ``template``'s serving settings (a pool of the scenario), compiled as the simulator would;
    ``None`` if its weights leave no room for a KV block or no latency model covers it."""
    dc_cfg = scenario.config.datacenters[d]
    pool = template.model_copy(
        update={"model": model, "tp": tp, "replicas": 1, "phase_role": None,
                "prefill_replicas": None}
    )  # fmt: skip
    try:
        return _pool(scenario, dc_cfg, d, -1, pool, {model: 0}, None, None)
    except ScenarioError:
        return None


def compile_fleet(
    scenario: Scenario,
    model_ids: list[str] | tuple[str, ...],
    *,
    efficiency: EfficiencyParams | None = None,
    power: PowerParams | None = None,
    log: list[str] | None = None,
) -> Fleet:
    """The fleet of a scenario for a run that asks for ``model_ids``.

    Args:
        scenario: a validated scenario.
        model_ids: the run's LLM ids (a pool's ``model`` indexes them).
        efficiency, power: latency and power parameters for every pool instead of each GPU
            type's calibrated ones.
        log: receives the network model's notes (RTT pairs a measured table lacked).

    Raises:
        ScenarioError: a region pair without a path, mixed dispatch in a datacenter, a pool
            without room for its KV cache, uncovered latency tables, a phase split without
            prefill or decode replicas.
    """
    cfg = scenario.config
    region_ids = [r.id for r in cfg.regions]
    region_rtt_ms = rtt_between_regions(scenario, log)
    dc_region = [region_ids.index(dc.region) for dc in cfg.datacenters]
    rtt_ms = region_rtt_ms[:, dc_region]
    rtt_ms.flags.writeable = False
    model_index = {m: i for i, m in enumerate(model_ids)}
    datacenters = []
    for d, dc_cfg in enumerate(cfg.datacenters):
        _check_dispatch(dc_cfg, d)
        pools = tuple(
            _pool(scenario, dc_cfg, d, p, pool, model_index, efficiency, power)
            for p, pool in enumerate(dc_cfg.pools)
            if pool.replicas > 0
        )
        split = any("decode" in pool.roles for pool in pools)
        _check_phases(pools, d)
        datacenters.append(
            DatacenterInputs(
                id=dc_cfg.id,
                region=dc_region[d],
                pue=dc_cfg.pue,
                scarcity=dc_cfg.water.scarcity_factor,
                kv_link_bytes_per_s=dc_cfg.phase_split.kv_link_gb_per_s * 1e9 if split else None,
                pools=pools,
            )
        )
    if cfg.carbon.embodied.enabled and log is not None:
        gpus = {pool.gpu for dc in cfg.datacenters for pool in dc.pools if pool.replicas > 0}
        unknown = sorted(g for g in gpus if scenario.gpus[g].embodied_carbon_kg == 0)
        for gpu in unknown:
            log.append(
                f"carbon.embodied: GPU {gpu} has no embodied carbon figure (embodied_carbon_kg "
                "is 0), so only its server share is charged; give catalog.gpus."
                f"{gpu}.embodied_carbon_kg to count it"
            )
    net = cfg.network
    return Fleet(
        region_ids=tuple(region_ids),
        datacenter_ids=tuple(dc.id for dc in cfg.datacenters),
        model_ids=tuple(model_ids),
        rtt_ms=rtt_ms,
        transfer_s_per_token=float(
            transfer_time_s(1, net.bytes_per_token, net.bandwidth_gbit_per_s)
        ),
        datacenters=tuple(datacenters),
        allowed=data_residency_mask(scenario),
    )

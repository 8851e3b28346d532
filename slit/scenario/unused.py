"""Settings a scenario gives that its chosen modes do not read.

A value set beside a mode that ignores it (a constant WUE with the wet-bulb model, an RTT
table with the distance model, a prefill share with phase split off) changes nothing; a user
who set it expects it to. Each is reported as a sentence, which the run records in
``metadata.json`` (``inputs``) and prints as a note, as it does every other change of an
input. A setting counts as given when it differs from its default: after ``extends:`` or an
override the resolved scenario holds every default, and a default changes nothing either.
"""

from __future__ import annotations

from typing import Any

from slit.scenario.schema import (
    EmbodiedCarbonConfig,
    NetworkConfig,
    PhaseSplitConfig,
    ScenarioModel,
    SyntheticWorkload,
    WaterConfig,
)


def _differs(model: Any, cls: type, name: str) -> bool:
    """Whether ``model.name`` differs from the default of ``cls.name``."""
    field = cls.model_fields[name]  # type: ignore[attr-defined]
    default = field.default_factory() if field.default_factory is not None else field.default
    return getattr(model, name) != default


def unused_settings(cfg: ScenarioModel) -> list[str]:
    """One sentence per setting of ``cfg`` that its chosen mode does not read."""
    out: list[str] = []
    for i, dc in enumerate(cfg.datacenters):
        where = f"datacenters[{i}] ({dc.id})"
        water = dc.water
        if water.wue_model == "wetbulb" and _differs(water, WaterConfig, "wue_l_per_kwh"):
            out.append(
                f"{where}.water.wue_l_per_kwh is not used: wue_model is 'wetbulb' (WUE "
                "follows the wet-bulb temperature); set wue_model: constant to use it"
            )
        if water.wue_model == "constant" and _differs(
            water, WaterConfig, "cycles_of_concentration"
        ):
            out.append(
                f"{where}.water.cycles_of_concentration is not used: wue_model is 'constant'"
            )
        for j, pool in enumerate(dc.pools):
            if (pool.resident and pool.keep_alive_s is None
                    and _differs(pool, type(pool), "load_bandwidth_gb_per_s")):  # fmt: skip
                out.append(
                    f"{where}.pools[{j}].load_bandwidth_gb_per_s is not used: the pool is "
                    "resident and never unloads (no keep_alive_s), so it never loads weights"
                )
        split = dc.phase_split
        if not split.enabled:
            if _differs(split, PhaseSplitConfig, "kv_link_gb_per_s"):
                out.append(
                    f"{where}.phase_split.kv_link_gb_per_s is not used: phase_split is not enabled"
                )
            if _differs(split, PhaseSplitConfig, "prefill_fraction"):
                out.append(
                    f"{where}.phase_split.prefill_fraction is not used: phase_split is not enabled"
                )
            for j, pool in enumerate(dc.pools):
                for name in ("prefill_replicas", "phase_role"):
                    if getattr(pool, name) is not None:
                        out.append(
                            f"{where}.pools[{j}].{name} is not used: phase_split is not enabled"
                        )
    from slit.catalogue.gpus import bundled_gpus

    for gpu in sorted(set(cfg.catalog.gpus) & set(bundled_gpus())):
        out.append(
            f"catalog.gpus.{gpu} replaces the bundled {gpu}, but the latency and power "
            f"parameters fitted to the bundled {gpu} still apply; give it a new id to use the "
            "uncalibrated defaults"
        )
    net = cfg.network
    by_mode = {
        "rtt_ms": "rtt_matrix",
        "links": "hops",
        "k_media_ms": "hops",
        "cloud_provider": "cloud",
        "rtt_table": "cloud",
        "cloud_fallback": "cloud",
    }
    for name, mode in by_mode.items():
        if net.latency != mode and _differs(net, NetworkConfig, name):
            out.append(
                f"network.{name} is not used: network.latency is '{net.latency}', and "
                f"only '{mode}' reads it"
            )
    if net.latency in ("rtt_matrix", "hops"):
        for name in ("route_factor", "fibre_km_per_ms"):
            if _differs(net, NetworkConfig, name):
                out.append(
                    f"network.{name} is not used: network.latency is '{net.latency}', and "
                    "only the distance model (and 'cloud' for pairs its table lacks) reads it"
                )
    embodied = cfg.carbon.embodied
    if not embodied.enabled:
        for name in ("gpu_lifetime_years", "server_kg_per_gpu"):
            if _differs(embodied, EmbodiedCarbonConfig, name):
                out.append(
                    f"carbon.embodied.{name} is not used: carbon.embodied.enabled is false "
                    "(no embodied carbon is counted); set it to true to count it"
                )
    wl = cfg.workload
    if (
        isinstance(wl, SyntheticWorkload)
        and wl.diurnal_amplitude == 0
        and _differs(wl, SyntheticWorkload, "peak_hour_local")
    ):
        out.append("workload.peak_hour_local is not used: diurnal_amplitude is 0 (a flat rate)")
    if (
        isinstance(wl, SyntheticWorkload)
        and wl.prompt_tokens is not None
        and wl.output_tokens is not None
        and _differs(wl, SyntheticWorkload, "profile")
    ):
        out.append(
            "workload.profile is not used: prompt_tokens and output_tokens fix every "
            "request's lengths"
        )
    # a capacity plan asking more replicas than a datacenter has of an LLM gets all it has
    have: dict[tuple[str, str], int] = {}
    for dc in cfg.datacenters:
        for pool in dc.pools:
            have[(dc.id, pool.model)] = have.get((dc.id, pool.model), 0) + pool.replicas
    if cfg.capacity.policy == "plan":
        for e, table in enumerate(cfg.capacity.epochs):
            for dc_id, row in table.items():
                for llm, n in row.items():
                    most = have.get((dc_id, llm))
                    if most is not None and n > most:
                        out.append(
                            f"capacity.epochs[{e}].{dc_id}.{llm} asks for {n} powered replicas; "
                            f"the datacenter has {most} of {llm}, and all {most} are powered"
                        )
    deferral = cfg.routing.deferral
    if not any(c.share > 0 or c.shares for c in wl.classes) and (
        deferral.policy != "at_once" or deferral.params
    ):
        out.append(
            "routing.deferral is not used: the workload has no deferrable requests (add a "
            "class with a share under workload.classes)"
        )
    latest = max((c.deadline_s for c in wl.classes), default=0.0)
    if deferral.policy != "at_once" and latest > cfg.time.drain_s:
        out.append(
            f"time.drain_s ({cfg.time.drain_s:g} s) is shorter than the longest deadline "
            f"({latest:g} s): requests arriving near the horizon's end can wait only until "
            "the run ends, not until their deadline; set drain_s to the deadline to give "
            "every deferrable request its whole window"
        )
    return out

"""Turn a scenario into the simulator's inputs: requests, per-epoch signals, RTTs.

All randomness comes from one ``numpy.random.SeedSequence`` per run, split into independent
streams (workload, each region's signals, routing) so that changing one part of a scenario does not
shift the random numbers of another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from slit.errors import Problem, ScenarioError, TraceError
from slit.models import network
from slit.models.water import wue_from_wetbulb
from slit.scenario.loader import Scenario
from slit.scenario.schema import (
    ConstantSignals,
    CsvSignals,
    ProfileSignals,
    Region,
    SyntheticWorkload,
    TraceWorkload,
)
from slit.traces import profiles
from slit.traces.grid import GridSignals, constant_signals, read_signals_csv
from slit.traces.synthetic import diurnal_poisson_arrivals

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RandomStreams:
    """Independent random generators of one run, derived from its seed."""

    workload: np.random.Generator
    routing: np.random.Generator
    signals: dict[str, np.random.Generator]

    @classmethod
    def from_seed(cls, seed: int, region_ids: list[str]) -> RandomStreams:
        root = np.random.SeedSequence(seed)
        workload, routing, signals = root.spawn(3)
        per_region = signals.spawn(len(region_ids))
        return cls(
            np.random.default_rng(workload),
            np.random.default_rng(routing),
            {r: np.random.default_rng(s) for r, s in zip(region_ids, per_region, strict=True)},
        )


@dataclass(frozen=True)
class EpochSignals:
    """Per-epoch, per-datacenter signals and the factors that turn IT energy into impacts.

    Arrays are ``[epoch, datacenter]``.
    """

    carbon_g_per_kwh: FloatArray
    price_usd_per_mwh: FloatArray
    wetbulb_c: FloatArray
    ewif_l_per_kwh: FloatArray
    wue_l_per_kwh: FloatArray
    pue: FloatArray  # [datacenter]
    scarcity: FloatArray  # [datacenter]

    @property
    def carbon_g_per_it_kwh(self) -> FloatArray:
        """Carbon of one more kWh of IT energy: PUE x CI, g/kWh."""
        return self.carbon_g_per_kwh * self.pue

    @property
    def water_l_per_it_kwh(self) -> FloatArray:
        """Water of one more kWh of IT energy: (WUE + PUE x EWIF) x scarcity, L/kWh."""
        return (self.wue_l_per_kwh + self.pue * self.ewif_l_per_kwh) * self.scarcity

    @property
    def price_usd_per_it_mwh(self) -> FloatArray:
        """Cost of one more MWh of IT energy: PUE x price, USD/MWh."""
        return self.price_usd_per_mwh * self.pue


def _zone_info(region: Region) -> dict[str, object]:
    if region.zone is None:
        return {}
    return profiles.load_region_catalog()[region.zone]


def region_coordinates(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """Latitude and longitude of each region (given, or from its zone in the region catalog)."""
    coords, problems = {}, []
    for i, region in enumerate(scenario.config.regions):
        info = _zone_info(region)
        lat = region.latitude if region.latitude is not None else info.get("latitude")
        lon = region.longitude if region.longitude is not None else info.get("longitude")
        if lat is None or lon is None:
            problems.append(
                Problem(
                    f"regions[{i}]",
                    f"region '{region.id}' has no coordinates",
                    "give latitude/longitude or a zone of the region catalog",
                )
            )
        else:
            coords[region.id] = (float(lat), float(lon))  # type: ignore[arg-type]
    if problems:
        raise ScenarioError(problems)
    return coords


def utc_offset_h(region: Region, at: datetime, coords: tuple[float, float] | None) -> float:
    """Offset of the region's local time from UTC at ``at``, hours (from its timezone, else
    from longitude / 15)."""
    tz_name = region.timezone or _zone_info(region).get("timezone")
    if isinstance(tz_name, str):
        try:
            offset = at.astimezone(ZoneInfo(tz_name)).utcoffset()
            if offset is not None:
                return offset.total_seconds() / 3600.0
        except ZoneInfoNotFoundError:
            pass
    return round(coords[1] / 15.0) if coords else 0.0


def rtt_between_regions(scenario: Scenario) -> FloatArray:
    """``[region, region]`` RTT, ms, by the scenario's network model."""
    net = scenario.config.network
    ids = [r.id for r in scenario.config.regions]
    if net.latency == "distance":
        graph = network.distance_graph(
            region_coordinates(scenario), net.route_factor, net.fibre_km_per_ms
        )
    elif net.latency == "hops":
        graph = network.hops_graph(ids, net.links, net.k_media_ms)
    else:
        graph = network.measured_graph(ids, net.rtt_ms)
    rtt = network.rtt_matrix_ms(graph, ids, net.base_rtt_ms)
    unreachable = [(ids[a], ids[b]) for a, b in zip(*np.nonzero(~np.isfinite(rtt)), strict=True)]
    if unreachable:
        a, b = unreachable[0]
        raise ScenarioError(
            [
                Problem(
                    "network",
                    f"no path from region '{a}' to '{b}' ({len(unreachable)} unreachable pairs)",
                    "add links or RTTs so that every region pair is connected",
                )
            ]
        )
    return rtt


def region_signals(
    scenario: Scenario, region: Region, hours: int, rng: np.random.Generator
) -> GridSignals:
    """Hourly grid signals of a region covering ``hours`` hours from the scenario start."""
    start = pd.Timestamp(scenario.config.time.start_utc).tz_convert("UTC").floor("h")
    cfg = region.signals
    if isinstance(cfg, ConstantSignals):
        return constant_signals(
            start,
            hours,
            f"region {region.id}",
            carbon_g_per_kwh=cfg.carbon_g_per_kwh,
            price_usd_per_mwh=cfg.price_usd_per_mwh,
            wetbulb_c=cfg.wetbulb_c,
            ewif_l_per_kwh=cfg.ewif_l_per_kwh,
        )
    if isinstance(cfg, CsvSignals):
        sig = read_signals_csv(str(scenario.resolve_path(cfg.path)), f"region {region.id}")
        frame = sig.frame.copy()
    else:
        assert isinstance(cfg, ProfileSignals)
        zone = cfg.zone or region.zone
        if zone is None:
            raise ScenarioError(
                [
                    Problem(
                        f"regions[{region.id}].signals",
                        "no grid zone",
                        "set the region's zone or signals.zone",
                    )
                ]
            )
        try:
            frame = profiles.grid_series_from_profile(zone, start, hours, rng, cfg.noise_scale)
        except KeyError as exc:
            where = f"regions[{region.id}].signals"
            raise ScenarioError([Problem(where, str(exc.args[0]), "")]) from None
        missing = [c for c in frame.columns if frame[c].isna().any()]
        if missing:
            raise ScenarioError(
                [
                    Problem(
                        f"regions[{region.id}].signals",
                        f"the bundled profile of zone {zone} has no data for {', '.join(missing)}",
                        "use signals.source: constant or csv for this region, or another zone",
                    )
                ]
            )
    frame["carbon_g_per_kwh"] *= cfg.carbon_scale
    frame["price_usd_per_mwh"] *= cfg.price_scale
    return GridSignals(frame, f"region {region.id}")


def epoch_signals(scenario: Scenario, streams: RandomStreams, n_epochs: int) -> EpochSignals:
    """Per-epoch signals of every datacenter (from its region) and its WUE."""
    cfg = scenario.config
    start = pd.Timestamp(cfg.time.start_utc).tz_convert("UTC")
    hours = (
        math.ceil(
            (start - start.floor("h")).total_seconds() / 3600.0
            + n_epochs * cfg.time.epoch_s / 3600.0
        )
        + 1
    )
    by_region = {}
    for region in cfg.regions:
        sig = region_signals(scenario, region, hours, streams.signals[region.id])
        try:
            by_region[region.id] = sig.epoch_means(start, cfg.time.epoch_s, n_epochs)
        except TraceError as exc:
            raise TraceError(f"{exc} (region '{region.id}')") from None
    cols: dict[str, list[FloatArray]] = {
        k: []
        for k in ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c", "ewif_l_per_kwh", "wue")
    }
    for dc in cfg.datacenters:
        s = by_region[dc.region]
        for k in ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c", "ewif_l_per_kwh"):
            cols[k].append(s[k])
        if dc.water.wue_model == "constant":
            cols["wue"].append(np.full(n_epochs, dc.water.wue_l_per_kwh))
        else:
            cols["wue"].append(
                wue_from_wetbulb(
                    s["wetbulb_c"], dc.water.cycles_of_concentration, dc.water.min_wue_l_per_kwh
                )
            )
    stack = {k: np.stack(v, axis=1) for k, v in cols.items()}
    return EpochSignals(
        stack["carbon_g_per_kwh"],
        stack["price_usd_per_mwh"],
        stack["wetbulb_c"],
        stack["ewif_l_per_kwh"],
        stack["wue"],
        np.array([dc.pue for dc in cfg.datacenters]),
        np.array([dc.water.scarcity_factor for dc in cfg.datacenters]),
    )


def served_models(scenario: Scenario) -> list[str]:
    """LLMs that at least one pool with replicas serves, in order of first appearance."""
    seen: dict[str, None] = {}
    for dc in scenario.config.datacenters:
        for pool in dc.pools:
            if pool.replicas > 0:
                seen.setdefault(pool.model, None)
    return list(seen)


def build_requests(scenario: Scenario, rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    """The request table (``arrival_s, origin, model, prompt_tokens, output_tokens``, origin
    and model as indices into the region list and the returned model list) and the model ids."""
    cfg = scenario.config
    wl = cfg.workload
    region_ids = [r.id for r in cfg.regions]
    model_ids = list(wl.models) or served_models(scenario) or [cfg.datacenters[0].pools[0].model]
    for m in served_models(scenario):
        if m not in model_ids:
            model_ids.append(m)
    if isinstance(wl, TraceWorkload):
        raise ScenarioError(
            [
                Problem(
                    "workload.source",
                    "trace workloads are not available yet",
                    "use source: synthetic",
                )
            ]
        )
    assert isinstance(wl, SyntheticWorkload)
    origin_weights = (
        [wl.origins.get(r, 0.0) for r in region_ids] if wl.origins else [1.0] * len(region_ids)
    )
    coords = (
        region_coordinates(scenario)
        if any(r.latitude is not None or r.zone for r in cfg.regions)
        else {}
    )
    start = cfg.time.start_utc
    offsets = [utc_offset_h(r, start, coords.get(r.id)) for r in cfg.regions]
    start_hour = start.hour + start.minute / 60.0 + start.second / 3600.0
    arrival_s, origin = diurnal_poisson_arrivals(
        wl.rate_per_s,
        cfg.time.horizon_s,
        origin_weights,
        offsets,
        start_hour,
        wl.diurnal_amplitude,
        wl.peak_hour_local,
        rng,
    )
    n = len(arrival_s)
    shares = (
        np.array([wl.models.get(m, 0.0) for m in model_ids])
        if wl.models
        else np.ones(len(model_ids))
    )
    model = rng.choice(len(model_ids), size=n, p=shares / shares.sum()).astype(np.int64)
    if wl.prompt_tokens is None or wl.output_tokens is None:
        profile = profiles.load_request_profile(wl.profile)
        prompt, output = profiles.sample_token_lengths(profile, n, rng)
    if wl.prompt_tokens is not None:
        prompt = np.full(n, wl.prompt_tokens, dtype=np.int64)
    if wl.output_tokens is not None:
        output = np.full(n, wl.output_tokens, dtype=np.int64)
    if wl.max_prompt_tokens:
        prompt = np.minimum(prompt, wl.max_prompt_tokens)
    if wl.max_output_tokens:
        output = np.minimum(output, wl.max_output_tokens)
    # a request cannot exceed its model's context window: trim the output first, as a serving
    # engine's max_tokens would
    context = np.array([scenario.llms[m].max_context_tokens for m in model_ids])[model]
    prompt = np.minimum(prompt, context - 1)
    output = np.maximum(1, np.minimum(output, context - prompt))
    frame = pd.DataFrame(
        {
            "arrival_s": arrival_s,
            "origin": origin,
            "model": model,
            "prompt_tokens": prompt.astype(np.int64),
            "output_tokens": output.astype(np.int64),
        }
    )
    return frame, model_ids

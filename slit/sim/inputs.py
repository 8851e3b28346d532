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
from slit.models import impacts, network
from slit.models.water import wue_from_wetbulb
from slit.scenario.loader import Scenario
from slit.scenario.schema import (
    ConstantSignals,
    CsvSignals,
    FileSignals,
    GridRepairConfig,
    ProfileSignals,
    Region,
    SignalFile,
    SyntheticWorkload,
    TraceWorkload,
)
from slit.traces import profiles
from slit.traces.grid import SIGNAL_COLUMNS, GridSignals, constant_signals
from slit.traces.grid_readers import GridRepair, check_covers, read_grid
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
        return impacts.carbon_g_per_it_kwh(self.carbon_g_per_kwh, self.pue)

    @property
    def water_l_per_it_kwh(self) -> FloatArray:
        """Water of one more kWh of IT energy: (WUE + PUE x EWIF) x scarcity, L/kWh."""
        return impacts.water_l_per_it_kwh(
            self.wue_l_per_kwh, self.ewif_l_per_kwh, self.pue, self.scarcity
        )

    @property
    def price_usd_per_it_mwh(self) -> FloatArray:
        """Cost of one more MWh of IT energy: PUE x price, USD/MWh."""
        return impacts.price_usd_per_it_mwh(self.price_usd_per_mwh, self.pue)


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


def _cloud_rtt_ms(scenario: Scenario, log: list[str]) -> FloatArray:
    """``[region, region]`` RTT from a measured cloud table between the regions' zones."""
    from slit.models import cloud_rtt

    net = scenario.config.network
    regions = scenario.config.regions
    missing = [f"regions[{i}]" for i, r in enumerate(regions) if r.zone is None]
    if missing:
        raise ScenarioError(
            [
                Problem(
                    w,
                    "no zone, which the 'cloud' latency model needs",
                    "set the region's zone, or use network.latency: distance",
                )
                for w in missing
            ]
        )
    zones = list(dict.fromkeys(str(r.zone) for r in regions))
    if net.rtt_table is None:
        if net.cloud_provider != "azure":
            raise ScenarioError(
                [
                    Problem(
                        "network.rtt_table",
                        f"no bundled table for '{net.cloud_provider}'",
                        "give the provider's RTT file in network.rtt_table, or use azure",
                    )
                ]
            )
        table = profiles.load_zone_rtt_table()
        pivot = table.pivot(index="src_zone", columns="dst_zone", values="rtt_ms")
        zone_rtt = pivot.loc[zones, zones].to_numpy(float)
        fell = [
            f"{a}<->{b}"
            for a, b, m in zip(table["src_zone"], table["dst_zone"], table["method"], strict=True)
            if m == "distance" and a < b and a in zones and b in zones
        ]
        source = "bundled Azure P95 zone table"
    else:
        path = scenario.resolve_path(net.rtt_table, "network.rtt_table")
        matrix = cloud_rtt.read_rtt_matrix(path, net.cloud_provider)
        zone_rtt, fell = cloud_rtt.zone_rtt_ms(
            zones,
            matrix,
            net.cloud_provider,
            fallback=net.cloud_fallback,
            route_factor=net.route_factor,
            fibre_km_per_ms=net.fibre_km_per_ms,
            base_rtt_ms=net.base_rtt_ms,
        )
        source = path.name
    if fell:
        if net.cloud_fallback == "error":
            raise ScenarioError(
                [
                    Problem(
                        "network",
                        f"{source} has no RTT for {', '.join(fell)}",
                        "set network.cloud_fallback: distance, or use another table",
                    )
                ]
            )
        log.append(f"network: {source} lacks {', '.join(fell)}; the distance model was used")
    idx = [zones.index(str(r.zone)) for r in regions]
    rtt = zone_rtt[np.ix_(idx, idx)]
    # two regions in one zone sit in the same metro: the intra-region base RTT
    same = np.equal.outer(idx, idx)
    rtt[same] = np.where(np.eye(len(idx), dtype=bool)[same], rtt[same], net.base_rtt_ms)
    return rtt


def rtt_between_regions(scenario: Scenario, log: list[str] | None = None) -> FloatArray:
    """``[region, region]`` RTT, ms, by the scenario's network model.

    Pairs that a measured table lacks (and took the distance model) are appended to ``log``.
    """
    log = [] if log is None else log
    net = scenario.config.network
    ids = [r.id for r in scenario.config.regions]
    if net.latency == "cloud":
        return _cloud_rtt_ms(scenario, log)
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


_SIGNAL_COLUMN = {
    "carbon": "carbon_g_per_kwh",
    "price": "price_usd_per_mwh",
    "wetbulb": "wetbulb_c",
    "ewif": "ewif_l_per_kwh",
}


def _profile_frame(
    region: Region,
    zone: str | None,
    start: pd.Timestamp,
    hours: int,
    rng: np.random.Generator,
    noise_scale: float,
    where: str,
    needed: tuple[str, ...] = SIGNAL_COLUMNS,
) -> pd.DataFrame:
    """Hourly series drawn from the bundled profile of ``zone`` (its ``needed`` columns)."""
    if zone is None:
        raise ScenarioError(
            [
                Problem(
                    where,
                    "no grid zone for the bundled profile",
                    "set the region's zone or signals.zone, or give every signal",
                )
            ]
        )
    try:
        frame = profiles.grid_series_from_profile(zone, start, hours, rng, noise_scale)
    except KeyError as exc:
        raise ScenarioError([Problem(where, str(exc.args[0]), "")]) from None
    missing = [c for c in needed if frame[c].isna().any()]
    if missing:
        raise ScenarioError(
            [
                Problem(
                    where,
                    f"the bundled profile of zone {zone} has no data for {', '.join(missing)}",
                    "give these signals as files or constants, or use another zone",
                )
            ]
        )
    return frame


def _shift_years(frame: pd.DataFrame, years: int) -> pd.DataFrame:
    """Move an hourly frame by whole calendar years; 29 February is dropped or filled."""
    idx = pd.DatetimeIndex(frame.index + pd.DateOffset(years=years), name="time_utc")
    moved = frame.set_axis(idx)
    moved = moved[~moved.index.duplicated(keep="first")]
    full = pd.date_range(moved.index[0], moved.index[-1], freq="h", name="time_utc")
    return moved.reindex(full).ffill()


def _file_series(
    scenario: Scenario,
    where: str,
    name: str,
    spec: SignalFile,
    repair: GridRepairConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
    log: list[str],
) -> pd.Series:
    """One signal read from a file, checked to cover ``[start, end)``."""
    path = scenario.resolve_path(spec.path, f"{where}.path")
    label = f"{path.name} ({where})"
    frame = read_grid(
        path, spec.format, label=label, repair=GridRepair(**repair.model_dump()), **spec.options
    )
    log.extend(frame.attrs.get("repairs", []))
    column = spec.column or _SIGNAL_COLUMN[name]
    if column not in frame.columns:
        raise TraceError(
            f"{label}: format '{spec.format}' gives no column '{column}'; it gives "
            f"{', '.join(map(str, frame.columns))}. Set {where}.column to one of them"
        )
    if spec.shift_years:
        frame = _shift_years(frame, spec.shift_years)
        log.append(f"{label}: times moved by {spec.shift_years} year(s)")
    check_covers(frame, start, end, label)
    return frame[column].astype(float)


def region_signals(
    scenario: Scenario,
    region: Region,
    hours: int,
    rng: np.random.Generator,
    log: list[str] | None = None,
) -> GridSignals:
    """Hourly grid signals of a region covering ``hours`` hours from the scenario start.

    Repairs of input files and signals taken from a profile are appended to ``log``.
    """
    log = [] if log is None else log
    start = pd.Timestamp(scenario.config.time.start_utc).tz_convert("UTC").floor("h")
    cfg = region.signals
    i = scenario.config.regions.index(region)
    where = f"regions[{i}].signals"
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
        path = scenario.resolve_path(cfg.path, f"{where}.path")
        label = f"{path.name} ({where})"
        grid = read_grid(path, "csv", label=label, repair=GridRepair(**cfg.repair.model_dump()))
        log.extend(grid.attrs.get("repairs", []))
        missing = [c for c in SIGNAL_COLUMNS if c not in grid.columns]
        if missing:
            raise TraceError(
                f"{label}: missing column(s) {', '.join(missing)}; a signals CSV needs "
                f"time_utc and {', '.join(SIGNAL_COLUMNS)} (or use source: files to give them "
                "one by one)"
            )
        end = start + pd.Timedelta(hours=hours)
        check_covers(grid, start, end, label)
        frame = grid.loc[start : end - pd.Timedelta(hours=1), list(SIGNAL_COLUMNS)].copy()
    elif isinstance(cfg, FileSignals):
        idx = pd.date_range(start, periods=hours, freq="h", name="time_utc")
        end = idx[-1] + pd.Timedelta(hours=1)
        frame = pd.DataFrame(index=idx)
        from_profile = []
        for name, column in _SIGNAL_COLUMN.items():
            spec = getattr(cfg, name)
            if isinstance(spec, SignalFile):
                series = _file_series(
                    scenario, f"{where}.{name}", name, spec, cfg.repair, start, end, log
                )
                frame[column] = series.reindex(idx).to_numpy()
            elif spec is not None:
                frame[column] = float(spec)
            else:
                from_profile.append(column)
        if from_profile:
            zone = cfg.zone or region.zone
            drawn = _profile_frame(
                region, zone, start, hours, rng, cfg.noise_scale, where, tuple(from_profile)
            )
            for column in from_profile:
                frame[column] = drawn[column].to_numpy()
            log.append(
                f"region {region.id}: {', '.join(from_profile)} drawn from the profile of "
                f"zone {zone}"
            )
    else:
        assert isinstance(cfg, ProfileSignals)
        frame = _profile_frame(
            region, cfg.zone or region.zone, start, hours, rng, cfg.noise_scale, where
        )
    frame["carbon_g_per_kwh"] *= cfg.carbon_scale
    frame["price_usd_per_mwh"] *= cfg.price_scale
    return GridSignals(frame[list(SIGNAL_COLUMNS)], f"region {region.id}")


def epoch_signals(
    scenario: Scenario, streams: RandomStreams, n_epochs: int, log: list[str] | None = None
) -> EpochSignals:
    """Per-epoch signals of every datacenter (from its region) and its WUE.

    Repairs of input files and signals drawn from profiles are appended to ``log``.
    """
    cfg = scenario.config
    start = pd.Timestamp(cfg.time.start_utc).tz_convert("UTC")
    hours = math.ceil(
        (start - start.floor("h")).total_seconds() / 3600.0
        + n_epochs * cfg.time.epoch_s / 3600.0
        - 1e-9
    )
    by_region = {}
    for region in cfg.regions:
        sig = region_signals(scenario, region, hours, streams.signals[region.id], log)
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
                    s["wetbulb_c"],
                    dc.water.cycles_of_concentration,
                    dc.water.min_wue_l_per_kwh,
                    dc.water.wue_scale,
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


def _draw(rng: np.random.Generator, n: int, weights: list[float]) -> npt.NDArray[np.int64]:
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int64)


def _trace_requests(
    scenario: Scenario,
    wl: TraceWorkload,
    rng: np.random.Generator,
    model_ids: list[str],
    log: list[str],
) -> pd.DataFrame:
    """Arrivals, origins, models and sizes replayed from the workload's trace file."""
    from slit.traces import requests as request_traces  # only trace workloads need it

    cfg = scenario.config
    region_ids = [r.id for r in cfg.regions]
    path = scenario.resolve_path(wl.path, "workload.path")
    label = f"{path.name} (workload.path)"
    if not path.exists():
        raise TraceError(
            str(
                Problem(
                    f"{wl.path} (workload.path)",
                    f"file not found ({path})",
                    "check the path, which is resolved relative to the scenario file",
                )
            )
        )
    trace = request_traces.read_requests(
        path, wl.format, label=label, sort=wl.sort, where=f"{path} (workload.path)", **wl.options
    )
    log.extend(trace.attrs.get("repairs", []))
    if wl.skip_s:
        trace = request_traces.window(trace, wl.skip_s, math.inf, rebase=True)
    if wl.rate_scale != 1.0:
        trace = request_traces.scale_rate(trace, wl.rate_scale)
    span_s = cfg.time.horizon_s - wl.time_shift_s
    if span_s <= 0:
        raise ScenarioError(
            [
                Problem(
                    "workload.time_shift_s",
                    f"{wl.time_shift_s:g} s is past the horizon ({cfg.time.horizon_s:g} s)",
                    "make it shorter than time.horizon_s",
                )
            ]
        )
    if wl.replay == "tile":
        trace = request_traces.tile(trace, span_s)
    elif wl.replay == "resample":
        trace = request_traces.resample(trace, span_s, rng)
    else:
        request_traces.check_covers(trace, span_s)
    trace = trace[trace["arrival_s"].to_numpy() < span_s]
    if wl.time_shift_s:
        trace = request_traces.time_shift(trace, wl.time_shift_s)
    log.extend(f"{label}: {t}" for t in trace.attrs.get("transforms", []))
    n = len(trace)

    if "origin" in trace.columns:
        names = trace["origin"].astype(str)
        unknown = sorted(set(names) - set(region_ids))
        if unknown:
            raise TraceError(
                f"{label}: column 'origin' names unknown region(s) {', '.join(unknown[:5])}; "
                f"valid: {', '.join(region_ids)}. Rename them in the file or the scenario"
            )
        origin = names.map({r: i for i, r in enumerate(region_ids)}).to_numpy(np.int64)
    else:
        origin = _draw(
            rng,
            n,
            [wl.origins.get(r, 0.0) for r in region_ids] if wl.origins else [1.0] * len(region_ids),
        )

    model: npt.NDArray[np.int64] | None = None
    if "model" in trace.columns:
        names = trace["model"].astype(str).map(lambda m: wl.model_map.get(m, m))
        unknown = sorted(set(names) - set(scenario.llms))
        if not unknown:
            for m in dict.fromkeys(names):
                if m not in model_ids:
                    model_ids.append(m)
            model = np.asarray(names.map({m: i for i, m in enumerate(model_ids)}), np.int64)
        elif wl.model_map:
            raise TraceError(
                f"{label}: model name(s) {', '.join(unknown[:5])} in column 'model' have no "
                "entry in workload.model_map; map every name the trace uses to an LLM id"
            )
        else:
            log.append(
                f"{label}: the trace's model names ({', '.join(unknown[:3])}) are not LLM ids; "
                "models drawn from workload.models instead (set workload.model_map to keep them)"
            )
    if model is None:
        shares = [wl.models.get(m, 0.0) for m in model_ids] if wl.models else [1.0] * len(model_ids)
        model = _draw(rng, n, shares)
    return pd.DataFrame(
        {
            "arrival_s": trace["arrival_s"].to_numpy(float),
            "origin": origin,
            "model": model,
            "prompt_tokens": trace["prompt_tokens"].to_numpy(np.int64),
            "output_tokens": trace["output_tokens"].to_numpy(np.int64),
        }
    )


def _synthetic_requests(
    scenario: Scenario, wl: SyntheticWorkload, rng: np.random.Generator, model_ids: list[str]
) -> pd.DataFrame:
    """Diurnal Poisson arrivals with token lengths from a bundled profile."""
    cfg = scenario.config
    region_ids = [r.id for r in cfg.regions]
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
    model = _draw(
        rng, n, [wl.models.get(m, 0.0) for m in model_ids] if wl.models else [1.0] * len(model_ids)
    )
    if wl.prompt_tokens is None or wl.output_tokens is None:
        profile = profiles.load_request_profile(wl.profile)
        prompt, output = profiles.sample_token_lengths(profile, n, rng)
    if wl.prompt_tokens is not None:
        prompt = np.full(n, wl.prompt_tokens, dtype=np.int64)
    if wl.output_tokens is not None:
        output = np.full(n, wl.output_tokens, dtype=np.int64)
    return pd.DataFrame(
        {
            "arrival_s": arrival_s,
            "origin": origin,
            "model": model,
            "prompt_tokens": prompt,
            "output_tokens": output,
        }
    )


def build_requests(
    scenario: Scenario, rng: np.random.Generator, log: list[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The request table (``arrival_s, origin, model, prompt_tokens, output_tokens``, origin
    and model as indices into the region list and the returned model list) and the model ids.

    Repairs and transforms of a trace file are appended to ``log``.
    """
    log = [] if log is None else log
    cfg = scenario.config
    wl = cfg.workload
    model_ids = list(wl.models) or served_models(scenario) or [cfg.datacenters[0].pools[0].model]
    for m in served_models(scenario):
        if m not in model_ids:
            model_ids.append(m)
    if isinstance(wl, TraceWorkload):
        frame = _trace_requests(scenario, wl, rng, model_ids, log)
    else:
        assert isinstance(wl, SyntheticWorkload)
        frame = _synthetic_requests(scenario, wl, rng, model_ids)
    model = frame["model"].to_numpy()
    prompt = frame["prompt_tokens"].to_numpy(np.int64)
    output = frame["output_tokens"].to_numpy(np.int64)
    if wl.max_prompt_tokens:
        prompt = np.minimum(prompt, wl.max_prompt_tokens)
    if wl.max_output_tokens:
        output = np.minimum(output, wl.max_output_tokens)
    # a request cannot exceed its model's context window: trim the output first, as a serving
    # engine's max_tokens would; every request asks for at least one token
    context = np.array([scenario.llms[m].max_context_tokens for m in model_ids])[model]
    if (prompt < 1).any():
        log.append(
            f"workload: {int((prompt < 1).sum())} request(s) with an empty prompt "
            "given 1 prompt token"
        )
    prompt = np.maximum(1, np.minimum(prompt, context - 1))
    output = np.maximum(1, np.minimum(output, context - prompt))
    frame["prompt_tokens"] = prompt.astype(np.int64)
    frame["output_tokens"] = output.astype(np.int64)
    return frame, model_ids


def check_inputs(scenario: Scenario) -> list[str]:
    """Build every input of a run (requests, signals, RTTs) without simulating.

    Reads every file the scenario names, so that a missing file, a bad value or a trace that
    does not cover the horizon is found by ``slit validate``. Returns the input log (repairs,
    transforms, signals drawn from profiles).

    Raises:
        ScenarioError, TraceError: as the run itself would.
    """
    cfg = scenario.config
    log: list[str] = []
    streams = RandomStreams.from_seed(cfg.seed, [r.id for r in cfg.regions])
    build_requests(scenario, streams.workload, log)
    end_s = cfg.time.horizon_s + cfg.time.drain_s
    epoch_signals(scenario, streams, max(1, math.ceil(end_s / cfg.time.epoch_s - 1e-9)), log)
    rtt_between_regions(scenario, log)
    return log

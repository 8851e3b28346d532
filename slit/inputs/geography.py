"""Where the regions are and how far apart: coordinates, local time and the RTT matrix."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from slit.catalogue.regions import load_region_catalog
from slit.errors import Problem, ScenarioError
from slit.models import network
from slit.scenario.loader import Scenario
from slit.scenario.schema import Region
from slit.traces import profiles

FloatArray = npt.NDArray[np.float64]


def _zone_info(region: Region) -> dict[str, object]:
    if region.zone is None:
        return {}
    return load_region_catalog()[region.zone]


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

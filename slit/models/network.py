"""Network latency between regions, as a networkx graph whose shortest paths give RTTs.

Three models:

* ``distance``: ``RTT = base + 2 * d_gc * route_factor / v_fibre`` for great-circle distance
  ``d_gc`` (haversine), fibre route factor (>= 1) and light speed in fibre (~204 km/ms).
* ``hops`` (the SLIT paper): regions linked by a graph; ``RTT = base + 2 * hops * K_media``, where
  the paper's migration time ``F_migrate = R(ls, ld) * K_media`` is one way.
* ``rtt_matrix``: measured RTTs between region pairs; pairs without a measurement are routed
  through the graph of measured links (shortest path).

The delay a request sees before its first token reaches the user is the RTT plus the prompt's
transfer time ``bytes / bandwidth``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import networkx as nx
import numpy as np
import numpy.typing as npt

EARTH_RADIUS_KM = 6371.0


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees (haversine), km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_graph(
    coords: Mapping[str, tuple[float, float]],
    route_factor: float = 1.6,
    fibre_km_per_ms: float = 204.0,
) -> nx.Graph:
    """Complete graph of regions; edge ``rtt_ms`` from great-circle distance (no base RTT)."""
    g = nx.Graph()
    g.add_nodes_from(coords)
    names = list(coords)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d = great_circle_km(*coords[a], *coords[b])
            g.add_edge(a, b, rtt_ms=2.0 * d * route_factor / fibre_km_per_ms)
    return g


def hops_graph(
    regions: Iterable[str], links: Iterable[tuple[str, str]], k_media_ms: float
) -> nx.Graph:
    """Graph of region links, each hop costing ``2 * K_media`` of round trip."""
    g = nx.Graph()
    g.add_nodes_from(regions)
    for a, b in links:
        g.add_edge(a, b, rtt_ms=2.0 * k_media_ms)
    return g


def measured_graph(regions: Iterable[str], rtt_ms: Mapping[str, Mapping[str, float]]) -> nx.Graph:
    """Graph of measured RTTs; an asymmetric pair keeps the mean of both directions."""
    g = nx.Graph()
    g.add_nodes_from(regions)
    for a, row in rtt_ms.items():
        for b, value in row.items():
            if a == b:
                continue
            if g.has_edge(a, b):
                g[a][b]["rtt_ms"] = (g[a][b]["rtt_ms"] + value) / 2.0
            else:
                g.add_edge(a, b, rtt_ms=float(value))
    return g


def rtt_matrix_ms(
    graph: nx.Graph, order: Sequence[str], base_rtt_ms: float
) -> npt.NDArray[np.float64]:
    """RTT between every pair of ``order`` (shortest path + base), ms; ``inf`` if unreachable."""
    index = {name: i for i, name in enumerate(order)}
    out = np.full((len(order), len(order)), np.inf)
    for src, lengths in nx.all_pairs_dijkstra_path_length(graph, weight="rtt_ms"):
        if src not in index:
            continue
        for dst, length in lengths.items():
            if dst in index:
                out[index[src], index[dst]] = base_rtt_ms + length
    return out


def transfer_time_s(
    n_tokens: npt.ArrayLike, bytes_per_token: float, bandwidth_gbit_per_s: float
) -> npt.NDArray[np.float64]:
    """Time to send ``n_tokens`` prompt tokens over a link, s."""
    bits = np.asarray(n_tokens, float) * bytes_per_token * 8.0
    return bits / (bandwidth_gbit_per_s * 1e9)

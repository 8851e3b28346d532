"""Build the bundled zone-to-zone RTT table (``traces/zone_rtt_azure_p95.csv``) from the
Azure inter-region P95 table in a raw-data folder (offline; ``slit traces build`` calls it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from slit.errors import SlitError
from slit.models.cloud_rtt import (
    DEFAULT_BASE_RTT_MS,
    RTT_FILES,
    ZONE_RTT_COLUMNS,
    cloud_region_for_zone,
    fit_distance_model,
    pair_label,
    read_rtt_matrix,
    zone_rtt_ms,
)


def derive_zone_rtt_table(
    data_dir: Path | str,
    zones: Sequence[str] | None = None,
    *,
    route_factor: float = 1.6,
    fibre_km_per_ms: float = 204.0,
    base_rtt_ms: float = DEFAULT_BASE_RTT_MS,
    fit_fallback: bool = True,
) -> pd.DataFrame:
    """Zone-by-zone RTT from the Azure P95 table (CC-BY-4.0) with the distance fallback.

    With ``fit_fallback`` (default) the pairs the table lacks use the line of
    :func:`fit_distance_model` fitted to the table's own measured pairs; otherwise the fibre
    model with ``route_factor``, ``fibre_km_per_ms`` and ``base_rtt_ms``.

    Args:
        data_dir: the raw-data folder holding ``network/latency/azure_interregion_rtt_p95_ms.csv``.
        zones: grid zones; default all bundled zones, sorted.

    Returns:
        Long format, one row per ordered pair (diagonal included), sorted by ``src_zone`` and
        ``dst_zone``, columns :data:`ZONE_RTT_COLUMNS`: ``rtt_ms``, ``provider`` ``"azure"``,
        ``statistic`` ``"p95"`` and ``method``: ``"measured"`` (from the table), ``"distance"``
        (the distance model) or ``"base"`` (same zone: ``base_rtt_ms``, as the Azure table has
        no intra-region value).
    """
    from slit.catalogue import load_region_catalog

    matrix = read_rtt_matrix(Path(data_dir) / RTT_FILES["azure"], "azure")
    zones = sorted(load_region_catalog()) if zones is None else [str(z) for z in zones]
    if fit_fallback:
        # Pairs the table lacks follow the line fitted to the pairs it has, which is about
        # 10 ms closer to measured RTTs than the plain fibre model; same-zone pairs keep the base.
        intercept, slope, _ = fit_distance_model(matrix, "azure")
        rtt, fell_back = zone_rtt_ms(
            zones,
            matrix,
            "azure",
            route_factor=slope * fibre_km_per_ms / 2.0,
            fibre_km_per_ms=fibre_km_per_ms,
            base_rtt_ms=intercept,
        )
        np.fill_diagonal(rtt, base_rtt_ms)
    else:
        rtt, fell_back = zone_rtt_ms(
            zones,
            matrix,
            "azure",
            route_factor=route_factor,
            fibre_km_per_ms=fibre_km_per_ms,
            base_rtt_ms=base_rtt_ms,
        )
    estimated = set(fell_back)
    diag = np.diag(matrix.to_numpy(dtype=float))
    intra = {str(n): float(v) for n, v in zip(matrix.index, diag, strict=True)}
    rows = []
    for i, a in enumerate(zones):
        for j, b in enumerate(zones):
            if i == j:
                region = cloud_region_for_zone(a, "azure")
                measured = region is not None and math.isfinite(intra.get(region, math.nan))
                method = "measured" if measured else "base"
            else:
                key = pair_label(zones[min(i, j)], zones[max(i, j)])
                method = "distance" if key in estimated else "measured"
            rows.append((a, b, float(rtt[i, j]), "azure", matrix.attrs["statistic"], method))
    out = pd.DataFrame(rows, columns=list(ZONE_RTT_COLUMNS))
    return out.sort_values(["src_zone", "dst_zone"], ignore_index=True)


def write_zone_rtt_table(df: pd.DataFrame, path: Path | str) -> Path:
    """Write a :func:`derive_zone_rtt_table` result as CSV, deterministically.

    Rows sorted by ``src_zone``, ``dst_zone``; ``rtt_ms`` rounded to 0.1 ms; ``\\n`` line
    endings; UTF-8. Returns the path written.
    """
    missing = [c for c in ZONE_RTT_COLUMNS if c not in df.columns]
    if missing:
        raise SlitError(f"zone RTT table lacks column(s) {missing}; expected {ZONE_RTT_COLUMNS}")
    out = df.loc[:, list(ZONE_RTT_COLUMNS)].sort_values(["src_zone", "dst_zone"])
    out = out.assign(rtt_ms=out["rtt_ms"].astype(float).round(1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, float_format="%.1f", lineterminator="\n", encoding="utf-8")
    return path

"""Scenarios shared by the benchmarks (imported by the scripts beside this file)."""

from __future__ import annotations

from typing import Any

EXTRA = [("us-south", "US-TEX-ERCO"), ("ca-east", "CA-ON"), ("ap-tokyo", "JP-TK"),
         ("sa-east", "BR-SP")]  # fmt: skip
"""The four regions added to the default's six to make ten."""


def ten_datacenter_scenario(horizon_s: float = 3600.0) -> Any:
    """The bundled default with four more regions and datacenters (Texas, Ontario, Tokyo,
    São Paulo), each with the first default datacenter's pools: 10 origins × 10 datacenters."""
    from slit.scenario.loader import load_scenario, scenario_from_dict

    raw = load_scenario(None, [f"time.horizon_s={horizon_s:.0f}"]).resolved_dict()
    template = raw["datacenters"][0]
    for rid, zone in EXTRA:
        raw["regions"].append({"id": rid, "zone": zone})
        raw["datacenters"].append(dict(template, id=f"dc-{rid}", region=rid))
        raw["workload"]["origins"][rid] = 1.0
    return scenario_from_dict(raw)

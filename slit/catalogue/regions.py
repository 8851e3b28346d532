"""The region catalogue: the grid zones slit knows, from ``regions.yaml`` of a profiles folder
(the bundled ``traces/`` by default; ``slit traces build`` writes another)."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from slit.catalogue.bundled import bundled_folder

REGIONS_FILE = "regions.yaml"


def bundled_profiles_dir() -> Path:
    """The bundled profiles folder (``traces/``, see :mod:`slit.catalogue.bundled`)."""
    return bundled_folder("traces")


def profiles_folder(profiles_dir: Path | str | None) -> Path:
    """``profiles_dir``, or the bundled profiles when it is None."""
    return bundled_profiles_dir() if profiles_dir is None else Path(profiles_dir)


# Loaded once per folder; the public loader hands out copies so that a caller cannot alter what
# the next caller sees.
@lru_cache(maxsize=8)
def regions_cached(folder: str) -> dict[str, dict[str, Any]]:
    """The zones of ``folder``'s ``regions.yaml`` keyed by zone id (shared: do not modify)."""
    doc = yaml.safe_load((Path(folder) / REGIONS_FILE).read_text(encoding="utf-8"))
    return {str(r["zone"]): r for r in doc["regions"]}


def load_region_catalog(profiles_dir: Path | str | None = None) -> dict[str, dict[str, Any]]:
    """Zones of ``regions.yaml`` keyed by zone id.

    Each entry holds ``zone``, ``display_name``, ``continent``, ``country_iso3``,
    ``latitude``/``longitude`` (degrees), ``timezone`` (IANA name), ``ewif_l_per_kwh`` (litres
    of water consumed off-site per kWh of electricity) and ``ewif_source``,
    ``carbon_g_per_kwh_annual_mean_2023`` (gCO2eq/kWh), ``has_price`` and a few more facts
    described in ``docs/traces.md``. ``profiles_dir`` defaults to the bundled profiles.
    """
    return copy.deepcopy(regions_cached(str(profiles_folder(profiles_dir))))

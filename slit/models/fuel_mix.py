"""Grid signals from an hourly generation mix: per-fuel factors weighted by generation share.

For an hour with net generation ``G_f`` (MWh) from each fuel ``f`` and a per-fuel factor ``k_f``
(gCO2e/kWh for carbon, L/kWh for water), the intensity of the mix is the generation-weighted
mean

    I = sum_f G_f * k_f / sum_f G_f

Negative net generation (a pumped-storage plant or a battery charging) is counted as zero: that
energy was not generated in the hour, and including it with a negative weight could make the
intensity negative. The factor tables live in ``slit/data/catalog/fuel_factors.yaml`` with their
sources; ``fuel_factor_tables()`` lists them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from slit.errors import TraceError

FUEL_CODES = ("COL", "NG", "NUC", "OIL", "WAT", "SUN", "WND", "OTH")
"""EIA-930 fuel codes: coal, gas, nuclear, oil, hydro, solar, wind, other."""

L_PER_KWH_PER_GAL_PER_MWH = 0.003785412
"""1 US gallon per MWh in litres per kWh."""

Quantity = Literal["carbon", "water"]


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Any]:
    text = resources.files("slit").joinpath("data/catalog/fuel_factors.yaml").read_text("utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def fuel_factor_tables(quantity: Quantity) -> dict[str, str]:
    """Names of the bundled factor tables of ``quantity`` and the source of each."""
    return {name: str(t["source"]) for name, t in _catalog()[quantity].items()}


def fuel_factors(quantity: Quantity, table: str) -> dict[str, float]:
    """Per-fuel factors of one bundled table: gCO2e/kWh for carbon, L/kWh for water.

    Raises:
        TraceError: if the table does not exist (the message lists the tables that do).
    """
    tables = _catalog()[quantity]
    if table not in tables:
        raise TraceError(
            f"unknown {quantity} factor table '{table}'; valid: {', '.join(sorted(tables))}"
        )
    entry = tables[table]
    if "carbon_g_per_kwh" in entry:
        return {k: float(v) for k, v in entry["carbon_g_per_kwh"].items()}
    return {k: float(v) * L_PER_KWH_PER_GAL_PER_MWH for k, v in entry["gal_per_mwh"].items()}


def mix_intensity(generation_mwh: pd.DataFrame, factors: dict[str, float]) -> pd.Series:
    """Generation-weighted mean of ``factors`` for each row of ``generation_mwh``.

    Args:
        generation_mwh: one column per fuel code (MWh per hour); other columns are ignored.
        factors: per-fuel factor; every fuel column present must have one.

    Returns:
        The intensity per row, in the factors' unit per kWh. A row with no generation is NaN.
    """
    fuels = [c for c in generation_mwh.columns if c in FUEL_CODES]
    missing = [f for f in fuels if f not in factors]
    if missing:
        raise TraceError(
            f"no factor for fuel(s) {', '.join(missing)}; the table covers "
            f"{', '.join(sorted(factors))}"
        )
    gen = generation_mwh[fuels].to_numpy(float).clip(min=0.0)
    k = np.array([factors[f] for f in fuels])
    total = gen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total > 0, gen @ k / total, np.nan)
    return pd.Series(value, index=generation_mwh.index)


def carbon_from_fuel_mix(generation_mwh: pd.DataFrame, table: str = "ipcc2014") -> pd.Series:
    """Carbon intensity of each hour's mix, gCO2e/kWh (see :func:`mix_intensity`)."""
    return mix_intensity(generation_mwh, fuel_factors("carbon", table))


def ewif_from_fuel_mix(generation_mwh: pd.DataFrame, table: str = "li2023") -> pd.Series:
    """Water consumed per kWh generated (EWIF) of each hour's mix, L/kWh.

    ``table`` is ``li2023`` (hydro counted as zero) or ``macknick2012`` (hydro reservoir
    evaporation counted); see ``docs/models.md``.
    """
    return mix_intensity(generation_mwh, fuel_factors("water", table))

"""Physical ranges of the signals and quantities slit reads: one home for the bounds that the
scenario schema and the data-file readers enforce.

A value outside its range is not a measurement but an error in the input (a unit mistake, a
sentinel such as 1e308, a corrupt file); each bound is wide enough for every real grid, market
and climate, and says why it is where it is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Closed interval ``[lo, hi]`` of a quantity, with its unit and the reason for the bounds."""

    lo: float
    hi: float
    unit: str
    why: str

    def describe(self) -> str:
        """The range as a message fragment, e.g. ``"[0, 3000] gCO2e/kWh"``."""
        return f"[{self.lo:g}, {self.hi:g}] {self.unit}"


SIGNAL_RANGES: dict[str, Range] = {
    "carbon_g_per_kwh": Range(0, 3000, "gCO2e/kWh", "about three times a lignite plant's"),
    "carbon_lca_g_per_kwh": Range(0, 3000, "gCO2e/kWh", "about three times a lignite plant's"),
    "marginal_carbon_g_per_kwh": Range(
        0, 3000, "gCO2e/kWh", "a marginal generator emits at most as a lignite plant, ~1,200"
    ),
    "price_usd_per_mwh": Range(
        -10_000, 100_000, "USD/MWh", "negative prices exist; markets cap scarcity far below"
    ),
    "wetbulb_c": Range(-60, 40, "°C", "the highest wet-bulb ever measured is about 35 °C"),
    "temperature_c": Range(-90, 60, "°C", "the coldest and hottest air ever measured"),
    "ewif_l_per_kwh": Range(0, 200, "L/kWh", "hydro's reservoir evaporation reaches tens"),
    "wue_l_per_kwh": Range(0, 20, "L/kWh", "evaporative cooling uses a few L/kWh at most"),
}
"""Hourly signal columns and their physical ranges (the data-file readers check every value)."""

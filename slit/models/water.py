"""Water use: on-site cooling (WUE) and off-site electricity generation (EWIF).

On-site WUE from the outdoor wet-bulb temperature, after the cooling-tower model of Li, Yang,
Islam and Ren, "Making AI Less Thirsty" (2023):

    WUE_site(T) = k * c / (c - 1) * (6e-5 T^3 - 0.01 T^2 + 0.61 T - 10.4)   [L/kWh of IT energy]

with T the wet-bulb temperature in degrees Fahrenheit, c the cycles of concentration (default
6; c/(c-1) adds the blowdown that carries the concentrated minerals away) and a floor for
free-cooling hours (default 0.05 L/kWh). With k = 1 this is the published polynomial, which
gives 4.7-7.4 L/kWh in hot humid hours. That is more than a cooling tower can evaporate: with
all IT heat (3.6 MJ per kWh) rejected by evaporating water (latent heat about 2.45 MJ/L) the
tower loses 1.47 L/kWh, or 1.76 L/kWh with the blowdown at c = 6. slit therefore uses
k = 1 / 3.517 by default, reading the polynomial per ton-hour of heat rejected (1 ton-hour =
3.517 kWh), which keeps WUE under that bound and matches the annual WUE providers report for
hot humid regions (docs/models.md has the comparison). ``wue_scale: 1`` restores the published
values.

Total water of an interval:  water = E_IT * WUE_site + E_facility * EWIF   [L]
where EWIF (L/kWh) is the water consumed to generate a kWh of the grid's electricity (see
:mod:`slit.models.fuel_mix`), optionally weighted by a water-scarcity factor.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def celsius_to_fahrenheit(t_c: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Convert degrees Celsius to degrees Fahrenheit."""
    return np.asarray(t_c, dtype=float) * 9.0 / 5.0 + 32.0


KWH_PER_TON_HOUR = 3.517
"""Heat of one ton-hour of refrigeration, kWh."""

DEFAULT_WUE_SCALE = 1.0 / KWH_PER_TON_HOUR
"""Default k of the wet-bulb WUE model: the polynomial read per ton-hour (see module doc)."""

LATENT_HEAT_MJ_PER_L = 2.45
"""Latent heat of evaporation of water near 20 °C, MJ per litre."""


def max_evaporative_wue_l_per_kwh(cycles_of_concentration: float = 6.0) -> float:
    """Physical bound of on-site WUE: all IT heat rejected by evaporation, plus blowdown, L/kWh."""
    c = cycles_of_concentration
    return c / (c - 1.0) * 3.6 / LATENT_HEAT_MJ_PER_L


def wue_from_wetbulb(
    wetbulb_c: npt.ArrayLike,
    cycles_of_concentration: float = 6.0,
    min_wue_l_per_kwh: float = 0.05,
    scale: float = DEFAULT_WUE_SCALE,
) -> npt.NDArray[np.float64]:
    """On-site water usage effectiveness from wet-bulb temperature (Li et al. 2023), L/kWh.

    Args:
        wetbulb_c: outdoor wet-bulb temperature, degrees C (scalar or array).
        cycles_of_concentration: cooling-tower cycles of concentration (> 1).
        min_wue_l_per_kwh: floor for cold hours, when free cooling needs little water.
        scale: k of the module doc; 1 gives the published polynomial.
    """
    if cycles_of_concentration <= 1:
        raise ValueError(f"cycles_of_concentration must be > 1, got {cycles_of_concentration}")
    t = celsius_to_fahrenheit(wetbulb_c)
    evaporation = 6e-5 * t**3 - 0.01 * t**2 + 0.61 * t - 10.4
    wue = scale * cycles_of_concentration / (cycles_of_concentration - 1.0) * evaporation
    return np.maximum(wue, min_wue_l_per_kwh)


def water_l(
    it_energy_kwh: npt.ArrayLike,
    facility_energy_kwh: npt.ArrayLike,
    wue_l_per_kwh: npt.ArrayLike,
    ewif_l_per_kwh: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """On-site and off-site water consumption, L: ``(E_IT * WUE, E_facility * EWIF)``."""
    onsite = np.asarray(it_energy_kwh, float) * np.asarray(wue_l_per_kwh, float)
    offsite = np.asarray(facility_energy_kwh, float) * np.asarray(ewif_l_per_kwh, float)
    return onsite, offsite

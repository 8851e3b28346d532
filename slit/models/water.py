"""Water use: on-site cooling (WUE) and off-site electricity generation (EWIF).

On-site WUE from the outdoor wet-bulb temperature, the cooling-tower model of Li, Yang, Islam and
Ren, "Making AI Less Thirsty" (2023):

    WUE_site(T) = c / (c - 1) * (6e-5 T^3 - 0.01 T^2 + 0.61 T - 10.4)   [L/kWh of IT energy]

with T the wet-bulb temperature in degrees Fahrenheit and c the cycles of concentration (default
6), floored at a minimum for free-cooling hours (default 0.05 L/kWh).

Total water of an interval:  water = E_IT * WUE_site + E_facility * EWIF   [L]
where EWIF (L/kWh) is the water consumed to generate a kWh of the grid's electricity.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def celsius_to_fahrenheit(t_c: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Convert degrees Celsius to degrees Fahrenheit."""
    return np.asarray(t_c, dtype=float) * 9.0 / 5.0 + 32.0


def wue_from_wetbulb(
    wetbulb_c: npt.ArrayLike, cycles_of_concentration: float = 6.0, min_wue_l_per_kwh: float = 0.05
) -> npt.NDArray[np.float64]:
    """On-site water usage effectiveness from wet-bulb temperature (Li et al. 2023), L/kWh.

    Args:
        wetbulb_c: outdoor wet-bulb temperature, degrees C (scalar or array).
        cycles_of_concentration: cooling-tower cycles of concentration (> 1).
        min_wue_l_per_kwh: floor for cold hours, when free cooling needs little water.
    """
    if cycles_of_concentration <= 1:
        raise ValueError(f"cycles_of_concentration must be > 1, got {cycles_of_concentration}")
    t = celsius_to_fahrenheit(wetbulb_c)
    evaporation = 6e-5 * t**3 - 0.01 * t**2 + 0.61 * t - 10.4
    wue = cycles_of_concentration / (cycles_of_concentration - 1.0) * evaporation
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

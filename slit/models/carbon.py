"""Operational carbon: facility energy times the grid's carbon intensity at that time.

carbon_kg = E_facility [kWh] * CI [gCO2/kWh] / 1000
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def carbon_kg(
    facility_energy_kwh: npt.ArrayLike, carbon_g_per_kwh: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Operational emissions of ``facility_energy_kwh`` at intensity ``carbon_g_per_kwh``, kg."""
    return np.asarray(facility_energy_kwh, float) * np.asarray(carbon_g_per_kwh, float) / 1000.0

"""Electricity cost: facility energy times the electricity price at that time.

cost_usd = E_facility [kWh] * price [USD/MWh] / 1000
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def cost_usd(
    facility_energy_kwh: npt.ArrayLike, price_usd_per_mwh: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Cost of ``facility_energy_kwh`` at ``price_usd_per_mwh`` (may be negative), USD."""
    return np.asarray(facility_energy_kwh, float) * np.asarray(price_usd_per_mwh, float) / 1000.0

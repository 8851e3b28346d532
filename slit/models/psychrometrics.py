"""Moist-air relations needed by the water model: wet-bulb temperature from T and RH."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

STULL_VALID_T_C = (-20.0, 50.0)
"""Air-temperature range over which Stull (2011) states the fit, °C."""
STULL_VALID_RH_PCT = (5.0, 99.0)
"""Relative-humidity range over which Stull (2011) states the fit, %."""


def wetbulb_stull_c(temp_c: npt.ArrayLike, rh_pct: npt.ArrayLike) -> Any:
    """Wet-bulb temperature (°C) from air temperature (°C) and relative humidity (%).

    Uses the empirical fit of Stull (2011), *Wet-Bulb Temperature from Relative Humidity and
    Air Temperature*, J. Appl. Meteor. Climatol. 50, 2267–2269, at standard sea-level pressure:

        Tw = T·atan(0.151977·(RH + 8.313659)^½) + atan(T + RH) − atan(RH − 1.676331)
             + 0.00391838·RH^{3/2}·atan(0.023101·RH) − 4.686035

    with angles in radians. The fit is stated for RH 5–99 % and T −20…50 °C, where its error is
    within about −1…+0.65 °C; outside that range it is extrapolated unchanged. Accepts scalars
    or arrays (broadcast) and returns a float for scalar input, else a float array.
    """
    t = np.asarray(temp_c, dtype=float)
    rh = np.asarray(rh_pct, dtype=float)
    tw = (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )
    return float(tw) if tw.ndim == 0 else tw

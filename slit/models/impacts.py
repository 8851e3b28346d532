"""Impacts of energy: carbon, water and electricity cost. The one home of their equations; the
simulator (per request and per epoch), the scenario inputs and the fast evaluator call these.

A datacenter with power usage effectiveness ``PUE`` turns IT energy ``E_IT`` into facility
energy ``E_fac = PUE * E_IT``. At grid carbon intensity ``CI`` (gCO2/kWh), electricity price
``p`` (USD/MWh), on-site water usage effectiveness ``WUE`` (L per kWh of IT energy),
off-site water intensity of electricity ``EWIF`` (L per kWh of electricity) and a water
scarcity factor ``s``:

    carbon_kg = E_fac [kWh] * CI / 1000
    cost_usd  = E_fac [kWh] * p / 1000
    water_l   = (E_IT * WUE + E_fac * EWIF) * s       (on-site + off-site)

so one more kWh of IT energy costs ``PUE * CI`` g of CO2, ``PUE * p`` USD per MWh and
``(WUE + PUE * EWIF) * s`` L of water (the ``*_per_it_*`` factors). The operations are written in
one order everywhere, so the same inputs give the same bits wherever they are computed.
``CI`` is the intensity the scenario's ``carbon.intensity`` chooses: the grid's average, or its
marginal intensity.

Embodied carbon (manufacturing of the GPUs and their servers) is amortised linearly over a
lifetime ``L`` (years) and charged per GPU-hour provisioned:

    carbon_embodied_kg = gpu_hours * (E_gpu + E_server) / (L * 8766 h)

with ``E_gpu`` the GPU's embodied carbon (GPU catalogue) and ``E_server`` the non-GPU server
share per GPU, kg CO2e.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

J_PER_KWH = 3.6e6
"""Joules in a kilowatt-hour."""

HOURS_PER_YEAR = 8766.0
"""Hours in a mean (Julian) year, 365.25 days: what an amortisation lifetime in years holds."""

Num = Any
"""A float or a float array (the factors are computed per epoch and datacenter, or per value)."""


def carbon_kg(
    facility_energy_kwh: npt.ArrayLike, carbon_g_per_kwh: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Operational emissions of ``facility_energy_kwh`` at intensity ``carbon_g_per_kwh``, kg."""
    return np.asarray(facility_energy_kwh, float) * np.asarray(carbon_g_per_kwh, float) / 1000.0


def cost_usd(
    facility_energy_kwh: npt.ArrayLike, price_usd_per_mwh: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Cost of ``facility_energy_kwh`` at ``price_usd_per_mwh`` (may be negative), USD."""
    return np.asarray(facility_energy_kwh, float) * np.asarray(price_usd_per_mwh, float) / 1000.0


def water_onsite_l(it_energy_kwh: Num, wue_l_per_kwh: Num, scarcity: float) -> Num:
    """Water evaporated on site to cool ``it_energy_kwh`` of IT energy, scarcity-weighted, L."""
    return it_energy_kwh * wue_l_per_kwh * scarcity


def water_offsite_l(facility_energy_kwh: Num, ewif_l_per_kwh: Num, scarcity: float) -> Num:
    """Water consumed off site to generate ``facility_energy_kwh``, scarcity-weighted, L."""
    return facility_energy_kwh * ewif_l_per_kwh * scarcity


def carbon_g_per_it_kwh(carbon_g_per_kwh: Num, pue: Num) -> Num:
    """Carbon of one more kWh of IT energy: ``CI * PUE``, g/kWh."""
    return carbon_g_per_kwh * pue


def price_usd_per_it_mwh(price_usd_per_mwh: Num, pue: Num) -> Num:
    """Electricity cost of one more MWh of IT energy: ``p * PUE``, USD/MWh."""
    return price_usd_per_mwh * pue


def water_l_per_it_kwh(wue_l_per_kwh: Num, ewif_l_per_kwh: Num, pue: Num, scarcity: Num) -> Num:
    """Water of one more kWh of IT energy: ``(WUE + PUE * EWIF) * s``, L/kWh."""
    return (wue_l_per_kwh + pue * ewif_l_per_kwh) * scarcity


def per_it_joule(
    carbon_g_per_kwh: Num,
    price_usd_per_mwh: Num,
    wue_l_per_kwh: Num,
    ewif_l_per_kwh: Num,
    pue: float,
    scarcity: float,
) -> tuple[Num, Num, Num]:
    """``(carbon kg, water L, cost USD)`` per joule of IT energy (the simulator charges each
    iteration's joules with these)."""
    return (
        pue * carbon_g_per_kwh / 1000.0 / J_PER_KWH,
        water_l_per_it_kwh(wue_l_per_kwh, ewif_l_per_kwh, pue, scarcity) / J_PER_KWH,
        pue * price_usd_per_mwh / 1000.0 / J_PER_KWH,
    )


def embodied_carbon_kg(gpu_hours: Num, embodied_kg_per_gpu: Num, lifetime_years: float) -> Num:
    """Embodied carbon charged for ``gpu_hours`` GPU-hours of GPUs whose manufacture (with
    their server share) emitted ``embodied_kg_per_gpu`` each, amortised linearly over
    ``lifetime_years``: ``gpu_hours * embodied_kg_per_gpu / (lifetime_years * 8766)``, kg."""
    return gpu_hours * embodied_kg_per_gpu / (lifetime_years * HOURS_PER_YEAR)


def embodied_kg_per_gpu_s(embodied_kg_per_gpu: float, lifetime_years: float) -> float:
    """Embodied carbon of one GPU-second (:func:`embodied_carbon_kg` of 1/3600 GPU-hour),
    kg/s; what the simulator charges a request for each GPU-second it is given."""
    return float(embodied_carbon_kg(1.0 / 3600.0, embodied_kg_per_gpu, lifetime_years))

"""The impact equations' one home: the per-joule factors the engine charges, the per-kWh
factors the inputs and the evaluator use, and the per-epoch totals agree with each other."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.models import impacts

finite = st.floats(0.0, 2000.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(finite, st.floats(-500.0, 3000.0), st.floats(0.0, 10.0), st.floats(0.0, 20.0),
       st.floats(1.0, 3.0), st.floats(0.0, 5.0), st.floats(0.0, 1e4))  # fmt: skip
def test_every_form_of_the_equations_agrees(ci, price, wue, ewif, pue, scarcity, it_kwh) -> None:
    carbon_j, water_j, cost_j = impacts.per_it_joule(
        np.array([ci]), np.array([price]), np.array([wue]), np.array([ewif]), pue, scarcity
    )
    it_j = it_kwh * impacts.J_PER_KWH
    fac_kwh = it_kwh * pue
    assert carbon_j[0] * it_j == pytest.approx(
        float(impacts.carbon_kg(fac_kwh, ci)), rel=1e-12, abs=1e-12
    )
    assert cost_j[0] * it_j == pytest.approx(
        float(impacts.cost_usd(fac_kwh, price)), rel=1e-12, abs=1e-12
    )
    water = impacts.water_onsite_l(it_kwh, wue, scarcity) + impacts.water_offsite_l(
        fac_kwh, ewif, scarcity
    )
    assert water_j[0] * it_j == pytest.approx(water, rel=1e-12, abs=1e-9)
    assert impacts.carbon_g_per_it_kwh(ci, pue) * it_kwh / 1000.0 == pytest.approx(
        float(impacts.carbon_kg(fac_kwh, ci)), rel=1e-12, abs=1e-12
    )
    assert impacts.price_usd_per_it_mwh(price, pue) * it_kwh / 1000.0 == pytest.approx(
        float(impacts.cost_usd(fac_kwh, price)), rel=1e-12, abs=1e-12
    )
    assert impacts.water_l_per_it_kwh(wue, ewif, pue, scarcity) * it_kwh == pytest.approx(
        water, rel=1e-12, abs=1e-9
    )


def test_units() -> None:
    """1 MWh of facility energy at 400 g/kWh and 50 USD/MWh: 400 kg and 50 USD."""
    assert float(impacts.carbon_kg(1000.0, 400.0)) == pytest.approx(400.0)
    assert float(impacts.cost_usd(1000.0, 50.0)) == pytest.approx(50.0)
    assert float(impacts.cost_usd(1000.0, -20.0)) == pytest.approx(-20.0)  # negative prices pay

"""GridSignals: a step function of UTC time with at(t) and time-weighted epoch means."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.errors import TraceError
from slit.traces.grid import SIGNAL_COLUMNS, GridSignals

START = pd.Timestamp("2023-07-15T00:00:00Z")


def _hourly(carbon: list[float]) -> GridSignals:
    idx = pd.date_range(START, periods=len(carbon), freq="h", name="time_utc")
    frame = pd.DataFrame({c: 1.0 for c in SIGNAL_COLUMNS}, index=idx)
    frame["carbon_g_per_kwh"] = carbon
    return GridSignals(frame, "test region")


def test_at_gives_the_value_in_force_and_refuses_outside_the_coverage() -> None:
    sig = _hourly([100.0, 200.0, 300.0])
    assert sig.at(START)["carbon_g_per_kwh"] == 100.0
    assert sig.at(START + pd.Timedelta(minutes=59))["carbon_g_per_kwh"] == 100.0
    assert sig.at(START + pd.Timedelta(hours=1))["carbon_g_per_kwh"] == 200.0
    assert sig.at(START + pd.Timedelta(hours=2, minutes=59))["carbon_g_per_kwh"] == 300.0
    with pytest.raises(TraceError, match=r"test region: .* is outside the covered period"):
        sig.at(START + pd.Timedelta(hours=3))
    with pytest.raises(TraceError, match="outside the covered period"):
        sig.at(START - pd.Timedelta(seconds=1))


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1000.0), min_size=4, max_size=30),
    epoch_min=st.sampled_from([15, 30, 60, 90]),
)
def test_epoch_means_are_the_time_average_of_at(values: list[float], epoch_min: int) -> None:
    sig = _hourly(values)
    epoch_s = epoch_min * 60.0
    n = int(len(values) * 3600 // epoch_s)
    means = sig.epoch_means(START, epoch_s, n)["carbon_g_per_kwh"]
    for e in range(n):
        # the average of a step function over the epoch, sampled every five minutes (exact:
        # the steps are hourly and the epochs whole multiples of 15 minutes)
        minutes = [START + pd.Timedelta(seconds=e * epoch_s + 60 * k)
                   for k in range(0, epoch_min, 5)]  # fmt: skip
        expected = np.mean([sig.at(t)["carbon_g_per_kwh"] for t in minutes])
        assert means[e] == pytest.approx(expected, rel=1e-9, abs=1e-9)

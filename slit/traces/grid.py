"""Grid signals of a region as a time-indexed series with ``at(t)`` and epoch means.

A :class:`GridSignals` holds hourly, UTC-indexed columns with units in their names:
``carbon_g_per_kwh`` (grid carbon intensity), ``price_usd_per_mwh`` (electricity price),
``wetbulb_c`` (outdoor wet-bulb temperature) and ``ewif_l_per_kwh`` (water consumed to generate a
kWh), and optionally ``marginal_carbon_g_per_kwh`` (marginal carbon intensity). Each value
holds from its timestamp until the next one (a step function).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from slit.errors import TraceError

SIGNAL_COLUMNS = ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c", "ewif_l_per_kwh")
OPTIONAL_COLUMNS = ("marginal_carbon_g_per_kwh",)
"""Signals a region may lack: the marginal carbon intensity (gCO2e/kWh), which no bundled
profile holds; when present it is averaged over epochs like the others."""


@dataclass(frozen=True)
class GridSignals:
    """Hourly grid signals of one region (a step function of UTC time).

    Attributes:
        frame: DataFrame indexed by tz-aware UTC ``time_utc`` with the columns of
            ``SIGNAL_COLUMNS``.
        label: where the signals came from (for error messages).
    """

    frame: pd.DataFrame
    label: str = "signals"

    def __post_init__(self) -> None:
        missing = [c for c in SIGNAL_COLUMNS if c not in self.frame.columns]
        if missing:
            raise TraceError(
                f"{self.label}: missing column(s) {', '.join(missing)}; "
                f"signals need {', '.join(SIGNAL_COLUMNS)}"
            )
        idx = self.frame.index
        if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
            raise TraceError(f"{self.label}: the index must be tz-aware UTC timestamps")
        if not idx.is_monotonic_increasing or idx.has_duplicates:
            raise TraceError(f"{self.label}: timestamps must be strictly increasing")
        if self.frame[self.columns].isna().any().any():
            raise TraceError(f"{self.label}: signals hold NaN values; fill or drop them")

    @property
    def columns(self) -> list[str]:
        """The signals held: every one of ``SIGNAL_COLUMNS``, and those of
        ``OPTIONAL_COLUMNS`` the frame has."""
        return [*SIGNAL_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in self.frame.columns)]

    @property
    def end_utc(self) -> pd.Timestamp:
        """End of coverage: the last timestamp plus one step."""
        idx = self.frame.index
        step = idx[-1] - idx[-2] if len(idx) > 1 else pd.Timedelta(hours=1)
        return idx[-1] + step

    def at(self, t: pd.Timestamp) -> pd.Series:
        """The signal values in force at UTC time ``t``."""
        idx = self.frame.index
        if t < idx[0] or t >= self.end_utc:
            raise TraceError(
                f"{self.label}: {t} is outside the covered period [{idx[0]}, {self.end_utc})"
            )
        return self.frame.iloc[int(idx.searchsorted(t, side="right")) - 1]

    def epoch_means(
        self, start_utc: pd.Timestamp, epoch_s: float, n_epochs: int
    ) -> dict[str, npt.NDArray[np.float64]]:
        """Time-weighted mean of each signal held (:attr:`columns`) over epochs
        ``[start + i*epoch_s, +epoch_s)``.

        Raises:
            TraceError: if the signals do not cover the whole period.
        """
        idx = pd.DatetimeIndex(self.frame.index)
        end = start_utc + pd.Timedelta(seconds=epoch_s * n_epochs)
        if start_utc < idx[0] or end > self.end_utc:
            raise TraceError(
                f"{self.label}: signals cover [{idx[0]}, {self.end_utc}) but the simulation "
                f"needs [{start_utc}, {end}); supply a longer series or shorten the horizon"
            )
        # the integral of a step function is piecewise linear: interpolate it at epoch edges
        knots_s = np.append(
            (idx - start_utc).total_seconds().to_numpy(), (self.end_utc - start_utc).total_seconds()
        )
        edges_s = np.arange(n_epochs + 1) * epoch_s
        out = {}
        for col in self.columns:
            values = self.frame[col].to_numpy(float)
            integral = np.concatenate([[0.0], np.cumsum(values * np.diff(knots_s))])
            at_edges = np.interp(edges_s, knots_s, integral)
            out[col] = np.diff(at_edges) / epoch_s
        return out


def constant_signals(
    start_utc: pd.Timestamp, hours: int, label: str = "constant", **values: float
) -> GridSignals:
    """Signals that hold the same values for ``hours`` hours from ``start_utc``."""
    idx = pd.date_range(start_utc.floor("h"), periods=hours + 1, freq="h", name="time_utc")
    frame = pd.DataFrame({c: float(values[c]) for c in SIGNAL_COLUMNS}, index=idx)
    return GridSignals(frame, label)

"""The run's clock: start, horizon, drain and epochs, with the epoch count in one place.

A run accepts requests for ``horizon_s`` seconds, then lets them finish for ``drain_s``; its
accounting window ``[0, horizon_s + drain_s)`` is cut into epochs of ``epoch_s`` (the last one
shorter when the window is not a whole number of epochs). Signals are epoch means; the
optimiser decides once per epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from slit.scenario.loader import Scenario


def epoch_count(span_s: float, epoch_s: float) -> int:
    """Epochs of ``epoch_s`` that cover ``span_s`` seconds, at least one.

    A span within 1e-9 epochs of a whole number counts as that number, so that a day of
    900 s epochs written as 86400.0000000001 s does not grow a 97th epoch."""
    return max(1, math.ceil(span_s / epoch_s - 1e-9))


@dataclass(frozen=True)
class Timeline:
    """When a run starts and how its accounting window is cut into epochs.

    Attributes:
        start_utc: the run's time zero, UTC.
        horizon_s: how long requests arrive, s.
        drain_s: how long after the horizon the run goes on so they finish, s.
        epoch_s: length of one epoch, s.
    """

    start_utc: pd.Timestamp
    horizon_s: float
    drain_s: float
    epoch_s: float

    @classmethod
    def of(cls, scenario: Scenario) -> Timeline:
        """The timeline of a scenario's ``time`` section."""
        t = scenario.config.time
        return cls(pd.Timestamp(t.start_utc).tz_convert("UTC"), t.horizon_s, t.drain_s, t.epoch_s)

    @property
    def end_s(self) -> float:
        """End of the accounting window (horizon + drain), s."""
        return self.horizon_s + self.drain_s

    @property
    def n_epochs(self) -> int:
        """Epochs of the accounting window (horizon and drain)."""
        return epoch_count(self.end_s, self.epoch_s)

    @property
    def n_horizon_epochs(self) -> int:
        """Epochs in which requests arrive (the horizon's)."""
        return epoch_count(self.horizon_s, self.epoch_s)

    @property
    def signal_hours(self) -> int:
        """Whole hours of hourly signals, from the hour the run starts in, that cover every
        epoch of the accounting window."""
        into_hour_s = (self.start_utc - self.start_utc.floor("h")).total_seconds()
        return math.ceil(into_hour_s / 3600.0 + self.n_epochs * self.epoch_s / 3600.0 - 1e-9)

    def window_lengths_s(self) -> npt.NDArray[np.float64]:
        """Length of each epoch inside the accounting window, s (the last may be shorter)."""
        return np.minimum(self.epoch_s, self.end_s - np.arange(self.n_epochs) * self.epoch_s)

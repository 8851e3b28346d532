"""Synthetic request arrivals: Poisson processes whose rate follows each origin's local day.

For origin ``o`` with weight ``w_o`` (sum 1), mean total rate ``lambda``, amplitude ``A`` and peak
hour ``h_peak`` (local time), the arrival rate at UTC time ``t`` is

    lambda_o(t) = lambda * w_o * (1 + A * cos(2 pi (h_local(t) - h_peak) / 24))

whose mean over a day is ``lambda * w_o``. Arrivals are drawn by thinning a homogeneous Poisson
process of rate ``lambda * w_o * (1 + A)`` (Lewis and Shedler, 1979).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def diurnal_rate_per_s(
    t_s: npt.ArrayLike,
    mean_rate_per_s: float,
    amplitude: float,
    utc_offset_h: float,
    start_hour_utc: float,
    peak_hour_local: float,
) -> npt.NDArray[np.float64]:
    """Arrival rate at ``t_s`` seconds after the start, 1/s (see the module equation)."""
    hour_local = (start_hour_utc + utc_offset_h + np.asarray(t_s, float) / 3600.0) % 24.0
    return mean_rate_per_s * (
        1.0 + amplitude * np.cos(2 * np.pi * (hour_local - peak_hour_local) / 24.0)
    )


def diurnal_poisson_arrivals(
    mean_rate_per_s: float,
    horizon_s: float,
    origin_weights: Sequence[float],
    utc_offsets_h: Sequence[float],
    start_hour_utc: float,
    amplitude: float,
    peak_hour_local: float,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Arrival times (s from start, sorted) and origin indices of all origins together.

    Args:
        mean_rate_per_s: mean arrival rate over all origins, 1/s.
        horizon_s: arrivals fall in ``[0, horizon_s)``.
        origin_weights: share of the rate per origin (normalised here).
        utc_offsets_h: each origin's offset of local time from UTC, hours.
        start_hour_utc: UTC hour of day at time 0 (fractional).
        amplitude: relative amplitude of the daily cycle, 0..1.
        peak_hour_local: local hour of the daily peak.
        rng: the random generator (the only source of randomness).
    """
    weights = np.asarray(origin_weights, float)
    weights = weights / weights.sum()
    times, origins = [], []
    for o, (w, offset) in enumerate(zip(weights, utc_offsets_h, strict=True)):
        peak_rate = mean_rate_per_s * w * (1.0 + amplitude)
        n = rng.poisson(peak_rate * horizon_s)
        t = np.sort(rng.uniform(0.0, horizon_s, size=n))
        keep = rng.uniform(0.0, peak_rate, size=n) < diurnal_rate_per_s(
            t, mean_rate_per_s * w, amplitude, offset, start_hour_utc, peak_hour_local
        )
        times.append(t[keep])
        origins.append(np.full(int(keep.sum()), o, dtype=np.int64))
    all_t = np.concatenate(times) if times else np.empty(0)
    all_o = np.concatenate(origins) if origins else np.empty(0, dtype=np.int64)
    order = np.lexsort((all_o, all_t))  # by time, ties broken by origin: deterministic
    return all_t[order], all_o[order]

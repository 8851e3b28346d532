"""The independent random streams of one run, derived from its seed.

All randomness of a run comes from one ``numpy.random.SeedSequence``, split into independent
streams (workload, each region's signals, routing), so that changing one part of a scenario
does not shift the random numbers of another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RandomStreams:
    """Independent random generators of one run, derived from its seed.

    ``classes`` draws each request's class (interactive or a deferrable class); it is a stream
    of its own, spawned after the others, so a workload without classes draws the same
    arrivals, signals and routing as before classes existed."""

    workload: np.random.Generator
    routing: np.random.Generator
    signals: dict[str, np.random.Generator]

    routing_seed: np.random.SeedSequence
    classes: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int, region_ids: list[str]) -> RandomStreams:
        """The streams of ``seed`` for a scenario with these regions (in scenario order)."""
        root = np.random.SeedSequence(seed)
        # spawn(4) gives the same first three children as spawn(3) did
        workload, routing, signals, classes = root.spawn(4)
        per_region = signals.spawn(len(region_ids))
        return cls(
            np.random.default_rng(workload),
            np.random.default_rng(routing),
            {r: np.random.default_rng(s) for r, s in zip(region_ids, per_region, strict=True)},
            routing,
            np.random.default_rng(classes),
        )

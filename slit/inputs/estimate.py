"""What a run will cost, estimated from the scenario before any work: requests, memory and
wall time, so that a scenario that would exhaust the machine is refused at once with the
figures and what to do, instead of failing with a MemoryError after long work.

The coefficients are the measured ones of ``docs/performance.md`` (the engine replays about
54,000 requests per wall-second with the fixed policies and 15,000-25,000 with the load-aware
ones; memory grows by about 0.45 kB per request over a base of 150 MB), taken on the slow
side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from slit.errors import SlitError

MAX_REQUESTS = 20_000_000
"""The most requests a run may have without ``--force`` (about 9 GB and 20 min)."""
BASE_MEMORY_MB = 150.0
MEMORY_KB_PER_REQUEST = 0.45
REQUESTS_PER_WALL_S = 15_000.0


class ResourceError(SlitError):
    """A run would need more than slit allows without ``--force`` (or the machine has)."""


@dataclass(frozen=True)
class RunEstimate:
    """The estimated size of one simulation run.

    Attributes:
        requests: expected number of requests.
        memory_mb: peak memory, MB.
        wall_s: wall time of the simulation, s.
    """

    requests: float
    memory_mb: float
    wall_s: float

    @classmethod
    def of(cls, requests: float) -> RunEstimate:
        """The estimate for ``requests`` requests."""
        return cls(
            requests,
            BASE_MEMORY_MB + MEMORY_KB_PER_REQUEST * requests / 1000.0,
            requests / REQUESTS_PER_WALL_S,
        )

    def describe(self) -> str:
        """The estimate in words, e.g. ``"about 1.2e+06 requests, 690 MB, 1.3 min"``."""
        minutes = self.wall_s / 60.0
        took = f"{minutes:.3g} min" if minutes < 600 else f"{minutes / 60:.3g} h"
        return f"about {self.requests:.3g} requests, {self.memory_mb:,.0f} MB of memory, {took}"


def expected_requests(scenario: object) -> float | None:
    """Requests the scenario's workload will make: rate x horizon for a synthetic workload;
    ``None`` for a trace (known once the file is read, see :func:`check_request_count`)."""
    cfg = scenario.config  # type: ignore[attr-defined]
    wl = cfg.workload
    if getattr(wl, "source", None) != "synthetic":
        return None
    return float(wl.rate_per_s) * float(cfg.time.horizon_s)


def physical_memory_mb() -> float | None:
    """This machine's memory, MB (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (ValueError, OSError, AttributeError):
        return None


def check_request_count(requests: float, force: bool, what: str = "the scenario") -> None:
    """Refuse ``requests`` above :data:`MAX_REQUESTS` (unless ``force``), and above what this
    machine's memory holds (always), with the estimate and how to proceed."""
    est = RunEstimate.of(requests)
    memory = physical_memory_mb()
    if memory is not None and est.memory_mb > memory:
        raise ResourceError(
            f"{what}: {est.describe()}; this machine has {memory:,.0f} MB. Shorten "
            "time.horizon_s or lower the arrival rate (workload.rate_per_s), or split the "
            "horizon into several runs"
        )
    if requests > MAX_REQUESTS and not force:
        raise ResourceError(
            f"{what}: {est.describe()}, more than the {MAX_REQUESTS:,} requests a run may have "
            "without --force. Shorten time.horizon_s or lower workload.rate_per_s, or pass "
            "--force to run it anyway"
        )


MAX_REPLICAS_TOTAL = 100_000
"""The most replicas (over all pools) a run may have without ``--force``."""
MEMORY_KB_PER_REPLICA = 2.5
"""Memory per replica (its engine state), kB: a pool of 10^6 replicas took 2.5 GB."""


def check_fleet_size(scenario: object, force: bool = False) -> None:
    """Refuse a fleet above :data:`MAX_REPLICAS_TOTAL` replicas (unless ``force``) or above
    this machine's memory (always): each replica is an engine of its own."""
    cfg = scenario.config  # type: ignore[attr-defined]
    replicas = sum(p.replicas for dc in cfg.datacenters for p in dc.pools)
    memory_mb = BASE_MEMORY_MB + MEMORY_KB_PER_REPLICA * replicas / 1000.0
    machine = physical_memory_mb()
    if machine is not None and memory_mb > machine:
        raise ResourceError(
            f"the scenario's {replicas:,} replicas need about {memory_mb:,.0f} MB; this machine "
            f"has {machine:,.0f} MB. Lower datacenters[].pools[].replicas"
        )
    if replicas > MAX_REPLICAS_TOTAL and not force:
        raise ResourceError(
            f"the scenario has {replicas:,} replicas, more than the {MAX_REPLICAS_TOTAL:,} a run "
            f"may have without --force (about {memory_mb:,.0f} MB and slow set-up). Lower "
            "datacenters[].pools[].replicas, or pass --force to run it anyway"
        )


MAX_OPTIMISER_EVALUATIONS = 10**9
"""The most candidate evaluations (epochs x evaluations per epoch) an optimisation may make
without ``--force`` (the evaluator makes about 20,000 a second)."""


def check_optimiser_size(scenario: object, evaluations: int, force: bool = False) -> None:
    """Refuse an optimisation whose epochs x evaluations exceed
    :data:`MAX_OPTIMISER_EVALUATIONS` unless ``force``, with the time it would take."""
    cfg = scenario.config  # type: ignore[attr-defined]
    epochs = -(-float(cfg.time.horizon_s) // float(cfg.time.epoch_s))
    total = epochs * evaluations
    if total > MAX_OPTIMISER_EVALUATIONS and not force:
        hours = total / 20_000 / 3600
        raise ResourceError(
            f"{epochs:,.0f} epochs x {evaluations:,} evaluations = {total:,.0f} evaluations, "
            f"about {hours:,.0f} h; more than {MAX_OPTIMISER_EVALUATIONS:,} needs --force. "
            "Lower --evaluations, give --time-budget-s, or lengthen time.epoch_s"
        )


def check_run_size(scenario: object, force: bool = False) -> RunEstimate | None:
    """Check a scenario's size before any work (see :func:`check_request_count` and
    :func:`check_fleet_size`); returns the estimate (None for a trace workload)."""
    check_fleet_size(scenario, force)
    n = expected_requests(scenario)
    if n is None:
        return None
    check_request_count(n, force)
    return RunEstimate.of(n)


def unserved_models(scenario: object) -> list[str]:
    """The LLMs the workload asks for that no pool serves with a replica (their requests can
    only be dropped): those of ``workload.models`` with a positive share, or, without that
    mapping, every LLM a pool names."""
    cfg = scenario.config  # type: ignore[attr-defined]
    pools = [p for dc in cfg.datacenters for p in dc.pools]
    served = {p.model for p in pools if p.replicas > 0}
    shares = getattr(cfg.workload, "models", None) or {}
    asked = [m for m, w in shares.items() if w > 0] or sorted({p.model for p in pools})
    return [m for m in asked if m not in served]


def check_servable(scenario: object) -> None:
    """Refuse, before any work, a scenario whose requests for some LLM no replica serves: an
    optimisation would have nothing to route them to."""
    lacking = unserved_models(scenario)
    if lacking:
        raise ResourceError(
            f"no datacenter has a replica of {', '.join(lacking)}, which the workload asks "
            "for: there is nothing to route those requests to; add a pool of it with "
            "replicas >= 1, or drop it from workload.models (slit run would drop them all)"
        )

"""One epoch's routing decision as a pymoo ``Problem`` (so any pymoo algorithm can solve it).

Decision variables: ``x[o, d]`` in [0, 1] for every origin ``o`` and datacenter ``d``, read as
the allocation ``A[o, d] = x[o, d] / Σ_d x[o, d]`` (a row of zeros means "nearest"). Objectives,
all minimised: mean TTFT (s), carbon (kg), water (L) and cost (USD) of the epoch, from the
:class:`~slit.optimize.evaluator.FastEvaluator`. Constraints (``G ≤ 0`` is feasible): every
pool's utilisation below ``max_utilization``, and optionally the mean TTFT below an SLO.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.problem import Problem

from slit.optimize.evaluator import EpochDemand, FastEvaluator, FloatArray

OBJECTIVES = ("ttft_s", "carbon_kg", "water_l", "cost_usd")
"""Objective names, in the order of the columns of ``F``."""


def allocation_from_x(x: FloatArray, n_origins: int, n_datacenters: int) -> FloatArray:
    """``[population, origin, datacenter]`` allocations from decision vectors (rows sum to 1;
    a row of zeros stays zero, which the evaluator reads as the nearest datacenter)."""
    a = np.asarray(x, float).reshape(-1, n_origins, n_datacenters)
    total = a.sum(axis=2, keepdims=True)
    return np.where(total > 0, a / np.where(total > 0, total, 1.0), 0.0)


class EpochProblem(Problem):  # type: ignore[misc]
    """The routing problem of one epoch (see the module doc).

    Args:
        evaluator: the scenario's fast evaluator.
        demand: the epoch's demand and impact factors.
        max_utilization: highest pool utilisation allowed (< 1 keeps queues finite).
        ttft_slo_s: if given, a constraint that the mean TTFT stays below it, s.
        penalty: if given, no constraints: each objective grows by ``penalty`` times the total
            violation instead (for algorithms without constraint handling, e.g. MOEA/D).
    """

    def __init__(
        self,
        evaluator: FastEvaluator,
        demand: EpochDemand,
        max_utilization: float = 0.95,
        ttft_slo_s: float | None = None,
        penalty: float | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.demand = demand
        self.max_utilization = max_utilization
        self.ttft_slo_s = ttft_slo_s
        self.penalty = penalty
        self.n_origins = len(evaluator.region_ids)
        self.n_datacenters = len(evaluator.datacenter_ids)
        super().__init__(
            n_var=self.n_origins * self.n_datacenters,
            n_obj=len(OBJECTIVES),
            n_ieq_constr=0 if penalty is not None else 1 + (ttft_slo_s is not None),
            xl=0.0,
            xu=1.0,
        )

    def _evaluate(self, x: FloatArray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        alloc = allocation_from_x(x, self.n_origins, self.n_datacenters)
        res = self.evaluator.evaluate(alloc, self.demand)
        g = [res.max_utilization - self.max_utilization]
        if self.ttft_slo_s is not None:
            g.append(res.ttft_mean_s - self.ttft_slo_s)
        constraints = np.stack(g, axis=1)
        if self.penalty is None:
            out["F"] = res.objectives()
            out["G"] = constraints
        else:
            violation = np.maximum(constraints, 0.0).sum(axis=1, keepdims=True)
            out["F"] = res.objectives() + self.penalty * violation

"""One epoch's routing decision as a pymoo ``Problem`` (so any pymoo algorithm can solve it).

Decision variables: ``x[o, d]`` in [0, 1] for every origin ``o`` and datacenter ``d``, read as
the allocation ``A[o, d] = x[o, d] / Σ_d x[o, d]`` (a row of zeros means "nearest"; under data
residency ``x[o, d]`` counts only where origin ``o`` may use datacenter ``d``). Objectives,
all minimised: mean TTFT (s), carbon (kg), water (L) and cost (USD) of the epoch, from the
:class:`~slit.optimize.evaluator.FastEvaluator`. Constraints (``G ≤ 0`` is feasible): every
pool's utilisation below ``max_utilization``, and, given a TTFT SLO, one per origin: the share of
the origin's requests whose predicted TTFT exceeds the SLO is at most ``1 − slo_quantile``
(with the default 0.95: each origin's TTFT p95 within the SLO), from the evaluator's tail model
(:class:`~slit.optimize.evaluator.TailModel`).

**Equal budgets.** Given an evaluation ``budget``, the problem evaluates at most that many
allocations; candidates asked for beyond it are not evaluated but marked unevaluated
(:data:`UNEVALUATED` in every objective and constraint, worse than any real value), and
:class:`EvaluationBudget` ends the run once the budget is spent. So every algorithm, whatever its
generation size or local search, is compared on exactly the evaluations it was given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pymoo.core.problem import Problem
from pymoo.core.termination import Termination

from slit.optimize.evaluator import EpochDemand, FastEvaluator, FloatArray

OBJECTIVES = ("ttft_s", "carbon_kg", "water_l", "cost_usd")
"""Objective names, in the order of the columns of ``F``."""

UNEVALUATED = 1.0e30
"""Objectives and constraint violation of a candidate asked for after the budget was spent."""


def allocation_from_x(
    x: FloatArray,
    n_origins: int,
    n_datacenters: int,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> FloatArray:
    """``[population, origin, datacenter]`` allocations from decision vectors (rows sum to 1;
    a row of zeros stays zero, which the evaluator reads as the nearest datacenter). With
    ``allowed`` (``[origin, datacenter]``, data residency) the shares on the pairs it forbids
    are dropped before the rows are normalised."""
    a = np.asarray(x, float).reshape(-1, n_origins, n_datacenters)
    if allowed is not None:
        a = a * allowed[None]
    total = a.sum(axis=2, keepdims=True)
    return np.where(total > 0, a / np.where(total > 0, total, 1.0), 0.0)


SLO_QUANTILE = 0.95
"""The TTFT quantile an SLO bounds by default (the p95)."""


class EpochProblem(Problem):  # type: ignore[misc]
    """The routing problem of one epoch (see the module doc).

    Args:
        evaluator: the scenario's fast evaluator.
        demand: the epoch's demand and impact factors.
        max_utilization: highest pool utilisation allowed (< 1 keeps queues finite).
        ttft_slo_s: if given, the TTFT SLO, s: one constraint per origin that its
            ``slo_quantile`` TTFT quantile stays within it. The constraint is on serving in
            steady state: the wait of the requests that meet a weight load when load moves
            to a released site (scale to zero) counts in the mean TTFT objective and in the
            plan's predicted p95 over the horizon, not here, because one epoch's first
            ``load_s`` are a small share of a day's requests but would forbid every move.
        slo_quantile: the TTFT quantile the SLO bounds (0.95: the p95).
        slo_allowance: ``[origin]`` share of each origin's requests allowed above the SLO
            this epoch (default ``1 − slo_quantile``; the rolling optimiser's horizon scope
            passes what is left of the horizon's budget).
        penalty: if given, no constraints: each objective grows by ``penalty`` times the total
            violation instead (for algorithms without constraint handling, e.g. MOEA/D).
        budget: if given, the most allocations it evaluates (see the module doc); it counts
            them in ``n_evaluated``.
        archive: if True, keep every allocation it evaluates with its objectives and
            constraints (:meth:`archived`), an external archive of the search.
    """

    def __init__(
        self,
        evaluator: FastEvaluator,
        demand: EpochDemand,
        max_utilization: float = 0.95,
        ttft_slo_s: float | None = None,
        penalty: float | None = None,
        budget: int | None = None,
        slo_quantile: float = SLO_QUANTILE,
        slo_allowance: FloatArray | None = None,
        archive: bool = False,
    ) -> None:
        if not 0.0 < slo_quantile < 1.0:
            raise ValueError(f"EpochProblem: slo_quantile must be in (0, 1), got {slo_quantile}")
        self.slo_quantile = slo_quantile
        # the share of each origin's requests this epoch may have above the SLO: 1 - q, or
        # what is left of a horizon's budget (slo_scope="horizon" of the rolling optimiser)
        self.slo_allowance = (
            np.full(len(evaluator.region_ids), 1.0 - slo_quantile)
            if slo_allowance is None
            else np.asarray(slo_allowance, float)
        )
        self.budget = budget
        self.n_evaluated = 0
        self._archive: list[tuple[FloatArray, FloatArray, FloatArray]] | None = (
            [] if archive else None
        )
        self.evaluator = evaluator
        self.demand = demand
        self.max_utilization = max_utilization
        self.ttft_slo_s = ttft_slo_s
        self.penalty = penalty
        self.n_origins = len(evaluator.region_ids)
        self.n_datacenters = len(evaluator.datacenter_ids)
        # data residency: the [origin, datacenter] pairs a share may go to (None: all)
        self.allowed = evaluator.allowed if getattr(evaluator, "restricted", False) else None
        super().__init__(
            n_var=self.n_origins * self.n_datacenters,
            n_obj=len(OBJECTIVES),
            n_ieq_constr=(
                0 if penalty is not None else 1 + self.n_origins * (ttft_slo_s is not None)
            ),
            xl=0.0,
            xu=1.0,
        )

    def _evaluate(self, x: FloatArray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        x = np.atleast_2d(x)
        left = len(x) if self.budget is None else self.budget - self.n_evaluated
        take = max(0, min(len(x), left))
        self.n_evaluated += take
        n_g = self.n_ieq_constr
        f = np.full((len(x), self.n_obj), UNEVALUATED)
        g = np.full((len(x), n_g), UNEVALUATED) if n_g else None
        if take:
            self._evaluate_real(x[:take], f[:take], None if g is None else g[:take])
            if self._archive is not None:
                none = np.zeros((take, 0))
                self._archive.append(
                    (x[:take].copy(), f[:take].copy(), none if g is None else g[:take].copy())
                )
        out["F"] = f
        if g is not None:
            out["G"] = g

    def archived(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Every allocation evaluated so far (with ``archive=True``): decision vectors,
        objectives and constraints, in the order of evaluation."""
        if self._archive is None:
            raise ValueError("EpochProblem.archived: the problem was built with archive=False")
        if not self._archive:
            n_g = self.n_ieq_constr
            return np.zeros((0, self.n_var)), np.zeros((0, self.n_obj)), np.zeros((0, n_g))
        xs, fs, gs = zip(*self._archive, strict=True)
        return np.vstack(xs), np.vstack(fs), np.vstack(gs)

    def _evaluate_real(self, x: FloatArray, f_out: FloatArray, g_out: FloatArray | None) -> None:
        alloc = allocation_from_x(x, self.n_origins, self.n_datacenters, self.allowed)
        res = self.evaluator.evaluate(alloc, self.demand, tail=self.ttft_slo_s is not None)
        g = [res.max_utilization[:, None] - self.max_utilization]
        if self.ttft_slo_s is not None:
            assert res.tail is not None
            steady = res.tail.without_loads()
            g.append(steady.exceedance(self.ttft_slo_s) - self.slo_allowance[None, :])
        constraints = np.concatenate(g, axis=1)
        if self.penalty is None:
            f_out[:] = res.objectives()
            assert g_out is not None
            g_out[:] = constraints
        else:
            violation = np.maximum(constraints, 0.0).sum(axis=1, keepdims=True)
            f_out[:] = res.objectives() + self.penalty * violation


class EvaluationBudget(Termination):  # type: ignore[misc]
    """pymoo termination: done once the algorithm's problem (an :class:`EpochProblem` with a
    budget) has spent its evaluations. It reads the problem the algorithm holds, so it stays
    right when pymoo copies the termination."""

    def _update(self, algorithm: Any) -> float:
        problem = algorithm.problem
        if getattr(problem, "budget", None) is None or problem.budget < 1:
            raise ValueError("EvaluationBudget needs an EpochProblem with a budget of at least 1")
        return float(min(1.0, problem.n_evaluated / float(problem.budget)))

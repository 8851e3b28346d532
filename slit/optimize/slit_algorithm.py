"""SLIT's ML-guided metaheuristic as a pymoo ``Algorithm`` (registered as ``slit``).

Following the SLIT paper (after SHIELD):

* **Decomposition** (MOEA/D): ``pop_size`` weight vectors (Riesz s-energy), each member owning
  one; a member is judged by the Tchebycheff distance ``max_i w_i |f_i − z_i| / s_i`` to the
  ideal point ``z`` (objectives scaled by the population's range ``s``), plus a large penalty
  per unit of constraint violation; offspring replace the members of their neighbourhood (the
  ``n_neighbors`` nearest weight vectors) they improve.
* **Initial population**: the extreme schedules (even spread, nearest, all at each site; set by
  the caller as the sampling) and random allocations.
* **Local search**: greedy descent from a few starting members: each step tries ``ls_moves``
  moves of a share of one origin's traffic from one datacenter to another (evaluated together,
  vectorised) and keeps the best if it shortens the member's weighted L1 distance to the ideal
  point; it stops at the first step without improvement or after ``ls_steps``.
* **Guidance**: a gradient-boosting regressor (scikit-learn) predicts each member's local-search
  improvement from its scaled objectives, its weight vector and the epoch's predicted load, and
  picks the ``ls_starts`` most promising starting points. It is trained on the starts of the
  first ``warmup_generations`` generations, which are chosen at random, and refit every
  ``refit_every`` generations; the guide persists across the epochs of a rolling optimisation.
* **Variation**: simulated binary crossover between the locally searched members and random
  members of their neighbourhood, then polynomial mutation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.initialization import Initialization
from pymoo.core.population import Population
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.sampling.rnd import FloatRandomSampling

from slit.optimize.algorithms import reference_directions, register_algorithm

PENALTY = 1.0e3
"""Scalarised cost of one unit of constraint violation (utilisation above the limit)."""


@dataclass
class SlitGuide:
    """The learned start-point selector, shared by the epochs of one rolling optimisation."""

    warmup_generations: int = 50
    refit_every: int = 500
    generations: int = 0
    features: list[np.ndarray] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)
    model: Any = None
    fitted_at: int = -1

    def ready(self) -> bool:
        return self.model is not None

    def record(self, feats: np.ndarray, gain: float) -> None:
        self.features.append(feats)
        self.gains.append(gain)

    def step(self, seed: int) -> None:
        """Count a generation; fit after the warm-up and refit periodically."""
        self.generations += 1
        due = self.generations >= self.warmup_generations and (
            self.model is None or self.generations - self.fitted_at >= self.refit_every
        )
        if due and len(self.gains) >= 10:
            from sklearn.ensemble import GradientBoostingRegressor

            self.model = GradientBoostingRegressor(
                n_estimators=60, max_depth=3, learning_rate=0.1, random_state=seed
            ).fit(np.vstack(self.features), np.asarray(self.gains))
            self.fitted_at = self.generations

    def rank(self, feats: np.ndarray) -> np.ndarray:
        """Members ordered by predicted local-search gain, best first."""
        return np.argsort(-self.model.predict(feats))


class SLIT(Algorithm):  # type: ignore[misc]
    """SLIT's algorithm (see the module doc); parameters default to SHIELD's."""

    def __init__(self, pop_size: int = 30, sampling: Any = None, guide: SlitGuide | None = None,
                 n_neighbors: int = 10, ls_starts: int = 3, ls_steps: int = 6, ls_moves: int = 8,
                 guided: bool = True, local_search: bool = True,
                 **kwargs: Any) -> None:  # fmt: skip
        """Args beyond pymoo's: ``guide`` (shared across epochs), the neighbourhood size, the
        local search's starts, steps and moves per step; ``guided=False`` picks local-search
        starts at random for ever (ablation: no gradient boosting), ``local_search=False``
        skips it (ablation: plain MOEA/D with SLIT's initial population)."""
        super().__init__(**kwargs)
        self.guided = guided
        self.local_search = local_search
        self.pop_size = pop_size
        self.initialization = Initialization(
            sampling if sampling is not None else FloatRandomSampling()
        )
        self.guide = guide if guide is not None else SlitGuide()
        self.n_neighbors = n_neighbors
        self.ls_starts = ls_starts
        self.ls_steps = ls_steps
        self.ls_moves = ls_moves
        self.crossover = SBX(prob=0.9, eta=15)
        self.mutation = PM(eta=20)

    # -- helpers ------------------------------------------------------------------------------
    def _setup(self, problem: Any, **kwargs: Any) -> None:
        self.ref_dirs = np.array(reference_directions(problem.n_obj, self.pop_size))
        d = np.linalg.norm(self.ref_dirs[:, None] - self.ref_dirs[None], axis=2)
        self.neighbors = np.argsort(d, axis=1)[:, : min(self.n_neighbors, self.pop_size)]
        self.rng = np.random.default_rng(self.seed)
        demand = getattr(problem, "demand", None)
        self.load = float(demand.rate_per_s.sum()) if demand is not None else 0.0

    def _scale(self) -> tuple[np.ndarray, np.ndarray]:
        f = self.pop.get("F")
        lo, hi = f.min(axis=0), f.max(axis=0)
        return self.ideal, np.where(hi > lo, hi - lo, 1.0)

    def _tcheby(self, f: np.ndarray, cv: np.ndarray, w: np.ndarray) -> np.ndarray:
        z, s = self._scale()
        return (np.abs(f - z) / s * w).max(axis=-1) + PENALTY * cv

    def _l1(self, f: np.ndarray, cv: np.ndarray, w: np.ndarray) -> np.ndarray:
        z, s = self._scale()
        return (np.abs(f - z) / s * w).sum(axis=-1) + PENALTY * cv

    def _features(self) -> np.ndarray:
        z, s = self._scale()
        scaled = (self.pop.get("F") - z) / s
        load = np.full((len(self.pop), 1), self.load)
        return np.hstack([scaled, self.ref_dirs[: len(self.pop)], load])

    def _evaluate(self, x: np.ndarray) -> Population:
        pop = Population.new(X=x)
        self.evaluator.eval(self.problem, pop, algorithm=self)
        return pop

    # -- the generation -------------------------------------------------------------------------
    def _initialize_infill(self) -> Population:
        return self.initialization.do(
            self.problem, self.pop_size, algorithm=self, random_state=self.random_state
        )

    def _initialize_advance(self, infills: Population = None, **kwargs: Any) -> None:
        self.ideal = infills.get("F").min(axis=0)

    def _local_search(self, i: int) -> float:
        """Greedy descent of member ``i``; returns its relative gain in weighted L1 distance."""
        n_o, n_d = self.problem.n_origins, self.problem.n_datacenters
        w = self.ref_dirs[i]
        member = self.pop[i]
        x, f, cv = member.X.copy(), member.F, member.get("CV")[0]
        start = cur = float(self._l1(f, cv, w))
        for _ in range(self.ls_steps):
            cand = np.repeat(x[None], self.ls_moves, axis=0).reshape(self.ls_moves, n_o, n_d)
            rows = cand.sum(axis=2, keepdims=True)
            cand = np.where(rows > 0, cand / np.where(rows > 0, rows, 1.0), 1.0 / n_d)
            o = self.rng.integers(n_o, size=self.ls_moves)
            src = self.rng.integers(n_d, size=self.ls_moves)
            dst = (src + 1 + self.rng.integers(n_d - 1, size=self.ls_moves)) % n_d
            fraction = self.rng.choice([0.25, 0.5, 1.0], size=self.ls_moves)
            share = cand[np.arange(self.ls_moves), o, src] * fraction
            cand[np.arange(self.ls_moves), o, src] -= share
            cand[np.arange(self.ls_moves), o, dst] += share
            pop = self._evaluate(cand.reshape(self.ls_moves, -1))
            self.ideal = np.minimum(self.ideal, pop.get("F").min(axis=0))
            scores = self._l1(pop.get("F"), pop.get("CV")[:, 0], w)
            best = int(np.argmin(scores))
            if scores[best] >= cur:
                break
            cur = float(scores[best])
            x, f, cv = pop[best].X, pop[best].F, pop[best].get("CV")[0]
            self.pop[i] = pop[best]
        return (start - cur) / max(abs(start), 1e-12)

    def _infill(self) -> Population:
        feats = self._features()
        k = min(self.ls_starts, len(self.pop)) if self.local_search else 0
        if self.guided and self.guide.ready():
            starts = self.guide.rank(feats)[:k]
        else:
            starts = self.rng.choice(len(self.pop), size=k, replace=False)
        for i in starts:
            gain = self._local_search(int(i))
            if self.guided:
                self.guide.record(feats[i], gain)
        if self.guided:
            self.guide.step(int(self.seed or 0))
        # crossover: searched members with random neighbours, the rest with each other
        parents = []
        for i in range(len(self.pop)):
            a = int(self.rng.choice(starts)) if len(starts) and self.rng.random() < 0.5 else i
            b = int(self.rng.choice(self.neighbors[a]))
            parents.append((a, b))
        off = self.crossover.do(self.problem, self.pop, np.array(parents), algorithm=self,
                                random_state=self.random_state)  # fmt: skip
        # SBX makes two children per pair, in pair order: child k belongs to pair k // 2
        n_children = len(off) // len(parents)
        self.parent_of = np.repeat([a for a, _ in parents], n_children)
        return self.mutation.do(self.problem, off, algorithm=self, random_state=self.random_state)

    def _advance(self, infills: Population = None, **kwargs: Any) -> None:
        f_off = infills.get("F")
        self.ideal = np.minimum(self.ideal, f_off.min(axis=0))
        for k, off in enumerate(infills):
            i = self.parent_of[k]
            hood = self.neighbors[i]
            w = self.ref_dirs[hood]
            cur = self._tcheby(self.pop[hood].get("F"), self.pop[hood].get("CV")[:, 0], w)
            new = self._tcheby(off.F[None], np.array([off.get("CV")[0]]), w)
            better = hood[new < cur]
            if len(better):  # replace the neighbour it improves most (n_r = 1 keeps diversity)
                j = better[int(np.argmax((cur - new)[new < cur]))]
                self.pop[j] = off


# -- registration (slit.plugins.ALGORITHMS imports this module when it is first read) ----
@register_algorithm("slit", "SLIT (this paper): MOEA/D with GBM-guided local search")
def _slit(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SLIT(pop_size=pop_size, guide=guide)


@register_algorithm("slit-noguide", "SLIT ablation: random local-search starts, no boosting")
def _slit_noguide(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SLIT(pop_size=pop_size, guide=guide, guided=False)


@register_algorithm("slit-nolocal", "SLIT ablation: no local search (MOEA/D, SLIT's initial set)")
def _slit_nolocal(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SLIT(pop_size=pop_size, guide=guide, local_search=False)

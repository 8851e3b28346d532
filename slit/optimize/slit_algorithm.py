"""SLIT's metaheuristic as pymoo ``Algorithm`` s (registered as ``slit`` and its variants).

The SLIT paper (after SHIELD) pairs a decomposition-based evolutionary search (MOEA/D) with a
local search whose starting points a gradient-boosting model picks. Measured at an equal
evaluation budget (``benchmarks/optimizer_compare.py``, docs/optimizer.md), that design as first
built (:class:`SLIT`, registered as ``slit-moead``) was the weakest competitive optimiser on its
own problem. What ``slit`` (:class:`SlitRanked`) keeps and changes, each by measurement:

* **Simplex encoding** (new, :class:`SimplexRepair`): the evaluator reads only the proportions
  of each origin's row, so a raw decision vector is one of a whole ray of encodings of its
  allocation and almost never has an exact zero. The repair rescales each row so that its
  largest share is 1 (one encoding per allocation) and, in every other member it repairs,
  drops routes below 3 % of the row: the sparse routings (each origin to one or two sites)
  where most of this problem's optima lie, beside dense ones that keep small flows (a trickle
  that keeps a site's replicas loaded under scale to zero, a spill that relieves a queue).
  Dropping them in every member, the first design of the repair, was best where sites stay
  loaded (capacity-bound, follow-the-sun) and worst with scale to zero (residency); in every
  other member it was within 1 % of the best on each (tuning seeds 0 and 1).
* **Hypervolume survival** (changed): pymoo's genetic algorithm (tournament, SBX, polynomial
  mutation) keeps the members that contribute most hypervolume (SMS-EMOA's survival) instead of
  MOEA/D's replacement by weight vector, which held a sparse front in four objectives
  (``backbone="rank"``, NSGA-II's survival, is the ablation ``slit-ranked``).
* **Warm starts** (new, in the rolling optimiser, for every algorithm): each epoch starts from
  the previous epoch's final population, after the extreme schedules.
* **Local search** (the paper's; kept, smaller, from random starts): each generation, greedy
  descent from ``ls_starts`` (1) member: each step tries ``ls_moves`` (6) moves of ¼, ½ or all
  of one origin's share from one datacenter to another, evaluated together, and keeps the best
  if it shortens the member's Tchebycheff distance to the population's ideal point along the
  member's own ray (weights ``1 / f̂``, ``f̂`` its objectives scaled by the population's range),
  for at most ``ls_steps`` (3) steps; what it finds joins the offspring. It lifted the median
  hypervolume of the follow-the-sun epochs by half and was neutral on capacity-bound.
* **Guidance** (the paper's; optional, ``slit-guided``): a gradient-boosting regressor
  (scikit-learn) predicts each member's local-search gain from its scaled objectives and the
  epoch's predicted load and picks the starts, after 40 generations of random starts (about one
  epoch at 2,000 evaluations), refit every 40. It did no better than random starts
  (docs/optimizer.md), so ``slit`` starts at random.

Ablations: ``slit-sparse`` (the repair drops small routes in every member, as first built);
of the core (no local search, ``slit-nolocal``): ``slit-norepair`` (no simplex repair) and
``slit-ranked`` (NSGA-II's survival); ``slit-moead`` is the first design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.algorithm import Algorithm
from pymoo.core.initialization import Initialization
from pymoo.core.population import Population
from pymoo.core.repair import Repair
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.sampling.rnd import FloatRandomSampling

from slit.optimize.algorithms import reference_directions, register_algorithm

PENALTY = 1.0e3
"""Scalarised cost of one unit of constraint violation (utilisation above the limit)."""


def share_moves(
    x: np.ndarray, n_o: int, n_d: int, n_moves: int, rng: np.random.Generator
) -> np.ndarray:
    """``[n_moves, origin, datacenter]`` neighbours of the decision vector ``x`` for the local
    search: its rows as shares (a row of zeros spread evenly), then in each neighbour ¼, ½ or all
    of one random origin's share moved from one random datacenter to another."""
    cand = np.repeat(x[None], n_moves, axis=0).reshape(n_moves, n_o, n_d)
    rows = cand.sum(axis=2, keepdims=True)
    cand = np.where(rows > 0, cand / np.where(rows > 0, rows, 1.0), 1.0 / n_d)
    o = rng.integers(n_o, size=n_moves)
    src = rng.integers(n_d, size=n_moves)
    dst = (src + 1 + rng.integers(n_d - 1, size=n_moves)) % n_d
    fraction = rng.choice([0.25, 0.5, 1.0], size=n_moves)
    share = cand[np.arange(n_moves), o, src] * fraction
    cand[np.arange(n_moves), o, src] -= share
    cand[np.arange(n_moves), o, dst] += share
    return cand


@dataclass
class SlitGuide:
    """The learned start-point selector, shared by the epochs of one rolling optimisation."""

    warmup_generations: int = 40
    refit_every: int = 40
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
    """SLIT's algorithm as first built, on MOEA/D (registered as ``slit-moead``; see the module
    doc); parameters default to SHIELD's."""

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
            cand = share_moves(x, n_o, n_d, self.ls_moves, self.rng)
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


class SimplexRepair(Repair):  # type: ignore[misc]
    """Each origin's row of the decision vector rescaled so that its largest share is 1 and
    shares below ``floor`` of the row dropped: one encoding per allocation (the evaluator reads
    only the row's proportions) and exact zeros, which routing optima are full of."""

    def __init__(self, floor: float = 0.0, every: int = 1) -> None:
        """``floor``: the share of its row below which a route is dropped; ``every``: drop
        them in every ``every``-th member repaired (1: all), only rescale the others."""
        super().__init__()
        self.floor = floor
        self.every = every

    def _do(self, problem: Any, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        n_o, n_d = problem.n_origins, problem.n_datacenters
        a = np.clip(np.asarray(X, float).reshape(len(X), n_o, n_d), 0.0, 1.0)
        allowed = getattr(problem, "allowed", None)
        if allowed is not None:  # data residency: no share where the origin may not go
            a = a * allowed[None]
        total = a.sum(axis=2, keepdims=True)
        share = np.where(total > 0, a / np.where(total > 0, total, 1.0), 0.0)
        if self.floor > 0:
            sparse = (np.arange(len(X)) % self.every == 0)[:, None, None]
            share = np.where(sparse & (share < self.floor), 0.0, share)
        top = share.max(axis=2, keepdims=True)
        out = np.where(top > 0, share / np.where(top > 0, top, 1.0), a)
        return out.reshape(len(X), -1)


class SlitRanked(NSGA2):  # type: ignore[misc]
    """SLIT's algorithm as registered under ``slit`` (see the module doc): a pymoo genetic
    algorithm (binary tournament, SBX, polynomial mutation) on the simplex encoding of
    :class:`SimplexRepair`, whose survival keeps the members that contribute most hypervolume
    (SMS-EMOA's, ``backbone="hypervolume"``) or ranks and crowding distances (NSGA-II's,
    ``backbone="rank"``); optionally with the guided local search, whose finds join each
    generation's offspring."""

    def __init__(self, pop_size: int = 40, guide: SlitGuide | None = None, guided: bool = True,
                 local_search: bool = False, ls_starts: int = 1, ls_steps: int = 3,
                 ls_moves: int = 6, repair_floor: float | None = 0.03, repair_every: int = 2,
                 backbone: str = "hypervolume", **kwargs: Any) -> None:  # fmt: skip
        """Args beyond the genetic algorithm's: ``guide`` (shared across epochs);
        ``local_search`` switches the local search on, ``guided=False`` picks its starts at
        random; its starts per generation, steps and moves per step; ``repair_floor``: the
        share below which :class:`SimplexRepair` drops a route (None: no repair), in every
        ``repair_every``-th member it repairs;
        ``backbone``: ``"hypervolume"`` or ``"rank"`` survival."""
        if repair_floor is not None:
            kwargs.setdefault("repair", SimplexRepair(repair_floor, repair_every))
        if backbone == "hypervolume":
            from pymoo.algorithms.moo.sms import (
                LeastHypervolumeContributionSurvival,
                cv_and_dom_tournament,
            )
            from pymoo.operators.selection.tournament import TournamentSelection

            kwargs.setdefault("survival", LeastHypervolumeContributionSurvival())
            kwargs.setdefault("selection", TournamentSelection(func_comp=cv_and_dom_tournament))
        elif backbone != "rank":
            raise ValueError(
                f"SlitRanked: backbone must be 'hypervolume' or 'rank', not {backbone!r}"
            )
        super().__init__(pop_size=pop_size, **kwargs)
        self.backbone = backbone
        self.guide = guide if guide is not None else SlitGuide()
        self.guided = guided
        self.local_search = local_search
        self.ls_starts, self.ls_steps, self.ls_moves = ls_starts, ls_steps, ls_moves

    def _setup(self, problem: Any, **kwargs: Any) -> None:
        super()._setup(problem, **kwargs)
        self.rng = np.random.default_rng(self.seed)
        demand = getattr(problem, "demand", None)
        self.load = float(demand.rate_per_s.sum()) if demand is not None else 0.0

    def _scaled(self, f: np.ndarray) -> np.ndarray:
        pf = self.pop.get("F")
        lo, hi = pf.min(axis=0), pf.max(axis=0)
        return (f - lo) / np.where(hi > lo, hi - lo, 1.0)

    def _score(self, f: np.ndarray, cv: np.ndarray, w: np.ndarray) -> np.ndarray:
        # Tchebycheff distance to the population's ideal point along the member's own ray
        return (self._scaled(f) * w).max(axis=-1) + PENALTY * cv

    def _local_search(self, i: int) -> tuple[float, list[Any]]:
        n_o, n_d = self.problem.n_origins, self.problem.n_datacenters
        member = self.pop[i]
        fs = self._scaled(member.F[None])[0]
        w = 1.0 / np.maximum(fs, 1e-3)
        w = w / w.sum()
        x = member.X.copy()
        start = cur = float(self._score(member.F[None], np.array([member.get("CV")[0]]), w)[0])
        found = []
        for _ in range(self.ls_steps):
            cand = share_moves(x, n_o, n_d, self.ls_moves, self.rng)
            pop = Population.new(X=cand.reshape(self.ls_moves, -1))
            self.evaluator.eval(self.problem, pop, algorithm=self)
            scores = self._score(pop.get("F"), pop.get("CV")[:, 0], w)
            best = int(np.argmin(scores))
            if scores[best] >= cur:
                break
            cur = float(scores[best])
            x = pop[best].X
            found.append(pop[best])
        return (start - cur) / max(abs(start), 1e-12), found

    def _infill(self) -> Population:
        found: list[Any] = []
        if self.local_search and self.ls_starts > 0:
            f = self._scaled(self.pop.get("F"))
            feats = np.hstack([f, np.full((len(self.pop), 1), self.load)])
            k = min(self.ls_starts, len(self.pop))
            if self.guided and self.guide.ready():
                starts = self.guide.rank(feats)[:k]
            else:
                starts = self.rng.choice(len(self.pop), size=k, replace=False)
            for i in starts:
                gain, new = self._local_search(int(i))
                found += new
                if self.guided:
                    self.guide.record(feats[i], gain)
            if self.guided:
                self.guide.step(int(self.seed or 0))
        off = super()._infill()
        if off is None:
            return Population.create(*found) if found else None
        return Population.merge(off, Population.create(*found)) if found else off


# -- registration (slit.plugins.ALGORITHMS imports this module when it is first read) ----
@register_algorithm("slit", "SLIT: simplex encoding, hypervolume survival, local search")
def _slit(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SlitRanked(pop_size=pop_size, guide=guide, local_search=True, guided=False)


@register_algorithm("slit-guided", "SLIT with the paper's GBM-guided local-search starts")
def _slit_guided(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SlitRanked(pop_size=pop_size, guide=guide, local_search=True, guided=True)


@register_algorithm("slit-sparse", "SLIT ablation: the repair drops small routes in every member")
def _slit_sparse(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SlitRanked(pop_size=pop_size, guide=guide, local_search=True, guided=False,
                      repair_every=1)  # fmt: skip


@register_algorithm("slit-nolocal", "SLIT ablation: no local search (the core)")
def _slit_nolocal(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SlitRanked(pop_size=pop_size, guide=guide)


@register_algorithm("slit-norepair", "SLIT ablation: the core without the simplex repair")
def _slit_norepair(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SlitRanked(pop_size=pop_size, guide=guide, repair_floor=None)


@register_algorithm("slit-ranked", "SLIT ablation: the core with NSGA-II's survival")
def _slit_ranked(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SlitRanked(pop_size=pop_size, guide=guide, backbone="rank")


@register_algorithm("slit-moead", "SLIT as first built: MOEA/D with GBM-guided local search")
def _slit_moead(pop_size: int, n_obj: int, seed: int, guide: Any = None) -> Any:
    return SLIT(pop_size=pop_size, guide=guide)

"""Picking one allocation from an epoch's Pareto front: SLIT's decision variants.

Objectives are normalised over the front (0 = the best value any member reaches, 1 = the
worst); a variant is then:

* ``balanced``: the member closest (Euclidean) to the ideal point (SLIT-Balanced);
* ``ttft``, ``carbon``, ``water``, ``cost``: the best member on that objective (ties broken
  by the sum of the normalised objectives);
* ``knee``: a knee in Deb and Gupta's sense, found by pymoo's ``HighTradeoffPoints`` (members
  whose least improvement per unit of deterioration towards their neighbours is an outlier of
  the front); of several, the one closest to the ideal point. A front without such a point
  (fewer than four members, or no outlier) takes the member whose worst normalised objective
  is smallest (the Chebyshev point, the knee of a front without one);
* user weights ``w``: the member minimising ``max_i w_i f_i`` of the normalised objectives
  (the weighted Chebyshev distance to the ideal point, which, unlike a weighted sum, can pick
  members on non-convex parts of the front).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from slit.optimize.problem import OBJECTIVES

FloatArray = npt.NDArray[np.float64]

VARIANTS = ("balanced", "ttft", "carbon", "water", "cost", "knee")
"""The named decision variants, in the order outputs list them."""


def normalise(front: FloatArray) -> FloatArray:
    """Objectives scaled to [0, 1] over the front (a flat objective becomes 0)."""
    f = np.asarray(front, float)
    lo, hi = f.min(axis=0), f.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (f - lo) / span


def knee_points(z: FloatArray) -> npt.NDArray[np.int64]:
    """Indices of the high trade-off points of a normalised front (pymoo's
    ``HighTradeoffPoints``; empty when it finds none or the front is too small)."""
    if len(z) < 4:
        return np.zeros(0, dtype=np.int64)
    import warnings

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # pymoo's module imports a deprecated scipy namespace; its trade-offs divide by zero
        # gains on purpose
        warnings.simplefilter("ignore")
        from pymoo.mcdm.high_tradeoff import HighTradeoffPoints

        try:
            found = HighTradeoffPoints().do(z)
        except (ValueError, IndexError):  # degenerate fronts (duplicates, one objective flat)
            found = None
    return np.zeros(0, dtype=np.int64) if found is None else np.asarray(found, np.int64).ravel()


def _knee(z: FloatArray) -> int:
    knees = knee_points(z)
    if len(knees) == 0:
        return int(np.argmin(z.max(axis=1)))
    return int(knees[np.argmin(np.sqrt((z[knees] ** 2).sum(axis=1)))])


def rank(front: FloatArray, variant: str | FloatArray) -> npt.NDArray[np.int64]:
    """Every member of ``front``, in the order of the variant's preference (the first is
    :func:`choose`'s pick): by distance to the ideal point (``balanced``), by the objective
    then the sum of the normalised objectives (``ttft``, ``carbon``, ``water``, ``cost``), by
    the weighted Chebyshev distance (weights), and the knee first, then the others by their
    worst normalised objective (``knee``)."""
    z = normalise(front)
    first = choose(front, variant)
    if isinstance(variant, str):
        if variant == "balanced":
            order = np.argsort(np.sqrt((z**2).sum(axis=1)), kind="stable")
        elif variant == "knee":
            order = np.argsort(z.max(axis=1), kind="stable")
        else:
            col = {"ttft": 0, "carbon": 1, "water": 2, "cost": 3}[variant]
            order = np.lexsort((z.sum(axis=1), z[:, col]))
    else:
        w = np.asarray(variant, float)
        w = w / w.sum()
        order = np.lexsort((z @ w, (z * w).max(axis=1)))
    order = np.asarray(order, np.int64)
    return np.concatenate([[first], order[order != first]]).astype(np.int64)


def choose(front: FloatArray, variant: str | FloatArray) -> int:
    """Index of the member of ``front`` (``[members, objectives]``) the variant picks."""
    z = normalise(front)
    if isinstance(variant, str):
        if variant == "balanced":
            return int(np.argmin(np.sqrt((z**2).sum(axis=1))))
        if variant == "knee":
            return _knee(z)
        if variant in OBJECTIVES or f"{variant}_s" in OBJECTIVES or variant in (
            "carbon", "water", "cost"
        ):  # fmt: skip
            col = {"ttft": 0, "carbon": 1, "water": 2, "cost": 3}[variant]
            return int(np.lexsort((z.sum(axis=1), z[:, col]))[0])
        raise ValueError(f"unknown decision variant {variant!r}; valid: {', '.join(VARIANTS)}")
    w = np.asarray(variant, float)
    if w.shape != (front.shape[1],) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {front.shape[1]} non-negative numbers, not all zero")
    w = w / w.sum()
    return int(np.lexsort((z @ w, (z * w).max(axis=1)))[0])

"""Quality indicators of several optimisations on one shared normalisation.

A hypervolume is only comparable between fronts normalised the same way. ``slit optimize``
writes, per run, the hypervolume of each epoch on that run's own scale (``indicators.json``);
:func:`shared_indicators` puts the fronts of several runs of the same scenario (other
algorithms, seeds or settings) on one scale per epoch: between the ideal point and the nadir of
the non-dominated set of their union. It then scores each run's front by its hypervolume
(reference point 1.1 in every normalised objective) and by IGD+ against that union's
non-dominated set (both from pymoo). ``slit compare`` is its command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from slit.optimize.problem import OBJECTIVES


def shared_indicators(
    fronts: Mapping[str, pd.DataFrame], epochs: Iterable[int] | None = None
) -> pd.DataFrame:
    """Per run and epoch, the hypervolume and IGD+ of the run's front on the epochs' shared
    normalisation.

    Args:
        fronts: run label -> its ``fronts.csv`` table (columns ``epoch``, ``feasible`` and the
            objectives of :data:`~slit.optimize.problem.OBJECTIVES`).
        epochs: the epochs to score (default: those every run has). Leave out drain epochs:
            nothing is decided there.

    Returns:
        columns ``run``, ``epoch``, ``hypervolume``, ``igd_plus``. A run whose front in an epoch
        has no feasible member scores hypervolume 0 and IGD+ NaN there.

    Raises:
        ValueError: fewer than one run, or a table without the objective columns.
    """
    from pymoo.indicators.hv import HV
    from pymoo.indicators.igd_plus import IGDPlus
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    if not fronts:
        raise ValueError("shared_indicators: no runs given")
    cols = list(OBJECTIVES)
    for label, table in fronts.items():
        missing = [c for c in (*cols, "epoch", "feasible") if c not in table.columns]
        if missing:
            raise ValueError(f"shared_indicators: the fronts of {label!r} lack {missing}")
    common = set.intersection(*(set(t["epoch"].unique()) for t in fronts.values()))
    chosen = sorted(common if epochs is None else common & set(epochs))
    hv = HV(ref_point=np.full(len(cols), 1.1))
    rows = []
    for e in chosen:
        own = {
            label: t.loc[(t["epoch"] == e) & t["feasible"].astype(bool), cols].to_numpy(float)
            for label, t in fronts.items()
        }
        union = np.vstack([f for f in own.values() if len(f)] or [np.zeros((0, len(cols)))])
        if not len(union):
            rows += [{"run": r, "epoch": e, "hypervolume": 0.0, "igd_plus": np.nan} for r in own]
            continue
        nd = union[NonDominatedSorting().do(union, only_non_dominated_front=True)]
        lo, hi = nd.min(axis=0), nd.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        igd = IGDPlus((nd - lo) / span)
        for label, f in own.items():
            if not len(f):
                rows.append({"run": label, "epoch": e, "hypervolume": 0.0, "igd_plus": np.nan})
                continue
            z = (f - lo) / span
            rows.append({"run": label, "epoch": e, "hypervolume": float(hv(z)),
                         "igd_plus": float(igd(z))})  # fmt: skip
    return pd.DataFrame(rows, columns=["run", "epoch", "hypervolume", "igd_plus"])


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per run: the mean hypervolume and IGD+ over the epochs of :func:`shared_indicators`,
    and the epochs in which its hypervolume was the highest of all runs (ties count for
    each)."""
    best = table.groupby("epoch")["hypervolume"].transform("max")
    out = table.assign(best=table["hypervolume"] >= best).groupby("run", sort=False).agg(
        hypervolume_mean=("hypervolume", "mean"),
        igd_plus_mean=("igd_plus", "mean"),
        epochs=("epoch", "count"),
        epochs_best=("best", "sum"),
    )
    return out.reset_index()

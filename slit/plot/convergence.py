"""Convergence of an optimisation: hypervolume per generation, across the epochs of a horizon."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slit.metrics import metric_label
from slit.plot.style import OKABE_ITO


def plot_convergence(convergence: pd.DataFrame, ax: Any = None, *, label: str | None = None,
                     color: str | None = None) -> Any:  # fmt: skip
    """Hypervolume of the population after each generation (``convergence.csv``).

    The line is the median over the epochs that reached that generation, the band the
    interquartile range; x is the mean number of evaluations spent by that generation. Each
    epoch's objectives are normalised by its final front (see ``slit.optimize.run``), so 1.21
    (1.1 to the fourth) is the largest possible value.

    Args:
        convergence: columns ``epoch``, ``generation``, ``evaluations``, ``hypervolume``.
        ax: Axes to draw on (a new figure when None).
        label: legend label (e.g. the algorithm) when several runs share an Axes.
        color: line colour (default: the next of the palette).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.0), layout="constrained")
    if color is None:
        color = OKABE_ITO[len(ax.get_lines()) % len(OKABE_ITO)]
    g = convergence.groupby("generation")
    stats = pd.DataFrame({
        "evaluations": g["evaluations"].mean(),
        "median": g["hypervolume"].median(),
        "q25": g["hypervolume"].quantile(0.25),
        "q75": g["hypervolume"].quantile(0.75),
        "epochs": g["epoch"].nunique(),
    })  # fmt: skip
    # generations reached by fewer than half the epochs would make the tail noisy
    stats = stats[stats["epochs"] >= max(1, int(np.ceil(stats["epochs"].max() / 2)))]
    x = stats["evaluations"].to_numpy(float)
    ax.plot(x, stats["median"], color=color, label=label or "median over epochs")
    ax.fill_between(x, stats["q25"], stats["q75"], color=color, alpha=0.25, lw=0,
                    label=None if label else "interquartile range")  # fmt: skip
    ax.set_xlabel("evaluations in the epoch")
    ax.set_ylabel(metric_label("hypervolume_mean"))
    # above the panel, outside the data; a later call (several runs on one Axes) redraws it
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), frameon=False, ncol=2,
              borderaxespad=0.0)  # fmt: skip
    return ax

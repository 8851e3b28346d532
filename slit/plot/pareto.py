"""Plots of optimisation results: the Pareto front as a pairwise grid and in parallel
coordinates, with decision variants and baselines marked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slit.metrics import PLAN_NAMES, metric_label
from slit.plot.style import OKABE_ITO, legend_columns

OBJECTIVES = ("ttft_s", "carbon_kg", "water_l", "cost_usd")
"""The four objectives of ``pareto.csv``."""

OBJECTIVE_LABELS = {key: metric_label(key) for key in OBJECTIVES}
"""Axis labels (with units) of the four objectives, from the metric catalogue."""

VARIANT_MARKERS = {"balanced": "*", "ttft": "^", "carbon": "v", "water": "<", "cost": ">",
                   "knee": "D"}  # fmt: skip

BASELINE_MARKERS = {"helix": ("s", "Helix"), "splitwise": ("D", "Splitwise"),
                    "consolidate": ("o", "consolidate (carbon-blind packing)"),
                    "nearest": ("x", "nearest"), "round_robin": ("+", "round robin"),
                    "least_loaded": ("P", "least loaded"), "lowest_carbon": ("p", "lowest carbon"),
                    "lowest_water": ("h", "lowest water"),
                    "lowest_cost": ("2", "lowest cost")}  # fmt: skip
"""Marker and legend label of each replayed baseline (black, open): one each, so that every
baseline can be told apart."""

SPARE_MARKERS = ("1", "3", "4", "8", "H", "d", "|", "_")
"""Markers of baselines outside :data:`BASELINE_MARKERS` (a plugin's policies), in order."""

GREEDY = ("nearest", "round_robin", "least_loaded", "lowest_carbon", "lowest_water",
          "lowest_cost")  # fmt: skip

_OPEN_FACE = frozenset("sDoPph8Hd")  # filled shapes drawn open; line markers have no face


def baseline_marker(name: str, others: list[str]) -> tuple[str, str]:
    """Marker and label of baseline ``name``; ``others`` are the uncatalogued baselines of the
    figure, in order, which take the spare markers."""
    if name in BASELINE_MARKERS:
        return BASELINE_MARKERS[name]
    return SPARE_MARKERS[others.index(name) % len(SPARE_MARKERS)], name.replace("_", " ")


def plot_pareto_grid(pareto: pd.DataFrame, baselines: pd.DataFrame | None = None,
                     fig: Any = None) -> Any:  # fmt: skip
    """Pairwise scatter of the four objectives of ``pareto.csv``.

    The points are the plans' simulated totals (their replays); weight-vector plans are grey
    dots, decision variants coloured markers; ``baselines`` (rows of ``validated.csv`` with
    ``kind == "baseline"``, simulated) are black, each with its own marker and legend entry
    (:data:`BASELINE_MARKERS`), at their mean TTFT. When ``pareto.csv`` holds the evaluator's
    predictions (``predicted_*``), they are drawn as small open grey circles, an overlay marked
    as such. The legend lies below the panels. Returns the figure (its axes are ``fig.axes``).
    """
    import matplotlib.pyplot as plt

    objs = list(OBJECTIVE_LABELS)
    n = len(objs)
    if fig is None:
        fig = plt.figure(figsize=(7.0, 7.0), layout="constrained")
    axes = fig.subplots(n - 1, n - 1, squeeze=False)
    # a folder from before plans were replayed holds predictions only
    kind = "simulated" if "predicted_ttft_s" in pareto.columns else "predicted"
    named = pareto[pareto["plan"].isin(list(VARIANT_MARKERS))]
    rest = pareto[~pareto["plan"].isin(list(VARIANT_MARKERS))]
    base = None
    if baselines is not None and len(baselines):
        base = baselines.rename(columns={"ttft_mean_s": "ttft_s"})
    for row in range(1, n):
        for col in range(n - 1):
            ax = axes[row - 1][col]
            if col >= row:
                ax.set_visible(False)
                continue
            x, y = objs[col], objs[row]
            if f"predicted_{x}" in pareto.columns and f"predicted_{y}" in pareto.columns:
                ax.scatter(pareto[f"predicted_{x}"], pareto[f"predicted_{y}"], s=14,
                           facecolors="none", edgecolors="0.55", linewidths=0.6,
                           label="predicted by the evaluator (overlay)", zorder=1)  # fmt: skip
            ax.scatter(rest[x], rest[y], s=10, color="0.6", label="weight-vector plans")
            for k, r in enumerate(named.itertuples()):
                plan = str(r.plan)
                ax.scatter(getattr(r, x), getattr(r, y), s=60, marker=VARIANT_MARKERS[plan],
                           color=OKABE_ITO[k % len(OKABE_ITO)], label=PLAN_NAMES.get(plan, plan),
                           zorder=3)  # fmt: skip
            if base is not None:
                others = [b for b in dict.fromkeys(base["name"]) if b not in BASELINE_MARKERS]
                for name, rows in base.groupby("name", sort=False):
                    marker, label = baseline_marker(str(name), others)
                    # filled shapes are drawn open; line markers (x, +) have no face
                    colours = ({"facecolors": "none", "edgecolors": "black"}
                               if marker in _OPEN_FACE else {"color": "black"})  # fmt: skip
                    ax.scatter(rows[x], rows[y], s=28, marker=marker, linewidths=0.8,
                               label=label, zorder=4, **colours)  # fmt: skip
            # room for the largest marker inside the panel at every size of figure
            ax.margins(0.12)
            if row == n - 1:
                ax.set_xlabel(OBJECTIVE_LABELS[x])
            if col == 0:
                ax.set_ylabel(OBJECTIVE_LABELS[y])
            ax.grid(alpha=0.3)
    handles, labels = axes[n - 2][0].get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=False))
    title = ("plans and baselines simulated with one seed" if kind == "simulated"
             else "plans as predicted by the evaluator (not replayed)")  # fmt: skip
    if "forecaster" in pareto.columns and len(pareto):
        # the plans' demand forecast, so that an oracle front is never read as achievable
        title += f"; plans decided on the {pareto['forecaster'].iloc[0]} demand forecast"
    # below the panels, outside the data (the empty upper triangle is too small in a column)
    fig.legend(uniq.values(), uniq.keys(), loc="outside lower center", frameon=False,
               ncol=legend_columns(list(uniq), fig.get_figwidth()), title=title,
               title_fontsize="small")  # fmt: skip
    return fig


def plot_parallel(pareto: pd.DataFrame, ax: Any = None) -> Any:
    """Parallel coordinates of the front, each objective scaled to [0, 1] (best to worst)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 3.2), layout="constrained")
    objs = list(OBJECTIVE_LABELS)
    if "non_dominated" in pareto.columns and pareto["non_dominated"].any():
        pareto = pareto[pareto["non_dominated"].astype(bool)]  # the simulated front
    f = pareto[objs].to_numpy(float)
    lo, hi = f.min(axis=0), f.max(axis=0)
    z = (f - lo) / np.where(hi > lo, hi - lo, 1.0)
    xs = np.arange(len(objs))
    for i, plan in enumerate(pareto["plan"]):
        if plan in VARIANT_MARKERS:
            k = list(VARIANT_MARKERS).index(plan)
            ax.plot(xs, z[i], lw=2.0, color=OKABE_ITO[k % len(OKABE_ITO)],
                    label=PLAN_NAMES.get(plan, plan), zorder=3)  # fmt: skip
        else:
            ax.plot(xs, z[i], lw=0.8, color="0.7")
    # the objective on one line, its range on the front on the next: one tick per objective
    ax.set_xticks(xs, [f"{OBJECTIVE_LABELS[o]}\n{lo[j]:.3g} to {hi[j]:.3g}"
                       for j, o in enumerate(objs)])  # fmt: skip
    ax.set_xlim(-0.35, len(objs) - 0.65)  # room for the outer tick labels' halves
    ax.set_ylabel("scaled objective\n[0 = best on the front]")
    labels = ax.get_legend_handles_labels()[1]
    if labels:
        ax.figure.legend(loc="outside upper center", frameon=False,
                         ncol=legend_columns(labels, ax.figure.get_figwidth()))  # fmt: skip
    ax.grid(alpha=0.3)
    return ax

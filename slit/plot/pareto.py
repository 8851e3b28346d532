"""Plots of optimisation results: the Pareto front as a pairwise grid and in parallel
coordinates, with decision variants and baselines marked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slit.plot.style import OKABE_ITO

OBJECTIVE_LABELS = {
    "ttft_s": "TTFT mean [s]",
    "carbon_kg": "carbon [kg]",
    "water_l": "water [L]",
    "cost_usd": "cost [USD]",
}
"""Axis labels (with units) of the four objectives."""

VARIANT_MARKERS = {"balanced": "*", "ttft": "^", "carbon": "v", "water": "<", "cost": ">",
                   "knee": "D"}  # fmt: skip


BASELINE_MARKERS = {"helix": ("s", "Helix (simulated)"),
                    "splitwise": ("D", "Splitwise (simulated)"),
                    "consolidate": ("o", "consolidate, carbon-blind packing (simulated)"),
                    "greedy": ("x", "greedy policies (simulated)")}  # fmt: skip
"""Markers of the replayed baselines: Helix, Splitwise and consolidation each, the greedy
policies together."""

GREEDY = ("nearest", "round_robin", "least_loaded", "lowest_carbon", "lowest_water",
          "lowest_cost")  # fmt: skip


def plot_pareto_grid(pareto: pd.DataFrame, baselines: pd.DataFrame | None = None,
                     fig: Any = None) -> Any:  # fmt: skip
    """Pairwise scatter of the four objectives of ``pareto.csv``.

    The points are the plans' simulated totals (their replays); weight-vector plans are grey
    dots, decision variants coloured markers; ``baselines`` (rows of ``validated.csv`` with
    ``kind == "baseline"``, simulated) are black: open squares for Helix, open diamonds for
    Splitwise and crosses for the greedy policies, at their mean TTFT. When ``pareto.csv``
    holds the evaluator's predictions (``predicted_*``), they are drawn as small open circles,
    an overlay marked as such. Returns the figure (its axes are ``fig.axes``).
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
            ax.scatter(rest[x], rest[y], s=10, color="0.6", label=f"weight vectors ({kind})")
            for k, r in enumerate(named.itertuples()):
                ax.scatter(getattr(r, x), getattr(r, y), s=60, marker=VARIANT_MARKERS[str(r.plan)],
                           color=OKABE_ITO[k % len(OKABE_ITO)], label=f"{r.plan} ({kind})",
                           zorder=3)  # fmt: skip
            if base is not None:
                for key, (marker, label) in BASELINE_MARKERS.items():
                    pick = base["name"].isin(GREEDY) if key == "greedy" else base["name"] == key
                    if pick.any():
                        ax.scatter(base.loc[pick, x], base.loc[pick, y], s=28, marker=marker,
                                   color="black", facecolors="none" if marker != "x" else None,
                                   label=label, zorder=4)  # fmt: skip
            if row == n - 1:
                ax.set_xlabel(OBJECTIVE_LABELS[x])
            if col == 0:
                ax.set_ylabel(OBJECTIVE_LABELS[y])
            ax.grid(alpha=0.3)
    handles, labels = axes[n - 2][0].get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=False))
    fig.legend(uniq.values(), uniq.keys(), loc="upper right", fontsize=8, frameon=False)
    if "forecaster" in pareto.columns and len(pareto):
        # the plans' demand forecast, so that an oracle front is never read as achievable
        fig.suptitle(f"plans decided on the demand forecast: {pareto['forecaster'].iloc[0]}",
                     fontsize=9, x=0.02, ha="left")  # fmt: skip
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
            ax.plot(xs, z[i], lw=2.0, color=OKABE_ITO[k % len(OKABE_ITO)], label=plan, zorder=3)
        else:
            ax.plot(xs, z[i], lw=0.8, color="0.7")
    ax.set_xticks(xs, [f"{OBJECTIVE_LABELS[o]}\n{lo[j]:.3g} to {hi[j]:.3g}"
                       for j, o in enumerate(objs)], fontsize=8)  # fmt: skip
    ax.set_ylabel("scaled objective [0 = best on the front]")
    ax.legend(fontsize=8, frameon=False, ncol=3)
    ax.grid(alpha=0.3)
    return ax

"""Sweep results: a metric against a swept parameter, with a band over seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slit.plot.style import OKABE_ITO
from slit.traces.summary import unit_of

DIMENSIONLESS = {"slo_attainment": "fraction of requests", "pareto_size": "plans",
                 "hypervolume_mean": "normalised objectives", "requests": "requests",
                 "completed": "requests", "dropped": "requests"}  # fmt: skip


def metric_label(metric: str) -> str:
    """An axis label with the unit read from the metric's name (``carbon_kg`` -> ``[kg]``)."""
    base = metric.rsplit(".", 1)[-1]
    if base in DIMENSIONLESS:
        return f"{metric} [{DIMENSIONLESS[base]}]"
    units = (("_per_s", "1/s"), ("_s", "s"), ("_kg", "kg"), ("_l", "L"), ("_usd", "USD"),
             ("_kwh", "kWh"), ("_mwh", "MWh"))  # fmt: skip
    for suffix, unit in units:
        if base.endswith(suffix):
            return f"{metric.removesuffix(suffix)} [{unit}]"
    unit = unit_of(base)
    return f"{metric} [{unit}]" if unit else f"{metric} [-]"


def plot_sweep(results: pd.DataFrame, x: str, y: str, *, hue: str | None = None,
               ax: Any = None) -> Any:  # fmt: skip
    """``y`` against swept parameter ``x``: the mean over seeds, and a band from the lowest to
    the highest seed; one line per value of ``hue``. Failed points are left out.

    Args:
        results: ``results.parquet`` of a sweep.
        x: a swept parameter, with or without its ``param.`` prefix.
        y: a metric column (e.g. ``carbon_kg`` or ``balanced.ttft_p95_s``).
        hue: another swept parameter to draw one line per value of.
        ax: Axes to draw on (a new figure when None).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    def col(name: str) -> str:
        return name if name in results else f"param.{name}"

    xc, hc = col(x), (col(hue) if hue else None)
    for c in (xc, y) + ((hc,) if hc else ()):
        if c not in results:
            from slit.errors import SlitError

            raise SlitError(f"sweep results have no column '{c}'; columns: "
                            f"{', '.join(map(str, results.columns))}")  # fmt: skip
    ok = results[results["status"] == "ok"] if "status" in results else results
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.0), layout="constrained")
    groups = ok.groupby(hc, sort=True) if hc else [(None, ok)]
    categorical = not pd.api.types.is_numeric_dtype(ok[xc])
    order: list[Any] = list(dict.fromkeys(ok[xc])) if categorical else []
    for k, (h, grp) in enumerate(groups):
        st = grp.groupby(xc, sort=not categorical)[y].agg(["mean", "min", "max", "count"])
        if categorical:
            st = st.reindex([v for v in order if v in st.index])
            xs = np.array([order.index(v) for v in st.index], dtype=float)
        else:
            xs = st.index.to_numpy(float)
        color = OKABE_ITO[k % len(OKABE_ITO)]
        label = (f"{hc.removeprefix('param.')} = {h!s}" if hc
                 else f"mean of {int(st['count'].max())} seeds")  # fmt: skip
        ax.plot(xs, st["mean"], marker="o", color=color, label=label)
        ax.fill_between(xs, st["min"], st["max"], color=color, alpha=0.2, lw=0)
    if categorical:
        ax.set_xticks(range(len(order)), [str(v) for v in order])
    name = xc.removeprefix("param.")
    ax.set_xlabel(name if categorical else metric_label(name))
    ax.set_ylabel(metric_label(y))
    ax.legend(frameon=False, title="band: min to max over seeds", title_fontsize="small")
    return ax

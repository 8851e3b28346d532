"""Sweep results: a metric against a swept parameter, with a band over seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slit.metrics import metric_label, parameter_label
from slit.plot.style import OKABE_ITO, legend_columns

__all__ = ["metric_label", "plot_sweep", "figure_stem"]


def figure_stem(y: str, x: str) -> str:
    """The file stem of the figure of metric ``y`` against parameter ``x``: letters, digits,
    ``_`` and ``-`` only (a dotted key's dots become ``-``), e.g.
    ``sweep_balanced-ttft_p95_s_vs_options-pop_size``."""

    def safe(name: str) -> str:
        return "".join(c if c.isalnum() or c in "_-" else "-" for c in name).strip("-")

    return f"sweep_{safe(y)}_vs_{safe(x.removeprefix('param.'))}"


def _seeds(n: int) -> str:
    return "one seed" if n == 1 else f"mean of {n} seeds"


def _wrap(name: str, width: int) -> str:
    """``name`` broken after ``-``, ``_``, ``.`` or spaces into lines of at most ``width``
    characters where it can be (a longer piece keeps its own line)."""
    import re

    lines: list[str] = []
    for piece in re.findall(r"[^-_. ]+[-_. ]*|[-_. ]+", name):
        if lines and len(lines[-1]) + len(piece.rstrip()) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(line.rstrip() for line in lines)


def _category_labels(names: list[str], ax: Any) -> tuple[list[str], bool]:
    """Category names laid out to fit under ``ax``: as they are, or wrapped onto up to three
    lines, or (when even that does not fit) wrapped and turned upright. Returns the labels and
    whether to turn them. The fit is an estimate: 0.6 em per character, the panel about 80 %
    of the figure's width."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    size_pt = FontProperties(size=mpl.rcParams["xtick.labelsize"]).get_size_in_points()
    char_in = 0.6 * size_pt / 72
    per_label_in = 0.8 * ax.figure.get_figwidth() / len(names) - 0.1
    width = int(per_label_in / char_in)
    if max(len(n) for n in names) <= width:
        return names, False
    wrapped = [_wrap(n, max(width, 1)) for n in names]
    if width >= 6 and all(max(map(len, w.split("\n"))) <= width and w.count("\n") < 3
                          for w in wrapped):  # fmt: skip
        return wrapped, False
    return [_wrap(n, 16) for n in names], True


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
        # a value long enough to widen the legend past the figure is wrapped
        label = _wrap(str(h), 30) if hc else _seeds(int(st["count"].max()))
        ax.plot(xs, st["mean"], marker="o", color=color, label=label)
        ax.fill_between(xs, st["min"], st["max"], color=color, alpha=0.2, lw=0)
    if categorical:
        names, upright = _category_labels([str(v) for v in order], ax)
        ax.set_xticks(range(len(names)), names)
        if upright:  # upright labels never run together
            ax.tick_params(axis="x", labelrotation=90)
    if y.endswith("ttft_p95_s") and "slo_ttft_s" in ok and ok["slo_ttft_s"].nunique() == 1:
        # the TTFT SLO applies to the p95: drawn where the metric is one
        slo = float(ok["slo_ttft_s"].iloc[0])
        lo, hi = ax.get_ylim()
        if slo <= hi + (hi - lo):  # near the data: drawn, the axis stretched to show it
            ax.axhline(slo, color="0.3", ls="--", lw=0.8, label=f"TTFT SLO ({slo:g} s)")
        else:  # far above: named, so that the data keep the axis
            ax.plot([], [], color="0.3", ls="--", lw=0.8,
                    label=f"TTFT SLO ({slo:g} s, above the axis)")  # fmt: skip
    ax.set_xlabel(parameter_label(xc))
    ax.set_ylabel(metric_label(y))
    title = "band: min to max over seeds"
    if hc:
        title = f"{parameter_label(hc)}\n(mean; {title})"
    # the legend goes above the panel, outside the data
    labels = ax.get_legend_handles_labels()[1]
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), frameon=False, title=title,
              title_fontsize="small", borderaxespad=0.0, alignment="left",
              ncol=legend_columns(labels, 0.9 * ax.figure.get_figwidth()))  # fmt: skip
    return ax

"""The figures of a result folder: what ``slit plot DIR`` draws and ``slit report DIR`` embeds.

The kind of folder is read from the files in it:

* ``slit optimize``: Pareto grid, parallel coordinates, hypervolume convergence, per-datacenter
  impacts of every replayed plan and baseline, routing share of the balanced plan's replay;
* ``slit run``: routing share and per-datacenter impacts;
* both, when the run has deferrable requests or capacity control: requests released and
  replicas powered over time;
* ``slit sweep``: every metric of interest against every swept parameter, a band over seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from slit.errors import SlitError
from slit.plot.style import figure_style, figure_width_in, save_figure

RUN_FIGURE_METRICS = ("ttft_p95_s", "carbon_kg", "water_l", "cost_usd")
"""Metrics of a ``run`` sweep drawn against each swept parameter."""

OPTIMIZE_FIGURE_METRICS = ("balanced.ttft_p95_s", "balanced.carbon_kg", "balanced.water_l",
                           "balanced.cost_usd", "hypervolume_mean")  # fmt: skip
"""Metrics of an ``optimize`` sweep drawn against each swept parameter."""


def folder_kind(folder: Path) -> str:
    """``optimize``, ``run`` or ``sweep``, from the files in ``folder``."""
    if not folder.exists():
        raise SlitError(f"{folder}: no such folder; give a folder written by `slit optimize`, "
                        "`slit sweep` or `slit run`")  # fmt: skip
    if not folder.is_dir():
        raise SlitError(f"{folder}: is a file, not a result folder; give the folder written by "
                        "`slit optimize`, `slit sweep` or `slit run`")  # fmt: skip
    if (folder / "pareto.csv").is_file():
        return "optimize"
    if (folder / "results.parquet").is_file():
        return "sweep"
    if (folder / "summary.json").is_file():
        return "run"
    raise SlitError(
        f"{folder}: no pareto.csv, results.parquet or summary.json; give a folder written by "
        "`slit optimize`, `slit sweep` or `slit run`"
    )


FIGURE_SPAN = {"pareto_grid": 2, "parallel": 2, "routing_share": 2, "datacenter_impacts": 2,
               "when_and_capacity": 2, "convergence": 1, "sweep": 1}  # fmt: skip
"""Columns each figure kind spans in a two-column paper (its width: see ``figure_width_in``)."""


def figures(folder: Path, style: str = "default") -> dict[str, Any]:
    """Draw every figure of ``folder``; returns ``{file stem: Figure}`` in a stable order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from slit.plot.capacity import plot_when_and_capacity, shows_when
    from slit.plot.convergence import plot_convergence
    from slit.plot.impacts import per_datacenter_from_summary, plot_datacenter_impacts
    from slit.plot.pareto import plot_parallel, plot_pareto_grid
    from slit.plot.routing import plot_routing_share
    from slit.plot.sweep import figure_stem, plot_sweep

    kind = folder_kind(folder)
    width = figure_width_in(style, 2)
    narrow = figure_width_in(style, 1)
    out: dict[str, Any] = {}
    with figure_style(style):
        if kind == "optimize":
            pareto = pd.read_csv(folder / "pareto.csv")
            baselines = None
            if (folder / "validated.csv").is_file():
                v = pd.read_csv(folder / "validated.csv")
                baselines = v[v["kind"] == "baseline"]
            grid = plt.figure(figsize=(width, width * 0.92), layout="constrained")
            out["pareto_grid"] = plot_pareto_grid(pareto, baselines, fig=grid)
            _, ax = plt.subplots(figsize=(width, width * 0.42), layout="constrained")
            out["parallel"] = plot_parallel(pareto, ax=ax).figure
            if (folder / "convergence.csv").is_file():
                conv = pd.read_csv(folder / "convergence.csv")
                if len(conv):
                    _, ax = plt.subplots(figsize=(narrow, narrow * 0.8),
                                         layout="constrained")  # fmt: skip
                    out["convergence"] = plot_convergence(conv, ax=ax).figure
            if (folder / "validated_datacenters.csv").is_file():
                per_dc = pd.read_csv(folder / "validated_datacenters.csv")
                out["datacenter_impacts"] = plot_datacenter_impacts(per_dc, width_in=width)
        if kind in ("optimize", "run") and (folder / "timeseries.parquet").is_file():
            ts = pd.read_parquet(folder / "timeseries.parquet")
            out["routing_share"] = plot_routing_share(ts, width_in=width)
            if shows_when(ts):
                out["when_and_capacity"] = plot_when_and_capacity(ts, width_in=width)
        if kind == "run":
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            per_dc = per_datacenter_from_summary(summary, "run")
            out["datacenter_impacts"] = plot_datacenter_impacts(per_dc, width_in=width)
        if kind == "sweep":
            results = pd.read_parquet(folder / "results.parquet")
            params = [c for c in results.columns if c.startswith("param.")]
            metrics = [m for m in (*RUN_FIGURE_METRICS, *OPTIMIZE_FIGURE_METRICS) if m in results]
            for x in params:
                others = [p for p in params if p != x]
                hue = others[0] if len(others) == 1 else None
                for y in metrics:
                    _, ax = plt.subplots(figsize=(narrow, narrow * 0.85),
                                         layout="constrained")  # fmt: skip
                    out[figure_stem(y, x)] = plot_sweep(results, x, y, hue=hue, ax=ax).figure
    return out


def write_figures(folder: Path, out: Path | None = None, style: str = "default") -> list[Path]:
    """Save every figure of ``folder`` as PNG and PDF into ``out`` (default ``folder/plots``).

    Returns the written paths. Figures are closed after saving.
    """
    import matplotlib.pyplot as plt

    from slit.errors import OutputError
    from slit.experiment.rundir import check_out_figures

    folder_kind(folder)  # a missing folder or a file is said as such, before the --out checks
    target = out or folder / "plots"
    check_out_figures(target)
    figs = figures(folder, style)
    # before anything is written: no file of the user's is replaced
    check_out_figures(target, names=[f"{stem}.{ext}" for stem in figs for ext in ("png", "pdf")])
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot be created ({exc.strerror}); choose another --out"
        ) from exc
    written = []
    with figure_style(style):
        for stem, fig in figs.items():
            written += save_figure(fig, target / stem)
            plt.close(fig)
    return written

"""Table and figure of the ablation experiment, from its result files only.

    python experiments/ablation/analyse.py [RESULTS_DIR]

Writes ``table.md`` and ``ablation.png``/``.pdf`` beside this script.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from slit.experiment.analysis import analyse_main, common_hypervolume, mean_sd
from slit.plot.style import save_figure

HERE = Path(__file__).resolve().parent
METRICS = {"hypervolume_common": "hypervolume [-]", "balanced.ttft_p95_s": "TTFT p95 [s]",
           "balanced.carbon_kg": "carbon [kg CO2]", "balanced.water_l": "water [L]",
           "balanced.cost_usd": "cost [USD]", "optimise_wall_s": "optimiser time [s]"}
ORDER = ["full", "no-guidance", "no-local-search", "no-predictor"]


def table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds per variant, and the mean ± sd of the change against the full
    algorithm of the same seed (``<metric>_paired``, ``<metric>_paired_sd``, in %): the seeds
    draw different signals and requests, which move every variant alike, so the paired change
    resolves smaller effects than the unpaired means."""
    ok = results[results["status"] == "ok"].copy()
    ok["hypervolume_common"] = common_hypervolume(ok)
    stats = mean_sd(ok, ["param.label"], list(METRICS)).rename(columns={"param.label": "label"})
    stats = stats.set_index("label").reindex([o for o in ORDER if o in set(stats["label"])])
    full = ok[ok["param.label"] == "full"].set_index("seed")
    for label, grp in ok.groupby("param.label"):
        change = 100 * (grp.set_index("seed")[list(METRICS)] / full[list(METRICS)] - 1)
        for m in METRICS:
            stats.loc[label, f"{m}_paired"] = change[m].mean()
            stats.loc[label, f"{m}_paired_sd"] = change[m].std(ddof=1)
    return stats


def markdown(stats: pd.DataFrame) -> str:
    lines = ["| SLIT | " + " | ".join(METRICS.values()) + " |",
             "|---|" + "---:|" * len(METRICS)]  # fmt: skip
    for label, row in stats.iterrows():
        cells = []
        for m in METRICS:
            delta = ("" if label == "full" else
                     f" ({row[f'{m}_paired']:+.1f} ± {row[f'{m}_paired_sd']:.1f} %)")  # fmt: skip
            cells.append(f"{row[m]:.4g} ± {row[f'{m}_sd']:.2g}{delta}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Mean ± sd over {int(stats['seeds'].min())} seeds; in brackets the change "
                 "against the full algorithm on the same seed, mean ± sd. The hypervolume is "
                 "over the predicted horizon "
                 "totals of each run's Pareto set, all runs on one normalisation; the other "
                 "columns are the balanced plan replayed in the simulator.")
    return "\n".join(lines) + "\n"


def figure(stats: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from slit.plot.style import OKABE_ITO, figure_style

    shown = ["hypervolume_common", "balanced.carbon_kg", "balanced.ttft_p95_s"]
    with figure_style("paper"):
        fig, axes = plt.subplots(1, len(shown), figsize=(7.0, 2.0), layout="constrained")
        for ax, m in zip(axes, shown, strict=True):
            # points, not bars: the axis does not start at zero, and bars would exaggerate
            for i, (_, row) in enumerate(stats.iterrows()):
                ax.errorbar([i], [row[m]], yerr=[row[f"{m}_sd"]], marker="o", capsize=2,
                            color=OKABE_ITO[i % len(OKABE_ITO)])  # fmt: skip
            ax.set_xticks(range(len(stats)), stats.index, rotation=20)
            ax.set_xlim(-0.5, len(stats) - 0.5)
            ax.set_ylabel(METRICS[m])
            lo = (stats[m] - stats[f"{m}_sd"]).min()
            hi = (stats[m] + stats[f"{m}_sd"]).max()
            ax.set_ylim(lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo))
        save_figure(fig, HERE / "ablation")


def main(argv: list[str]) -> int:
    return analyse_main(HERE, argv, table, markdown, figure)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

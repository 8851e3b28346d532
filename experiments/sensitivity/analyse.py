"""Table and figure of the sensitivity experiment, from its result files only.

    python experiments/sensitivity/analyse.py [RESULTS_DIR]

Writes ``table.md`` and ``sensitivity.png``/``.pdf`` beside this script. Each point of the sweep
changes one setting from the defaults (15-minute epochs, population 40, 2,000 evaluations per
epoch, exact forecasts); the reference rows are the defaults themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from slit.experiment.analysis import analyse_main, common_hypervolume, mean_sd, one_at_a_time
from slit.plot.style import save_figure

HERE = Path(__file__).resolve().parent
METRICS = {"balanced.ttft_p95_s": "TTFT p95 [s]", "balanced.carbon_kg": "carbon [kg CO2]",
           "balanced.water_l": "water [L]", "balanced.cost_usd": "cost [USD]",
           "hypervolume_common": "hypervolume [-]", "optimise_wall_s": "optimiser time [s]"}
DEFAULTS = {"time.epoch_s": 900, "pop_size": 40, "evaluations": 2000, "signal_error": 0.0,
            "forecaster": "oracle"}  # fmt: skip


def table(results: pd.DataFrame) -> pd.DataFrame:
    ok = results[results["status"] == "ok"].copy()
    ok["hypervolume_common"] = common_hypervolume(ok)
    oat = one_at_a_time(ok)
    # the default run (every setting at its default) is the reference level of every factor
    base = oat[(oat["factor"] == "time.epoch_s") & (oat["level"] == DEFAULTS["time.epoch_s"])]
    refs = [base.assign(factor=f, level=v) for f, v in DEFAULTS.items()
            if f != "time.epoch_s" and f in set(oat["factor"])]  # fmt: skip
    oat = pd.concat([oat, *refs], ignore_index=True)
    stats = mean_sd(oat, ["factor", "level"], list(METRICS))
    def order(col: pd.Series) -> pd.Series:
        if col.name == "factor":
            return col.astype(str)
        # numbers in numeric order, names (forecasters) after them in alphabetical order
        num = pd.to_numeric(col, errors="coerce")
        return num.fillna(float("inf")) if num.notna().any() else col.astype(str)

    stats = stats.sort_values(["factor", "level"], key=order, kind="stable")
    stats["level"] = [int(v) if isinstance(v, float) and v.is_integer() else v
                      for v in stats["level"]]  # fmt: skip
    return stats


def markdown(stats: pd.DataFrame) -> str:
    lines = ["| setting | value | " + " | ".join(METRICS.values()) + " |",
             "|---|---:|" + "---:|" * len(METRICS)]  # fmt: skip
    for _, row in stats.iterrows():
        cells = [f"{row[m]:.4g} ± {row[m + '_sd']:.2g}"
                 for m in METRICS]  # fmt: skip
        mark = " (default)" if DEFAULTS.get(row["factor"]) == row["level"] else ""
        if mark and row["factor"] != "time.epoch_s":
            mark = " (default run)"
        lines.append(f"| {row['factor']} | {row['level']}{mark} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("The balanced plan's values are simulated (its replay); the hypervolume is "
                 "over the predicted horizon totals of each run's Pareto set, all runs of the "
                 "study on one normalisation (reference point 1.1). Mean ± sd over seeds.")
    return "\n".join(lines) + "\n"


def figure(stats: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from slit.plot.style import OKABE_ITO, figure_style

    numeric = [f for f in ("time.epoch_s", "pop_size", "evaluations", "signal_error")
               if f in set(stats["factor"])]  # fmt: skip
    with figure_style("paper"):
        fig, axes = plt.subplots(2, len(numeric), figsize=(7.0, 3.2), layout="constrained",
                                 squeeze=False)  # fmt: skip
        for j, f in enumerate(numeric):
            grp = stats[stats["factor"] == f].copy()
            grp["x"] = grp["level"].astype(float)
            grp = grp.sort_values("x")
            for i, (m, c) in enumerate((("balanced.carbon_kg", OKABE_ITO[0]),
                                        ("hypervolume_common", OKABE_ITO[1]))):  # fmt: skip
                ax = axes[i][j]
                ax.errorbar(grp["x"], grp[m], yerr=grp[f"{m}_sd"], marker="o", color=c,
                            capsize=2)  # fmt: skip
                ax.set_xlabel({"time.epoch_s": "epoch [s]", "pop_size": "population [members]",
                               "evaluations": "evaluations per epoch [candidates]",
                               "signal_error": "signal error [relative sd]"}[f])  # fmt: skip
                if f in ("time.epoch_s", "evaluations"):
                    ax.set_xscale("log")
                ax.set_xticks(grp["x"], [f"{v:g}" for v in grp["x"]])
                ax.minorticks_off()
                if j == 0:
                    ax.set_ylabel(METRICS[m])
        save_figure(fig, HERE / "sensitivity")


def main(argv: list[str]) -> int:
    return analyse_main(HERE, argv, table, markdown, figure)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

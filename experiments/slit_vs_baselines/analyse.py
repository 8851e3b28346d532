"""Tables and the Pareto figure of the SLIT-vs-baselines experiment, from its result files only.

    python experiments/slit_vs_baselines/analyse.py [RESULTS_DIR]

Reads ``RESULTS_DIR/results.parquet`` (and the kept folder of one point for the figure) and
writes ``table.md`` and ``pareto_summer.png``/``.pdf`` beside this script, plus the README's
figure ``docs/figures/pareto_slit_vs_baselines.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

VARIANTS = {"balanced": "SLIT-Balanced", "ttft": "SLIT-TTFT", "carbon": "SLIT-Carbon",
            "water": "SLIT-Water", "cost": "SLIT-Cost"}  # fmt: skip
BASELINES = {"helix": "Helix", "splitwise": "Splitwise", "nearest": "nearest",
             "round_robin": "round robin", "least_loaded": "least loaded",
             "lowest_carbon": "lowest carbon", "lowest_water": "lowest water",
             "lowest_cost": "lowest cost"}  # fmt: skip
METRICS = {"ttft_p95_s": "TTFT p95 [s]", "carbon_kg": "carbon [kg CO2]", "water_l": "water [L]",
           "cost_usd": "cost [USD]"}  # fmt: skip
DAYS = {"2023-07-15T00:00:00Z": "summer (15 Jul 2023)", "2023-01-15T00:00:00Z":
        "winter (15 Jan 2023)"}  # fmt: skip


def comparison(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of each plan's and baseline's replayed metrics, per day (long form)."""
    ok = results[results["status"] == "ok"]
    rows = []
    days = [d for d in DAYS if d in set(ok["param.time.start_utc"])]
    days += [d for d in dict.fromkeys(ok["param.time.start_utc"]) if d not in DAYS]
    for day in days:
        grp = ok[ok["param.time.start_utc"] == day]
        for key, label in {**VARIANTS, **BASELINES}.items():
            row = {"day": DAYS.get(str(day), str(day)), "policy": label, "seeds": len(grp)}
            for m in METRICS:
                col = f"{key}.{m}"
                row[m] = grp[col].mean() if col in grp else float("nan")
                row[f"{m}_sd"] = grp[col].std(ddof=1) if col in grp and len(grp) > 1 else 0.0
            rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """One Markdown table per day: mean ± sd over seeds, and the change against Helix."""
    out = []
    for day, grp in table.groupby("day", sort=False):
        helix = grp[grp["policy"] == "Helix"].iloc[0]
        out.append(f"### {day}, {int(grp['seeds'].iloc[0])} seeds\n")
        out.append("| plan / policy | " + " | ".join(METRICS.values()) + " |")
        out.append("|---|" + "---:|" * len(METRICS))
        for r in grp.itertuples():
            cells = []
            for m in METRICS:
                v, sd = getattr(r, m), getattr(r, f"{m}_sd")
                delta = 100 * (v / helix[m] - 1)
                cells.append(f"{v:.3g} ± {sd:.2g} ({delta:+.0f} %)")
            out.append(f"| {r.policy} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Mean ± standard deviation over seeds; in brackets the change against Helix. "
               "Every value is simulated (the plans replayed with the seed of their run).")
    return "\n".join(out) + "\n"


def pareto_figure(results_dir: Path, results: pd.DataFrame) -> list[Path]:
    """The Pareto grid of the first summer seed, with the baselines of that run."""
    import matplotlib

    matplotlib.use("Agg")
    from slit.plot.pareto import plot_pareto_grid
    from slit.plot.style import figure_style, save_figure

    first = results[(results["status"] == "ok")
                    & (results["param.time.start_utc"] == "2023-07-15T00:00:00Z")]
    first = first.sort_values("seed").iloc[0]
    run = results_dir / "runs" / first["run_id"]
    pareto = pd.read_csv(run / "pareto.csv")
    validated = pd.read_csv(run / "validated.csv")
    with figure_style("default"):
        fig = plot_pareto_grid(pareto, validated[validated["kind"] == "baseline"])
        fig.suptitle(f"SLIT front, 15 Jul 2023 (seed {first['seed']}), five regions", fontsize=9)
        written = save_figure(fig, HERE / "pareto_summer", dpi=150)
        readme_figure = ROOT / "docs" / "figures" / "pareto_slit_vs_baselines.png"
        fig.savefig(readme_figure, dpi=150)
    return [*written, readme_figure]


def main(argv: list[str]) -> int:
    results_dir = Path(argv[0]) if argv else HERE / "results"
    results = pd.read_parquet(results_dir / "results.parquet")
    table = comparison(results)
    text = markdown(table)
    (HERE / "table.md").write_text(text, encoding="utf-8")
    print(text)
    for path in pareto_figure(results_dir, results):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

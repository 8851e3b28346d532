"""Tabulate and plot `slit optimize` runs of a hard scenario over seeds.

    python experiments/hard_scenarios/analyse.py OUT_DIR [OUT_DIR ...] --name capacity-bound

Each OUT_DIR is one `slit optimize` folder (one seed). Writes ``<name>.md`` (the median over
seeds of every decision variant and baseline: TTFT p95, carbon, water, cost, and in how many
seeds it met the p95 TTFT SLO) and ``<name>.png`` (carbon against TTFT p95, every seed, the SLO
as a line) beside this script, and prints the checks of the hard-scenario acceptance: SLIT-
Balanced meets the SLO in every seed; no baseline that meets the SLO is at least as good on
carbon, water and cost at once; some greedy policy misses the SLO or loses elsewhere.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

HERE = Path(__file__).resolve().parent
VARIANTS = ("balanced", "ttft", "carbon", "water", "cost", "knee")
GREEDY = ("lowest_carbon", "lowest_water", "lowest_cost")
COLUMNS = ("ttft_p95_s", "carbon_kg", "water_l", "cost_usd")


def load(folders: list[Path]) -> tuple[pd.DataFrame, float]:
    rows = []
    slo = None
    for folder in folders:
        cfg = yaml.safe_load((folder / "config.resolved.yaml").read_text(encoding="utf-8"))
        slo = float(cfg["slo"]["ttft_s"])
        seed = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["seed"]
        v = pd.read_csv(folder / "validated.csv").drop_duplicates("name")
        v = v[(v["kind"] == "baseline") | v["name"].isin(VARIANTS)]
        rows.append(v.assign(seed=int(seed)))
    assert slo is not None, "no folder given"
    table = pd.concat(rows, ignore_index=True)
    table["slo_met"] = table["ttft_p95_s"] <= slo
    return table, slo


def checks(table: pd.DataFrame) -> list[str]:
    out = []
    for seed, t in table.groupby("seed"):
        t = t.set_index("name")
        bal = t.loc["balanced"]
        met = t[(t["kind"] == "baseline") & t["slo_met"]]
        beats = met[(met[["carbon_kg", "water_l", "cost_usd"]]
                     <= bal[["carbon_kg", "water_l", "cost_usd"]]).all(axis=1)]  # fmt: skip
        greedy_fail = [g for g in GREEDY if g in t.index and not t.loc[g, "slo_met"]]
        # each single-objective variant against the greedy rule of its objective, where that
        # rule meets the SLO
        single = []
        for variant, greedy, col in (("carbon", "lowest_carbon", "carbon_kg"),
                                     ("water", "lowest_water", "water_l"),
                                     ("cost", "lowest_cost", "cost_usd")):  # fmt: skip
            if greedy in t.index and variant in t.index and t.loc[greedy, "slo_met"]:
                ok = t.loc[variant, col] <= t.loc[greedy, col]
                single.append(f"{variant} {t.loc[variant, col]:.4g} vs {greedy} "
                              f"{t.loc[greedy, col]:.4g}: {'ok' if ok else 'WORSE'}")  # fmt: skip
        out.append(
            f"seed {seed}: balanced meets the SLO: {bool(bal['slo_met'])}; SLO-meeting "
            f"baselines at least as good on carbon, water and cost: {list(beats.index) or 'none'}"
            f"; greedy policies missing the SLO: {greedy_fail or 'none'}; single-objective "
            f"variants against SLO-meeting greedy rules: {'; '.join(single) or 'none meets it'}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    table, slo = load(args.folders)
    windows = "ttft_slo_windows_met" in table.columns
    cols = list(COLUMNS) + (["ttft_slo_windows_met"] if windows else [])
    med = table.groupby(["name", "kind"], sort=False)[cols].median()
    met = table.groupby(["name", "kind"], sort=False)["slo_met"].sum().astype(int)
    n = table["seed"].nunique()
    med["SLO met"] = [f"{m}/{n}" for m in met]
    head = "| plan / policy | TTFT p95 (s) | carbon (kg) | water (L) | cost (USD) | SLO met |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if windows:  # the SLO read in every epoch and origin, as the optimiser reads it by default
        head += " epoch windows within the SLO |"
        rule += "---:|"
    lines = [f"Median over {n} seeds (TTFT SLO {slo:g} s, p95):", "", head, rule]
    for (name, kind), r in med.iterrows():
        label = f"SLIT {name}" if kind == "plan" else name
        line = (f"| {label} | {r['ttft_p95_s']:.3f} | {r['carbon_kg']:.1f} | "
                f"{r['water_l']:.1f} | {r['cost_usd']:.2f} | {r['SLO met']} |")  # fmt: skip
        if windows:
            line += f" {100 * r['ttft_slo_windows_met']:.0f} % |"
        lines.append(line)
    lines += ["", *checks(table)]
    (HERE / f"{args.name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))

    fig, ax = plt.subplots(figsize=(6.5, 4.0), layout="constrained")
    for kind, marker, colour in (("plan", "o", "#0072B2"), ("baseline", "x", "black")):
        part = table[table["kind"] == kind]
        ax.scatter(part["ttft_p95_s"], part["carbon_kg"], marker=marker, color=colour, s=24,
                   label="SLIT decision variants" if kind == "plan" else "baselines")  # fmt: skip
    # name the points a reader looks for; the rest sit in the clusters they would crowd
    named = {"balanced": "SLIT balanced", "carbon": "SLIT carbon", "consolidate": "consolidate",
             "nearest": "nearest", "helix": "helix", "splitwise": "splitwise",
             "lowest_carbon": "lowest_carbon", "lowest_water": "lowest_water",
             "lowest_cost": "lowest_cost"}  # fmt: skip
    by_name = med.reset_index().set_index("name")
    impacts = ["carbon_kg", "water_l", "cost_usd"]
    if {"lowest_carbon", "lowest_water"} <= set(by_name.index) and np.allclose(
        by_name.loc["lowest_carbon", impacts].to_numpy(float),
        by_name.loc["lowest_water", impacts].to_numpy(float), rtol=1e-3,
    ):  # fmt: skip
        # the same routing (one site best on both): one point, one label
        named["lowest_carbon"] = "lowest_carbon = lowest_water"
        del named["lowest_water"]
    for name, r in med.reset_index().set_index("name").iterrows():
        if name in named:
            ax.annotate(named[str(name)], (r["ttft_p95_s"], r["carbon_kg"]), fontsize=7,
                        xytext=(4, {"carbon": -3, "lowest_water": -11}.get(str(name), 3)),
                        textcoords="offset points")  # fmt: skip
    ax.axvline(slo, color="#D55E00", linestyle="--", linewidth=1, label=f"TTFT SLO {slo:g} s")
    ax.set_xscale("log")
    ax.set_xlabel("TTFT p95 [s] (simulated, log scale)")
    ax.set_ylabel("carbon [kg]")
    ax.set_title(f"{Path(args.name).name}: {n} seed(s), median labelled", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)
    fig.savefig(HERE / f"{args.name}.png", dpi=150)


if __name__ == "__main__":
    main()

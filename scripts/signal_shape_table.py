"""Compare a generated year per bundled zone with the source statistics stored beside the profile.

For every zone and every signal it has, one year (2023, seed given by ``--seed``) is drawn with
``slit.traces.profiles.grid_series_from_profile`` and compared month by month with
``grid_month_quantiles.csv`` by ``slit.traces.profiles.compare_with_source``. Prints the
Markdown table of ``docs/traces.md`` (worst monthly p1/p50/p99 error, range check, lag-1 of the
source and of the generated year) and a one-line summary. Uses only the bundled profiles.

    python scripts/signal_shape_table.py [--seed 0] [--seeds 1]

``--seeds N`` repeats the draw with N consecutive seeds and reports the worst case over them.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

from slit.traces import profiles

SIGNALS = (
    ("carbon_g_per_kwh", "carbon_g_per_kwh", "direct"),
    ("carbon_lca_g_per_kwh", "carbon_g_per_kwh", "lca"),
    ("price_usd_per_mwh", "price_usd_per_mwh", "direct"),
    ("wetbulb_c", "wetbulb_c", "direct"),
    ("ewif_l_per_kwh", "ewif_l_per_kwh", "direct"),
)
"""(row in grid_month_quantiles.csv, column of the generated frame, carbon basis)."""


def evaluate(seed: int) -> pd.DataFrame:
    """One row per zone and signal: worst monthly errors, range check and lag-1 figures."""
    qt = profiles.load_grid_quantiles()
    start = pd.Timestamp("2023-01-01T00:00Z")
    rows = []
    for zone in sorted(profiles.load_region_catalog()):
        frames = {
            basis: profiles.grid_series_from_profile(
                zone, start, 8760, np.random.default_rng(seed), carbon_basis=basis
            )
            for basis in ("direct", "lca")
        }
        for signal, column, basis in SIGNALS:
            if qt[(qt["zone"] == zone) & (qt["signal"] == signal)].empty:
                continue
            cmp = profiles.compare_with_source(frames[basis][column], zone, signal)
            months = cmp[cmp["month"] >= 1]
            year = cmp[cmp["month"] == 0].iloc[0]
            lag_gap = (months["gen_lag1"] - months["src_lag1"]).abs()
            rows.append(
                {
                    "zone": zone,
                    "signal": signal,
                    "err_p1": months["err_p1"].max(),
                    "err_p50": months["err_p50"].max(),
                    "err_p99": months["err_p99"].max(),
                    "rel_max": months[["rel_p1", "rel_p50", "rel_p99"]].to_numpy().max(),
                    "in_range": bool(cmp["in_range"].all()),
                    "negative_ok": bool(year["gen_min"] >= 0 or year["src_min"] < 0),
                    "src_lag1": year["src_lag1"],
                    "gen_lag1": year["gen_lag1"],
                    "month_lag1_gap": lag_gap.max(),
                }
            )
    return pd.DataFrame(rows)


def _fmt(x: float, pct: bool = True) -> str:
    if not math.isfinite(x):
        return "inf"
    return f"{100 * x:.2f} %" if pct else f"{x:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    args = parser.parse_args()
    runs = [evaluate(args.seed + k) for k in range(args.seeds)]
    both = pd.concat(runs)
    worst = both.groupby(["zone", "signal"], sort=False).agg(
        err_p1=("err_p1", "max"),
        err_p50=("err_p50", "max"),
        err_p99=("err_p99", "max"),
        rel_max=("rel_max", "max"),
        in_range=("in_range", "all"),
        negative_ok=("negative_ok", "all"),
        src_lag1=("src_lag1", "first"),
        gen_lag1=("gen_lag1", "mean"),
        month_lag1_gap=("month_lag1_gap", "max"),
    )
    print(
        "| zone | signal | worst monthly error p1 / p50 / p99 | worst plain relative error "
        "| in observed range | lag-1 source | lag-1 generated | worst monthly lag-1 gap |"
    )
    print("|---|---|---:|---:|:---:|---:|---:|---:|")
    for (zone, signal), r in worst.iterrows():
        errs = " / ".join(_fmt(r[c]) for c in ("err_p1", "err_p50", "err_p99"))
        rng_ok = "yes" if r["in_range"] and r["negative_ok"] else "**no**"
        print(
            f"| {zone} | {signal} | {errs} | {_fmt(r['rel_max'])} | {rng_ok} "
            f"| {_fmt(r['src_lag1'], False)} | {_fmt(r['gen_lag1'], False)} "
            f"| {_fmt(r['month_lag1_gap'], False)} |"
        )
    tol = profiles.QUANTILE_TOLERANCE
    q_ok = (worst[["err_p1", "err_p50", "err_p99"]] <= tol).all(axis=1)
    ok = q_ok & worst["in_range"] & worst["negative_ok"]
    gap = (worst["gen_lag1"] - worst["src_lag1"]).abs()
    print()
    print(
        f"{int(ok.sum())} of {len(worst)} zone x signal pairs within range and within "
        f"{100 * tol:.0f} % on every monthly p1/p50/p99 over {args.seeds} seed(s); worst "
        f"quantile error {100 * worst[['err_p1', 'err_p50', 'err_p99']].to_numpy().max():.2f} %; "
        f"largest annual lag-1 gap {gap.max():.3f} ({gap.idxmax()[0]} {gap.idxmax()[1]})"
    )


if __name__ == "__main__":
    main()

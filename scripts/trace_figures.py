"""Figures of docs/traces.md drawn from the raw data: hourly EWIF of CISO (2022) and on-site
WUE of the default scenario's regions (2023).

Usage: python scripts/trace_figures.py --from DATA_DIR [--out docs/figures]
Prints the figures it quotes in the docs as one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from slit.models.water import wue_from_wetbulb  # noqa: E402
from slit.plot.signals import OKABE_ITO, plot_signal  # noqa: E402
from slit.traces.grid_readers import GridRepair, read_grid  # noqa: E402

DEFAULT_ZONES = ("US-CAL-CISO", "US-MIDA-PJM", "KR", "DE-LU", "SG", "AU-NSW")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    facts: dict[str, object] = {}

    # EWIF of CISO from the EIA-930 fuel mix, both factor tables
    path = args.data / "carbon/eia930_fuelmix_hourly_2022/CISO_2022_fuelmix_ci.csv.gz"
    fig, axes = plt.subplots(2, 1, figsize=(7.0, 5.0), layout="constrained")
    for table in ("li2023", "macknick2012"):
        grid = read_grid(path, "eia930", repair=GridRepair(fill_nan="linear"), water_table=table)
        ewif = grid["ewif_l_per_kwh"].rename(f"ewif_l_per_kwh ({table})")
        facts[f"ciso_2022_ewif_{table}"] = {
            "mean": round(float(ewif.mean()), 3),
            "min": round(float(ewif.min()), 3),
            "max": round(float(ewif.max()), 3),
        }
        plot_signal(ewif, axes[0], label=table)
        week = ewif["2022-07-10":"2022-07-16"]
        plot_signal(week, axes[1], label=table)
    by_hour = grid["ewif_l_per_kwh"].groupby(grid.index.hour).mean()
    facts["ciso_ewif_macknick_by_utc_hour_min_max"] = [int(by_hour.idxmin()), int(by_hour.idxmax())]
    axes[0].set_title("CISO 2022: EWIF from the EIA-930 hourly fuel mix")
    axes[1].set_title("one week (10-16 July 2022)")
    for ax in axes:
        ax.set_ylabel("EWIF [L/kWh]")
        ax.legend(loc="upper right", fontsize=8)
    fig.savefig(args.out / "ewif_ciso_2022.png", dpi=130)
    plt.close(fig)

    # on-site WUE from the weather of the default regions
    fig, axes = plt.subplots(2, 1, figsize=(7.0, 5.5), layout="constrained")
    for i, zone in enumerate(DEFAULT_ZONES):
        w = read_grid(args.data / f"weather/openmeteo_hourly/{zone}_2023.json.gz", "openmeteo")
        wue = wue_from_wetbulb(w["wetbulb_c"].to_numpy())
        top = wue >= np.quantile(wue, 0.99)
        facts[f"wue_2023_{zone}"] = {
            "mean": round(float(wue.mean()), 3),
            "max": round(float(wue.max()), 3),
            "top1pct_temperature_c": round(float(w["temperature_c"][top].mean()), 1),
            "top1pct_rh_pct": round(float(w["relative_humidity_pct"][top].mean()), 1),
            "published_polynomial_max": round(
                float(wue_from_wetbulb(w["wetbulb_c"].to_numpy(), scale=1.0).max()), 2
            ),
        }
        daily = w.assign(wue=wue)["wue"].resample("D").mean()
        axes[0].plot(daily.index, daily.to_numpy(), lw=1, color=OKABE_ITO[i], label=zone)
        axes[1].scatter(w["temperature_c"], wue, s=1, alpha=0.25, color=OKABE_ITO[i])
    axes[0].set_ylabel("daily mean WUE [L/kWh]")
    axes[0].set_title("On-site WUE of the default scenario's regions, 2023 weather")
    axes[0].legend(ncol=3, fontsize=8)
    axes[1].set_xlabel("air temperature [°C]")
    axes[1].set_ylabel("hourly WUE [L/kWh]")
    axes[1].set_title("hourly WUE against air temperature (hotter and more humid: higher)")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.savefig(args.out / "wue_default_regions_2023.png", dpi=130)
    plt.close(fig)
    print(json.dumps(facts))


if __name__ == "__main__":
    main()

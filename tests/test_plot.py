"""Plots of optimisation results and `slit plot`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402

from slit.cli import main  # noqa: E402
from slit.plot.pareto import plot_parallel, plot_pareto_grid  # noqa: E402


def _pareto() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "plan": ["balanced", "ttft", "carbon", "w00", "w01"],
            "ttft_s": [0.2, 0.1, 0.3, 0.15, 0.25],
            "carbon_kg": [5.0, 7.0, 4.0, 6.0, 4.5],
            "water_l": [40.0, 50.0, 35.0, 45.0, 38.0],
            "cost_usd": [1.0, 1.4, 0.9, 1.2, 0.95],
        }
    )


def test_pareto_grid_labels_every_axis_with_units() -> None:
    fig = plot_pareto_grid(_pareto())
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6  # the lower triangle of four objectives
    labels = {ax.get_xlabel() for ax in visible} | {ax.get_ylabel() for ax in visible}
    assert {"TTFT mean [s]", "carbon [kg]", "water [L]", "cost [USD]"} <= labels


def test_parallel_coordinates_scale_each_objective() -> None:
    ax = plot_parallel(_pareto())
    for line in ax.get_lines():
        y = line.get_ydata()
        assert min(y) >= 0.0 and max(y) <= 1.0


def test_slit_plot_writes_png_and_pdf(tmp_path: Path) -> None:
    _pareto().to_csv(tmp_path / "pareto.csv", index=False)
    assert main(["plot", str(tmp_path)]) == 0
    names = {p.name for p in (tmp_path / "figures").iterdir()}
    assert names == {"pareto_grid.png", "pareto_grid.pdf", "parallel.png", "parallel.pdf"}
    assert main(["plot", str(tmp_path / "nothing")]) == 2

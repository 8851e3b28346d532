"""Plots of optimisation results and `slit plot`."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

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
    assert {"TTFT mean [s]", "carbon [kg CO2e]", "water [L]", "cost [USD]"} <= labels


def test_parallel_coordinates_scale_each_objective() -> None:
    ax = plot_parallel(_pareto())
    for line in ax.get_lines():
        y = line.get_ydata()
        assert min(y) >= 0.0 and max(y) <= 1.0


@pytest.mark.slow
def test_slit_plot_writes_png_and_pdf(tmp_path: Path) -> None:
    _pareto().to_csv(tmp_path / "pareto.csv", index=False)
    assert main(["plot", str(tmp_path), "-q"]) == 0
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    assert names == {"pareto_grid.png", "pareto_grid.pdf", "parallel.png", "parallel.pdf"}
    assert main(["plot", str(tmp_path / "nothing")]) == 2


@pytest.mark.slow
def test_slit_plot_of_a_sweep_draws_every_metric_against_every_parameter(tmp_path: Path) -> None:
    rows = [{"param.workload.rate_per_s": r, "param.routing.policy": p, "seed": s,
             "status": "ok", "carbon_kg": r * (2 if p == "nearest" else 1) + 0.1 * s,
             "ttft_p95_s": 0.3, "water_l": 3.0, "cost_usd": 0.2}
            for r in (1.0, 2.0) for p in ("nearest", "lowest_carbon") for s in (1, 2)]  # fmt: skip
    pd.DataFrame(rows).to_parquet(tmp_path / "results.parquet")
    assert main(["plot", str(tmp_path), "-q", "--style", "paper"]) == 0
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert len(pngs) == 8 and "sweep_carbon_kg_vs_workload-rate_per_s.png" in pngs
    assert all(p.count(".") == 1 for p in pngs)  # one dot: the extension
    assert all(p.stat().st_size > 5_000 for p in (tmp_path / "plots").iterdir())
    assert main(["report", str(tmp_path), "-q"]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Sweep results (8 point × seed runs, 0 failed)" in html
    assert html.count("data:image/png;base64,") == 8 and "lowest_carbon" in html


def test_sweep_plot_band_spans_the_seeds() -> None:
    from slit.plot.sweep import plot_sweep

    rows = [{"param.x": x, "seed": s, "status": "ok", "carbon_kg": x + s}
            for x in (1.0, 2.0, 3.0) for s in (0, 1, 2)]  # fmt: skip
    ax = plot_sweep(pd.DataFrame(rows), "x", "carbon_kg")
    assert list(ax.get_lines()[0].get_ydata()) == [2.0, 3.0, 4.0]  # mean over seeds
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 1.0 and band.max() == 5.0  # lowest and highest seed
    assert ax.get_ylabel() == "carbon [kg CO2e]" and ax.get_xlabel() == "x"


@pytest.mark.slow
def test_routing_share_sums_to_one_and_signals_have_units(tmp_path: Path) -> None:
    from slit.plot.routing import plot_routing_share

    assert main(["run", "--out", str(tmp_path / "r"), "-q", "--set", "time.horizon_s=1800",
                 "--set", "time.epoch_s=600", "--policy", "lowest_carbon"]) == 0  # fmt: skip
    ts = pd.read_parquet(tmp_path / "r" / "timeseries.parquet")
    fig = plot_routing_share(ts)
    share, *signals = fig.axes
    stacked = sum(c.get_paths()[0].vertices[:, 1].max() for c in share.collections[-1:])
    assert abs(stacked - 1.0) < 1e-9  # the top layer reaches 1: shares sum to one
    assert [a.get_ylabel().split("\n")[1] for a in signals] == ["[gCO2e/kWh]", "[L/kWh IT]",
                                                                 "[USD/MWh]"]  # fmt: skip
    assert main(["plot", str(tmp_path / "r"), "-q"]) == 0
    assert {p.name for p in (tmp_path / "r" / "plots").glob("*.png")} == {
        "routing_share.png",
        "datacenter_impacts.png",
    }


def test_datacenter_impacts_stack_to_the_totals() -> None:
    from slit.plot.impacts import plot_datacenter_impacts

    per_dc = pd.DataFrame({"name": ["a", "a", "b", "b"], "datacenter": ["x", "y", "x", "y"],
                           "carbon_kg": [1.0, 2.0, 3.0, 4.0], "water_l": [1.0] * 4,
                           "cost_usd": [0.5] * 4})  # fmt: skip
    fig = plot_datacenter_impacts(per_dc)
    carbon = fig.axes[0]
    ends = sorted({round(p.get_x() + p.get_width(), 9) for p in carbon.patches})
    assert ends[-2:] == [3.0, 7.0]  # a: 1 + 2, b: 3 + 4
    assert [a.get_xlabel() for a in fig.axes] == ["carbon [kg CO2e]", "water [L]", "cost [USD]"]


@pytest.mark.slow
def test_slit_report_is_one_offline_html_file_with_the_tables(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert main(["run", "--out", str(run), "-q", "--set", "time.horizon_s=1200",
                 "--set", "time.epoch_s=600"]) == 0  # fmt: skip
    assert main(["report", str(run), "-q"]) == 0
    text = (run / "report.html").read_text(encoding="utf-8")
    summary = __import__("json").loads((run / "summary.json").read_text())
    assert text.count("<table") >= 4  # totals, latency, by datacenter, provenance
    assert f"{summary['carbon_kg']:.4g}" in text
    assert text.count("data:image/png;base64,") == 2  # routing share, datacenter impacts
    assert "Resolved scenario" in text and "scenario_sha256" in text
    # nothing outside the file: no links, scripts or remote images
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert main(["report", str(tmp_path / "missing"), "-q"]) == 2

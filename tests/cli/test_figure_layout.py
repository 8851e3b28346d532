"""Figures as a reader sees them: every figure kind of ``slit plot``, in both styles, has no
two texts overlapping, no text off the canvas, no legend over a panel and no marker cut by a
panel's edge (:func:`slit.plot.layout.layout_problems`); paper figures are one or two journal
columns wide and their PDFs embed their fonts.

The folders are real outputs of ``slit run``, ``slit optimize`` and ``slit sweep``, and a few
made-up results stress the layout with what real studies bring: many datacenters with long
names, many categories on a sweep's axis, many baselines, long parameter values."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from slit.cli import main  # noqa: E402
from slit.plot.folder import FIGURE_SPAN, figures  # noqa: E402
from slit.plot.layout import layout_problems  # noqa: E402
from slit.plot.style import ONE_COLUMN_IN, TWO_COLUMNS_IN, figure_style  # noqa: E402

STYLES = ("default", "paper")


@pytest.fixture(scope="module")
def folders(result_folders: dict[str, Path]) -> dict[str, Path]:
    """The shared result folders (tests/conftest.py)."""
    return result_folders


def _check(figs: dict[str, object], where: str) -> list[str]:
    problems = []
    for stem, fig in figs.items():
        problems += [f"{where} {stem}: {p}" for p in layout_problems(fig)]
        plt.close(fig)  # type: ignore[arg-type]
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", ["run", "when", "opt", "sweep", "opt_sweep"])
def test_every_figure_of_a_result_folder_is_clean(folders, kind: str, style: str) -> None:
    with figure_style(style):
        figs = figures(folders[kind], style)
        assert figs, f"no figure drawn for {kind}"
        kinds = {stem.split("_vs_")[0] if stem.startswith("sweep_") else stem for stem in figs}
        assert kinds, kinds
        assert _check(figs, f"{kind}/{style}") == []


@pytest.mark.slow
def test_every_figure_kind_is_drawn_by_the_folders(folders) -> None:
    drawn = set()
    for folder in folders.values():
        figs = figures(folder)
        drawn |= {"sweep" if s.startswith("sweep_") else s for s in figs}
        for fig in figs.values():
            plt.close(fig)
    assert drawn == set(FIGURE_SPAN)


@pytest.mark.slow
def test_paper_figures_are_column_wide_and_embed_their_fonts(folders, tmp_path) -> None:
    out = tmp_path / "plots"
    assert main(["plot", str(folders["opt"]), "--out", str(out), "--style", "paper", "-q"]) == 0
    with figure_style("paper"):
        for stem, fig in figures(folders["opt"], "paper").items():
            width = fig.get_figwidth()
            expected = TWO_COLUMNS_IN if FIGURE_SPAN[stem] == 2 else ONE_COLUMN_IN
            assert width == pytest.approx(expected), stem
            plt.close(fig)
    for pdf in out.glob("*.pdf"):
        data = pdf.read_bytes()
        assert b"/FontFile2" in data, f"{pdf.name}: fonts not embedded as TrueType"
        assert b"/Type3" not in data, f"{pdf.name}: has Type 3 fonts"
    from PIL import Image

    for png in out.glob("*.png"):
        with Image.open(png) as image:  # saved at the paper style's 300 dpi, exact width
            assert image.size[0] in (round(ONE_COLUMN_IN * 300), round(TWO_COLUMNS_IN * 300))


# --- made-up results that stress the layout -------------------------------------------------


def _timeseries(n_dc: int, name_len: int) -> pd.DataFrame:
    times = pd.date_range("2023-07-15", periods=96, freq="15min", tz="UTC")
    rng = np.random.default_rng(0)
    rows = []
    for k in range(n_dc):
        dc = f"dc-{k:02d}-" + "x" * max(0, name_len - 6)
        for t in times:
            rows.append({"time_utc": t, "datacenter": dc, "arrivals": int(rng.integers(0, 50)),
                         "carbon_g_per_kwh": 100 + 50 * k, "wue_l_per_kwh": 0.5,
                         "pue": 1.2, "ewif_l_per_kwh": 1.0 + k,
                         "price_usd_per_mwh": 30 + 10 * k})  # fmt: skip
    return pd.DataFrame(rows)


def _sweep_results(categories: list[str], seeds: int = 2) -> pd.DataFrame:
    rows = [{"param.routing.policy": c, "param.options.signal_error": e, "seed": s,
             "status": "ok", "ttft_p95_s": 0.3 + 0.01 * i + 0.1 * e, "carbon_kg": 10.0 + i,
             "slo_ttft_s": 1.0}
            for i, c in enumerate(categories) for e in (0.0, 0.1)
            for s in range(seeds)]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("n_dc,name_len", [(2, 6), (8, 12), (12, 24)])
def test_routing_share_with_many_long_named_datacenters(style: str, n_dc: int,
                                                        name_len: int) -> None:  # fmt: skip
    from slit.plot.folder import figure_width_in
    from slit.plot.routing import plot_routing_share

    with figure_style(style):
        fig = plot_routing_share(_timeseries(n_dc, name_len), width_in=figure_width_in(style, 2))
        assert _check({"routing_share": fig}, f"{n_dc} dcs/{style}") == []


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("categories", [
    ["nearest", "lowest_carbon"],
    ["nearest", "round_robin", "least_loaded", "lowest_carbon", "lowest_water", "lowest_cost"],
    ["a-policy-with-a-rather-long-name-one", "a-policy-with-a-rather-long-name-two", "short"],
])  # fmt: skip
def test_sweep_figure_with_many_or_long_categories(style: str, categories: list[str]) -> None:
    from slit.plot.folder import figure_width_in
    from slit.plot.sweep import plot_sweep

    results = _sweep_results(categories)
    width = figure_width_in(style, 1)
    with figure_style(style):
        for y in ("ttft_p95_s", "carbon_kg"):
            for x, hue in (("routing.policy", "options.signal_error"),
                           ("options.signal_error", "routing.policy")):  # fmt: skip
                _, ax = plt.subplots(figsize=(width, width * 0.85), layout="constrained")
                plot_sweep(results, x, y, hue=hue, ax=ax)
                assert _check({f"{y}_vs_{x}": ax.figure}, style) == []


@pytest.mark.parametrize("style", STYLES)
def test_pareto_grid_with_every_baseline_and_a_plugin_baseline(style: str) -> None:
    from slit.plot.folder import figure_width_in
    from slit.plot.pareto import BASELINE_MARKERS, plot_pareto_grid

    rng = np.random.default_rng(1)
    plans = ["balanced", "ttft", "carbon", "water", "cost", "knee"] + [
        f"w{i:02d}" for i in range(20)
    ]
    cols = ("ttft_s", "carbon_kg", "water_l", "cost_usd")
    pareto = pd.DataFrame({"plan": plans, **{c: rng.uniform(1, 2, len(plans)) for c in cols}})
    for c in cols:
        pareto[f"predicted_{c}"] = pareto[c] * rng.uniform(0.95, 1.05, len(plans))
    pareto["forecaster"] = "slit"
    names = [*BASELINE_MARKERS, "my_plugin_policy"]
    base = pd.DataFrame({"name": names, "kind": "baseline",
                         "ttft_mean_s": rng.uniform(1, 2, len(names)),
                         **{c: rng.uniform(1, 2, len(names)) for c in cols[1:]}})  # fmt: skip
    width = figure_width_in(style, 2)
    with figure_style(style):
        fig = plt.figure(figsize=(width, width * 0.92), layout="constrained")
        plot_pareto_grid(pareto, base, fig=fig)
        labels = fig.legends[0].get_texts()
        assert {t.get_text() for t in labels} >= {"nearest", "lowest cost", "Helix",
                                                  "my plugin policy"}  # fmt: skip
        assert _check({"pareto_grid": fig}, style) == []


def test_the_checker_finds_what_it_is_for() -> None:
    """The layout check itself: overlapping texts, a text off the canvas, a legend over the
    data and a marker cut by the edge are each reported."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.text(0.5, 0.5, "one label")
    ax.text(0.52, 0.5, "another label")
    fig.text(0.9, 0.5, "a label that runs off the right edge")
    ax.plot([0.2, 0.4], [0.3, 0.3], label="a line")
    ax.legend(loc="center")
    ax.scatter([1.0], [0.5], s=200)
    problems = " | ".join(layout_problems(fig))
    plt.close(fig)
    for expected in ("overlap", "leaves the canvas", "a legend lies over", "cut by the panel"):
        assert expected in problems, problems

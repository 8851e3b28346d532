"""Indicators of several optimisations on one shared normalisation (slit compare)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slit.cli import main
from slit.optimize.indicators import shared_indicators, summarise


def _front(points: list[list[float]], epoch: int = 1, feasible: bool = True) -> pd.DataFrame:
    f = np.asarray(points, float)
    return pd.DataFrame({"member": range(len(f)), "ttft_s": f[:, 0], "carbon_kg": f[:, 1],
                         "water_l": f[:, 2], "cost_usd": f[:, 3], "epoch": epoch,
                         "feasible": feasible})  # fmt: skip


def test_a_dominating_front_scores_higher_on_the_shared_scale() -> None:
    better = _front([[1, 1, 1, 2], [1, 2, 1, 1]])
    worse = _front([[2, 2, 2, 3], [2, 3, 2, 2]])
    table = shared_indicators({"better": better, "worse": worse})
    by = table.set_index("run")
    assert by.loc["better", "hypervolume"] > by.loc["worse", "hypervolume"]
    assert by.loc["better", "igd_plus"] == pytest.approx(0.0)
    assert by.loc["worse", "igd_plus"] > 0
    summary = summarise(table).set_index("run")
    assert summary.loc["better", "epochs_best"] == 1 and summary.loc["worse", "epochs_best"] == 0


def test_the_scale_is_shared_not_per_run() -> None:
    # alone, each front spans its own [0, 1]; together the far one is worse
    near = _front([[1, 1, 1, 1.5], [1.5, 1, 1, 1]])
    far = _front([[10, 10, 10, 15], [15, 10, 10, 10]])
    hv = shared_indicators({"near": near, "far": far}).set_index("run")["hypervolume"]
    assert hv["near"] > 0 and hv["far"] == 0.0  # beyond the reference point


def test_infeasible_fronts_score_zero_and_only_common_epochs_count() -> None:
    a = pd.concat([_front([[1, 1, 1, 1]], 1), _front([[1, 1, 1, 1]], 2)])
    b = _front([[2, 2, 2, 2]], 1, feasible=False)
    table = shared_indicators({"a": a, "b": b})
    assert set(table["epoch"]) == {1}
    assert table.set_index("run").loc["b", "hypervolume"] == 0.0
    with pytest.raises(ValueError, match="no runs given"):
        shared_indicators({})
    with pytest.raises(ValueError, match="lack"):
        shared_indicators({"x": a.drop(columns=["water_l"])})


@pytest.mark.slow
def test_slit_compare_reads_optimize_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = []
    for algo in ("nsga2", "random"):
        out = tmp_path / algo
        assert main(["optimize", "--out", str(out), "-q", "--set", "time.horizon_s=1800",
                     "--evaluations", "200", "--pop-size", "20", "--jobs", "1",
                     "--algorithm", algo, "--baselines", "",
                     "--front-replays", "0"]) == 0  # fmt: skip
        dirs.append(str(out))
    csv = tmp_path / "cmp.csv"
    assert main(["compare", *dirs, "--out", str(csv)]) == 0
    shown = capsys.readouterr().out
    assert "hypervolume_mean" in shown and "nsga2" in shown
    table = pd.read_csv(csv)
    decided = json.loads((tmp_path / "nsga2" / "indicators.json").read_text())["hypervolume_epochs"]
    assert set(table["epoch"]) == set(decided)
    assert table["hypervolume"].between(0, 1.1**4 + 1e-9).all()
    # not an optimize folder: a clear error, exit 2
    assert main(["compare", str(tmp_path)]) == 2
    assert "not a slit optimize folder" in capsys.readouterr().err

"""The when-and-where study (``experiments/when_and_where``): its one command runs every
method on its scenario of measured 2023 signals; here a short version (two hours, one seed, a
tiny search) checks that every method runs and keeps its promises: deadlines met, the
European origins served in Europe, embodied carbon counted and the table built."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from tests.conftest import REPO, load_study, require_shared_data

STUDY = REPO / "experiments" / "when_and_where"


def _study() -> ModuleType:
    return load_study(STUDY)


def test_the_table_gives_mean_and_spread_per_method_and_deferral():
    study = _study()
    rows = []
    for seed, carbon in ((1, 10.0), (2, 12.0)):
        base = {k: 1.0 for k in study.METRICS}
        rows.append({"seed": seed, "method": "nearest", "deferral": "at_once", "kind": "greedy",
                     **base, "carbon_kg": carbon})  # fmt: skip
    text = study.table(pd.DataFrame(rows))
    line = next(ln for ln in text.splitlines() if ln.startswith("| nearest |"))
    assert "| at_once |" in line and "11.0 ± 1.4" in line


@pytest.mark.slow
def test_the_study_runs_from_one_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = require_shared_data()
    study = _study()
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{study.BEGIN}\nold\n{study.END}\n")
    code = study.main([
        "--data", str(data), "--out", str(tmp_path / "out"), "--readme", str(readme),
        "--seeds", "1", "--evaluations", "12", "--jobs", "1",
        "--set", "time.horizon_s=7200", "--set", "time.drain_s=3600",
        "--set", "workload.classes[0].deadline_s=3600",
    ])  # fmt: skip
    assert code == 0
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    methods = set(results["method"] + "/" + results["deferral"])
    for name in study.GREEDY:
        assert f"{name}/at_once" in methods
    for name in study.SHIFTED_GREEDY:
        assert f"{name}/cleanest" in methods
    assert {"SLIT-balanced/shift plan", "SLIT-balanced+spill/shift plan",
            "SLIT-balanced/at_once"} <= methods  # fmt: skip
    assert (results["deadline_misses"] == 0).all()
    assert (results["carbon_embodied_kg"] > 0).all()
    total = results["carbon_operational_kg"] + results["carbon_embodied_kg"]
    assert (abs(results["carbon_kg"] - total) <= 1e-6 * results["carbon_kg"]).all()
    # a run with --set is a quick look: the README keeps its table
    assert "old" in readme.read_text()

"""The peer-deployment study (``experiments/peer_deployment``): its one command runs both
traces and writes its table between the README's markers. The smoke test feeds the study's own
scenario files with tiny synthetic traces in the Azure format; the real-data test runs the
Azure 2023 traces themselves."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from tests.conftest import REPO, load_study, require_shared_data

STUDY = REPO / "experiments" / "peer_deployment"


def _study() -> ModuleType:
    return load_study(STUDY)


def _table_rows(readme: Path, begin: str, end: str) -> dict[str, list[str]]:
    """The generated tables' cells, from between the markers: the main table's by trace, the
    dispatch comparison's by ``trace/dispatch``."""
    text = readme.read_text(encoding="utf-8")
    assert text.count(begin) == 1 and text.count(end) == 1
    block = text.split(begin, 1)[1].split(end, 1)[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0].startswith("Azure 2023 "):
            trace = cells[0].removeprefix("Azure 2023 ")
            if cells[1].startswith("`"):
                rows[f"{trace}/{cells[1].strip('`')}"] = cells[2:]
            else:
                rows[trace] = cells[1:]
    return rows


def _numbers(cells: list[str]) -> list[float]:
    return [float(c.replace(",", "")) for c in cells]


def _fake_azure(path: Path, n: int, every_s: float, long_every: int) -> None:
    """``n`` requests ``every_s`` apart in the Azure CSV format; every ``long_every``-th is
    longer than 4,096 tokens (prompt + output) and must be filtered out."""
    start = pd.Timestamp("2023-11-16 18:15:46")
    rows = [
        (
            (start + pd.Timedelta(seconds=i * every_s)).strftime("%Y-%m-%d %H:%M:%S.%f0"),
            4000 if i % long_every == long_every - 1 else 200 + 10 * i,
            500 if i % long_every == long_every - 1 else 1 + i % 40,
        )
        for i in range(n)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=["TIMESTAMP", "ContextTokens", "GeneratedTokens"])
    frame.to_csv(path, index=False)


@pytest.mark.slow
def test_the_study_runs_from_one_command_on_tiny_traces_and_fills_the_readme(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    traces = data / "llm_traces" / "azure_2023"
    # about 3,600 s each, so that they cover the study's horizons (3,502 s and 3,436 s)
    _fake_azure(traces / "AzureLLMInferenceTrace_conv.csv", 61, 60.0, 10)
    _fake_azure(traces / "AzureLLMInferenceTrace_code.csv", 61, 60.0, 7)
    study = _study()
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# study\n\nbefore\n\n{study.BEGIN}\nold table\n{study.END}\n\nafter\n", encoding="utf-8"
    )
    out = tmp_path / "results"

    assert study.main(["--data", str(data), "--readme", str(readme), "--out", str(out)]) == 0

    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text
    assert text.startswith("# study\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    rows = _table_rows(readme, study.BEGIN, study.END)
    dispatches = ("round_robin", "shared", "shortest_queue", "least_kv")
    traces = ("conv", "code")
    assert set(rows) == {*traces, *(f"{t}/{d}" for t in traces for d in dispatches)}
    for name, long_every, horizon_s in (("conv", 10, 3501.9), ("code", 7, 3436.3)):
        found = re.fullmatch(r"([\d,]+) \(of ([\d,]+)\)", rows[name][0])
        assert found is not None, rows[name]
        kept, of = (int(g.replace(",", "")) for g in found.groups())
        # the long requests are dropped on reading; of the others, those that arrive within
        # the scenario's horizon are served
        short = [i for i in range(61) if i % long_every != long_every - 1]
        assert of == 61 and kept == sum(1 for i in short if i * 60.0 < horizon_s)
        values = _numbers(rows[name][1:])  # completed, preemptions, 3 x 3 percentiles, wall, RSS
        assert values[0] == kept and values[1] >= 0  # every request completed
        for first in (2, 5, 8):  # TTFT, TPOT, e2e: p50 <= p90 <= p99, all positive
            p50, p90, p99 = values[first : first + 3]
            assert 0 < p50 <= p90 <= p99
        assert values[-2] > 0 and values[-1] > 50  # wall s, peak RSS MB
        assert rows[f"{name}/round_robin"] == rows[name][3:6] + rows[name][9:12]
        for d in dispatches:
            ttft, e2e = _numbers(rows[f"{name}/{d}"][:3]), _numbers(rows[f"{name}/{d}"][3:])
            assert 0 < ttft[0] <= ttft[1] <= ttft[2] and 0 < e2e[0] <= e2e[1] <= e2e[2]
        records = pd.read_parquet(out / f"{name}_requests.parquet")
        assert len(records) == kept
        assert (records["prompt_tokens"] + records["output_tokens"] <= 4096).all()
    # rerunning replaces the table, never duplicates it
    assert study.main(["--data", str(data), "--readme", str(readme), "--out", str(out),
                       "--traces", "code", "--no-dispatch-comparison"]) == 0  # fmt: skip
    assert set(_table_rows(readme, study.BEGIN, study.END)) == {"code"}


def test_the_study_refuses_a_folder_without_the_traces(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        _study().main(["--data", str(tmp_path), "--readme", str(tmp_path / "R.md")])
    assert stop.value.code == 2
    assert not (tmp_path / "R.md").exists()


@pytest.mark.slow
def test_the_study_on_the_azure_2023_traces(tmp_path: Path) -> None:
    data = require_shared_data()
    if not (data / "llm_traces" / "azure_2023" / "AzureLLMInferenceTrace_conv.csv").exists():
        pytest.skip("the Azure 2023 traces are not in ../shared/data/llm_traces/azure_2023")
    study = _study()
    readme = tmp_path / "README.md"

    assert study.main(["--data", str(data), "--readme", str(readme), "--out",
                       str(tmp_path / "results"), "--no-dispatch-comparison"]) == 0  # fmt: skip

    rows = _table_rows(readme, study.BEGIN, study.END)
    # prompt + output <= 4,096 tokens keeps 17,754 of 19,366 and 7,562 of 8,819 requests
    assert rows["conv"][0] == "17,754 (of 19,366)"
    assert rows["code"][0] == "7,562 (of 8,819)"
    for name, kept in (("conv", 17_754), ("code", 7_562)):
        values = _numbers(rows[name][1:])
        assert values[0] == kept  # 16 replicas serve every request before the drain ends
        for first in (2, 5, 8):
            p50, p90, p99 = values[first : first + 3]
            assert 0 < p50 <= p90 <= p99
        ttft_p50, tpot_p50, e2e_p50 = values[2], values[5], values[8]
        assert 0.01 < ttft_p50 < 5.0 and 0.005 < tpot_p50 < 0.5 and ttft_p50 < e2e_p50

"""Every bad input of the catalogue (``tests/bad_inputs.py``) through the command line: exit
status 2, a message saying what is wrong, where, and what is valid or how to fix it, no
traceback, and no output folder (not even a partial one) left behind.

The command runs from another folder than the scenario's, so the cases also check that paths
in a scenario resolve against the scenario file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slit.cli import main
from tests.bad_inputs import CASES, Case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_with_a_clear_error_and_nothing_written(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, content in case.files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (inputs / name).write_bytes(data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "results" / "out"
    argv = [a.format(scenario=str(inputs / "s.yaml"), out=str(out)) for a in case.argv]

    try:
        status = main(argv)
    except SystemExit as exc:  # a usage error, reported by argparse
        status = exc.code

    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    # slit's own errors start with "error: "; argparse's usage errors end with one
    # (slit validate names each file it finds invalid)
    assert (err.startswith("error: ") or re.search(r"^slit \w+: error: argument ", err, re.M)
            or case.argv[0] == "validate" and ": invalid\n" in err), err  # fmt: skip
    missing = [pattern for pattern in case.says if not re.search(pattern, err)]
    assert not missing, f"the message lacks {missing}:\n{err}"
    assert not out.exists()
    leftovers = list(out.parent.glob(".out.*")) if out.parent.exists() else []
    assert not leftovers, leftovers


def test_the_catalogue_covers_every_kind_of_bad_input() -> None:
    names = {c.name for c in CASES}
    assert len(names) == len(CASES), "case names must be unique"
    for kind in ("yaml_syntax_error", "yaml_empty_file", "yaml_top_level_not_a_mapping",
                 "unknown_key_with_suggestion", "wrong_type", "negative_gpu_count",
                 "pue_below_one", "epoch_longer_than_horizon", "unknown_region_in_origins",
                 "unknown_gpu", "unknown_model", "unknown_policy", "unknown_algorithm",
                 "duplicate_datacenter_ids", "datacenter_in_an_undefined_region",
                 "cyclic_extends", "missing_extends", "override_path_that_does_not_exist",
                 "yaml_alias_bomb", "trace_missing_file", "trace_empty_file",
                 "trace_missing_column", "trace_non_numeric", "trace_nan", "trace_negative",
                 "trace_unsorted", "trace_shorter_than_the_horizon", "trace_not_utf8",
                 "trace_truncated_gzip", "signal_nan", "signal_duplicate_timestamp",
                 "signal_unsorted_timestamps", "signal_gap", "signal_timezone_naive",
                 "signal_shorter_than_the_horizon", "signal_not_utf8", "signal_truncated_gzip",
                 "negative_tensor_parallel_degree", "unknown_grid_zone"):  # fmt: skip
        assert kind in names, kind


def test_the_counts_by_category_in_the_docs_add_up_to_the_catalogue() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
    table = text[text.index("| category | cases | what |"):].split("\n\n", 1)[0]
    counts = [int(row.split("|")[2]) for row in table.splitlines()[2:]]
    assert sum(counts) == len(CASES)
    assert f"{len(CASES)} cases" in text

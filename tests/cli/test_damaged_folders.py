"""`slit report` and `slit plot` of a damaged folder, or one of another shape: an error that
says so (exit status 2), never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from slit.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("damaged") / "run"
    assert main(["run", "--out", str(out), "-q", "--set", "time.horizon_s=900",
                 "--set", "time.drain_s=0"]) == 0  # fmt: skip
    return out


DAMAGE = {
    "truncated summary.json": ("summary.json", lambda text: text[:50]),
    "summary.json a list": ("summary.json", lambda text: "[1, 2]"),
    "metadata.json a list": ("metadata.json", lambda text: "[1, 2]"),
    "garbage timeseries.parquet": ("timeseries.parquet", lambda text: "not parquet"),
    "garbage requests.parquet": ("requests.parquet", lambda text: "not parquet"),
}


@pytest.mark.parametrize("command", ["report", "plot"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_folder_is_an_error_not_a_traceback(run_dir, tmp_path, capsys, command,
                                                      damage) -> None:  # fmt: skip
    folder = tmp_path / "copy"
    shutil.copytree(run_dir, folder)
    name, change = DAMAGE[damage]
    path = folder / name
    path.write_text(change(path.read_text(encoding="utf-8", errors="replace")))
    status = main([command, str(folder), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # a damaged file the command needs is an error; one it does not read is no matter
    assert status == 0 or (status == 2 and err.startswith("error:") and str(folder) in err), err

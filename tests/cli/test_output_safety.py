"""The output folder of a run: nothing of the user's is replaced, a bad --out is refused before
any work, and two writers can never both succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slit.cli import main
from slit.errors import OutputError
from slit.experiment.rundir import OutputClaim, check_out_dir

SHORT = ["-q", "--set", "time.horizon_s=900", "--set", "time.drain_s=0"]


def _run(out: Path, *extra: str) -> int:
    return main(["run", "--out", str(out), *SHORT, *extra])


def _slit_folder(out: Path) -> None:
    out.mkdir(parents=True)
    meta = {"command": "run", "slit_version": "0", "status": "completed"}
    (out / "metadata.json").write_text(json.dumps(meta))
    (out / "summary.json").write_text("{}")


@pytest.mark.parametrize(
    "contents",
    [
        {"notes.txt": "my notes"},  # a folder of the user's
        {"scenario.yaml": "name: x\n"},  # the scenario being run
        {"metadata.json": "{}", "summary.json": "{}"},  # slit's names, not slit's metadata
        {"metadata.json": "not json"},
    ],
)
def test_overwrite_refuses_a_folder_slit_did_not_write(tmp_path, capsys, contents) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in contents.items():
        (out / name).write_text(text)
    assert _run(out, "--overwrite") == 2
    err = capsys.readouterr().err
    assert "slit did not write" in err and "Traceback" not in err
    for name, text in contents.items():
        assert (out / name).read_text() == text  # untouched
    assert sorted(p.name for p in out.iterdir()) == sorted(contents)
    assert not list(tmp_path.glob(".*partial")) and not list(tmp_path.glob(".*lock"))


def test_overwrite_refuses_a_slit_folder_holding_a_file_of_the_users(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    _slit_folder(out)
    (out / "notes.md").write_text("analysis")
    assert _run(out, "--overwrite") == 2
    err = capsys.readouterr().err
    assert "notes.md" in err and "would delete" in err
    assert (out / "notes.md").read_text() == "analysis"


def test_overwrite_replaces_a_folder_slit_wrote_and_an_empty_one_needs_nothing(tmp_path) -> None:
    out = tmp_path / "out"
    _slit_folder(out)
    (out / "report.html").write_text("old report")  # slit report's default file
    assert _run(out, "--overwrite") == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["status"] == "completed" and not (out / "report.html").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run(empty) == 0 and (empty / "summary.json").is_file()


@pytest.mark.parametrize("kind", ["dangling link", "link loop", "link to a folder", "file",
                                  "under a file"])  # fmt: skip
def test_a_bad_out_is_refused_before_any_work(tmp_path, capsys, monkeypatch, kind) -> None:
    out = tmp_path / "out"
    if kind == "dangling link":
        out.symlink_to(tmp_path / "nowhere")
    elif kind == "link loop":
        out.symlink_to(out)
    elif kind == "link to a folder":
        (tmp_path / "real").mkdir()
        out.symlink_to(tmp_path / "real")
    elif kind == "file":
        out.write_text("x")
    else:
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "out"

    def no_simulation(*a: object, **k: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr("slit.sim.simulate.simulate", no_simulation)
    assert _run(out, "--overwrite") == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and "--out" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_parent_is_refused_before_any_work(tmp_path, capsys) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        assert _run(parent / "out") == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        parent.chmod(0o700)


def test_a_second_claim_on_one_folder_is_refused_while_the_first_holds_it(tmp_path) -> None:
    out = tmp_path / "out"
    with OutputClaim(out, overwrite=False) as first:
        with pytest.raises(OutputError, match=r"another slit process \(pid \d+\) is writing"):
            with OutputClaim(out, overwrite=True):
                pass
        first.write({"metadata.json": lambda p: p.write_text('{"command": "run", '
                                                             '"slit_version": "0"}')})  # fmt: skip
    assert not list(tmp_path.glob(".out.lock"))  # released and removed
    with OutputClaim(out, overwrite=True):  # free again; leaving without writing keeps it
        pass
    assert json.loads((out / "metadata.json").read_text())["command"] == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_claim_dies_with_its_process(tmp_path) -> None:
    """The lock is the kernel's: a writer killed with SIGKILL does not hold the folder."""
    out = tmp_path / "out"
    code = (
        "import sys, time; from pathlib import Path; "
        "from slit.experiment.rundir import OutputClaim; "
        f"c = OutputClaim(Path({str(out)!r}), False).__enter__(); "
        "print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match="another slit process"):
            OutputClaim(out, overwrite=False).__enter__()
    finally:
        proc.kill()
        proc.wait()
    with OutputClaim(out, overwrite=False):
        pass


@pytest.mark.slow
def test_two_runs_racing_for_one_out_never_both_succeed(tmp_path) -> None:
    out = tmp_path / "race"
    cmd = [sys.executable, "-m", "slit.cli", "run", "--out", str(out), *SHORT]
    for _ in range(3):
        procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]  # fmt: skip
        results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
        codes = sorted(c for c, _ in results)
        assert codes == [0, 2], results
        loser = next(err for c, err in results if c == 2)
        assert "Traceback" not in loser
        assert "another slit process" in loser or "exists" in loser
        assert json.loads((out / "metadata.json").read_text())["status"] == "completed"
        time.sleep(0.1)
        import shutil

        shutil.rmtree(out)


def test_check_out_dir_names_what_it_found(tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for i in range(8):
        (out / f"f{i}.txt").write_text("x")
    with pytest.raises(OutputError, match=r"holds f0.txt, .* and 3 more"):
        check_out_dir(out, overwrite=False)


def test_a_parent_that_cannot_be_created_is_refused_before_any_work(capsys) -> None:
    # /proc refuses new folders even to root
    assert _run(Path("/proc/slit-no-such-folder/out")) == 2
    err = capsys.readouterr().err
    assert "cannot be created" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("safety") / "run"
    assert _run(out) == 0
    return out


@pytest.mark.parametrize("command", ["report", "plot"])
@pytest.mark.parametrize("name", ["summary.json", "requests.parquet", "metadata.json"])
def test_report_and_plot_never_write_over_a_result_file(run_dir, capsys, command, name) -> None:
    before = (run_dir / name).read_bytes()
    assert main([command, str(run_dir), "--out", str(run_dir / name)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    assert (run_dir / name).read_bytes() == before


def test_report_replaces_its_own_report_and_nothing_else(run_dir, tmp_path, capsys) -> None:
    assert main(["report", str(run_dir), "-q"]) == 0
    assert main(["report", str(run_dir), "-q"]) == 0  # its own report: replaced
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my page</html>")
    assert main(["report", str(run_dir), "--out", str(mine)]) == 2
    assert "was not written by this command" in capsys.readouterr().err
    assert mine.read_text() == "<html>my page</html>"


@pytest.mark.parametrize("inside", ["plots/my_notes.txt", "plots/routing_share.png",
                                    "plans/my_plan.csv"])  # fmt: skip
def test_overwrite_refuses_a_users_file_inside_slits_subfolders(tmp_path, capsys, inside):
    out = tmp_path / "out"
    _slit_folder(out)
    (out / inside).parent.mkdir()
    (out / inside).write_text("mine")
    assert _run(out, "--overwrite") == 2
    assert inside in capsys.readouterr().err
    assert (out / inside).read_text() == "mine"


def test_plot_never_replaces_a_users_image_in_the_plots_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(out) == 0
    (out / "plots").mkdir()
    (out / "plots" / "routing_share.png").write_text("my drawing")
    assert main(["plot", str(out), "-q"]) == 2
    assert "routing_share.png" in capsys.readouterr().err
    assert (out / "plots" / "routing_share.png").read_text() == "my drawing"
    (out / "plots" / "routing_share.png").unlink()
    assert main(["plot", str(out), "-q"]) == 0
    assert main(["plot", str(out), "-q"]) == 0  # its own figures it replaces


def test_a_users_folder_with_points_is_not_taken_for_a_sweep(tmp_path, capsys):
    folder = tmp_path / "mine"
    (folder / "points").mkdir(parents=True)
    (folder / "sweep.yaml").write_text("# my sweep\nbase: bundled:default\n")
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: bundled:default\nset: [time.horizon_s=600, time.epoch_s=300]\n")
    assert main(["sweep", str(sweep), "--out", str(folder), "-q"]) == 2
    assert "is not a sweep's folder" in capsys.readouterr().err
    assert (folder / "sweep.yaml").read_text().startswith("# my sweep")


def test_traces_build_and_calibrate_never_replace_a_users_file(tmp_path, capsys):
    (tmp_path / "ub").mkdir()
    (tmp_path / "ub" / "regions.yaml").write_text("mine")
    assert main(["traces", "build", "--from", str(tmp_path), "--out", str(tmp_path / "ub")]) == 2
    assert "regions.yaml" in capsys.readouterr().err
    (tmp_path / "mine.yaml").write_text("mine")
    for flag in ("--write", "--write-tables", "--write-collectives", "--report"):
        assert main(["calibrate", "--from", str(tmp_path), flag, str(tmp_path / "mine.yaml")]) == 2
        assert "was not written by this command" in capsys.readouterr().err
    assert (tmp_path / "mine.yaml").read_text() == "mine"
    assert (tmp_path / "ub" / "regions.yaml").read_text() == "mine"


def test_staging_folders_left_by_a_killed_writer_are_removed_by_the_next(tmp_path):
    out = tmp_path / "out"
    stale = [tmp_path / ".out.k1ll3d.partial", tmp_path / ".out.old-12345"]
    for folder in stale:
        folder.mkdir()
        (folder / "summary.json").write_text("{}")
    other = tmp_path / ".other.k1ll3d.partial"  # another folder's: not ours to remove
    other.mkdir()
    assert _run(out) == 0
    assert not any(folder.exists() for folder in stale)
    assert other.exists()


def test_a_report_is_written_only_to_an_html_name(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(out) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "report.png")]) == 2
    assert "a report is an HTML file" in capsys.readouterr().err
    assert not (tmp_path / "report.png").exists()


def test_an_out_under_a_link_loop_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert _run(tmp_path / "a" / "out") == 2
    assert "a symbolic link that leads nowhere" in capsys.readouterr().err

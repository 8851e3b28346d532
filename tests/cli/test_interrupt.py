"""Interrupted runs: Ctrl-C or SIGTERM stops `slit run` cleanly, leaves a folder holding only
``metadata.json`` marked ``interrupted`` (no partial result file), and loses nothing that was
there before."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import slit.sim.simulate
from slit.cli import main
from tests.conftest import small_scenario_dict


def _only_the_record(out: Path) -> dict:
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json"]
    assert not list(out.parent.glob(f".{out.name}.*")), "a staging folder was left behind"
    return json.loads((out / "metadata.json").read_text(encoding="utf-8"))


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
@pytest.mark.slow
def test_sigterm_part_way_leaves_only_an_interrupted_record(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # ten simulated days of the default scenario: far longer than the few seconds we wait
    cmd = [sys.executable, "-m", "slit.cli", "run", "--set", "time.horizon_s=864000",
           "--out", str(out), "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure being tested for
        proc.kill()
        raise
    assert proc.returncode == 130, err
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err
    meta = _only_the_record(out)
    assert meta["status"] == "interrupted"
    assert meta["interrupted_by"] == "SIGTERM"
    assert 0.0 <= meta["interrupted_at_simulated_s"] < 864000
    assert meta["seed"] == 42 and len(meta["scenario_sha256"]) == 64

    # the folder of an interrupted run is replaced by the next run without --overwrite
    again = main(["run", "--set", "time.horizon_s=600", "--set", "time.epoch_s=300",
                  "--out", str(out), "-q"])  # fmt: skip
    assert again == 0
    assert json.loads((out / "metadata.json").read_text())["status"] == "completed"
    assert (out / "requests.parquet").exists()


def _stop(*args, **kwargs):
    raise KeyboardInterrupt


def _scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_scenario_dict()), encoding="utf-8")
    return path


def test_ctrl_c_leaves_only_an_interrupted_record(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(slit.sim.simulate, "simulate", _stop)
    out = tmp_path / "out"
    assert main(["run", str(_scenario(tmp_path)), "--out", str(out), "-q"]) == 130
    assert "interrupted (Ctrl-C)" in capsys.readouterr().err
    meta = _only_the_record(out)
    assert meta["status"] == "interrupted" and meta["interrupted_by"] == "SIGINT"


def test_an_interrupted_overwrite_keeps_the_earlier_results(tmp_path, monkeypatch, capsys):
    scenario = _scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "-q"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(slit.sim.simulate, "simulate", _stop)
    assert main(["run", str(scenario), "--out", str(out), "--overwrite", "-q"]) == 130
    assert "left as it was" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".out.*"))


def test_results_folders_are_ordinary_folders(tmp_path) -> None:
    out = tmp_path / "out"
    assert main(["run", str(_scenario(tmp_path)), "--out", str(out), "-q"]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask


def _start_sweep(tmp_path: Path, spec: dict) -> tuple[Path, Path, subprocess.Popen]:
    """Write ``spec`` and start ``slit sweep --jobs 2`` on it in a child process."""
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "slit.cli", "sweep", str(path), "--out", str(out), "-q",
           "--jobs", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return path, out, proc


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.slow
def test_sigterm_stops_a_sweep_which_then_resumes(tmp_path: Path) -> None:
    spec = {"base": "bundled:default", "command": "run", "seeds": [1, 2, 3, 4],
            "set": ["time.horizon_s=21600"],
            "grid": {"routing.policy": ["nearest", "lowest_carbon", "round_robin"]}}  # fmt: skip
    path, out, proc = _start_sweep(tmp_path, spec)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "points").glob("*.json"))) < 1:
        time.sleep(0.05)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    # queued points are cancelled and running ones stopped, not waited for (each takes seconds)
    stopped_after_s = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert stopped_after_s < 15, f"the sweep took {stopped_after_s:.1f} s to stop"
    assert "run the same command again to resume" in err and "Traceback" not in err
    done = len(list((out / "points").glob("*.json")))
    assert 1 <= done < 12
    assert not (out / "results.parquet").exists()
    assert main(["sweep", str(path), "--out", str(out), "-q", "--jobs", "2"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 12 and (table["status"] == "ok").all()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has finished; only its exit status is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.slow
def test_a_sigkilled_parallel_sweep_leaves_no_worker_and_resumes(tmp_path: Path) -> None:
    # two points of three simulated days, about 20 s each: killed seconds after they start
    spec = {"base": "bundled:default", "command": "run", "seeds": [1],
            "set": ["time.horizon_s=259200"],
            "grid": {"routing.policy": ["nearest", "lowest_carbon"]}}  # fmt: skip
    path, out, proc = _start_sweep(tmp_path, spec)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = _children(proc.pid)
        time.sleep(0.1)
    assert len(workers) >= 2, "the sweep started no workers"
    proc.kill()  # SIGKILL: no clean-up in the parent
    proc.wait(timeout=30)
    deadline = time.monotonic() + 5  # a worker left to itself would run on for ~15 s
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "workers outlived their sweep"
    # the lock died with the sweep: the same command resumes and finishes
    assert main(["sweep", str(path), "--out", str(out), "-q", "--jobs", "2"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 2 and (table["status"] == "ok").all()


def test_an_interrupted_optimisation_leaves_only_its_record(tmp_path, monkeypatch, capsys):
    import slit.optimize.run

    monkeypatch.setattr(slit.optimize.run, "run_optimize", _stop)
    out = tmp_path / "opt"
    assert main(["optimize", str(_scenario(tmp_path)), "--out", str(out), "-q"]) == 130
    meta = _only_the_record(out)
    assert meta["status"] == "interrupted" and meta["command"] == "optimize"
    assert "interrupted (Ctrl-C)" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.slow
def test_a_second_sigterm_exits_130_at_once(tmp_path: Path) -> None:
    """The first SIGTERM starts the clean-up; a second one, sent while it runs, ends the
    process at once with the same status (here the clean-up is made to hang)."""
    code = (
        "import sys, time; import slit.cli as cli\n"
        "def stuck(args):\n"
        "    try:\n"
        "        print('running', flush=True); time.sleep(60)\n"
        "    except KeyboardInterrupt:\n"
        "        print('cleaning', flush=True); time.sleep(60); raise\n"
        "cli.COMMANDS['run'] = stuck\n"
        "sys.exit(cli.main(['run', '--out', 'x']))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline().strip() == "cleaning"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.monotonic() - t0 < 10
    assert "interrupted again" in err and "Traceback" not in err

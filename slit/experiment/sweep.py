"""Parameter sweeps: every point of a grid of ``--set`` overrides × every seed, run once.

A sweep file::

    base: bundled:default            # or a scenario path (relative to the sweep file)
    command: run                     # run (simulate) or optimize
    seeds: [1, 2, 3]
    grid:                            # every combination of these values
      workload.rate_per_s: [1.0, 2.0]
      routing.policy: [nearest, lowest_carbon]
    set: [time.horizon_s=3600]       # overrides applied to every point
    options: {evaluations: 500}      # optimize only: arguments of run_optimize

``slit sweep SWEEP.yaml --out DIR [--jobs N]`` writes each point × seed to
``DIR/points/<id>.json`` atomically (a temporary file renamed), so a rerun skips what is done
and never duplicates a point; a failed point is recorded with its error and the sweep goes on.
``DIR/results.parquet`` is the tidy table (one row per point × seed: the swept parameters,
the seed, every summary metric, status, error, wall time). A lock file refuses a second sweep
on the same folder at the same time.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from slit.errors import OutputError, Problem, ScenarioError


class SweepSpec(BaseModel):
    """A sweep file (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base: str = "bundled:default"
    command: Literal["run", "optimize"] = "run"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    set: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)


def load_sweep(path: Path) -> tuple[SweepSpec, Path]:
    """Read and check a sweep file; errors name the file and the key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "file not found", "check the path")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(str(path), f"YAML syntax error: {exc}", "")]) from None
    try:
        spec = SweepSpec.model_validate(raw or {})
    except ValidationError as exc:
        problems = [
            Problem(f"{path.name}: {'.'.join(map(str, e['loc']))}", e["msg"], "")
            for e in exc.errors()
        ]
        raise ScenarioError(problems) from None
    return spec, path.parent


def points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of the grid's values, as ``{key: value}`` (one point if no grid)."""
    keys = list(spec.grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*spec.grid.values())]


def point_id(point: dict[str, Any], seed: int) -> str:
    """A stable file name for a point × seed."""
    text = json.dumps({"point": point, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` for the sweep; a second sweep on the folder is refused."""
    out.mkdir(parents=True, exist_ok=True)
    lock = out / ".lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise OutputError(
            f"{out}: another sweep is running on this folder (or one was killed: remove "
            f"{lock.name} if no sweep runs)"
        ) from None
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _run_point(
    args: tuple[str, str, list[str], dict[str, Any], int, dict[str, Any]],
) -> dict[str, Any]:
    """Worker: one point × seed; never raises (a failure is a row with its error)."""
    base, command, overrides, point, seed, options = args
    t0 = time.perf_counter()
    row: dict[str, Any] = {**{f"param.{k}": v for k, v in point.items()}, "seed": seed}
    try:
        from slit.scenario.loader import load_scenario

        sets = overrides + [f"{k}={json.dumps(v) if isinstance(v, (dict, list)) else v}"
                            for k, v in point.items()] + [f"seed={seed}"]  # fmt: skip
        scenario = load_scenario(base, sets)
        if command == "run":
            from slit.sim.simulate import simulate

            s = simulate(scenario).summary
            row.update({
                "requests": s["requests"], "dropped": s["dropped"],
                "ttft_mean_s": s["ttft_s"]["mean"], "ttft_p95_s": s["ttft_s"]["p95"],
                "tpot_p95_s": s["tpot_s"]["p95"], "slo_attainment": s["slo_attainment"],
                "energy_kwh": s["energy_kwh"], "carbon_kg": s["carbon_kg"],
                "water_l": s["water_l"], "cost_usd": s["cost_usd"],
            })  # fmt: skip
        else:
            from slit.optimize.run import run_optimize

            out = run_optimize(scenario, seed=seed, jobs=1, **options)
            v = out["validated"].set_index("name")
            for name in v.index:
                for col in ("ttft_p95_s", "carbon_kg", "water_l", "cost_usd"):
                    row[f"{name}.{col}"] = float(v.loc[name, col])
            row["pareto_size"] = len(out["pareto"])
        row["status"] = "ok"
        row["error"] = ""
    except Exception as exc:  # a failed point is recorded, the sweep goes on
        row["status"] = "failed"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=5)
    row["wall_s"] = time.perf_counter() - t0
    return row


def run_sweep(
    spec: SweepSpec,
    base_dir: Path,
    out: Path,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run every point × seed not yet done, then write and return ``results.parquet``."""
    base = spec.base
    if base != "bundled:default" and not base.startswith("bundled:"):
        base = str((base_dir / base).resolve())
    pts = points(spec)
    with sweep_lock(out):
        done_dir = out / "points"
        done_dir.mkdir(exist_ok=True)
        todo = []
        for p in pts:
            for seed in spec.seeds:
                pid = point_id(p, seed)
                if not (done_dir / f"{pid}.json").exists():
                    todo.append((pid, (base, spec.command, list(spec.set), p, seed,
                                       dict(spec.options))))  # fmt: skip
        total = len(pts) * len(spec.seeds)
        finished = total - len(todo)
        if progress:
            progress(finished, total)

        def save(pid: str, row: dict[str, Any]) -> None:
            tmp = done_dir / f".{pid}.json.tmp"
            tmp.write_text(json.dumps({"id": pid, **row}, default=str) + "\n", encoding="utf-8")
            tmp.replace(done_dir / f"{pid}.json")

        if jobs > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(_run_point, args): pid for pid, args in todo}
                for fut in as_completed(futures):
                    save(futures[fut], fut.result())
                    finished += 1
                    if progress:
                        progress(finished, total)
        else:
            for pid, args in todo:
                save(pid, _run_point(args))
                finished += 1
                if progress:
                    progress(finished, total)
        rows = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(done_dir.glob("*.json"))]
        table = pd.DataFrame(rows).drop(columns=["traceback"], errors="ignore")
        sort = [c for c in table.columns if c.startswith("param.")] + ["seed"]
        table = table.sort_values(sort, ignore_index=True) if len(table) else table
        tmp = out / ".results.parquet.tmp"
        table.to_parquet(tmp, index=False)
        tmp.replace(out / "results.parquet")
    return table

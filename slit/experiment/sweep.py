"""Parameter sweeps: every point of a grid of ``--set`` overrides × every seed, run once.

A sweep file::

    base: bundled:default            # or a scenario path (relative to the sweep file)
    command: run                     # run (simulate) or optimize
    seeds: [1, 2, 3]
    grid:                            # every combination of these values
      workload.rate_per_s: [1.0, 2.0]
      routing.policy: [nearest, lowest_carbon]
    points:                          # optional: listed points, each crossed with the grid
      - {options.algorithm: slit}
      - {options.algorithm: nsga2}
    set: [time.horizon_s=3600]       # overrides applied to every point
    options: {evaluations: 500}      # optimize only: arguments of run_optimize

``keep_outputs: true`` also writes each point's whole result folder (the files of ``slit run``
or ``slit optimize``) to ``DIR/runs/<run_id>/``, before the point counts as done.

A key starting with ``options.`` sets an option of ``run_optimize`` (or ``policy`` of a
``run``) for that point instead of a scenario override; the key ``label`` only names the point.

``slit sweep SWEEP.yaml --out DIR [--executor local|ray] [--jobs N]`` writes each point × seed
to ``DIR/points/<id>.json`` atomically (a temporary file renamed), so a rerun skips what is done
and never duplicates a point, even after the sweep was killed with SIGKILL; a failed point is
recorded with its error and the sweep goes on. ``DIR/results.parquet`` is the tidy table (one
row per point × seed: the swept parameters, the seed, the run id, every summary metric, status,
error, wall time). An advisory lock (``flock``) on ``DIR/.lock`` refuses a second sweep on the
same folder while one runs; the operating system releases it when the sweep's process ends,
however it ends, so a killed sweep never blocks its own resumption.

Executors: ``local`` runs points in this process (``jobs == 1``) or in a process pool; ``ray``
sends them as Ray tasks to an existing cluster (``address``) or to a local Ray instance it
starts with ``jobs`` CPUs. Every point is a pure function of its overrides and seed, so the
results do not depend on the executor or the number of workers.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from slit.errors import OutputError, Problem, ScenarioError, SlitError
from slit.inputs.estimate import ResourceError


class SweepSpec(BaseModel):
    """A sweep file (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base: str = Field(description="the scenario every point changes: bundled:NAME or a path")
    command: Literal["run", "optimize"] = "run"
    # seeds are whole numbers as written: neither "5" nor true is a seed
    seeds: list[Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]] = Field(
        default_factory=lambda: [0], min_length=1
    )
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    points: list[dict[str, Any]] = Field(default_factory=list)
    set: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    keep_outputs: StrictBool = Field(
        False, description="also write each point's full result folder to DIR/runs/<run_id>/"
    )

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        twice = sorted({s for s in seeds if seeds.count(s) > 1})
        if twice:
            raise ValueError(f"seed(s) {twice} listed twice; list each seed once")
        return seeds

    @field_validator("points")
    @classmethod
    def _distinct_points(cls, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[str] = set()
        for i, p in enumerate(listed):
            key = json.dumps(p, sort_keys=True, default=str)
            if key in seen:
                raise ValueError(f"point {i} repeats an earlier point; list each point once")
            seen.add(key)
        return listed


MAX_SWEEP_BYTES = 5_000_000
"""The largest sweep file read."""


def load_sweep(path: Path) -> tuple[SweepSpec, Path]:
    """Read and check a sweep file; errors name the file and the key."""
    from slit.yamlio import load_node

    if path.exists() and not path.is_file() and not path.is_dir():
        raise ScenarioError([Problem(str(path), "is not a regular file (a pipe or a device)",
                                     "give the sweep file")])  # fmt: skip
    try:
        size = path.stat().st_size
        if size > MAX_SWEEP_BYTES:
            raise ScenarioError(
                [Problem(str(path), f"{size:,} bytes, more than {MAX_SWEEP_BYTES:,}",
                         "a sweep file lists a grid; put large data in files it names")]
            )  # fmt: skip
        raw = load_node(path.read_text(encoding="utf-8"))[1]
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "file not found", "check the path")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(str(path), "is a folder", "give the sweep file")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Problem(str(path), f"not UTF-8 text (byte {exc.start})", "save it as UTF-8")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ScenarioError([Problem(where, f"YAML error: {exc.problem or exc}", "")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(str(path), f"YAML error: {exc}", "")]) from None
    if raw is not None and not isinstance(raw, dict):
        raise ScenarioError(
            [Problem(str(path), f"the top level is {type(raw).__name__}, not a mapping",
                     "write keys such as scenario:, grid:, seeds:")]
        )  # fmt: skip
    try:
        spec = SweepSpec.model_validate(raw or {})
    except ValidationError as exc:
        problems = [
            Problem(f"{path.name}: {'.'.join(map(str, e['loc']))}", e["msg"], "")
            for e in exc.errors()
        ]
        raise ScenarioError(problems) from None
    return spec, path.parent


class OptimizeOptions(BaseModel):
    """The options a sweep may give ``run_optimize`` (``options:`` and ``options.`` keys):
    checked before any point runs, so that a misspelt name or a wrong type is one clear
    error, not a failure of every point."""

    # strict: "200" is not a number of evaluations, nor "no" a boolean
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
    algorithm: str = "slit"
    evaluations: int = Field(2000, ge=1, le=10**7)
    pop_size: int = Field(40, ge=2, le=10**5)
    jobs: int = Field(1, ge=1, le=1024)
    forecaster: str = "slit"
    signal_error: float = Field(0.0, ge=0.0, le=10.0)
    time_budget_s: float | None = Field(None, gt=0, le=86400)
    ttft_slo: bool = True
    baselines: list[str] | None = None
    front_replays: int | None = Field(10, ge=0, le=10**6)
    warm_start: bool = True
    phase_split: Literal["scenario", "on", "off", "by_gpu"] = "scenario"
    slo_scope: Literal["epoch", "horizon"] = "epoch"

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, name: str) -> str:
        from slit.plugins import ALGORITHMS

        return _known(name, ALGORITHMS.names(), "algorithm")

    @field_validator("forecaster")
    @classmethod
    def _known_forecaster(cls, name: str) -> str:
        from slit.plugins import FORECASTERS

        return _known(name, FORECASTERS.names(), "forecaster")

    @field_validator("baselines")
    @classmethod
    def _known_baselines(cls, names: list[str] | None) -> list[str] | None:
        from slit.sim.policies import policy_names

        if names is None:
            return None
        for name in names:
            _known(name, [n for n in policy_names() if n != "plan"], "baseline policy")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"baseline(s) {twice} listed twice; list each once")
        return names


    @model_validator(mode="after")
    def _population_within_budget(self) -> OptimizeOptions:
        if self.time_budget_s is None and self.pop_size > self.evaluations:
            raise ValueError(
                f"pop_size {self.pop_size} is larger than evaluations {self.evaluations}: the "
                "first generation alone would exceed the budget"
            )
        return self


def _known(name: str, valid: list[str], what: str) -> str:
    """``name`` if it is one of ``valid``, else a ValueError listing them."""
    if name not in valid:
        raise ValueError(f"unknown {what} {name!r}; valid: {', '.join(sorted(valid))}")
    return name


class RunOptions(BaseModel):
    """The options a sweep of ``command: run`` may give (``options.policy`` picks the routing
    policy instead of the scenario's)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    policy: str | None = None

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, name: str | None) -> str | None:
        from slit.sim.policies import policy_names

        return None if name is None else _known(name, policy_names(), "policy")


def point_options(spec: SweepSpec, point: dict[str, Any]) -> dict[str, Any]:
    """The options of one point: the sweep's ``options`` updated by the point's ``options.``
    keys, checked (:class:`OptimizeOptions`, :class:`RunOptions`); only those given."""
    opts = dict(spec.options)
    opts.update({k.removeprefix("options."): v for k, v in point.items()
                 if k.startswith("options.")})  # fmt: skip
    model = OptimizeOptions if spec.command == "optimize" else RunOptions
    checked = model.model_validate(opts)
    return checked.model_dump(include=set(opts))


MAX_SWEEP_RUNS = 10_000
"""The most point × seed runs a sweep starts without ``--force`` (checking them all before the
first runs takes about 3 ms each)."""


def run_count(spec: SweepSpec) -> int:
    """How many point × seed runs ``spec`` holds, computed without listing them."""
    combos = 1
    for values in spec.grid.values():
        combos *= len(values)
    return len(spec.points or [{}]) * combos * len(spec.seeds)


def points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The sweep's points as ``{key: value}``: every listed point (``points:``, default one
    empty point) combined with every combination of the grid's values.

    Raises:
        ScenarioError: a listed point sets a key the grid also sets (which would win).
    """
    places = [("grid", list(spec.grid))]
    places += [(f"points[{i}]", list(p)) for i, p in enumerate(spec.points)]
    set_keys = {a.split("=", 1)[0].strip() for a in spec.set}
    for where, keys in places:
        if "seed" in keys:
            raise ScenarioError([Problem(
                f"sweep {where}", "sets seed",
                "list the seeds under seeds:, which every point runs")])  # fmt: skip
        both = sorted(set_keys & set(keys))
        if both:
            raise ScenarioError([Problem(
                f"sweep {where}", f"sets {', '.join(both)}, which set: also sets",
                "set each key in one place: set: for every point, the grid or points to vary "
                "it")])  # fmt: skip
    varied = set_keys | {k for _, keys in places for k in keys}
    if ("options.policy" in varied or "policy" in spec.options) and "routing.policy" in varied:
        raise ScenarioError([Problem(
            "sweep options.policy", "and routing.policy are both given",
            "choose the policy in one place")])  # fmt: skip
    for i, listed in enumerate(spec.points):
        both = sorted(set(listed) & set(spec.grid))
        if both:
            raise ScenarioError([Problem(
                f"sweep points[{i}]", f"sets {', '.join(both)}, which the grid also sets",
                "set each key in the grid or in the points, not both")])  # fmt: skip
    keys = list(spec.grid)
    combos = [dict(zip(keys, c, strict=True)) for c in itertools.product(*spec.grid.values())]
    return [{**listed, **combo} for listed in (spec.points or [{}]) for combo in combos]


def point_id(point: dict[str, Any], seed: int, effective: dict[str, Any] | None = None) -> str:
    """A stable file name for a point × seed. ``effective`` is everything else the result
    depends on (the resolved scenario's hash, the command, the options, slit's version; see
    :func:`run_sweep`): a point whose spec changed gets a new id, so it runs anew instead of
    reusing a result of the old spec."""
    key = {"point": point, "seed": seed, **({"effective": effective} if effective else {})}
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
"""Where the points of a sweep run (see the module doc)."""


@contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``out/.lock`` for the sweep.

    A second sweep on the folder is refused while the first runs. The lock dies with its
    process (also on SIGKILL), so a rerun after a crash resumes without manual clean-up.
    """
    check_sweep_out(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    except OSError as exc:
        raise OutputError(
            f"{out}: cannot be created or written ({exc.strerror}); choose another --out"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputError(
            f"{out}: another sweep is running on this folder; wait for it to finish or choose "
            "another --out"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays, an unlocked file blocks nothing


SWEEP_HEADER = "# slit sweep: the sweep file that produced this folder's results, as read\n"
"""The first line of the ``sweep.yaml`` a sweep keeps in its folder (how a sweep folder is
recognised, with its ``points/``)."""

def is_sweep_folder(out: Path) -> bool:
    """Whether ``out`` is a folder a sweep wrote: its ``sweep.yaml``, if it has one, is the
    copy a sweep keeps (starting with :data:`SWEEP_HEADER`, or, from before the header, holding
    every key of a sweep spec), and it has ``points/``; or it holds nothing but a sweep's lock
    file (a sweep stopped as it started)."""
    try:
        names = {p.name for p in out.iterdir()}
    except OSError:
        return False
    if names <= {".lock", ".sweep.yaml.tmp"}:
        return True
    if "sweep.yaml" in names:
        try:
            text = (out / "sweep.yaml").read_text(encoding="utf-8")[:MAX_SWEEP_BYTES]
        except (OSError, UnicodeDecodeError):
            return False
        if not text.startswith(SWEEP_HEADER):
            try:
                kept = yaml.safe_load(text)
            except yaml.YAMLError:
                return False
            if not (isinstance(kept, dict) and set(kept) == set(SweepSpec.model_fields)):
                return False  # a sweep file of the user's, not the copy a sweep keeps
    return (out / "points").is_dir()


def check_sweep_out(out: Path) -> None:
    """Refuse a sweep ``--out`` that is a link, a file, under a file, the current folder,
    or a folder of the user's: it must be absent, empty or a sweep's folder (whose results
    the sweep resumes), so that no file of the user's (a sweep file, a table) is replaced."""
    from slit.experiment.rundir import check_out_path

    check_out_path(out, "folder")
    if not out.is_dir():
        return
    try:
        names = sorted(p.name for p in out.iterdir())
    except OSError as exc:
        raise OutputError(f"{out}: cannot be read ({exc.strerror}); choose another --out") from None
    if names and not is_sweep_folder(out):
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise OutputError(
            f"{out}: holds {shown} and is not a sweep's folder (one with points/ and slit's "
            "copy of its sweep.yaml); a sweep writes sweep.yaml and results.parquet there: "
            "choose a new or empty --out"
        )


LABEL_KEY = "label"
"""A point key that only names the point (a column of the results), nothing else."""

PointArgs = tuple[str, str, list[str], dict[str, Any], int, dict[str, Any], str | None]


def _run_point(args: PointArgs) -> dict[str, Any]:
    """Worker: one point × seed; never raises (a failure is a row with its error).

    Keys of ``point`` starting with ``options.`` are options of ``slit optimize`` (algorithm,
    evaluations, pop_size, forecaster, signal_error, ...), not scenario overrides.
    """
    base, command, overrides, point, seed, options, keep_dir = args
    t0 = time.perf_counter()
    row: dict[str, Any] = {**{f"param.{k}": v for k, v in point.items()}, "seed": seed}
    try:
        from slit.scenario.loader import load_scenario

        spec = SweepSpec(base=base, command=command, set=overrides,  # type: ignore[arg-type]
                         options=options)  # fmt: skip
        opts = point_options(spec, point)
        scenario = load_scenario(base, _overrides(spec, point, seed))
        row["slo_ttft_s"] = float(scenario.config.slo.ttft_s)  # figures draw it on TTFT p95
        if command == "run":
            from slit.sim.results import summary_metrics
            from slit.sim.simulate import simulate

            scenario, _ = scenario.with_policy(opts.pop("policy", None))
            result = simulate(scenario)
            row.update(summary_metrics(result.summary))
            if keep_dir:
                from slit.experiment.rundir import base_metadata, write_run_dir

                meta = {**base_metadata("run", seed, scenario.content_hash()), **result.metadata,
                        "status": "completed", "sweep_point": point}  # fmt: skip
                write_run_dir(Path(keep_dir), True, result, scenario, meta)
        else:
            from slit.optimize.problem import OBJECTIVES
            from slit.optimize.run import run_optimize

            opts.setdefault("jobs", 1)  # the sweep's executor is the parallelism
            out = run_optimize(scenario, seed=seed, **opts)
            if keep_dir:
                from slit.experiment.rundir import base_metadata, write_optimize_dir

                meta = {**base_metadata("optimize", seed, scenario.content_hash()),
                        "status": "completed", "sweep_point": point, "options": opts}  # fmt: skip
                write_optimize_dir(Path(keep_dir), True, out, scenario, meta)
            front = out.pareto[out.pareto["non_dominated"]]  # the simulated front
            row["pareto_objectives"] = json.dumps(
                front[list(OBJECTIVES)].round(10)
                .to_numpy().tolist())  # fmt: skip
            v = out.validated.set_index("name")
            for name in v.index:
                for col in ("ttft_mean_s", "ttft_p95_s", "carbon_kg", "water_l", "cost_usd",
                            "dropped"):  # fmt: skip
                    row[f"{name}.{col}"] = float(v.loc[name, col])
            row["pareto_size"] = len(front)
            row["hypervolume_mean"] = out.hypervolume_mean
            row["optimise_wall_s"] = float(out.indicators["wall_s"]["optimise"])
        row["status"] = "ok"
        row["error"] = ""
    except Exception as exc:  # a failed point is recorded, the sweep goes on
        row["status"] = "failed"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=5)
    row["wall_s"] = time.perf_counter() - t0
    return row


def _execute_local(
    todo: list[tuple[str, PointArgs]], jobs: int, save: Callable[[str, dict[str, Any]], None]
) -> None:
    if jobs > 1 and len(todo) > 1:
        from slit.processes import worker_pool

        with worker_pool(jobs) as pool:
            futures = {pool.submit(_run_point, args): pid for pid, args in todo}
            for fut in as_completed(futures):
                save(futures[fut], fut.result())
    else:
        for pid, args in todo:
            save(pid, _run_point(args))


def _execute_ray(
    todo: list[tuple[str, PointArgs]], jobs: int, address: str | None,
    save: Callable[[str, dict[str, Any]], None],
) -> None:  # fmt: skip
    """Run the points as Ray tasks; results are saved here, in the driver, as they arrive."""
    try:
        import ray
    except ImportError:
        raise SlitError(
            "--executor ray needs Ray, which is not installed; install it with "
            "pip install 'slit[ray]' or use --executor local"
        ) from None
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        else:
            # a private local instance: no dashboard, only the CPUs asked for
            ray.init(num_cpus=max(1, jobs), include_dashboard=False, logging_level=logging.ERROR,
                     log_to_driver=False)  # fmt: skip
        started = True
    try:
        task = ray.remote(num_cpus=1)(_run_point)
        pending = {task.remote(args): pid for pid, args in todo}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                save(pending.pop(ref), ray.get(ref))
    finally:
        if started:
            ray.shutdown()


def _canon(point: dict[str, Any]) -> str:
    return json.dumps(point, sort_keys=True, default=str)


def _overrides(spec: SweepSpec, point: dict[str, Any], seed: int) -> list[str]:
    """The ``--set`` overrides of one point × seed (the sweep's, the point's, the seed)."""
    return (
        list(spec.set)
        + [
            f"{k}={json.dumps(v) if isinstance(v, (dict, list)) else v}"
            for k, v in point.items()
            if not k.startswith("options.") and k != LABEL_KEY
        ]
        + [f"seed={seed}"]
    )


def check_points(
    spec: SweepSpec, base: str, force: bool = False
) -> dict[tuple[str, int], dict[str, Any]]:
    """Check every point × seed before any runs; return each one's effective spec (what
    :func:`point_id` hashes besides the point and seed).

    Raises:
        ScenarioError: a point's scenario or options are invalid (naming the point).
        ResourceError: a point is above the size limit and ``force`` is not given.
    """
    from slit.inputs.estimate import check_run_size, check_servable
    from slit.inputs.files import input_digest
    from slit.scenario.loader import load_scenario
    from slit.version import __version__

    keys: dict[tuple[str, int], dict[str, Any]] = {}
    for p in points(spec):
        name = ", ".join(f"{k}={v}" for k, v in p.items()) or "the base scenario"
        try:
            opts = point_options(spec, p)
        except ValidationError as exc:
            hint = ("see slit optimize --help for the options and their types"
                    if spec.command == "optimize" else "a run sweep takes only options.policy")
            problems = [
                Problem(f"sweep point {name}: options.{'.'.join(map(str, e['loc']))}",
                        e["msg"], hint)
                for e in exc.errors()
            ]  # fmt: skip
            raise ScenarioError(problems) from None
        for seed in spec.seeds:
            try:
                scenario = load_scenario(base, _overrides(spec, p, seed))
                check_run_size(scenario, force)
                if spec.command == "optimize":
                    check_servable(scenario)
            except ScenarioError as exc:
                raise ScenarioError(
                    [Problem(f"sweep point {name}, seed {seed}: {p.where}", p.what, p.hint)
                     for p in exc.problems]
                ) from None  # fmt: skip
            except SlitError as exc:
                raise type(exc)(f"sweep point {name}, seed {seed}: {exc}") from None
            keys[(_canon(p), seed)] = {
                "scenario_sha256": scenario.content_hash(),
                # the bytes of the files it reads: an edited trace or a ${SLIT_DATA} that
                # points elsewhere gives new results, never the stale ones
                "inputs_sha256": input_digest(scenario),
                "command": spec.command,
                "options": opts,
                "keep_outputs": spec.keep_outputs,
                "slit_version": __version__,
            }
    return keys


def _record_spec(out: Path, spec: SweepSpec) -> None:
    """Keep the sweep's spec as ``out/sweep.yaml`` (what produced the folder's results)."""
    text = SWEEP_HEADER + yaml.safe_dump(spec.model_dump(), sort_keys=False)
    tmp = out / ".sweep.yaml.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out / "sweep.yaml")


def read_point(point_file: Path) -> dict[str, Any] | None:
    """The record of a finished point, or None if the file is damaged (truncated, not JSON,
    not a mapping): such a point is run again."""
    try:
        row = json.loads(point_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) else None


def _failed(point_file: Path) -> bool:
    row = read_point(point_file)
    return row is None or row.get("status") != "ok"


def run_sweep(
    spec: SweepSpec,
    base_dir: Path,
    out: Path,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    *,
    executor: str = "local",
    address: str | None = None,
    retry_failed: bool = False,
    force: bool = False,
) -> pd.DataFrame:
    """Run every point × seed not yet done, then write and return ``results.parquet``.

    Every point is checked first (its scenario with its overrides loads and validates, its
    options are known and of the right type, its size is within the limit unless ``force``),
    so a bad point stops the sweep before any runs. A point × seed is done when
    ``out/points/<id>.json`` exists, ``id`` hashing the point, the seed, the resolved
    scenario, the command, the options and slit's version: change any of them and the point
    runs anew. The sweep file is kept as ``out/sweep.yaml``.

    Args:
        spec: the sweep (see :func:`load_sweep`).
        base_dir: folder that a relative ``base`` scenario path is resolved against.
        out: the sweep folder; points already in ``out/points`` are not run again.
        jobs: parallel workers (processes for ``local``; CPUs of a local Ray instance).
        progress: called with (points done, points in all) after each point.
        executor: ``local`` or ``ray``.
        address: address of an existing Ray cluster (``ray`` only; default: start one).
        retry_failed: run again the points recorded as failed (after fixing their cause).
        force: run points above the size limit (:mod:`slit.inputs.estimate`).

    Returns:
        The tidy table, one row per point × seed, sorted by the swept parameters and seed.
    """
    if executor not in EXECUTORS:
        raise SlitError(f"unknown executor '{executor}'; valid: {', '.join(EXECUTORS)}")
    if jobs < 1:
        raise SlitError(f"--jobs must be at least 1, got {jobs}")
    base = spec.base
    if not base.startswith("bundled:"):
        base = str((base_dir / base).resolve())
    total_runs = run_count(spec)
    if total_runs > MAX_SWEEP_RUNS and not force:
        raise ResourceError(
            f"the sweep holds {total_runs:,} point × seed runs, more than {MAX_SWEEP_RUNS:,} "
            f"(checking them alone takes about {total_runs * 0.003 / 60:,.0f} min); shrink the "
            "grid or pass --force"
        )
    pts = points(spec)
    keys = check_points(spec, base, force=force)  # every point, before the first one runs
    with sweep_lock(out):
        _record_spec(out, spec)
        done_dir = out / "points"
        done_dir.mkdir(exist_ok=True)
        todo: list[tuple[str, PointArgs]] = []
        ids: list[str] = []
        for p in pts:
            for seed in spec.seeds:
                pid = point_id(p, seed, keys[(_canon(p), seed)])
                ids.append(pid)
                done = done_dir / f"{pid}.json"
                damaged = done.exists() and read_point(done) is None
                if damaged:
                    log.warning("%s is damaged (not a point record); the point runs again", done)
                if not done.exists() or damaged or (retry_failed and _failed(done)):
                    keep = str(out / "runs" / pid) if spec.keep_outputs else None
                    todo.append((pid, (base, spec.command, list(spec.set), p, seed,
                                       dict(spec.options), keep)))  # fmt: skip
        total = len(pts) * len(spec.seeds)
        finished = total - len(todo)
        if progress:
            progress(finished, total)

        # provenance of the code that starts the points, read once: HEAD may move while a
        # long sweep runs, and the workers run the code they imported at the start
        from slit.experiment.rundir import git_commit
        from slit.version import __version__

        stamp = {"slit_version": __version__, "git_commit": git_commit() or ""}

        def save(pid: str, row: dict[str, Any]) -> None:
            nonlocal finished
            row = {**row, **stamp}
            tmp = done_dir / f".{pid}.json.tmp"
            tmp.write_text(json.dumps({"run_id": pid, **row}, default=str) + "\n",
                           encoding="utf-8")  # fmt: skip
            os.replace(tmp, done_dir / f"{pid}.json")
            finished += 1
            if progress:
                progress(finished, total)

        if executor == "ray" and todo:
            _execute_ray(todo, jobs, address, save)
        else:
            _execute_local(todo, jobs, save)
        shared = {"command": spec.command, "base": spec.base, "set": json.dumps(list(spec.set)),
                  "options": json.dumps(spec.options, sort_keys=True, default=str)}  # fmt: skip
        return write_results(out, set(ids), shared)


def _one_type(column: pd.Series) -> pd.Series:
    """A grid column whose values are of one kind (numbers, texts or booleans) as it is; one
    that mixes kinds (``[1, "b", null]``), or holds lists or mappings, as text (JSON for lists
    and mappings, null kept), so that it sorts and Parquet can store it."""
    kinds = {type(v) for v in column if v is not None and not (isinstance(v, float) and v != v)}
    if kinds <= {int, float} or len(kinds) <= 1 and not kinds & {list, dict}:
        return column
    return column.map(
        lambda v: v if v is None or (isinstance(v, float) and v != v)
        else json.dumps(v, sort_keys=True, default=str) if isinstance(v, (list, dict))
        else str(v)
    )  # fmt: skip


def write_results(
    out: Path, ids: set[str] | None = None, shared: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Gather ``out/points/*.json`` (only ``ids`` if given) into ``out/results.parquet``,
    with the ``shared`` settings of the sweep (command, base, set, options) as columns."""
    done_dir = out / "points"
    rows = []
    for path in sorted(done_dir.glob("*.json")):
        row = read_point(path)
        if row is None:  # a damaged or foreign file: not a result (its point ran again)
            continue
        row.setdefault("run_id", row.pop("id", path.stem))  # files of older sweeps
        if ids is None or row["run_id"] in ids:
            rows.append(row)
    table = pd.DataFrame(rows).drop(columns=["traceback"], errors="ignore")
    for name, value in (shared or {}).items():
        table[f"sweep.{name}"] = value
    for col in [c for c in table.columns if c.startswith("param.")]:
        table[col] = _one_type(table[col])
    sort = [c for c in table.columns if c.startswith("param.")] + ["seed"]
    table = table.sort_values(sort, ignore_index=True) if len(table) else table
    tmp = out / ".results.parquet.tmp"
    table.to_parquet(tmp, index=False)
    os.replace(tmp, out / "results.parquet")
    return table


def sweep(
    sweep_file: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    executor: str = "local",
    address: str | None = None,
    retry_failed: bool = False,
    force: bool = False,
) -> pd.DataFrame:
    """Load a sweep file and run it into ``out`` (what ``slit sweep`` does); returns the tidy
    results table. See :func:`run_sweep` for the arguments."""
    spec, base_dir = load_sweep(Path(sweep_file))
    return run_sweep(spec, base_dir, Path(out), jobs, executor=executor, address=address,
                     retry_failed=retry_failed, force=force)  # fmt: skip

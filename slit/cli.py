"""The ``slit`` command line. The only module that parses argv and configures logging."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slit.errors import Interrupted, ScenarioError, SlitError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_FAILED_POINTS = 1
"""The exit status of a sweep that finished with failed points."""


def _number(kind: type, lo: float, hi: float) -> Any:
    """An argparse type: a finite ``kind`` (int or float) in ``[lo, hi]``, else a usage error
    (exit status 2) that says what is valid."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}"
            ) from None
        if not math.isfinite(value) or not lo <= value <= hi:
            shown = [f"{b:,}" if kind is int else f"{b:g}" for b in (lo, hi)]
            raise argparse.ArgumentTypeError(f"{text} is outside [{shown[0]}, {shown[1]}]")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


SEED = _number(int, 0, 2**63 - 1)


BUILTIN_POLICIES = ("nearest", "round_robin", "least_loaded", "lowest_carbon", "lowest_water",
                    "lowest_cost", "weighted", "plan", "plan+spill", "helix", "splitwise",
                    "consolidate")  # fmt: skip
"""The routing policies slit ships, named in ``--help`` without importing the simulator (a
test checks them against the registry)."""

BUILTIN_ALGORITHMS = ("slit", "slit-guided", "slit-moead", "slit-nolocal", "slit-norepair",
                      "slit-ranked", "slit-sparse", "nsga2", "nsga3", "moead", "rvea", "smsemoa",
                      "agemoea2", "random")  # fmt: skip
"""The search algorithms slit ships (see BUILTIN_POLICIES)."""


def _common(p: argparse.ArgumentParser, out: bool = True) -> None:
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. --set time.horizon_s=3600 (repeatable)",
    )
    p.add_argument("--seed", type=SEED, default=None, help="random seed (overrides the scenario)")
    if out:
        p.add_argument("--out", type=Path, required=True, help="output directory")
        p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
        p.add_argument(
            "--force",
            action="store_true",
            help="run a scenario above the size limit (20,000,000 requests; see "
            "docs/reliability.md)",
        )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


class _DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that states every option's default (as ``ArgumentDefaultsHelpFormatter``), except
    for switches and options without one, and where the help text gives it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "(default" in text
            or action.default is None
            or action.default is False
            or action.default is argparse.SUPPRESS
            or action.default == []
            or not action.option_strings
        ):
            return text
        return text + " (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """A subcommand's parser: its help states the defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``slit`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="slit", description="Simulate and optimise geo-distributed LLM inference."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("validate", help="check scenario files; exit 2 listing every problem")
    p.add_argument("scenarios", nargs="+", help="scenario YAML files (or bundled:NAME)")
    _common(p, out=False)

    p = sub.add_parser("run", help="simulate one scenario (the bundled default if none given)")
    p.add_argument("scenario", nargs="?", default=None, help="scenario YAML (default: bundled)")
    p.add_argument(
        "--policy",
        default=None,
        help="routing policy instead of the scenario's: "
        + ", ".join(BUILTIN_POLICIES)
        + " or a plugin's (`slit list policies` describes each)",
    )
    _common(p)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")

    p = sub.add_parser(
        "list", help="list policies, deferral policies, algorithms, GPUs, models or regions"
    )
    p.add_argument(
        "what",
        choices=["policies", "deferrals", "algorithms", "gpus", "models", "regions", "scenarios"],
    )

    p = sub.add_parser("traces", help="bundled profiles and real data: list, show, build")
    tsub = p.add_subparsers(dest="traces_command", required=True)
    t = tsub.add_parser("list", help="bundled zones, request profiles and file formats")
    t = tsub.add_parser(
        "show", help="summary (coverage, mean, range, units) of a bundled zone, profile or file"
    )
    t.add_argument("target", help="zone id, request profile name, or a file (with --format)")
    t.add_argument("--format", default=None, help="file format (see `slit traces list`)")
    t.add_argument("--signal", default=None, help="column to plot (default: the first)")
    t.add_argument("--plot", type=Path, default=None, help="write a plot (.png or .pdf)")
    t.add_argument(
        "--start", default="2023-07-15T00:00:00Z", help="zone: first hour of the plotted series"
    )
    t.add_argument(
        "--hours", type=_number(int, 1, 8784), default=168, help="zone: hours to plot (default 168)"
    )
    t.add_argument("--seed", type=SEED, default=0, help="zone: seed of the plotted series")
    t.add_argument(
        "--option",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, e.g. --option water_table=macknick2012 (repeatable)",
    )
    t.add_argument(
        "--repair",
        dest="repairs",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="grid-file repair, e.g. --repair fill_nan=linear (repeatable; see docs/traces.md)",
    )
    t = tsub.add_parser("build", help="derive the bundled profiles from a raw-data folder")
    t.add_argument("--from", dest="data_dir", type=Path, required=True, help="raw-data folder")
    t.add_argument("--out", type=Path, required=True, help="folder to write the profiles to")

    p = sub.add_parser(
        "optimize", help="rolling multi-objective routing over the horizon, validated by replay"
    )
    p.add_argument("scenario", nargs="?", default=None, help="scenario YAML (default: bundled)")
    p.add_argument(
        "--algorithm",
        default="slit",
        help="search algorithm: "
        + ", ".join(BUILTIN_ALGORITHMS)
        + " or a plugin's (`slit list algorithms` describes each)",
    )
    p.add_argument(
        "--evaluations", type=_number(int, 1, 10**7), default=2000, help="evaluations per epoch"
    )
    p.add_argument(
        "--time-budget-s",
        type=_number(float, 1e-3, 86400.0),
        default=None,
        help="wall-clock budget per epoch, s (instead of --evaluations)",
    )
    p.add_argument(
        "--ttft-slo",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="constrain each origin's predicted TTFT p95 in every epoch to the scenario's "
        "slo.ttft_s (--no-ttft-slo: TTFT only as an objective)",
    )
    p.add_argument(
        "--slo-scope",
        choices=("epoch", "horizon"),
        default="epoch",
        help="over what the TTFT SLO holds: every epoch, or the whole horizon (each plan "
        "spends a budget of 5 %% late requests per origin as it goes) (default: epoch)",
    )
    p.add_argument(
        "--phase-split",
        choices=("scenario", "on", "off", "by_gpu"),
        default="scenario",
        help="serving mode of every replay, plans and baselines alike: each datacenter's own "
        "phase_split, or phase split on or off in every datacenter, or by_gpu: on, with "
        "Splitwise-HA's roles (an LLM's pools on its fastest GPU type prefill, the others "
        "decode)",
    )
    p.add_argument(
        "--warm-start",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="seed each epoch's initial population with the previous epoch's final one",
    )
    p.add_argument(
        "--shift",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with deferrable request classes, plan when and where they are served and "
        "replay the plans with those releases (--no-shift: served as they arrive)",
    )
    p.add_argument(
        "--shift-objective",
        choices=("carbon", "water", "cost", "balanced"),
        default="balanced",
        help="what the time-shift plan minimises (default: balanced, the sum of the three "
        "signals each over its mean)",
    )
    p.add_argument(
        "--shift-solver",
        choices=("greedy", "exact"),
        default="greedy",
        help="how the time-shift plan is solved: greedy (earliest deadline first into the "
        "cheapest slots with room) or exact (a min-cost flow; seconds to minutes on long "
        "horizons of short epochs) (default: greedy)",
    )
    p.add_argument(
        "--spill-variants",
        default="balanced",
        help="comma-separated decision variants also replayed under live control "
        "(plan+spill: requests spill elsewhere when the planned datacenter's queue would break "
        "the SLO); '' for none (default: balanced)",
    )
    p.add_argument("--pop-size", type=_number(int, 2, 10**5), default=40, help="population size")
    p.add_argument(
        "--baselines",
        default=None,
        help="comma-separated routing policies replayed beside the plans; '' for none "
        "(default: all baselines)",
    )
    p.add_argument(
        "--jobs", type=_number(int, 1, 1024), default=2, help="processes for the validation replays"
    )
    p.add_argument(
        "--front-replays",
        type=_number(int, -1, 10**6),
        default=10,
        help="weight-vector plans predicted non-dominated that are replayed beside the six "
        "decision variants, spread along the front; -1 for all",
    )
    p.add_argument(
        "--forecaster",
        default="slit",
        help="demand forecast: slit (SLIT's predictor), last, seasonal, or oracle (perfect "
        "foresight: an upper bound, labelled so in the outputs)",
    )
    p.add_argument(
        "--signal-error",
        type=_number(float, 0.0, 10.0),
        default=0.0,
        help="relative error (sd) of the carbon, water and price forecasts, e.g. 0.1",
    )
    _common(p)

    p = sub.add_parser("sweep", help="run a grid of scenario overrides × seeds, resumable")
    p.add_argument("sweep_file", type=Path, help="sweep YAML (see docs/sweeps.md)")
    p.add_argument("--out", type=Path, required=True, help="sweep folder (reruns resume)")
    p.add_argument(
        "--jobs",
        type=_number(int, 1, 1024),
        default=1,
        help="parallel workers (processes or Ray CPUs)",
    )
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local processes, or Ray tasks (a local instance unless --address)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="ray: address of an existing cluster, e.g. ray://head:10001 or auto",
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="run again the points recorded as failed"
    )
    p.add_argument(
        "--force", action="store_true", help="run points above the size limit (see --help of run)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")

    p = sub.add_parser("plot", help="figures (PNG and PDF) of a run, optimize or sweep folder")
    p.add_argument("run_dir", type=Path, help="folder written by slit run, optimize or sweep")
    p.add_argument("--out", type=Path, default=None, help="figure folder (default RUN_DIR/plots)")
    p.add_argument(
        "--style",
        choices=["default", "paper"],
        default="default",
        help="paper: one or two journal columns wide (3.5 or 7 in), 6-7 pt type, 300 dpi "
        "PNG, fonts embedded in the PDF",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")

    p = sub.add_parser(
        "compare",
        help="hypervolume and IGD+ of several slit optimize folders on one shared normalisation",
    )
    p.add_argument("run_dirs", type=Path, nargs="+", help="slit optimize folders, same scenario")
    p.add_argument("--out", type=Path, default=None, help="also write the per-epoch table (CSV)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")

    p = sub.add_parser("report", help="one self-contained HTML report of a result folder")
    p.add_argument("run_dir", type=Path, help="folder written by slit run, optimize or sweep")
    p.add_argument("--out", type=Path, default=None, help="HTML file (default RUN_DIR/report.html)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")

    p = sub.add_parser(
        "calibrate",
        help="fit the latency and power models to public measurements; print held-out errors",
    )
    p.add_argument("--from", dest="data_dir", type=Path, required=True, help="raw-data folder")
    p.add_argument(
        "--write", type=Path, default=None, help="write the efficiency catalog (YAML) here"
    )
    p.add_argument("--json", action="store_true", help="print the error table as JSON")
    p.add_argument(
        "--report",
        type=Path,
        default=None,
        help="write the error tables (markdown: held-out and in-sample, per GPU x TP x model) "
        "into this file, between its calibration-report markers if it has them",
    )
    p.add_argument(
        "--write-collectives",
        type=Path,
        default=None,
        help="write the all-reduce latency-bandwidth table (CSV) fitted to Vidur's profiles",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument(
        "--write-tables",
        type=Path,
        default=None,
        help="write the measured latency tables (CSV) used by latency_model: table",
    )
    return parser


def _cmd_validate(args: argparse.Namespace) -> int:
    """Check each scenario in one pass: the schema (every problem at once); then, on a valid
    schema, the routing parameters and each input (the requests, every region's signals, the
    fleet) on its own, so that one bad file does not hide another."""
    from slit.inputs.compile import input_problems
    from slit.scenario.loader import load_scenario

    failed = 0
    for path in args.scenarios:
        try:
            scenario = load_scenario(path, args.overrides)
        except SlitError as exc:  # the later stages need a valid schema
            failed += 1
            print(f"{path}: invalid\n{exc}", file=sys.stderr)
            continue
        problems: list[str] = []
        try:
            _check_routing(scenario)
        except ScenarioError as exc:
            problems += [str(p) for p in exc.problems]
        except SlitError as exc:
            problems.append(str(exc))
        log, found = input_problems(scenario)
        problems += found
        if problems:
            failed += 1
            n = len(problems)
            listed = ["  - " + text.replace("\n", "\n    ") for text in problems]
            print(f"{path}: invalid\n{n} problem{'s' if n != 1 else ''} in the scenario and "
                  "its inputs:\n" + "\n".join(listed), file=sys.stderr)  # fmt: skip
        elif not args.quiet:
            print(f"{path}: valid")
            for line in log:
                print(f"  note: {line}")
    return EXIT_USER_ERROR if failed else 0


def _check_routing(scenario: Any) -> None:
    """The scenario's routing and deferral policies built with their parameters, and the
    regions and datacenters they name checked (and a plan's shares against the data
    residency), as the run would (raises ScenarioError)."""
    from slit.sim.policies import make_policy

    cfg = scenario.config
    policy = make_policy(cfg.routing.policy, cfg.routing.params)
    policy.check_scenario(scenario)
    from slit.sim.deferral import make_deferral

    make_deferral(cfg.routing.deferral.policy, cfg.routing.deferral.params)


def _progress_bar(quiet: bool) -> Any:
    if quiet:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]simulating[/]"),
        BarColumn(),
        TextColumn("{task.fields[sim_h]:.1f}/{task.fields[end_h]:.1f} h simulated"),
        TimeElapsedColumn(),
        transient=True,
        console=_stderr_console(),
    )


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _one_seed(args: argparse.Namespace) -> None:
    """Refuse ``--seed`` beside ``--set seed=...``: one of them would be dropped."""
    if getattr(args, "seed", None) is not None and any(
            o.split("=", 1)[0].strip() == "seed" for o in args.overrides):  # fmt: skip
        raise SlitError("--seed and --set seed=... both give the seed; give it once")


def _cmd_run(args: argparse.Namespace) -> int:
    from slit.experiment.rundir import OutputClaim, check_out_dir
    from slit.scenario.loader import load_scenario

    check_out_dir(args.out, args.overwrite)
    _one_seed(args)
    if args.policy is not None:
        from slit.sim.policies import policy_class

        policy_class(args.policy)  # an unknown name fails here, before any work starts
    scenario = load_scenario(args.scenario, args.overrides)
    # --policy becomes the scenario's, so config.resolved.yaml and its hash record what ran
    scenario, args.policy_note = scenario.with_policy(args.policy)
    from slit.inputs.estimate import check_run_size

    check_run_size(scenario, args.force)  # before the workload is built
    # the output folder is checked and held before the work: a bad --out or a second writer
    # is refused at once, and nothing of the user's is ever replaced
    with OutputClaim(args.out, args.overwrite) as claim:
        return _run_into(args, scenario, claim)


def _run_into(args: argparse.Namespace, scenario: Any, claim: Any) -> int:
    from slit.experiment.rundir import base_metadata, run_files
    from slit.sim.simulate import simulate

    seed = scenario.config.seed if args.seed is None else args.seed
    if args.seed is not None:
        scenario = scenario.with_overrides([f"seed={seed}"])
    meta = base_metadata("run", seed, scenario.content_hash())
    meta["scenario"] = scenario.label
    wall0 = time.perf_counter()
    reached = [0.0]  # simulated seconds done, for the record of an interrupted run
    try:
        result = _simulate_with_bar(args, scenario, simulate, reached)
        meta.update(result.metadata)
        if getattr(args, "policy_note", None):
            meta["inputs"] = [*meta.get("inputs", []), args.policy_note]
        meta["status"] = "completed"
        meta["wall_s"] = time.perf_counter() - wall0
        claim.write(run_files(result, scenario, meta))
    except KeyboardInterrupt as exc:
        _record_interruption(claim, meta, exc, wall0, reached[0])
        raise
    if not args.quiet:
        _print_notes(meta.get("inputs", []))
        _print_summary(result.summary, args.out)
        _warn_dropped(result.summary)
    return 0


def _warn_dropped(summary: dict[str, Any]) -> None:
    """Say when requests were dropped, with how many and why: a run that served nothing must
    not pass for a result."""
    dropped, total = summary.get("dropped", 0), summary.get("requests", 0)
    if not dropped:
        return
    reasons = ", ".join(f"{k}: {v}" for k, v in (summary.get("drop_reasons") or {}).items())
    print(f"warning: {dropped:,} of {total:,} requests were dropped ({reasons or 'see summary'}"
          "; docs/metrics.md explains each reason)", file=sys.stderr)  # fmt: skip


def _print_notes(lines: list[str]) -> None:
    """Say every clip, fill or repair of the inputs (also in metadata.json's ``inputs``)."""
    for line in lines:
        print(f"note: {line}", file=sys.stderr)


def _simulate_with_bar(args: argparse.Namespace, scenario: Any, simulate: Any,
                       reached: list[float]) -> Any:  # fmt: skip
    """Simulate with a progress bar (unless quiet); ``reached[0]`` follows the simulated time."""
    bar = _progress_bar(args.quiet)
    shown: list[bool] = []
    task = None
    if bar is not None:
        end_h = (scenario.config.time.horizon_s + scenario.config.time.drain_s) / 3600
        task = bar.add_task("sim", total=end_h, sim_h=0.0, end_h=end_h)

    def tick(now: float, end: float) -> None:
        reached[0] = now
        if bar is None:
            return
        # the bar appears with the first simulated epoch: an error in the inputs, found
        # before it, prints alone
        if not shown:
            bar.start()
            shown.append(True)
        bar.update(task, completed=now / 3600, sim_h=now / 3600)

    try:
        return simulate(scenario, progress=tick)  # --policy is the scenario's (_with_policy)
    finally:
        if shown:
            bar.stop()


def _record_interruption(claim: Any, meta: dict[str, Any], exc: BaseException, wall0: float,
                         reached_s: float | None) -> None:  # fmt: skip
    """Leave the claimed folder holding only ``metadata.json`` marked interrupted (see
    :meth:`slit.experiment.rundir.OutputClaim.write_interrupted`), and say where."""
    out = claim.out
    meta = {**meta, "interrupted_by": getattr(exc, "signal_name", "SIGINT"),
            "wall_s": time.perf_counter() - wall0}  # fmt: skip
    if reached_s is not None:
        meta["interrupted_at_simulated_s"] = reached_s
    if claim.write_interrupted(meta):
        print(f"{out}/metadata.json records the interruption", file=sys.stderr)
    else:
        print(f"{out} is left as it was (it holds an earlier run's results)", file=sys.stderr)


def _print_summary(s: dict[str, Any], out: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    from slit.metrics import metric_label

    console = _stderr_console()
    t = Table(title=f"slit run -> {out}", show_header=True)
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row(
        "requests (completed / dropped)", f"{s['requests']} ({s['completed']} / {s['dropped']})"
    )
    # labels and units from the metric catalogue, as in every figure and report table
    for key, words in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "end-to-end latency")):
        st = s[key]
        if st["mean"] is not None:
            t.add_row(escape(f"{words} mean / p95 [s]"), f"{st['mean']:.3f} / {st['p95']:.3f}")
    if s["slo_attainment"] is not None:
        t.add_row(escape("SLO attainment [%]"), f"{100 * s['slo_attainment']:.1f}")
    for name, c in (s.get("classes") or {}).items():
        if name != "interactive":  # a deferrable class: its wait and its deadline misses
            wait = c["defer_s"]["mean"]
            t.add_row(escape(f"{name}: requests / deadline misses / mean wait [s]"),
                      f"{c['requests']} / {c['deadline_misses']} / "
                      f"{'-' if wait is None else format(wait, '.0f')}")  # fmt: skip
    t.add_row(escape("facility energy [kWh]"), f"{s['energy_kwh']:.1f}")
    t.add_row(escape(metric_label("carbon_kg")), f"{s['carbon_kg']:.2f}")
    if s.get("carbon_embodied_kg"):  # the two parts, when embodied carbon is counted
        t.add_row(escape("carbon operational / embodied [kg CO2e]"),
                  f"{s['carbon_operational_kg']:.2f} / {s['carbon_embodied_kg']:.2f}")  # fmt: skip
    t.add_row(escape(metric_label("water_l")), f"{s['water_l']:.1f}")
    t.add_row(escape(metric_label("cost_usd")), f"{s['cost_usd']:.2f}")
    console.print(t)


def _cmd_schema(args: argparse.Namespace) -> int:
    from slit.scenario.schema import ScenarioModel

    print(json.dumps(ScenarioModel.model_json_schema(), indent=2))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    if args.what == "policies":
        from slit.sim.policies import policy_class, policy_names

        for name in policy_names():
            doc = (policy_class(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:14s} {doc}")
    elif args.what == "deferrals":
        from slit.plugins import DEFERRALS

        for name in DEFERRALS.names():
            doc = (DEFERRALS.get(name).__doc__ or "").strip().splitlines()[0]
            print(f"{name:14s} {doc}")
    elif args.what == "algorithms":
        from slit.optimize.algorithms import algorithm_description, algorithm_names

        width = max(len(n) for n in algorithm_names())
        for name in algorithm_names():
            print(f"{name:{width}s} {algorithm_description(name)}")
    elif args.what == "gpus":
        from slit.catalogue.gpus import bundled_gpus

        for key, g in bundled_gpus().items():
            print(
                f"{key:12s} {g.peak_bf16_tflop_per_s:7.0f} TFLOP/s  {g.memory_gb:5.0f} GB  "
                f"{g.memory_bandwidth_gb_per_s:6.0f} GB/s  {g.max_power_w:5.0f} W  {g.name}"
            )
    elif args.what == "models":
        from slit.catalogue.llms import bundled_llms

        for key, m in bundled_llms().items():
            print(
                f"{key:16s} {m.parameters_billion:7.1f} B params  "
                f"{m.kv_bytes_per_token / 1024:6.0f} KiB KV/token  {m.name}"
            )
    elif args.what == "regions":
        _list_regions()
    else:
        _list_scenarios()
    return 0


REGION_SIGNALS = (
    ("carbon", "carbon_g_per_kwh_annual_mean_2023"),
    ("price", "price_usd_per_mwh_annual_mean_2023"),
    ("wetbulb", "wetbulb_c_annual_mean_2023"),
    ("ewif", "ewif_l_per_kwh"),
)
"""The hourly signals of a bundled zone profile, by name, and the catalog key that says the
profile has it."""


def _list_regions() -> None:
    """One line per bundled grid zone, with which of its signals the bundled profile has; a
    missing one must be given in the scenario (a constant or a file), which the footer says."""
    from slit.traces.profiles import load_region_catalog

    catalog = load_region_catalog()
    print(f"{'zone':12s} {'continent':14s} {'signals (- = not in the profile)':34s} name")
    lacking: dict[str, list[str]] = {}
    for key, r in catalog.items():
        have = []
        for name, field in REGION_SIGNALS:
            present = r.get(field) is not None
            have.append(name if present else "-" * len(name))
            if not present:
                lacking.setdefault(name, []).append(key)
        print(f"{key:12s} {r.get('continent', ''):14s} {' '.join(have):34s} "
              f"{r.get('display_name', '')}")  # fmt: skip
    for name, zones in lacking.items():
        print(f"note: no bundled {name} profile for {', '.join(zones)}: a region in "
              f"{'it' if len(zones) == 1 else 'them'} gives its signals as constants or "
              "files (regions[].signals, docs/scenario.md)")  # fmt: skip


def _list_scenarios() -> None:
    """The bundled scenarios (``bundled:NAME``), then any ``scenarios/*.yaml`` of the current
    folder that is not one of them, each with the ``description`` it carries."""
    from slit.scenario.loader import bundled_folder, bundled_scenario_names

    def description(path: Path) -> str:
        from slit.yamlio import safe_load

        try:
            data = safe_load(path.read_text(encoding="utf-8"))
        except Exception:  # a broken file is listed, not diagnosed: `slit validate` does that
            return "(cannot be read; see `slit validate`)"
        text = data.get("description") if isinstance(data, dict) else None
        return " ".join(str(text).split()) if text else ""

    folder = bundled_folder("scenarios")
    rows = [(f"bundled:{n}", description(folder / f"{n}.yaml")) for n in bundled_scenario_names()]
    local = Path("scenarios")
    if local.is_dir():
        bundled = {(folder / f"{n}.yaml").read_bytes() for n in bundled_scenario_names()}
        for path in sorted(local.glob("*.yaml")):
            if path.is_file() and path.read_bytes() not in bundled:
                rows.append((str(path), description(path)))
    width = max(len(r[0]) for r in rows)
    for ref, text in rows:
        print(f"{ref:{width}s}  {text}".rstrip())


def _print_frame(frame: Any, title: str) -> None:
    from rich.table import Table

    from slit.traces.summary import unit_of

    table = Table(title=title)
    for col in frame.columns:
        unit = unit_of(str(col)) if col not in ("column", "unit", "zone", "profile") else ""
        table.add_column(f"{col} [{unit}]" if unit else str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    from rich.console import Console

    Console(width=160).print(table)


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def _parse_options(items: list[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise SlitError(f"--option {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def _cmd_traces(args: argparse.Namespace) -> int:
    from slit.traces import summary

    if args.traces_command == "list":
        from slit.traces.grid_readers import grid_formats
        from slit.traces.requests import request_formats

        _print_frame(summary.bundled_zones(), "bundled grid zones (annual means)")
        _print_frame(summary.bundled_request_profiles(), "bundled request profiles")
        print("grid-file formats:")
        for name, desc in grid_formats().items():
            print(f"  {name:16s} {desc}")
        print("request-trace formats: " + ", ".join(request_formats()))
        return 0
    if args.traces_command == "build":
        from slit.builders.profiles import build_profiles

        _check_profiles_out(args.out)  # before the build: a user's files are never replaced

        try:
            paths = build_profiles(args.data_dir, args.out)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise SlitError(f"traces build: {exc}") from None
        for p in paths:
            print(f"{p.name}\t{p.stat().st_size} bytes")
        return 0
    return _traces_show(args)


PLOT_SUFFIXES = (".png", ".pdf", ".svg")
"""The file types ``slit traces show --plot`` writes."""


def _check_plot_file(path: Path) -> None:
    """Refuse a ``--plot`` file of another type, a folder, or a file slit did not write."""
    from slit.experiment.rundir import check_out_file, is_slit_figure

    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise SlitError(f"--plot {path}: give a file ending in {', '.join(PLOT_SUFFIXES)}")
    check_out_file(path, is_slit_figure, "--plot")


def _traces_show(args: argparse.Namespace) -> int:
    import pandas as pd

    from slit.traces import profiles, summary

    target, frame = args.target, None
    if args.format is None and (args.options or args.repairs):
        raise SlitError("--option and --repair apply to a file read with --format, not to a "
                        "bundled zone or profile")  # fmt: skip
    if args.plot:
        _check_plot_file(args.plot)  # before any work
        try:
            start = pd.Timestamp(args.start)
            if start.tzinfo is None:
                start = start.tz_localize("UTC")
            end = start + pd.Timedelta(hours=args.hours)
            if not (1900 <= start.year and end.year <= 2200):
                raise ValueError("out of range")
        except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
            raise SlitError(
                f"--start {args.start!r}: not a time of 1900-2200 in ISO 8601, e.g. "
                "2023-07-15T00:00:00Z"
            ) from None
    if args.format is None:
        zones = profiles.load_region_catalog()
        if target in zones:
            table = summary.zone_profile_summary(target)
            _print_frame(table, f"{target}: bundled month x hour profile")
            if args.plot:
                import numpy as np

                rng = np.random.default_rng(args.seed)
                frame = profiles.grid_series_from_profile(target, start, args.hours, rng)
        elif target in profiles.request_profile_names():
            p = profiles.load_request_profile(target)
            keys = ("requests", "duration_s", "mean_rate_per_s", "prompt_tokens_mean",
                    "output_tokens_mean", "spearman_prompt_output", "interarrival_cv")  # fmt: skip
            for key in keys:
                print(f"{key:24s} {_cell(p.get(key))}")
            if args.plot:
                raise SlitError("a request profile has no time series to plot; plot the trace")
            return 0
        else:
            raise SlitError(
                f"'{target}' is neither a bundled zone nor a request profile; give --format "
                "to read it as a file (see `slit traces list`)"
            )
    else:
        from slit.traces.files import read_trace_file

        repairs = _parse_options(args.repairs)
        if repairs:  # checked as a scenario's repair: block is, with the valid names and values
            from pydantic import ValidationError

            from slit.scenario.schema import GridRepairConfig

            try:
                repairs = GridRepairConfig.model_validate(repairs).model_dump(include=set(repairs))
            except ValidationError as exc:
                found = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                  for e in exc.errors())  # fmt: skip
                valid = ", ".join(GridRepairConfig.model_fields)
                raise SlitError(f"--repair: {found} (valid: {valid})") from None
        frame = read_trace_file(target, args.format, _parse_options(args.options),
                                repairs)  # fmt: skip
        _print_frame(summary.frame_summary(frame), f"{Path(target).name} ({args.format})")
        if frame.attrs.get("start_utc") is not None:
            print(f"first request at {frame.attrs['start_utc']} (UTC)")
        for note in frame.attrs.get("repairs", []) + frame.attrs.get("transforms", []):
            print(f"note: {note}")
    if args.plot and frame is not None:
        _plot_frame(frame, args.signal, args.plot, target)
    return 0


def _cmd_optimize(args: argparse.Namespace) -> int:
    from slit.experiment.rundir import OutputClaim, check_out_dir
    from slit.optimize.run import BASELINES
    from slit.plugins import ALGORITHMS, FORECASTERS
    from slit.scenario.loader import load_scenario

    check_out_dir(args.out, args.overwrite)
    _one_seed(args)
    FORECASTERS.get(args.forecaster)  # unknown names fail here, before any work
    if args.signal_error < 0:
        raise SlitError(f"--signal-error must be >= 0, got {args.signal_error}")
    ALGORITHMS.get(args.algorithm)
    baselines = (
        BASELINES
        if args.baselines is None
        else tuple(b.strip() for b in args.baselines.split(",") if b.strip())
    )
    _check_baselines(baselines)
    if args.time_budget_s is None and args.pop_size > args.evaluations:
        raise SlitError(
            f"--pop-size {args.pop_size} is larger than --evaluations {args.evaluations}: the "
            "first generation alone would exceed the budget; lower --pop-size or raise "
            "--evaluations"
        )
    scenario = load_scenario(args.scenario, args.overrides)
    from slit.inputs.estimate import check_optimiser_size, check_run_size, check_servable

    check_run_size(scenario, args.force)  # before the workload is built
    check_servable(scenario)
    if args.time_budget_s is None:
        check_optimiser_size(scenario, args.evaluations, args.force)
    with OutputClaim(args.out, args.overwrite) as claim:
        return _optimize_into(args, scenario, baselines, claim)


def _check_baselines(names: tuple[str, ...]) -> None:
    """Refuse unknown, repeated or plan baselines (a plan needs an allocation to follow)."""
    from slit.sim.policies import policy_names

    valid = [n for n in policy_names() if n != "plan"]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise SlitError(f"--baselines: unknown or unusable policy {', '.join(unknown)}; "
                        f"valid: {', '.join(valid)}")  # fmt: skip
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SlitError(f"--baselines: {', '.join(twice)} given twice; give each once")


def _optimize_into(args: argparse.Namespace, scenario: Any, baselines: tuple[str, ...],
                   claim: Any) -> int:  # fmt: skip
    from slit.experiment.rundir import base_metadata, optimize_files
    from slit.optimize.run import run_optimize

    seed = scenario.config.seed if args.seed is None else args.seed
    if args.seed is not None:  # config.resolved.yaml then names the seed the run used
        scenario = scenario.with_overrides([f"seed={seed}"])
    meta = base_metadata("optimize", seed, scenario.content_hash())
    meta["scenario"] = scenario.label
    wall0 = time.perf_counter()
    bar = None if args.quiet else _stage_bar()
    tasks: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if bar is None:
            return
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    try:
        with bar if bar is not None else contextlib.nullcontext():
            out = run_optimize(scenario, args.algorithm, evaluations=args.evaluations,
                               pop_size=args.pop_size, seed=seed, jobs=args.jobs,
                               forecaster=args.forecaster, signal_error=args.signal_error,
                               time_budget_s=args.time_budget_s, ttft_slo=args.ttft_slo,
                               baselines=baselines, progress=progress,
                               warm_start=args.warm_start, phase_split=args.phase_split,
                               slo_scope=args.slo_scope, shift=args.shift,
                               shift_objective=args.shift_objective,
                               shift_solver=args.shift_solver,
                               spill_variants=[v for v in args.spill_variants.split(",") if v],
                               front_replays=None if args.front_replays < 0
                               else args.front_replays)  # fmt: skip
        meta.update({"status": "completed", "wall_s": time.perf_counter() - wall0,
                     "algorithm": args.algorithm, "replayed_plan": "balanced",
                     "baselines": list(baselines)})  # fmt: skip
        meta["inputs"] = list(out.replay.metadata.get("inputs", []))
        if args.time_budget_s is not None:
            meta["inputs"].append(f"optimize: each epoch searched for {args.time_budget_s:g} s "
                                  "(--time-budget-s); --evaluations was not used")  # fmt: skip
        claim.write(optimize_files(out, scenario, meta))
    except KeyboardInterrupt as exc:
        _record_interruption(claim, {**meta, "algorithm": args.algorithm}, exc, wall0, None)
        raise
    if not args.quiet:
        _print_notes(meta["inputs"])
        from slit.metrics import metric_label

        v = out.validated
        cols = ["name", "ttft_p95_s", "carbon_kg", "water_l", "cost_usd", "dropped"]
        table = v[cols].round(3).rename(columns={c: metric_label(c) for c in cols[1:]})
        print(table.to_string(index=False))
        print(f"{len(out.pareto)} non-dominated plans; results in {args.out}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from slit.experiment.sweep import load_sweep, run_sweep

    if args.address and args.executor != "ray":
        raise SlitError("--address names a Ray cluster; it needs --executor ray")
    spec, base_dir = load_sweep(args.sweep_file)
    bar = None if args.quiet else _stage_bar()
    state: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if bar is None:
            return
        if "task" not in state:  # the bar appears once every point is checked
            bar.start()
            state["task"] = bar.add_task("sweep", total=total)
        bar.update(state["task"], completed=done)

    try:
        table = run_sweep(spec, base_dir, args.out, args.jobs, progress,
                          executor=args.executor, address=args.address,
                          retry_failed=args.retry_failed, force=args.force)  # fmt: skip
    except KeyboardInterrupt:
        if (args.out / "points").is_dir():
            print(f"the finished points are kept in {args.out / 'points'}; run the same "
                  "command again to resume", file=sys.stderr)  # fmt: skip
        raise
    finally:
        if bar is not None and "task" in state:
            bar.stop()
    bad = table[table["status"] != "ok"] if len(table) else table
    if not args.quiet:
        print(f"{len(table)} point x seed results in {args.out / 'results.parquet'}"
              + (f"; {len(bad)} failed (see the error column)" if len(bad) else ""))  # fmt: skip
    if len(bad):
        # a sweep with failed points is not a success: say which, and exit 1
        errors = bad["error"].astype(str).value_counts()
        print(f"error: {len(bad)} of {len(table)} point x seed runs failed; the commonest "
              f"error ({errors.iloc[0]}x): {errors.index[0]}\n    hint: fix the cause and run "
              "the same command with --retry-failed", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED_POINTS
    return 0


@contextlib.contextmanager
def _reading_folder(folder: Path) -> Any:
    """Turn a result folder that cannot be read (a damaged file, a file of another shape, as
    another version of slit may write) into an error that says so, not a traceback."""
    try:
        import pyarrow

        damaged: tuple[type[BaseException], ...] = (pyarrow.ArrowException,)
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        damaged = ()
    try:
        yield
    except SlitError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, *damaged) as exc:
        raise SlitError(
            f"{folder}: its files cannot be read ({type(exc).__name__}: {exc}); the folder may "
            "be damaged or written by another version of slit: run the command that wrote it "
            "again"
        ) from None


def _cmd_plot(args: argparse.Namespace) -> int:
    from slit.plot.folder import write_figures

    with _reading_folder(args.run_dir):
        paths = write_figures(args.run_dir, args.out, args.style)
    if not paths:
        print(f"note: {args.run_dir} holds nothing to draw (a sweep that varies no parameter "
              "has no figure: its results are in results.parquet)", file=sys.stderr)  # fmt: skip
    for path in paths:
        if not args.quiet:
            print(path)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from slit.report import write_report

    with _reading_folder(args.run_dir):
        path = write_report(args.run_dir, args.out)
    if not args.quiet:
        print(path)
    return 0


def _is_compare_table(path: Path) -> bool:
    """Whether ``path`` holds a table ``slit compare --out`` wrote (its header says so)."""
    try:
        with open(path, encoding="utf-8") as handle:
            header = handle.readline(64).strip()  # bounded: the file may be anything
    except (OSError, UnicodeDecodeError):
        return False
    return header == "run,epoch,hypervolume,igd_plus"


def _cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    from slit.optimize.indicators import shared_indicators, summarise

    fronts, decided, hashes = {}, [], {}
    for folder in args.run_dirs:
        needed = [folder / n for n in ("fronts.csv", "indicators.json", "metadata.json")]
        lacking = [p.name for p in needed if not p.is_file()]
        if lacking:
            raise SlitError(f"{folder}: not a slit optimize folder (no {', '.join(lacking)}); "
                            "give folders written by slit optimize --out")  # fmt: skip
        label = str(folder)
        if label in fronts:
            raise SlitError(f"{folder} is given twice")
        fronts[label] = pd.read_csv(folder / "fronts.csv")
        ind = json.loads((folder / "indicators.json").read_text(encoding="utf-8"))
        decided.append(set(ind.get("hypervolume_epochs", fronts[label]["epoch"].unique())))
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        hashes[label] = meta.get("scenario_sha256")
    if len(set(hashes.values())) > 1:
        listed = "; ".join(f"{k}: {str(v)[:12]}" for k, v in hashes.items())
        raise SlitError("the folders optimised different scenarios (or seeds), whose fronts share "
                        f"no scale: {listed}; compare runs of one scenario and seed")  # fmt: skip
    table = shared_indicators(fronts, set.intersection(*decided))
    summary = summarise(table)
    if args.out is not None:
        from slit.experiment.rundir import check_out_file

        # a table compare wrote before may be replaced; a result file or a user's file not
        check_out_file(args.out, _is_compare_table)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
    if not args.quiet:
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print(f"{len(table['epoch'].unique())} decided epochs, objectives normalised per epoch "
                  "between the ideal point and the nadir of the union's non-dominated set; "
                  "hypervolume reference point 1.1")  # fmt: skip
            print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _stage_bar() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}[/]"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), transient=True,
                    console=_stderr_console())  # fmt: skip


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import pandas as pd

    from slit.calibration.pipeline import calibrate_folder, error_report, headline_table

    def note(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr)

    _check_calibrate_outputs(args)  # before the fits: nothing of the user's is replaced
    cal = calibrate_folder(args.data_dir, write=args.write, write_tables=args.write_tables,
                           write_collectives=args.write_collectives, report=args.report,
                           note=note)  # fmt: skip
    if args.json:
        print(error_report(cal).to_json(orient="records", indent=1))
    elif not args.quiet:
        held = cal.held_out.get("tp")
        shown = headline_table(held if held is not None and len(held) else cal.in_sample)
        with pd.option_context("display.width", 200, "display.max_rows", None):
            print("held-out error (each tensor-parallel degree predicted by a fit without it):")
            print(shown.round(1).to_string(index=False))
    return 0


def _check_profiles_out(out: Path) -> None:
    """``slit traces build --out`` may replace the files of an earlier build (a folder whose
    MANIFEST.csv it wrote), never a user's files of the same names."""
    from slit.builders import profiles as built
    from slit.experiment.rundir import check_out_path

    check_out_path(out, "folder")
    if not out.is_dir():
        return
    written = (built.MANIFEST_FILE, built.GRID_FILE, built.QUANTILE_FILE, built.REGIONS_FILE,
               built.REQUESTS_FILE, built.ZONE_RTT_FILE)  # fmt: skip
    try:
        with open(out / built.MANIFEST_FILE, encoding="utf-8") as handle:
            ours = handle.readline(200).startswith("file,derived_from,source,")
    except (OSError, UnicodeDecodeError):
        ours = False
    taken = [n for n in written if (out / n).exists()]
    if taken and not ours:
        raise SlitError(
            f"{out}: holds {', '.join(taken)}, which an earlier `slit traces build` did not "
            "write (no MANIFEST.csv of its own); choose another --out"
        )


def _calibrate_wrote(*marks: str) -> Any:
    """A check that a file is one ``slit calibrate`` wrote: its first 4 kB hold a mark."""

    def own(path: Path) -> bool:
        try:
            with open(path, encoding="utf-8") as handle:
                head = handle.read(4096)
        except (OSError, UnicodeDecodeError):
            return False
        return any(mark in head for mark in marks)

    return own


def _check_calibrate_outputs(args: argparse.Namespace) -> None:
    """Each output of ``slit calibrate`` may replace only the file of its kind that slit
    wrote (a catalog, a table), and the report only a file holding the report's markers."""
    from slit.experiment.rundir import check_out_file

    kinds = (("--write", args.write, _calibrate_wrote("Generated by `slit calibrate`")),
             ("--write-tables", args.write_tables, _calibrate_wrote("slit calibrate")),
             ("--write-collectives", args.write_collectives, _calibrate_wrote("slit calibrate")),
             ("--report", args.report, _calibrate_wrote("calibration-report:start")))  # fmt: skip
    for flag, path, own in kinds:
        if path is not None:
            check_out_file(path, own, flag)


def _plot_frame(frame: Any, signal: str | None, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from slit.plot.signals import plot_trace_frame
    from slit.plot.style import figure_mark_metadata

    ax = plot_trace_frame(frame, signal, Path(title).name)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the mark lets a later --plot replace it (is_slit_figure)
    ax.figure.savefig(out, dpi=150, metadata=figure_mark_metadata(out.suffix) or None)
    print(f"plot written to {out}")


COMMANDS = {
    "validate": _cmd_validate,
    "run": _cmd_run,
    "schema": _cmd_schema,
    "list": _cmd_list,
    "traces": _cmd_traces,
    "calibrate": _cmd_calibrate,
    "optimize": _cmd_optimize,
    "plot": _cmd_plot,
    "report": _cmd_report,
    "compare": _cmd_compare,
    "sweep": _cmd_sweep,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``slit`` console script; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        # a terminal or pipe that cannot show a character (PYTHONIOENCODING=ascii, LANG=C)
        # gets an escape for it, not a UnicodeEncodeError
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.version:
        from slit import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    previous = _stop_on_sigterm()
    try:
        return COMMANDS[args.command](args)
    except SlitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        how = getattr(exc, "signal_name", "Ctrl-C")
        print(f"interrupted ({how})", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`slit list ... | head`): nothing more to say, and Python's
        # final flush must not fail again on the closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm() -> Any:
    """Make SIGTERM stop a command the way Ctrl-C does (through its clean-up); returns the
    handler it replaced, or None off the main thread, where handlers cannot be set."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: Any) -> None:
        # the first SIGTERM stops the command through its clean-up; a second one, should the
        # clean-up take too long, ends the process at once, with the same status
        signal.signal(signal.SIGTERM, again)
        raise Interrupted("SIGTERM")

    def again(signum: int, frame: Any) -> None:
        try:
            sys.stderr.write("interrupted again (SIGTERM): exiting at once\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_INTERRUPTED)

    return signal.signal(signal.SIGTERM, stop)


if __name__ == "__main__":
    sys.exit(main())

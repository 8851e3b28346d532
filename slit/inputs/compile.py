"""``compile_inputs(scenario)``: everything a run needs, built once, in one immutable record.

The simulator and the optimiser both start here: the record holds the requests, the per-epoch
signals, the fleet (pools with their latency, power and KV models, and the network) and the
clock, so neither builds inputs of its own and the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slit.errors import ScenarioError
from slit.inputs.fleet import Fleet, compile_fleet, residency_problems
from slit.inputs.signals import EpochSignals, epoch_signals
from slit.inputs.streams import RandomStreams
from slit.inputs.timeline import Timeline
from slit.inputs.workload import Requests, build_requests, draw_classes
from slit.models.latency import EfficiencyParams
from slit.models.power import PowerParams
from slit.scenario.loader import Scenario
from slit.scenario.unused import unused_settings


@dataclass(frozen=True)
class RunInputs:
    """The compiled inputs of one run.

    Attributes:
        seed: the run's seed.
        timeline: start, horizon, drain and epochs.
        requests: the requests, in arrival order.
        signals: ``[epoch, datacenter]`` grid and weather signals and facility factors.
        fleet: datacenters, pools and network.
        routing_seed: the seed of the routing policy's random stream (a policy draws from
            ``numpy.random.default_rng(routing_seed)``, so a run is reproducible however its
            inputs were built).
        log: what the input layer repaired, transformed or drew from a profile.
        overrides: the parameters given instead of the catalog's (``efficiency``, ``power``).
    """

    seed: int
    timeline: Timeline
    requests: Requests
    signals: EpochSignals
    fleet: Fleet
    routing_seed: np.random.SeedSequence
    log: tuple[str, ...]
    overrides: tuple[str, ...] = ()

    @property
    def model_ids(self) -> tuple[str, ...]:
        """The run's LLM ids (the requests' and the fleet's ``model`` index them)."""
        return self.fleet.model_ids


def compile_inputs(
    scenario: Scenario,
    *,
    seed: int | None = None,
    efficiency: EfficiencyParams | None = None,
    power: PowerParams | None = None,
) -> RunInputs:
    """Build every input of a run of ``scenario``.

    Args:
        scenario: a validated scenario (see :func:`slit.load_scenario`).
        seed: overrides ``scenario.config.seed``.
        efficiency, power: latency and power parameters for every pool instead of each GPU
            type's calibrated ones.

    Raises:
        ScenarioError, TraceError: a file missing or not covering the run, a value the models
            cannot use (each problem says where and how to fix it).
    """
    cfg = scenario.config
    seed = cfg.seed if seed is None else seed
    streams = RandomStreams.from_seed(seed, [r.id for r in cfg.regions])
    # settings the chosen modes do not read are said first, like every other input change
    log: list[str] = unused_settings(cfg)
    frame, model_ids = build_requests(scenario, streams.workload, log)
    classes = draw_classes(
        scenario,
        frame["origin"].to_numpy(np.int64),
        frame["model"].to_numpy(np.int64),
        model_ids,
        streams.classes,
    )
    requests = Requests.from_frame(frame, model_ids, classes)
    timeline = Timeline.of(scenario)
    signals = epoch_signals(scenario, streams, timeline, log)
    fleet = compile_fleet(scenario, model_ids, efficiency=efficiency, power=power, log=log)
    # a trace's origins and LLMs are known only now (the loader checks a synthetic workload's)
    problems = residency_problems(scenario, fleet, requests.origin, requests.model)
    if problems:
        raise ScenarioError(problems)
    overrides = tuple(n for n, v in (("efficiency", efficiency), ("power", power)) if v)
    return RunInputs(
        seed, timeline, requests, signals, fleet, streams.routing_seed, tuple(log), overrides
    )


def input_problems(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Build each input of a run on its own, so that one bad file does not hide another: the
    requests, every region's signals, the fleet. Returns the input log and every problem
    found (as the run would report it), for ``slit validate``."""
    from slit.errors import SlitError
    from slit.inputs.signals import MARGINAL, region_signals

    cfg = scenario.config
    streams = RandomStreams.from_seed(cfg.seed, [r.id for r in cfg.regions])
    log: list[str] = unused_settings(cfg)
    problems: list[str] = []
    frame = None
    try:
        frame, model_ids = build_requests(scenario, streams.workload, log)
    except SlitError as exc:
        problems.append(str(exc))
        model_ids = sorted({p.model for dc in cfg.datacenters for p in dc.pools})
    timeline = Timeline.of(scenario)
    for region in cfg.regions:
        try:
            sig = region_signals(scenario, region, timeline.signal_hours,
                                 streams.signals[region.id], log)  # fmt: skip
            sig.epoch_means(timeline.start_utc, timeline.epoch_s, timeline.n_epochs)
        except SlitError as exc:
            problems.append(f"{exc} (region '{region.id}')")
            continue
        if cfg.carbon.intensity == "marginal" and MARGINAL not in sig.columns:
            # the scenario's check catches every source but a signals CSV without the column
            problems.append(f"region '{region.id}': its signals CSV has no {MARGINAL} column, "
                            "and carbon.intensity is marginal; add the column, or set "
                            "carbon.intensity: average")  # fmt: skip
    try:
        fleet = compile_fleet(scenario, model_ids, log=log)
        if frame is not None:
            found = residency_problems(scenario, fleet, frame["origin"], frame["model"])
            problems += [str(p) for p in found]
    except SlitError as exc:
        problems.append(str(exc))
    return log, problems


def check_inputs(scenario: Scenario) -> list[str]:
    """Build every input of a run (requests, signals, fleet and network) without simulating.

    Reads every file the scenario names, so that a missing file, a bad value or a trace that
    does not cover the horizon is found by ``slit validate``. Returns the input log (repairs,
    transforms, signals drawn from profiles).

    Raises:
        ScenarioError, TraceError: as the run itself would.
    """
    return list(compile_inputs(scenario).log)

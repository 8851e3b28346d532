"""The requests of a run: synthetic diurnal arrivals or a replayed trace, as arrays.

:func:`build_requests` returns the request table (arrival time, origin region, LLM, prompt and
output tokens) with origin and LLM as indices into the scenario's regions and the run's LLM ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from slit.errors import Problem, ScenarioError, TraceError
from slit.inputs.geography import region_coordinates, utc_offset_h
from slit.scenario.loader import Scenario
from slit.scenario.schema import SyntheticWorkload, TraceWorkload
from slit.traces import profiles
from slit.traces.synthetic import diurnal_poisson_arrivals


def served_models(scenario: Scenario) -> list[str]:
    """LLMs that at least one pool with replicas serves, in order of first appearance."""
    seen: dict[str, None] = {}
    for dc in scenario.config.datacenters:
        for pool in dc.pools:
            if pool.replicas > 0:
                seen.setdefault(pool.model, None)
    return list(seen)


def _draw(rng: np.random.Generator, n: int, weights: list[float]) -> npt.NDArray[np.int64]:
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int64)


def _trace_requests(
    scenario: Scenario,
    wl: TraceWorkload,
    rng: np.random.Generator,
    model_ids: list[str],
    log: list[str],
) -> pd.DataFrame:
    """Arrivals, origins, models and sizes replayed from the workload's trace file."""
    from slit.traces import requests as request_traces  # only trace workloads need it

    cfg = scenario.config
    region_ids = [r.id for r in cfg.regions]
    path = scenario.resolve_path(wl.path, "workload.path")
    label = f"{path.name} (workload.path)"
    if not path.exists():
        raise TraceError(
            str(
                Problem(
                    f"{wl.path} (workload.path)",
                    f"file not found ({path})",
                    "check the path, which is resolved relative to the scenario file",
                )
            )
        )
    trace = request_traces.read_requests(
        path, wl.format, label=label, sort=wl.sort, where=f"{path} (workload.path)", **wl.options
    )
    log.extend(trace.attrs.get("repairs", []))
    if wl.skip_s:
        trace = request_traces.window(trace, wl.skip_s, math.inf, rebase=True)
    if wl.rate_scale != 1.0:
        trace = request_traces.scale_rate(trace, wl.rate_scale)
    span_s = cfg.time.horizon_s - wl.time_shift_s
    if span_s <= 0:
        raise ScenarioError(
            [
                Problem(
                    "workload.time_shift_s",
                    f"{wl.time_shift_s:g} s is past the horizon ({cfg.time.horizon_s:g} s)",
                    "make it shorter than time.horizon_s",
                )
            ]
        )
    if wl.replay == "tile":
        trace = request_traces.tile(trace, span_s)
    elif wl.replay == "resample":
        trace = request_traces.resample(trace, span_s, rng)
    else:
        request_traces.check_covers(trace, span_s)
    trace = trace[trace["arrival_s"].to_numpy() < span_s]
    if wl.time_shift_s:
        trace = request_traces.time_shift(trace, wl.time_shift_s)
    log.extend(f"{label}: {t}" for t in trace.attrs.get("transforms", []))
    n = len(trace)

    if "origin" in trace.columns:
        names = trace["origin"].astype(str)
        unknown = sorted(set(names) - set(region_ids))
        if unknown:
            raise TraceError(
                f"{label}: column 'origin' names unknown region(s) {', '.join(unknown[:5])}; "
                f"valid: {', '.join(region_ids)}. Rename them in the file or the scenario"
            )
        origin = names.map({r: i for i, r in enumerate(region_ids)}).to_numpy(np.int64)
        if wl.origins:
            log.append(f"{label}: workload.origins is not used: the trace's column 'origin' "
                       "gives each request's origin")  # fmt: skip
    else:
        origin = _draw(
            rng,
            n,
            [wl.origins.get(r, 0.0) for r in region_ids] if wl.origins else [1.0] * len(region_ids),
        )

    model: npt.NDArray[np.int64] | None = None
    if "model" in trace.columns:
        raw_names = set(trace["model"].astype(str))
        unmatched = sorted(set(wl.model_map) - raw_names)
        if unmatched:
            log.append(f"{label}: workload.model_map entries {', '.join(unmatched[:5])} match no "
                       "model name of the trace and are not used")  # fmt: skip
        names = trace["model"].astype(str).map(lambda m: wl.model_map.get(m, m))
        unknown = sorted(set(names) - set(scenario.llms))
        if not unknown:
            for m in dict.fromkeys(names):
                if m not in model_ids:
                    model_ids.append(m)
            model = np.asarray(names.map({m: i for i, m in enumerate(model_ids)}), np.int64)
        elif wl.model_map:
            raise TraceError(
                f"{label}: model name(s) {', '.join(unknown[:5])} in column 'model' have no "
                "entry in workload.model_map; map every name the trace uses to an LLM id"
            )
        else:
            log.append(
                f"{label}: the trace's model names ({', '.join(unknown[:3])}) are not LLM ids; "
                "models drawn from workload.models instead (set workload.model_map to keep them)"
            )
    if model is None:
        shares = [wl.models.get(m, 0.0) for m in model_ids] if wl.models else [1.0] * len(model_ids)
        model = _draw(rng, n, shares)
    return pd.DataFrame(
        {
            "arrival_s": trace["arrival_s"].to_numpy(float),
            "origin": origin,
            "model": model,
            "prompt_tokens": trace["prompt_tokens"].to_numpy(np.int64),
            "output_tokens": trace["output_tokens"].to_numpy(np.int64),
        }
    )


def _synthetic_requests(
    scenario: Scenario, wl: SyntheticWorkload, rng: np.random.Generator, model_ids: list[str]
) -> pd.DataFrame:
    """Diurnal Poisson arrivals with token lengths from a bundled profile."""
    cfg = scenario.config
    region_ids = [r.id for r in cfg.regions]
    origin_weights = (
        [wl.origins.get(r, 0.0) for r in region_ids] if wl.origins else [1.0] * len(region_ids)
    )
    coords = (
        region_coordinates(scenario)
        if any(r.latitude is not None or r.zone for r in cfg.regions)
        else {}
    )
    start = cfg.time.start_utc
    offsets = [utc_offset_h(r, start, coords.get(r.id)) for r in cfg.regions]
    start_hour = start.hour + start.minute / 60.0 + start.second / 3600.0
    arrival_s, origin = diurnal_poisson_arrivals(
        wl.rate_per_s,
        cfg.time.horizon_s,
        origin_weights,
        offsets,
        start_hour,
        wl.diurnal_amplitude,
        wl.peak_hour_local,
        rng,
    )
    n = len(arrival_s)
    model = _draw(
        rng, n, [wl.models.get(m, 0.0) for m in model_ids] if wl.models else [1.0] * len(model_ids)
    )
    if wl.prompt_tokens is None or wl.output_tokens is None:
        profile = profiles.load_request_profile(wl.profile)
        prompt, output = profiles.sample_token_lengths(profile, n, rng)
    if wl.prompt_tokens is not None:
        prompt = np.full(n, wl.prompt_tokens, dtype=np.int64)
    if wl.output_tokens is not None:
        output = np.full(n, wl.output_tokens, dtype=np.int64)
    return pd.DataFrame(
        {
            "arrival_s": arrival_s,
            "origin": origin,
            "model": model,
            "prompt_tokens": prompt,
            "output_tokens": output,
        }
    )


def build_requests(
    scenario: Scenario, rng: np.random.Generator, log: list[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The request table (``arrival_s, origin, model, prompt_tokens, output_tokens``, origin
    and model as indices into the region list and the returned model list) and the model ids.

    Repairs and transforms of a trace file are appended to ``log``.
    """
    log = [] if log is None else log
    cfg = scenario.config
    wl = cfg.workload
    model_ids = list(wl.models) or served_models(scenario) or [cfg.datacenters[0].pools[0].model]
    for m in served_models(scenario):
        if m not in model_ids:
            model_ids.append(m)
    if isinstance(wl, TraceWorkload):
        frame = _trace_requests(scenario, wl, rng, model_ids, log)
    else:
        assert isinstance(wl, SyntheticWorkload)
        frame = _synthetic_requests(scenario, wl, rng, model_ids)
    model = frame["model"].to_numpy()
    prompt = frame["prompt_tokens"].to_numpy(np.int64)
    output = frame["output_tokens"].to_numpy(np.int64)
    # every change made to a request's lengths is counted in the run's log (metadata.json)
    def count(changed: npt.NDArray[np.bool_], what: str) -> None:
        if changed.any():
            log.append(f"workload: {int(changed.sum())} of {len(changed)} request(s) {what}")

    if wl.max_prompt_tokens:
        count(prompt > wl.max_prompt_tokens, f"cut to max_prompt_tokens = {wl.max_prompt_tokens}")
        prompt = np.minimum(prompt, wl.max_prompt_tokens)
    if wl.max_output_tokens:
        count(output > wl.max_output_tokens, f"cut to max_output_tokens = {wl.max_output_tokens}")
        output = np.minimum(output, wl.max_output_tokens)
    # a request cannot exceed its model's context window: trim the output first, as a serving
    # engine's max_tokens would; every request asks for at least one token
    context = np.array([scenario.llms[m].max_context_tokens for m in model_ids])[model]
    count(prompt < 1, "with an empty prompt given 1 prompt token")
    count(prompt > context - 1, "with a prompt longer than its LLM's context window cut to fit it")
    prompt = np.maximum(1, np.minimum(prompt, context - 1))
    count(output < 1, "asking for no output given 1 output token")
    count(
        output > np.maximum(context - prompt, 1),
        "with prompt + output beyond the context window given fewer output tokens",
    )
    output = np.maximum(1, np.minimum(output, context - prompt))
    frame["prompt_tokens"] = prompt.astype(np.int64)
    frame["output_tokens"] = output.astype(np.int64)
    return frame, model_ids


@dataclass(frozen=True)
class Requests:
    """The requests of a run as read-only arrays, one element per request in arrival order.

    Attributes:
        arrival_s: arrival time at the origin, s from the run's start.
        origin: index of the origin region (scenario order).
        model: index into ``model_ids``.
        prompt_tokens, output_tokens: lengths, tokens (each at least 1, within the LLM's
            context window).
        model_ids: the run's LLM ids: the workload's, then any other LLM a pool serves.
        request_class: index into ``class_ids`` (0: interactive), or None when every request
            is interactive.
        deadline_s: completion deadline after arrival, s (inf for an interactive request), or
            None when every request is interactive.
        class_ids: ``interactive``, then the workload's deferrable classes in scenario order.
    """

    arrival_s: npt.NDArray[np.float64]
    origin: npt.NDArray[np.int64]
    model: npt.NDArray[np.int64]
    prompt_tokens: npt.NDArray[np.int64]
    output_tokens: npt.NDArray[np.int64]
    model_ids: tuple[str, ...]
    request_class: npt.NDArray[np.int64] | None = None
    deadline_s: npt.NDArray[np.float64] | None = None
    class_ids: tuple[str, ...] = ("interactive",)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        model_ids: list[str],
        classes: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], tuple[str, ...]]
        | None = None,
    ) -> Requests:
        """The record of :func:`build_requests`'s table (the arrays are made read-only), with
        the classes of :func:`draw_classes` if any."""
        arrays = {}
        for column in REQUEST_COLUMNS:
            a = frame[column].to_numpy()
            a.flags.writeable = False
            arrays[column] = a
        request_class = deadline = None
        class_ids: tuple[str, ...] = ("interactive",)
        if classes is not None:
            request_class, deadline, class_ids = classes
            request_class.flags.writeable = False
            deadline.flags.writeable = False
        return cls(
            arrival_s=arrays["arrival_s"],
            origin=arrays["origin"],
            model=arrays["model"],
            prompt_tokens=arrays["prompt_tokens"],
            output_tokens=arrays["output_tokens"],
            model_ids=tuple(model_ids),
            request_class=request_class,
            deadline_s=deadline,
            class_ids=class_ids,
        )

    @property
    def deferrable(self) -> npt.NDArray[np.bool_] | None:
        """True for each request of a deferrable class (None when every one is interactive)."""
        return None if self.request_class is None else self.request_class > 0

    def __len__(self) -> int:
        return len(self.arrival_s)

    def mean_lengths_tokens(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``[model]`` mean prompt and output length of each LLM's requests, tokens (NaN for
        an LLM without requests)."""
        n = len(self.model_ids)
        count = np.bincount(self.model, minlength=n).astype(float)
        prompt, output = np.full(n, np.nan), np.full(n, np.nan)
        for m in np.flatnonzero(count):
            mine = self.model == m
            prompt[m] = float(self.prompt_tokens[mine].mean())
            output[m] = float(self.output_tokens[mine].mean())
        return prompt, output

    def frame(self) -> pd.DataFrame:
        """The requests as a table with one column per array."""
        return pd.DataFrame({c: getattr(self, c) for c in REQUEST_COLUMNS})


REQUEST_COLUMNS = ("arrival_s", "origin", "model", "prompt_tokens", "output_tokens")
"""The columns of the request table, in order."""


def draw_classes(
    scenario: Scenario,
    origin: npt.NDArray[np.int64],
    model: npt.NDArray[np.int64],
    model_ids: list[str] | tuple[str, ...],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], tuple[str, ...]] | None:
    """Each request's class and deadline, drawn with ``rng`` (one uniform number a request):
    ``(class index, deadline s, class ids)`` with index 0 = interactive (deadline inf), or None
    for a workload without deferrable classes (nothing is drawn then).

    A request of origin ``o`` and LLM ``m`` falls in class ``k`` with the probability
    :meth:`~slit.scenario.schema.RequestClass.share_of` gives; the probabilities are stacked in
    scenario order and the rest is interactive."""
    cfg = scenario.config
    classes = cfg.workload.classes
    if not classes:
        return None
    region_ids = [r.id for r in cfg.regions]
    # [class, origin, model] probability, cumulated over the classes
    shares = np.array(
        [[[c.share_of(o, m) for m in model_ids] for o in region_ids] for c in classes]
    )
    upper = np.cumsum(shares, axis=0)
    u = rng.random(len(origin))
    # the first class whose cumulated share lies above u; none (k = len(classes)): interactive
    k = (u[None, :] >= upper[:, origin, model]).sum(axis=0)
    request_class = np.where(k < len(classes), k + 1, 0).astype(np.int64)
    deadlines = np.array([np.inf] + [c.deadline_s for c in classes])
    return request_class, deadlines[request_class], ("interactive", *(c.name for c in classes))

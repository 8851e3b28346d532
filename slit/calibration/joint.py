"""Joint calibration of the latency and power models per GPU, with held-out error.

Observables (``metric``), all predicted through :class:`slit.models.latency.ReplicaPerf` and
:mod:`slit.models.power`, the functions the simulator runs:

* ``prefill_dense`` - Vidur kernel-time sums of the decoder layers (attention and all-reduce
  not profiled): predicted as ``max(dense compute, dense weight read) + L * layer_overhead``
  (kernel time only: no host cost, no synchronisation, no all-reduce);
* ``ttft`` - LLM-Inference-Bench time to first token of B prompts of L tokens (vLLM prefills
  them in iterations of at most ``max_num_batched_tokens`` tokens);
* ``batch_latency`` - LLM-Inference-Bench end-to-end time of a closed batch (B requests, L
  tokens in and L out): the prefills, then ``L - 1`` decode steps of the batch whose context
  grows a token per step (:func:`closed_batch_s`); where the batch's KV cache does not fit, the
  requests run in waves of as many as fit;
* ``decode_step`` - the mean decode step implied by a batch latency, ``(measured latency -
  modelled prefill) / decode steps``, and ML.ENERGY's median inter-token latency at its average
  batch (context per request: an assumed prompt plus half the output, capped by the KV cache);
* ``power`` - average GPU power of a run (LLM-Inference-Bench, one GPU) or of a steady serving
  configuration (ML.ENERGY, all GPUs divided by their number), W;
* ``energy_per_token`` - GPU energy per output token, J: power x time / output tokens.

:func:`fit_gpu` fits, per GPU, the latency parameters (``mfu``, ``decode_mfu``, ``mbu``,
``overhead_s``, ``per_request_overhead_s``, ``layer_overhead_s``, ``tp_layer_overhead_s``) by
bounded least squares on relative errors (soft-L1), each (source, model, tp, metric) group with
equal total weight; then the power parameters (:class:`slit.models.power.PowerParams`) with the
latency parameters fixed. A parameter no observable of a GPU can see stays at its start value
and is reported as not fitted.

:func:`cross_validate` refits without a whole configuration (one tensor-parallel degree, or
one model) and predicts it: the held-out error the docs report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from slit.calibration.fit import dense_layer_parameters
from slit.catalogue.gpus import bundled_gpus
from slit.catalogue.llms import bundled_llms
from slit.models.latency import (
    EfficiencyParams,
    ReplicaPerf,
    decode_stretch_terms,
    sum_of_max_lines,
)
from slit.models.power import DEFAULT_POWER, PowerParams, gpu_power_w, iteration_activity

#: Assumed prompt length of an ML.ENERGY request (the leaderboard table has none), tokens.
MLENERGY_PROMPT_TOKENS = 1000
#: Share of GPU memory vLLM uses for weights + KV cache (its ``gpu_memory_utilization``).
KV_MEMORY_FRACTION = 0.9
#: Prompt-token counts of the Vidur profiles used (a log-spaced subset of the profiled ones).
VIDUR_TOKENS = (128, 256, 512, 1024, 2048, 4096)
#: vLLM's prefill budget without chunked prefill: max(max_model_len, 2048) tokens an iteration.
MIN_PREFILL_BUDGET_TOKENS = 2048

LATENCY_METRICS = ("prefill_dense", "ttft", "batch_latency", "decode_step", "mean_step")
POWER_METRICS = ("power", "energy_per_token")

START = EfficiencyParams(
    mfu=0.6, mbu=0.8, overhead_s=0.003, decode_mfu=None, per_request_overhead_s=2e-5,
    layer_overhead_s=5e-5, tp_layer_overhead_s=1e-5, attention_mbu=0.6,
)  # fmt: skip
#: (lower, upper, scale) of each fitted latency parameter.
LATENCY_BOUNDS: dict[str, tuple[float, float, float]] = {
    "mfu": (0.05, 1.0, 0.1),
    "decode_mfu": (0.02, 1.0, 0.1),
    "mbu": (0.05, 1.0, 0.1),
    "overhead_s": (0.0, 0.05, 1e-3),
    "per_request_overhead_s": (0.0, 5e-4, 1e-5),
    "layer_overhead_s": (0.0, 1e-3, 1e-5),
    "tp_layer_overhead_s": (0.0, 1e-3, 1e-5),
    "attention_mbu": (0.05, 1.0, 0.1),
}
POWER_BOUNDS: dict[str, tuple[float, float, float]] = {
    "base_activity": (0.0, 1.0, 0.1),
    "compute_activity": (0.0, 2.0, 0.1),
    "memory_activity": (0.0, 2.0, 0.1),
    "request_activity": (0.0, 2.0, 0.1),
    "comm_activity": (0.0, 2.0, 0.1),
}


# -- observations ----------------------------------------------------------------------------
OBS_COLUMNS = [
    "source", "gpu", "model", "tp", "metric", "batch", "tokens", "output_tokens",
    "max_model_len", "task", "measured",
]  # fmt: skip


def observations(
    vidur: pd.DataFrame | None = None,
    argonne: pd.DataFrame | None = None,
    argonne_ttft: pd.DataFrame | None = None,
    argonne_power: pd.DataFrame | None = None,
    mlenergy: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """All measured points in one frame (see the module doc for each ``metric``).

    ``batch`` is requests (prefill_dense: 1), ``tokens`` prompt tokens per request,
    ``output_tokens`` per request (ML.ENERGY: its mean output; the context a request holds is
    derived in :func:`predict`, from the prompt that the fit estimates), ``max_model_len`` the
    context the model was run with (0: the catalog's), ``task`` the ML.ENERGY workload (its
    requests' prompt length is fitted per task; "" elsewhere); ``measured`` in s, W or J.
    """
    parts: list[pd.DataFrame] = []

    def frame(source: str, d: pd.DataFrame, metric: str, **cols: object) -> pd.DataFrame:
        base: dict[str, object] = {
            "source": source, "gpu": d["gpu"], "model": d["model"], "tp": d["tp"],
            "metric": metric, "max_model_len": d["max_model_len"] if "max_model_len" in d else 0,
            "task": d["task"] if "task" in d else "",
        }  # fmt: skip
        base.update(cols)
        return pd.DataFrame(base)

    if vidur is not None and len(vidur):
        v = vidur[vidur["num_tokens"].isin(VIDUR_TOKENS)]
        parts.append(frame("vidur", v, "prefill_dense", batch=1, tokens=v["num_tokens"],
                           output_tokens=0, measured=v["time_s"]))  # fmt: skip
    if argonne is not None and len(argonne):
        a = argonne[argonne["framework"] == "vllm"]
        parts.append(frame("argonne", a, "batch_latency", batch=a["batch"], tokens=a["tokens"],
                           output_tokens=a["tokens"], measured=a["latency_s"]))  # fmt: skip
    if argonne_ttft is not None and len(argonne_ttft):
        t = argonne_ttft[argonne_ttft["framework"] == "vllm"]
        parts.append(frame("argonne", t, "ttft", batch=t["batch"], tokens=t["tokens"],
                           output_tokens=1, measured=t["ttft_s"]))  # fmt: skip
    if argonne_power is not None and len(argonne_power):
        p = argonne_power[argonne_power["framework"] == "vllm"]
        parts.append(frame("argonne", p, "power", batch=p["batch"], tokens=p["tokens"],
                           output_tokens=p["tokens"], measured=p["power_w"]))  # fmt: skip
        parts.append(frame("argonne", p, "energy_per_token", batch=p["batch"],
                           tokens=p["tokens"], output_tokens=p["tokens"],
                           measured=p["power_w"] * p["tp"] * p["latency_s"]
                           / (p["batch"] * p["tokens"])))  # fmt: skip
    if mlenergy is not None and len(mlenergy):
        m = mlenergy
        common = {"batch": m["avg_batch_size"], "tokens": MLENERGY_PROMPT_TOKENS,
                  "output_tokens": m["avg_output_len"]}  # fmt: skip
        parts.append(frame("mlenergy", m, "decode_step", measured=m["median_itl_s"], **common))
        mean_step = m["avg_batch_size"] / m["output_tokens_per_s"]
        parts.append(frame("mlenergy", m, "mean_step", measured=mean_step, **common))
        parts.append(frame("mlenergy", m, "power", measured=m["avg_power_w"] / m["num_gpus"],
                           **common))  # fmt: skip
        parts.append(frame("mlenergy", m, "energy_per_token",
                           measured=m["energy_per_token_j"], **common))  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=OBS_COLUMNS)
    out = pd.concat(parts, ignore_index=True)[OBS_COLUMNS]
    out["tp"] = out["tp"].astype(int)
    return out


def _perf(gpu: str, model: str, tp: int, eff: EfficiencyParams) -> ReplicaPerf:
    return ReplicaPerf(bundled_llms()[model], bundled_gpus()[gpu], tp, eff)


# -- predictions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RunPrediction:
    """Modelled times and energy of a closed-batch run (see :func:`closed_batch_s`).

    Attributes:
        prefill_s: time of all prefill iterations, s.
        decode_s: time of all decode steps, s.
        decode_steps: decode iterations summed over waves (each wave ``L - 1`` steps).
        gpu_energy_j: energy of one GPU over the run (prefill and decode), J.
        waves: how many groups the batch ran in (more than 1 where the KV cache is short).
    """

    prefill_s: float
    decode_s: float
    decode_steps: int
    gpu_energy_j: float
    waves: int

    @property
    def total_s(self) -> float:
        """End-to-end time of the batch, s."""
        return self.prefill_s + self.decode_s


def closed_batch_s(
    perf: ReplicaPerf,
    batch: int,
    tokens: int,
    output: int,
    power: PowerParams = DEFAULT_POWER,
    max_model_len: int = 0,
) -> RunPrediction:
    """Model a vLLM run of ``batch`` requests of ``tokens`` prompt and ``output`` output tokens
    all arriving at once (as LLM-Inference-Bench runs them).

    As many requests as the KV cache holds at their full length run together (a wave); each
    wave prefills its prompts in iterations of at most ``max(max_model_len, 2048)`` tokens
    (vLLM without chunked prefill; ``max_model_len`` is the context the model was run with, 0
    for the catalog's), then decodes ``output - 1`` steps of the whole wave, whose
    context grows by one token per request and step (closed-form sum). GPU power follows each
    iteration's compute and memory shares (:func:`slit.models.power.iteration_activity`).
    """
    budget = max(max_model_len or perf.model.max_context_tokens, MIN_PREFILL_BUDGET_TOKENS)
    capacity = perf.kv_capacity_tokens(KV_MEMORY_FRACTION, max_batched_tokens=budget)
    per_request = tokens + output
    fit = max(1, capacity // per_request) if capacity > 0 else 1
    per_iter = max(1, budget // max(tokens, 1))
    prefill_s = decode_s = energy = 0.0
    steps = waves = 0
    left = batch
    gpu = perf.gpu
    while left > 0:
        n = min(left, fit)
        left -= n
        waves += 1
        todo = n
        while todo > 0:
            k = min(todo, per_iter)
            todo -= k
            c, m, f = perf.prefill_terms(float(k * tokens), float(k * tokens * tokens))
            t = max(c, m) + f
            prefill_s += t
            comm = perf.comm_time_s(float(k * tokens))
            energy += gpu_power_w(gpu, iteration_activity(c, m, t, power, 0.0, comm)) * t
        if output > 1:
            c0, c1, m0, m1, fixed = perf.decode_lines(n, float(n * (tokens + 1)))
            k = output - 1
            t = sum_of_max_lines(c0, c1, m0, m1, fixed, k)
            c, m = decode_stretch_terms(c0, c1, m0, m1, k)
            decode_s += t
            steps += k
            req = perf.eff.per_request_overhead_s * n * k
            comm = perf.comm_time_s(float(n), k)
            energy += gpu_power_w(gpu, iteration_activity(c, m, t, power, req, comm)) * t
    return RunPrediction(prefill_s, decode_s, steps, energy, waves)


def steady_step(
    perf: ReplicaPerf,
    batch: float,
    prompt: float,
    output: float,
    context: float,
    power: PowerParams = DEFAULT_POWER,
) -> tuple[float, float]:
    """``(step_s, activity)`` of a steady serving iteration (ML.ENERGY's configurations).

    At steady state a replica decoding ``batch`` requests that each produce ``output`` tokens
    finishes ``batch / output`` requests per step and so admits as many new prompts; vLLM's
    chunked prefill folds their ``batch * prompt / output`` prompt tokens into the decode
    steps. The step is therefore the chunked-prefill iteration of
    :meth:`slit.models.latency.ReplicaPerf.hybrid_terms` with that chunk (each prompt whole,
    so its attention pairs are ``prompt^2``), its energy includes the prefill, and the inter-token
    latency is its length.
    """
    new_requests = batch / max(output, 1.0)
    chunk = new_requests * prompt
    c, m, f = perf.hybrid_terms(
        batch,
        batch * context,
        chunk,
        new_requests * prompt * prompt,
        chunk,  # type: ignore[arg-type]
    )
    t = max(c, m) + f
    req = perf.eff.per_request_overhead_s * batch
    return t, iteration_activity(c, m, t, power, req, perf.comm_time_s(batch + chunk))


def _with_task(obs: pd.DataFrame) -> pd.DataFrame:
    """``obs`` with a ``task`` column (frames built without one hold one unnamed task)."""
    return obs if "task" in obs else obs.assign(task="")


def predict(
    obs: pd.DataFrame,
    eff: EfficiencyParams,
    power: PowerParams = DEFAULT_POWER,
    mlenergy_prompt_tokens: Mapping[str, float] | None = None,
    software: Mapping[str, Mapping[str, float]] | None = None,
) -> np.ndarray:
    """Modelled value of every observation (same units as ``measured``).

    ``mlenergy_prompt_tokens`` maps an ML.ENERGY ``task`` to the mean prompt of its requests
    (which the leaderboard does not publish; :func:`fit_latency` fits one per task); a task
    without an entry uses the observation's ``tokens``. ``software`` maps a
    ``source`` to the values of its own :data:`SOFTWARE_PARAMS` (each data set measured its own
    serving-software release; see :func:`fit_latency`)."""
    software = software or {}
    obs = _with_task(obs)
    effs = {src: replace(eff, **dict(v)) for src, v in software.items()}
    out = np.empty(len(obs))
    prompts = dict(mlenergy_prompt_tokens or {})
    cols = ["source", "gpu", "model", "tp", "metric", "batch", "tokens", "output_tokens",
            "max_model_len", "task"]  # fmt: skip
    cache: dict[tuple[object, ...], RunPrediction] = {}
    perfs: dict[tuple[str, str, int, str], ReplicaPerf] = {}
    perfs_cap: dict[tuple[str, str, int, str], int] = {}
    for i, (src, gpu, model, tp, metric, b, n, o, mml, task) in enumerate(
        zip(*(obs[c].tolist() for c in cols), strict=True)
    ):
        key = (gpu, model, int(tp), src)
        src_eff = effs.get(src, eff)
        perf = perfs.get(key)
        if perf is None:
            perf = perfs[key] = _perf(gpu, model, int(tp), src_eff)
        if metric == "prefill_dense":
            p_dense = dense_layer_parameters(perf.model)
            compute = 2.0 * p_dense * n * perf._inv_flops
            memory = p_dense * perf.model.bytes_per_parameter * perf._inv_bw
            out[i] = max(compute, memory) + perf.model.layers * src_eff.layer_overhead_s
            continue
        if src == "mlenergy":
            prompt = float(prompts.get(str(task), n))
            cap = perfs_cap.get(key)
            if cap is None:
                cap = perfs_cap[key] = perf.kv_capacity_tokens(KV_MEMORY_FRACTION)
            ctx = min(prompt + o / 2.0, cap / max(b, 1.0))
            if metric == "decode_step":  # the median step: one without prompt chunks
                c0, _, m0, _, fixed = perf.decode_lines(b, b * ctx)
                out[i] = max(c0, m0) + fixed
                continue
            step, act = steady_step(perf, float(b), prompt, float(o), float(ctx), power)
            if metric == "mean_step":
                out[i] = step
            else:
                watts = gpu_power_w(perf.gpu, act)
                out[i] = watts if metric == "power" else tp * watts * step / b
            continue
        rkey = (gpu, model, int(tp), src, int(b), int(n), int(o))
        run = cache.get(rkey)
        if run is None:
            run = cache[rkey] = closed_batch_s(perf, int(b), int(n), int(o), power, int(mml))
        if metric == "ttft":
            out[i] = run.prefill_s
        elif metric == "batch_latency":
            out[i] = run.total_s
        elif metric == "decode_step":
            out[i] = run.decode_s / max(run.decode_steps, 1)
        elif metric == "power":
            out[i] = run.gpu_energy_j / run.total_s
        elif metric == "energy_per_token":
            out[i] = run.gpu_energy_j * tp / (b * o)
        else:
            raise ValueError(f"unknown metric {metric!r}")
    return out


def implied_decode_steps(obs: pd.DataFrame, fit: GpuFit) -> pd.DataFrame:
    """``decode_step`` rows implied by the ``batch_latency`` rows of ``obs`` under ``fit``.

    The measured side is (measured latency - modelled prefill) / modelled decode steps, s (it
    leans on the prefill model, a small part beside ``L`` decode steps); the predicted side is
    the modelled mean step. Returns the rows with ``predicted`` and ``error_pct``.
    """
    a = obs[obs["metric"] == "batch_latency"]
    meas, pred = [], []
    cols = ["source", "gpu", "model", "tp", "batch", "tokens", "output_tokens", "max_model_len",
            "measured"]  # fmt: skip
    for src, gpu, model, tp, b, n, o, mml, measured in zip(
        *(a[c].tolist() for c in cols), strict=True
    ):
        eff = replace(fit.eff, **fit.software.get(str(src), {}))
        perf = _perf(str(gpu), str(model), int(tp), eff)
        run = closed_batch_s(perf, int(b), int(n), int(o), max_model_len=int(mml))
        steps = max(run.decode_steps, 1)
        meas.append((float(measured) - run.prefill_s) / steps)
        pred.append(run.decode_s / steps)
    out = a.copy()
    out["metric"] = "decode_step"
    out["measured"] = meas
    out["predicted"] = pred
    out["error_pct"] = 100.0 * (out["predicted"] / out["measured"] - 1.0)
    return out


# -- fitting ---------------------------------------------------------------------------------
def _weights(obs: pd.DataFrame) -> np.ndarray:
    sizes = obs.groupby(["source", "model", "tp", "metric"])["measured"].transform("size")
    return 1.0 / np.sqrt(sizes.to_numpy(float))


#: Parameters that belong to the serving software rather than the chip: each data set was
#: measured with its own release (LLM-Inference-Bench: vLLM of 2024; ML.ENERGY v3: vLLM of
#: 2025, whose engine spends far less CPU time per step; Vidur: bare kernels, no engine), so
#: each source gets its own values of these while the chip's efficiencies are shared.
SOFTWARE_PARAMS = ("overhead_s", "per_request_overhead_s", "layer_overhead_s")
#: Which software parameters each source's observables can see.
SOFTWARE_VISIBLE: dict[str, tuple[str, ...]] = {
    "vidur": ("layer_overhead_s",),
    "argonne": SOFTWARE_PARAMS,
    "mlenergy": SOFTWARE_PARAMS,
}
#: The software the simulator's catalog describes, in order of preference: the newest
#: measured release of vLLM where a GPU has it.
REFERENCE_SOFTWARE = ("mlenergy", "argonne")


def _visible_hardware(obs: pd.DataFrame) -> list[str]:
    metrics = set(obs["metric"])
    sources = set(obs["source"])
    names: list[str] = []
    if "prefill_dense" in metrics or "ttft" in metrics:
        names.append("mfu")
    if metrics & {"batch_latency", "decode_step", "mean_step"}:
        names += ["mbu", "attention_mbu"]
        serving = obs[obs["source"] != "vidur"]
        if serving["tp"].nunique() > 1:
            names.append("tp_layer_overhead_s")
    elif "vidur" in sources:
        names.append("mbu")
    return names


def _software_names(obs: pd.DataFrame) -> list[tuple[str, str]]:
    return [
        (src, name) for src in sorted(set(obs["source"])) for name in SOFTWARE_VISIBLE.get(src, ())
    ]


#: Bounds of the fitted mean prompt of an ML.ENERGY task's requests, tokens.
PROMPT_BOUNDS = (16.0, 4000.0)


@dataclass
class LatencyFit:
    """Result of :func:`fit_latency`: shared chip parameters, per-source software values."""

    eff: EfficiencyParams
    software: dict[str, dict[str, float]]
    fitted: list[str]
    mlenergy_prompt_tokens: dict[str, float] | None


def fit_latency(obs: pd.DataFrame, start: EfficiencyParams = START) -> LatencyFit:
    """Latency parameters of one GPU's observations (latency metrics only).

    The chip's efficiencies (``mfu``, ``decode_mfu``, ``mbu``, ``attention_mbu``,
    ``tp_layer_overhead_s``) are shared by all sources; the :data:`SOFTWARE_PARAMS` are fitted
    per source; with ML.ENERGY points the mean prompt of each task's requests is fitted too
    (a chat prompt and a benchmark question differ; the leaderboard publishes neither).
    """
    lat = _with_task(obs[obs["metric"].isin(LATENCY_METRICS)].reset_index(drop=True))
    hw = _visible_hardware(lat)
    sw = _software_names(lat)
    steady = lat[(lat["source"] == "mlenergy") & (lat["metric"] == "mean_step")]
    tasks = sorted(str(t) for t in steady["task"].unique())
    if not hw and not sw:
        return LatencyFit(start, {}, [], None)
    w = _weights(lat)
    measured = lat["measured"].to_numpy(float)
    k, ks = len(hw), len(hw) + len(sw)

    def unpack(
        theta: np.ndarray,
    ) -> tuple[EfficiencyParams, dict[str, dict[str, float]], dict[str, float] | None]:
        eff = replace(start, **{n: float(v) for n, v in zip(hw, theta[:k], strict=True)})
        soft: dict[str, dict[str, float]] = {}
        for (src, name), v in zip(sw, theta[k:ks], strict=True):
            soft.setdefault(src, {})[name] = float(v)
        prompts = {t: float(v) for t, v in zip(tasks, theta[ks:], strict=True)}
        return eff, soft, (prompts or None)

    def residuals(theta: np.ndarray) -> np.ndarray:
        eff, soft, prompt = unpack(theta)
        return w * (predict(lat, eff, DEFAULT_POWER, prompt, soft) / measured - 1.0)

    names = hw + [n for _, n in sw]
    lo = [LATENCY_BOUNDS[n][0] for n in names]
    hi = [LATENCY_BOUNDS[n][1] for n in names]
    x0 = list(np.clip([getattr(start, n) or 0.0 for n in names], lo, hi))
    scale = [LATENCY_BOUNDS[n][2] for n in names]
    for _ in tasks:
        lo.append(PROMPT_BOUNDS[0])
        hi.append(PROMPT_BOUNDS[1])
        x0.append(MLENERGY_PROMPT_TOKENS)
        scale.append(100.0)
    sol = least_squares(residuals, x0, bounds=(lo, hi), x_scale=scale,
                        loss="soft_l1", f_scale=0.1)  # fmt: skip
    eff, soft, prompt = unpack(sol.x)
    return LatencyFit(eff, soft, hw + [f"{n}@{src}" for src, n in sw], prompt)


#: A power coefficient is fitted only where some observation spends at least this share of
#: its time in the coefficient's state (compute, memory, per-request); otherwise the data
#: cannot tell its value and it is borrowed from the reference family (and listed).
MIN_VISIBLE_SHARE = 0.25


def power_shares(obs: pd.DataFrame, lat: LatencyFit) -> pd.DataFrame:
    """Per power observation, the time shares behind each power coefficient (0..1).

    The activity is linear in the coefficients below its cap, so the share of a term is the
    modelled activity with that coefficient 1 and the others 0."""
    pw = obs[obs["metric"] == "power"].reset_index(drop=True)
    out = {}
    for name in POWER_BOUNDS:
        unit = PowerParams(**{n: (1.0 if n == name else 0.0) for n in POWER_BOUNDS})
        watts = predict(pw, lat.eff, unit, lat.mlenergy_prompt_tokens, lat.software)
        gpus = [bundled_gpus()[g] for g in pw["gpu"]]
        out[name] = [(w - g.idle_power_w) / (g.max_power_w - g.idle_power_w)
                     for w, g in zip(watts, gpus, strict=True)]  # fmt: skip
    return pd.DataFrame(out)


def fit_power(
    obs: pd.DataFrame,
    lat: LatencyFit,
    start: PowerParams = DEFAULT_POWER,
) -> tuple[PowerParams, list[str]]:
    """Power parameters of one GPU's power observations, with the latency fit ``lat``.

    ``base_activity`` is always fitted when there are power points; the other coefficients
    only where :func:`power_shares` shows their state (:data:`MIN_VISIBLE_SHARE`); the rest
    keep ``start`` (the reference family's values, see :func:`fit_all`)."""
    pw = obs[obs["metric"] == "power"].reset_index(drop=True)
    if pw.empty:
        return start, []
    shares = power_shares(obs, lat)
    names = [n for n in POWER_BOUNDS
             if n == "base_activity" or shares[n].max() >= MIN_VISIBLE_SHARE]  # fmt: skip
    w = _weights(pw)
    measured = pw["measured"].to_numpy(float)

    def params(theta: np.ndarray) -> PowerParams:
        return replace(start, **{n: float(v) for n, v in zip(names, theta, strict=True)})

    def residuals(theta: np.ndarray) -> np.ndarray:
        pred = predict(pw, lat.eff, params(theta), lat.mlenergy_prompt_tokens, lat.software)
        return w * (pred / measured - 1.0)

    lo = [POWER_BOUNDS[n][0] for n in names]
    hi = [POWER_BOUNDS[n][1] for n in names]
    x0 = np.clip([getattr(start, n) for n in names], lo, hi)
    sol = least_squares(residuals, x0, bounds=(lo, hi),
                        x_scale=[POWER_BOUNDS[n][2] for n in names],
                        loss="soft_l1", f_scale=0.1)  # fmt: skip
    return params(sol.x), names


@dataclass
class GpuFit:
    """Fitted parameters of one GPU family and which ones its data could see."""

    gpu: str
    eff: EfficiencyParams
    power: PowerParams
    software: dict[str, dict[str, float]] = field(default_factory=dict)
    fitted: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    mlenergy_prompt_tokens: dict[str, float] | None = None
    borrowed: tuple[str, ...] = ()

    def reference_source(self) -> str | None:
        """The source whose software values the catalog takes (:data:`REFERENCE_SOFTWARE`)."""
        return next((s for s in REFERENCE_SOFTWARE if s in self.software), None)

    def catalog_efficiency(self) -> EfficiencyParams:
        """The chip's parameters with the reference software's values."""
        ref = self.reference_source()
        return replace(self.eff, **self.software[ref]) if ref else self.eff

    def predict(self, obs: pd.DataFrame) -> np.ndarray:
        """Modelled values of ``obs`` with this fit."""
        return predict(obs, self.eff, self.power, self.mlenergy_prompt_tokens, self.software)


def fit_gpu(
    obs: pd.DataFrame,
    gpu: str,
    start: EfficiencyParams = START,
    power_start: PowerParams = DEFAULT_POWER,
) -> GpuFit:
    """Fit latency then power parameters of the observations of GPU family ``gpu``."""
    lat = fit_latency(obs, start)
    power, pw_names = fit_power(obs, lat, power_start)
    return GpuFit(
        gpu=gpu,
        eff=lat.eff,
        power=power,
        software=lat.software,
        fitted=tuple(lat.fitted + pw_names),
        metrics=tuple(sorted(set(obs["metric"]))),
        sources=tuple(sorted(set(obs["source"]))),
        mlenergy_prompt_tokens=lat.mlenergy_prompt_tokens,
    )


#: GPU families fitted together: GPUs of one chip whose data are pooled (same die and
#: software; their specs differ only in memory size and bandwidth, which the model reads).
FAMILIES: dict[str, tuple[str, ...]] = {
    "a100": ("a100-40gb", "a100-80gb"),
    "h100": ("h100-80gb",),
    "b200": ("b200",),
    "a40": ("a40",),
}


def family_of(gpu: str) -> str:
    """The calibration family of a GPU id (the id itself when it has none)."""
    return next((f for f, members in FAMILIES.items() if gpu in members), gpu)


#: The family whose chip parameters fill what another family's data cannot see (fitted on
#: prefill and decode, by all three sources).
REFERENCE_FAMILY = "h100"


def _start_for(
    obs: pd.DataFrame, reference: GpuFit | None
) -> tuple[EfficiencyParams, PowerParams, list[str]]:
    """Start values of a family: its unseen chip parameters taken from ``reference``, and the
    reference's power parameters (those the family's power data cannot see stay so)."""
    if reference is None:
        return START, DEFAULT_POWER, []
    seen = set(_visible_hardware(obs[obs["metric"].isin(LATENCY_METRICS)]))
    borrowed = [n for n in ("mfu", "mbu", "attention_mbu") if n not in seen]
    ref = reference.eff
    eff = replace(START, **{n: getattr(ref, n) for n in borrowed})
    return eff, reference.power, borrowed


def fit_all(obs: pd.DataFrame) -> dict[str, GpuFit]:
    """One :class:`GpuFit` per GPU family present in ``obs``; chip parameters a family's data
    cannot see are borrowed from :data:`REFERENCE_FAMILY` and listed in ``borrowed``."""
    fam = obs["gpu"].map(family_of)
    groups = {str(f): g.reset_index(drop=True) for f, g in obs.groupby(fam)}
    fits: dict[str, GpuFit] = {}
    order = sorted(groups, key=lambda f: f != REFERENCE_FAMILY)
    for f in order:
        start, power_start, borrowed = _start_for(groups[f], fits.get(REFERENCE_FAMILY))
        fit = fit_gpu(groups[f], f, start, power_start)
        if f != REFERENCE_FAMILY and "power" in fit.metrics:
            borrowed += [n for n in POWER_BOUNDS if n not in fit.fitted]
        fit.borrowed = tuple(borrowed)
        fits[f] = fit
    return fits


# -- error tables ----------------------------------------------------------------------------
def with_predictions(obs: pd.DataFrame, fits: Mapping[str, GpuFit]) -> pd.DataFrame:
    """``obs`` plus ``predicted`` and signed ``error_pct`` = 100 (pred / meas - 1), and the
    decode steps implied by the batch latencies (:func:`implied_decode_steps`)."""
    out = obs.copy()
    out["predicted"] = np.nan
    fam = out["gpu"].map(family_of)
    for f, idx in out.groupby(fam).groups.items():
        fit = fits.get(str(f))
        if fit is not None:
            out.loc[idx, "predicted"] = fit.predict(out.loc[idx])
    out["error_pct"] = 100.0 * (out["predicted"] / out["measured"] - 1.0)
    implied = [
        implied_decode_steps(out.loc[idx], fits[str(f)])
        for f, idx in out.groupby(fam).groups.items()
        if str(f) in fits
    ]
    return pd.concat([out, *implied], ignore_index=True)


def summarize(
    pred: pd.DataFrame, by: Iterable[str] = ("gpu", "tp", "model", "metric")
) -> pd.DataFrame:
    """MAPE, signed bias (mean error) and max |error| in %, with n, per group."""
    g = pred.assign(abs_pct=pred["error_pct"].abs()).groupby(list(by))
    return g.agg(
        mape_pct=("abs_pct", "mean"),
        bias_pct=("error_pct", "mean"),
        max_abs_pct=("abs_pct", "max"),
        n=("abs_pct", "size"),
    ).reset_index()


def cross_validate(
    obs: pd.DataFrame, hold_out: str = "tp", reference: GpuFit | None = None
) -> pd.DataFrame:
    """Held-out predictions: per GPU family, for each value of ``hold_out`` (``tp`` or
    ``model``) refit on the other values and predict the held-out points.

    Chip parameters a family's data cannot see start from ``reference`` (the full fit of
    :data:`REFERENCE_FAMILY`), as in :func:`fit_all`. A held-out point whose metric has no
    training data of its kind (power without power points, latency without latency points) is
    left out: the tables then show no held-out figure for it. Returns the held-out rows with
    ``predicted``, ``error_pct`` and ``fold``.
    """
    parts = []
    fam = obs["gpu"].map(family_of)
    for f, group in obs.groupby(fam):
        for value in sorted(group[hold_out].unique()):
            test = group[group[hold_out] == value]
            train = group[group[hold_out] != value].reset_index(drop=True)
            if train.empty:
                continue
            ref = reference if str(f) != REFERENCE_FAMILY else None
            start, power_start, _ = _start_for(train, ref)
            fit = fit_gpu(train, str(f), start, power_start)
            seen = set(train["metric"])
            has_power = "power" in seen
            has_latency = bool(seen & set(LATENCY_METRICS))
            ok = test["metric"].isin(POWER_METRICS).map({True: has_power, False: has_latency})
            # a source the training set lacks has no software values to predict it with
            ok &= test["source"].isin(set(train["source"]))
            test = test[ok]
            if test.empty:
                continue
            pred = test.copy()
            pred["predicted"] = fit.predict(test)
            pred["error_pct"] = 100.0 * (pred["predicted"] / pred["measured"] - 1.0)
            pred = pd.concat([pred, implied_decode_steps(test, fit)], ignore_index=True)
            pred["fold"] = f"{hold_out}={value}"
            parts.append(pred)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@dataclass
class JointCalibration:
    """Fits per GPU family, in-sample and held-out errors."""

    fits: dict[str, GpuFit]
    in_sample: pd.DataFrame
    held_out: dict[str, pd.DataFrame] = field(default_factory=dict)


def calibrate(obs: pd.DataFrame, hold_outs: Iterable[str] = ("tp", "model")) -> JointCalibration:
    """Fit every GPU family, then the held-out predictions for each ``hold_outs`` kind."""
    fits = fit_all(obs)
    ins = with_predictions(obs, fits)
    ref = fits.get(REFERENCE_FAMILY)
    held = {h: cross_validate(obs, h, ref) for h in hold_outs}
    return JointCalibration(fits=fits, in_sample=ins, held_out=held)

"""Compare the roofline latency model with measured profiles and fit per-GPU efficiencies.

Two observables, two sources:

* **Prefill, dense part** vs Vidur kernel sums (:func:`slit.calibration.vidur.load_vidur_prefill`,
  A100 / H100 / A40). Vidur's sums exclude attention (its profile is missing from the data),
  the LM head / embedding matmuls (not part of a decoder layer) and tensor-parallel
  communication (profiled separately). :func:`model_prefill_s` therefore evaluates the
  roofline of the *dense decoder-layer* work only, written out here from the spec fields:

      P_dense = P_active - 2 * vocab * hidden          (drop input embedding and LM head)
      compute = 2 * P_dense * n / (tp * peak * MFU)
      memory  = P_dense * bytes_per_param / (tp * HBM_bw * MBU)
      t       = max(compute, memory) + overhead  [+ all-reduce, off for Vidur]

  i.e. ``ReplicaPerf.prefill_time_s`` without the attention ``n^2`` term, the KV-cache write
  and the embedding/LM-head parameters.
* **Decode step** vs ML.ENERGY median inter-token latency (:func:`load_mlenergy`, H100 / B200),
  via ``ReplicaPerf.decode_step_time_s`` unchanged. The leaderboard gives the average batch
  size and output length but no prompt length, so each request is assumed to hold
  ``ASSUMED_PROMPT_TOKENS + avg_output_len / 2`` tokens (mid-way through its output), capped by
  the KV-cache capacity shared by the batch (vLLM cannot hold more; at the largest batches the
  cap binds).

:func:`fit_efficiency` fits ``mfu``, ``mbu`` and ``overhead_s`` per GPU type by least squares on
the relative errors of all points of that GPU (both sources where both exist), each
(model, metric) group weighted equally.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from slit.models.hardware import GpuSpec
from slit.models.latency import DEFAULT_EFFICIENCY, EfficiencyParams, ReplicaPerf, resolve_specs
from slit.models.llm import LlmSpec

#: Assumed prompt length of an ML.ENERGY request (the leaderboard table has none), tokens.
ASSUMED_PROMPT_TOKENS = 1000
#: Prefill batch sizes (tokens) compared with Vidur, inclusive.
PREFILL_TOKENS = (128, 4096)
#: Share of GPU memory vLLM uses for weights + KV cache (its default ``gpu_memory_utilization``).
KV_MEMORY_FRACTION = 0.9
#: Bounds of the fitted parameters: (mfu, mbu, overhead_s).
FIT_LOWER = (0.05, 0.05, 0.0)
FIT_UPPER = (1.0, 1.0, 0.05)

PREFILL = "prefill"
DECODE = "decode"


def dense_layer_parameters(model: LlmSpec) -> float:
    """Parameters of the decoder layers: all active parameters minus input embedding and LM
    head (``2 * vocab * hidden``; untied in every catalog model Vidur covers), count."""
    embed = 2.0 * (model.vocab_size or 0) * model.hidden_size
    return model.active_parameters - embed


def model_prefill_s(
    model: str | LlmSpec,
    gpu: str | GpuSpec,
    tp: int,
    tokens: float,
    eff: EfficiencyParams = DEFAULT_EFFICIENCY,
    *,
    include_allreduce: bool = False,
) -> float:
    """Dense (attention-free) prefill time of one iteration over ``tokens`` tokens, s.

    Roofline of the decoder layers' matmuls (see the module docstring) plus the per-iteration
    overhead; with ``include_allreduce`` also the model's tensor-parallel all-reduce time, taken
    from :class:`ReplicaPerf` (Vidur's compute profile excludes it, hence off by default).
    """
    m, g = resolve_specs(model, gpu)
    p_dense = dense_layer_parameters(m)
    compute = 2.0 * p_dense * tokens / (tp * g.peak_flop_per_s * eff.mfu)
    memory = p_dense * m.bytes_per_parameter / (tp * g.memory_bandwidth_bytes_per_s * eff.mbu)
    t = max(compute, memory) + eff.overhead_s
    if include_allreduce and tp > 1:
        perf = ReplicaPerf(m, g, tp, eff)
        t += perf.decode_lines(int(tokens), 0.0)[4] - eff.overhead_s  # all-reduce part
    return t


def model_decode_step_s(
    model: str | LlmSpec,
    gpu: str | GpuSpec,
    tp: int,
    batch_size: float,
    context_tokens: float,
    eff: EfficiencyParams = DEFAULT_EFFICIENCY,
) -> float:
    """One decode iteration of ``batch_size`` requests holding ``context_tokens`` tokens *each*,
    s (``ReplicaPerf.decode_step_time_s`` with the batch's total context). ``batch_size`` may be
    fractional (ML.ENERGY reports the *average* batch); the roofline is linear in it."""
    m, g = resolve_specs(model, gpu)
    perf = ReplicaPerf(m, g, tp, eff)
    return perf.decode_step_time_s(batch_size, batch_size * context_tokens)  # type: ignore[arg-type]


def decode_context_tokens(
    model: str | LlmSpec,
    gpu: str | GpuSpec,
    tp: int,
    batch_size: float,
    avg_output_len: float,
    prompt_tokens: float = ASSUMED_PROMPT_TOKENS,
) -> float:
    """Typical context per request of a steady decode batch: prompt + half the output, capped
    so the batch fits the KV cache, tokens."""
    m, g = resolve_specs(model, gpu)
    capacity = ReplicaPerf(m, g, tp).kv_capacity_tokens(KV_MEMORY_FRACTION)
    return min(prompt_tokens + avg_output_len / 2.0, capacity / max(batch_size, 1.0))


# -- comparison points ---------------------------------------------------------------------------
POINT_COLUMNS = [
    "gpu", "model", "metric", "tp", "x", "context_tokens", "output_tokens", "measured_s",
]  # fmt: skip


def comparison_points(
    vidur: pd.DataFrame | None = None,
    mlenergy: pd.DataFrame | None = None,
    prompt_tokens: float = ASSUMED_PROMPT_TOKENS,
) -> pd.DataFrame:
    """Measured points in one frame: ``metric`` is ``prefill`` (``x`` = tokens) or ``decode``
    (``x`` = average batch size, ``context_tokens`` per request)."""
    parts = []
    if vidur is not None and len(vidur):
        lo, hi = PREFILL_TOKENS
        v = vidur[(vidur["num_tokens"] >= lo) & (vidur["num_tokens"] <= hi)]
        parts.append(
            pd.DataFrame(
                {
                    "gpu": v["gpu"],
                    "model": v["model"],
                    "metric": PREFILL,
                    "tp": v["tp"],
                    "x": v["num_tokens"].astype(float),
                    "context_tokens": 0.0,
                    "output_tokens": 0.0,
                    "measured_s": v["time_s"],
                }
            )
        )
    if mlenergy is not None and len(mlenergy):
        cols = ["model", "gpu", "tp", "avg_batch_size", "avg_output_len"]
        ctx = [
            decode_context_tokens(str(m), str(g), int(tp), float(b), float(o), prompt_tokens)
            for m, g, tp, b, o in zip(*(mlenergy[c].tolist() for c in cols), strict=True)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "gpu": mlenergy["gpu"],
                    "model": mlenergy["model"],
                    "metric": DECODE,
                    "tp": mlenergy["tp"],
                    "x": mlenergy["avg_batch_size"],
                    "context_tokens": ctx,
                    "output_tokens": mlenergy["avg_output_len"],
                    "measured_s": mlenergy["median_itl_s"],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=POINT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[POINT_COLUMNS]


def predict(points: pd.DataFrame, eff: EfficiencyParams) -> np.ndarray:
    """Model time of every point with one set of efficiencies, s."""
    out = np.empty(len(points))
    cols = ["metric", "model", "gpu", "tp", "x", "context_tokens"]
    rows = zip(*(points[c].tolist() for c in cols), strict=True)
    for i, (metric, model, gpu, tp, x, ctx) in enumerate(rows):
        if metric == PREFILL:
            out[i] = model_prefill_s(str(model), str(gpu), int(tp), float(x), eff)
        else:
            out[i] = model_decode_step_s(str(model), str(gpu), int(tp), float(x), float(ctx), eff)
    return out


def with_predictions(
    points: pd.DataFrame, eff_by_gpu: Mapping[str, EfficiencyParams]
) -> pd.DataFrame:
    """``points`` plus ``predicted_s`` and ``error_pct`` (signed, 100 * (pred - meas) / meas)."""
    out = points.copy()
    out["predicted_s"] = 0.0
    for gpu, idx in out.groupby("gpu").groups.items():
        eff = eff_by_gpu.get(str(gpu), DEFAULT_EFFICIENCY)
        out.loc[idx, "predicted_s"] = predict(out.loc[idx], eff)
    out["error_pct"] = 100.0 * (out["predicted_s"] / out["measured_s"] - 1.0)
    return out


def summarize(pred: pd.DataFrame) -> pd.DataFrame:
    """Per GPU x model x metric: ``mape_pct``, ``max_abs_pct``, ``bias_pct`` (mean signed), n."""
    g = pred.assign(abs_pct=pred["error_pct"].abs()).groupby(["gpu", "model", "metric"])
    return g.agg(
        mape_pct=("abs_pct", "mean"),
        max_abs_pct=("abs_pct", "max"),
        bias_pct=("error_pct", "mean"),
        n=("abs_pct", "size"),
    ).reset_index()


def error_table(
    eff_by_gpu: Mapping[str, EfficiencyParams],
    vidur: pd.DataFrame | None = None,
    mlenergy: pd.DataFrame | None = None,
    prompt_tokens: float = ASSUMED_PROMPT_TOKENS,
) -> pd.DataFrame:
    """Error of the model against the measurements, per GPU x model x metric.

    ``eff_by_gpu`` maps GPU catalog ids to efficiencies (others use the defaults). Prefill
    compares :func:`model_prefill_s` with Vidur's dense sums for ``PREFILL_TOKENS`` and every
    tp in the data; decode compares :func:`model_decode_step_s` with ML.ENERGY's median ITL.
    """
    points = comparison_points(vidur, mlenergy, prompt_tokens)
    return summarize(with_predictions(points, eff_by_gpu))


# -- fitting -------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    """Fitted efficiencies per GPU type with the error tables before and after."""

    params: dict[str, EfficiencyParams]
    before: pd.DataFrame
    after: pd.DataFrame
    fitted: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def yaml_text(self) -> str:
        """The fitted parameters as YAML-ready text (GPU id -> efficiency fields)."""
        lines = []
        for gpu in sorted(self.params):
            p = self.params[gpu]
            lines += [
                f"{gpu}:",
                f"  mfu: {p.mfu:.4f}",
                f"  mbu: {p.mbu:.4f}",
                f"  overhead_s: {p.overhead_s:.6f}",
                *([f"  decode_mfu: {p.decode_mfu:.4f}"] if p.decode_mfu is not None else []),
                *(
                    [f"  per_request_overhead_s: {p.per_request_overhead_s:.3g}"]
                    if p.per_request_overhead_s
                    else []
                ),
                f"  allreduce_latency_s: {p.allreduce_latency_s:g}",
            ]
        return "\n".join(lines) + "\n"


def _fit_one(points: pd.DataFrame, start: EfficiencyParams) -> EfficiencyParams:
    """Fit the parameters the points can see: ``mfu`` from prefill, ``decode_mfu`` from decode,
    ``mbu`` and ``overhead_s`` from both."""
    weights = 1.0 / np.sqrt(points.groupby(["model", "metric"])["x"].transform("size").to_numpy())
    measured = points["measured_s"].to_numpy()
    metrics = set(points["metric"])
    names = ["mbu", "overhead_s"]
    if PREFILL in metrics:
        names.append("mfu")
    if DECODE in metrics:
        names += ["decode_mfu", "per_request_overhead_s"]
    bounds = {"mfu": (0.05, 1.0), "decode_mfu": (0.02, 1.0), "mbu": (0.05, 1.0),
              "overhead_s": (0.0, 0.05), "per_request_overhead_s": (0.0, 2e-4)}  # fmt: skip
    scale = {"mfu": 0.1, "decode_mfu": 0.1, "mbu": 0.1, "overhead_s": 1e-3,
             "per_request_overhead_s": 1e-5}  # fmt: skip

    def params(theta: np.ndarray) -> EfficiencyParams:
        return replace(start, **{n: float(v) for n, v in zip(names, theta, strict=True)})

    def residuals(theta: np.ndarray) -> np.ndarray:
        return weights * (predict(points, params(theta)) / measured - 1.0)

    x0 = [getattr(start, n) if getattr(start, n) is not None else start.mfu for n in names]
    lo = [bounds[n][0] for n in names]
    hi = [bounds[n][1] for n in names]
    sol = least_squares(
        residuals,
        np.clip(x0, lo, hi),
        bounds=(lo, hi),
        x_scale=[scale[n] for n in names],
        loss="soft_l1",
        f_scale=0.1,
    )
    return params(sol.x)


def fit_efficiency(
    vidur: pd.DataFrame | None = None,
    mlenergy: pd.DataFrame | None = None,
    start: EfficiencyParams = DEFAULT_EFFICIENCY,
    prompt_tokens: float = ASSUMED_PROMPT_TOKENS,
) -> CalibrationResult:
    """Fit ``mfu``, ``mbu`` and ``overhead_s`` per GPU type (``allreduce_latency_s`` kept).

    Minimises the squared relative error over all points of a GPU; each (model, metric) group
    has equal total weight. A parameter the data of a GPU cannot see (e.g. ``mbu`` when no point
    is memory bound) stays at ``start``.
    """
    points = comparison_points(vidur, mlenergy, prompt_tokens)
    params: dict[str, EfficiencyParams] = {}
    fitted: dict[str, tuple[str, ...]] = {}
    for gpu, group in points.groupby("gpu"):
        params[str(gpu)] = _fit_one(group.reset_index(drop=True), start)
        fitted[str(gpu)] = tuple(sorted(group["metric"].unique()))
    before = summarize(with_predictions(points, {g: start for g in params}))
    after = summarize(with_predictions(points, params))
    return CalibrationResult(params=params, before=before, after=after, fitted=fitted)

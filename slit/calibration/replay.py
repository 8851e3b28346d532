"""Replay measured closed batches through the simulator itself, not only through its formulas.

The calibration (:mod:`slit.calibration.joint`) predicts an LLM-Inference-Bench run with
:func:`~slit.calibration.joint.closed_batch_s`, a closed form that runs a batch in *waves* of as
many requests as the KV cache holds at their full length. vLLM does not wait for room for a
whole request: it admits every request whose current tokens fit, and when the cache fills
during decoding it preempts the newest request and recomputes it later; admission keeps a 1 %
watermark free. slit's engine (:mod:`slit.sim.engine`) does the same. Replaying each run through
:func:`slit.sim.simulate.simulate` (one replica, every request arriving at time 0, no network)
therefore checks the scheduling the formulas leave out, on every configuration where the KV
cache is short, with the parameters fitted to that run's own serving software.

Used by ``python benchmarks/replay_closed_batches.py --from DATA_DIR``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from slit.calibration.joint import (
    KV_MEMORY_FRACTION,
    MIN_PREFILL_BUDGET_TOKENS,
    GpuFit,
    _perf,
    closed_batch_s,
    family_of,
)
from slit.catalogue.llms import bundled_llms
from slit.scenario.loader import load_scenario
from slit.sim.simulate import simulate

#: vLLM's default ``max_num_seqs`` (requests in a batch), which LLM-Inference-Bench kept.
VLLM_MAX_NUM_SEQS = 256


def closed_batch_scenario(
    folder: Path,
    gpu: str,
    model: str,
    tp: int,
    batch: int,
    tokens: int,
    output: int,
    max_model_len: int = 0,
) -> Path:
    """Write a scenario of one replica serving ``batch`` requests of ``tokens`` prompt and
    ``output`` output tokens that all arrive at time 0, as LLM-Inference-Bench runs vLLM
    (prefill iterations of at most ``max(max_model_len, 2048)`` tokens, 256 sequences, 90 % of
    GPU memory); returns its path. One later request from a second region only makes the trace
    cover the horizon; another datacenter serves it."""
    budget = max(max_model_len or bundled_llms()[model].max_context_tokens,
                 MIN_PREFILL_BUDGET_TOKENS)  # fmt: skip
    rows = [(0.0, tokens, output, "a")] * batch + [(3599.0, 16, 2, "b")]
    trace = pd.DataFrame(rows, columns=["arrival_s", "prompt_tokens", "output_tokens", "origin"])
    trace.to_csv(folder / "trace.csv", index=False)
    const = {"source": "constant", "carbon_g_per_kwh": 100, "price_usd_per_mwh": 50}
    pool: dict[str, Any] = {
        "model": model, "gpu": gpu, "tp": tp, "replicas": 1,
        "max_batch_size": VLLM_MAX_NUM_SEQS, "max_prefill_tokens": budget,
        "gpu_memory_utilization": KV_MEMORY_FRACTION,
    }  # fmt: skip
    data = {
        "time": {"start_utc": "2023-07-15T00:00:00Z", "horizon_s": 3600, "epoch_s": 3600,
                 "drain_s": 86400},  # fmt: skip
        "regions": [
            {"id": "a", "latitude": 0.0, "longitude": 0.0, "signals": const},
            {"id": "b", "latitude": 0.0, "longitude": 120.0, "signals": const},
        ],
        "datacenters": [
            {"id": "dc-a", "region": "a", "pools": [pool]},
            # the same LLM, so that every request of the trace is of it
            {"id": "dc-b", "region": "b", "pools": [{"model": model, "gpu": gpu, "tp": tp}]},
        ],
        "workload": {"source": "trace", "path": "trace.csv", "format": "csv"},
        "network": {"latency": "distance", "base_rtt_ms": 0.0, "bandwidth_gbit_per_s": 1e6},
        "routing": {"policy": "nearest"},
    }
    path = folder / "closed_batch.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def replay_run(
    fit: GpuFit,
    source: str,
    gpu: str,
    model: str,
    tp: int,
    batch: int,
    tokens: int,
    output: int,
    max_model_len: int = 0,
) -> dict[str, float]:
    """One closed batch through the simulator and through the closed form, with ``fit``'s chip
    parameters and ``source``'s serving-software values.

    Returns ``engine_s`` (the last request's completion, s), ``formula_s``
    (:func:`~slit.calibration.joint.closed_batch_s`), ``preemptions`` (the simulator's count)
    and ``waves`` (the closed form's)."""
    eff = replace(fit.eff, **fit.software.get(source, {}))
    with tempfile.TemporaryDirectory() as tmp:
        path = closed_batch_scenario(Path(tmp), gpu, model, tp, batch, tokens, output,
                                     max_model_len)  # fmt: skip
        result = simulate(load_scenario(path), efficiency=eff, power=fit.power)
    mine = result.requests[result.requests["datacenter"] == "dc-a"]
    if len(mine) != batch or not mine["completed"].all():
        raise RuntimeError(f"{gpu} {model} tp {tp} batch {batch} x {tokens}: not all completed")
    run = closed_batch_s(_perf(gpu, model, tp, eff), batch, tokens, output, fit.power,
                         max_model_len)  # fmt: skip
    return {
        "engine_s": float((mine["arrival_s"] + mine["e2e_s"]).max()),
        "formula_s": run.total_s,
        "preemptions": float(mine["preemptions"].sum()),
        "waves": float(run.waves),
    }


def replay_runs(
    runs: pd.DataFrame,
    fits: Mapping[str, GpuFit],
    source: str = "argonne",
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """:func:`replay_run` for every row of ``runs`` (columns of
    :func:`slit.calibration.argonne.load_argonne_runs`, vLLM rows) whose GPU family has a fit.

    Returns the rows with ``engine_s``, ``formula_s``, ``preemptions``, ``waves`` and the signed
    errors ``engine_error_pct`` and ``formula_error_pct`` against ``latency_s``, %."""
    rows = []
    records = [{str(k): v for k, v in r.items()} for r in runs.to_dict(orient="records")]
    todo = [r for r in records if family_of(str(r["gpu"])) in fits]
    for i, r in enumerate(todo):
        got = replay_run(fits[family_of(str(r["gpu"]))], source, str(r["gpu"]), str(r["model"]),
                         int(r["tp"]), int(r["batch"]), int(r["tokens"]), int(r["tokens"]),
                         int(r.get("max_model_len", 0)))  # fmt: skip
        rows.append({**r, **got})
        if progress is not None:
            progress(i + 1, len(todo))
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    for kind in ("engine", "formula"):
        out[f"{kind}_error_pct"] = 100.0 * (out[f"{kind}_s"] / out["latency_s"] - 1.0)
    return out

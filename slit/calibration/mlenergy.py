"""ML.ENERGY leaderboard v3 (vLLM serving on H100 / B200) -> decode observations.

Source: ``gpu_profiles/mlenergy/v3_leaderboard/llm_configurations_flat.csv``. Each row is one
serving configuration at saturation (``max_num_seqs`` concurrent requests) with the measured
median inter-token latency, average batch size, power and energy per output token.

Kept: dense BF16 models whose architecture is in the slit catalog. FP8 variants are dropped
(the catalog holds BF16 weights), as are MoE / hybrid models and models not in the catalog.

Host-bound runs (:func:`host_bound`) are marked, not silently dropped: a B200 has 2.4x the
memory bandwidth and 2.3x the compute of an H100, so a B200 run that is *slower* than an H100
run of the same model and task, at the same or a larger batch, on at most twice as many GPUs,
was limited by something outside the GPUs (their power says so too: 300-500 W where the same
model's chat runs draw 650-950 W, the signature of an engine waiting on the host). The latency
and power models describe a GPU-bound engine, so the calibration leaves these runs out;
``load_mlenergy(..., include_host_bound=True)`` lists them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

MLENERGY_CSV = Path("gpu_profiles") / "mlenergy" / "v3_leaderboard" / "llm_configurations_flat.csv"

#: ML.ENERGY model id -> slit catalog id. Llama-3.3-70B shares Llama-3.1-70B's architecture.
MLENERGY_MODELS: dict[str, str] = {
    "meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b",
    "meta-llama/Llama-3.1-8B": "llama-3.1-8b",
    "meta-llama/Llama-3.1-70B-Instruct": "llama-3.1-70b",
    "meta-llama/Llama-3.1-70B": "llama-3.1-70b",
    "meta-llama/Llama-3.3-70B-Instruct": "llama-3.1-70b",
    "meta-llama/Llama-3.1-405B-Instruct": "llama-3.1-405b",
    "Qwen/Qwen3-8B": "qwen3-8b",
    "Qwen/Qwen3-14B": "qwen3-14b",
    "Qwen/Qwen3-32B": "qwen3-32b",
}

#: ML.ENERGY GPU name -> slit catalog id.
MLENERGY_GPUS: dict[str, str] = {"H100": "h100-80gb", "B200": "b200"}

COLUMNS = [
    "model",
    "source_model",
    "gpu",
    "tp",
    "num_gpus",
    "max_num_seqs",
    "avg_batch_size",
    "median_itl_s",
    "avg_power_w",
    "energy_per_token_j",
    "avg_output_len",
    "output_tokens_per_s",
    "task",
    "host_bound",
]

#: A faster GPU, the slower GPU it is checked against (:func:`host_bound`), and how many of
#: the slower GPUs one of the faster still beats on both rooflines (B200 vs H100: 8.0 vs
#: 2 x 3.35 TB/s, 2,250 vs 2 x 989 dense BF16 TFLOP/s).
FASTER_THAN: dict[str, tuple[str, int]] = {"b200": ("h100-80gb", 2)}


def host_bound(frame: pd.DataFrame) -> pd.Series:
    """Which runs of ``frame`` (columns of :func:`load_mlenergy`) were host-bound.

    For each GPU in :data:`FASTER_THAN` (faster on every roofline than its partner):

    1. a run is *paired-slow* when its median inter-token latency exceeds that of a partner-GPU
       run of the same model and task at the same or a larger ``max_num_seqs`` on at most
       ``ratio`` times as many GPUs;
    2. a (GPU, model, task) set of runs is host-bound as a whole when most of its runs that
       have a partner at all are paired-slow (its unpaired runs, at batches the partner never
       reached, share the configuration); otherwise only its paired-slow runs are.

    Returns a boolean Series aligned with ``frame``.
    """
    out = pd.Series(False, index=frame.index)
    for fast, (slow, ratio) in FASTER_THAN.items():
        for (model, task), runs in frame[frame["gpu"] == fast].groupby(["model", "task"]):
            ref = frame[(frame["gpu"] == slow) & (frame["model"] == model)
                        & (frame["task"] == task)
                        & (frame["num_gpus"] <= ratio * runs["num_gpus"].min())]  # fmt: skip
            if ref.empty:
                continue
            paired = runs["max_num_seqs"] <= ref["max_num_seqs"].max()
            slower = pd.Series(
                [bool((ref.loc[ref["max_num_seqs"] >= n, "median_itl_s"] < itl).any())
                 for n, itl in zip(runs["max_num_seqs"], runs["median_itl_s"], strict=True)],
                index=runs.index,
            )  # fmt: skip
            if paired.any() and slower[paired].mean() > 0.5:
                out[runs.index] = True
            else:
                out[slower.index[slower]] = True
    return out


def load_mlenergy(data_dir: str | Path, include_host_bound: bool = False) -> pd.DataFrame:
    """Dense BF16 catalog models from the ML.ENERGY v3 leaderboard, in SI units.

    ``include_host_bound`` keeps the runs :func:`host_bound` marks (the column ``host_bound``
    says which); by default they are left out.

    Returns:
        Columns ``model`` (slit id), ``source_model`` (ML.ENERGY id), ``gpu`` (slit id), ``tp``,
        ``num_gpus``, ``max_num_seqs``, ``avg_batch_size``, ``median_itl_s`` (s),
        ``avg_power_w`` (W, all GPUs of the configuration), ``energy_per_token_j`` (J),
        ``avg_output_len`` (tokens), ``output_tokens_per_s`` (all requests together), ``task``,
        ``host_bound``.
    """
    path = Path(data_dir) / MLENERGY_CSV
    if not path.is_file():
        raise FileNotFoundError(f"ML.ENERGY table not found at {path}")
    raw = pd.read_csv(path)
    keep = (
        raw["model_id"].isin(MLENERGY_MODELS)
        & raw["gpu_model"].isin(MLENERGY_GPUS)
        & (raw["architecture"] == "Dense Transformer")
        & (raw["weight_precision"] == "bfloat16")
    )
    raw = raw[keep]
    out = pd.DataFrame(
        {
            "model": raw["model_id"].map(MLENERGY_MODELS),
            "source_model": raw["model_id"],
            "gpu": raw["gpu_model"].map(MLENERGY_GPUS),
            "tp": raw["tensor_parallel"].astype(int),
            "num_gpus": raw["num_gpus"].astype(int),
            "max_num_seqs": raw["max_num_seqs"].astype(int),
            "avg_batch_size": raw["avg_batch_size"].astype(float),
            "median_itl_s": raw["median_itl_ms"] / 1e3,
            "avg_power_w": raw["avg_power_watts"].astype(float),
            "energy_per_token_j": raw["energy_per_token_joules"].astype(float),
            "avg_output_len": raw["avg_output_len"].astype(float),
            "output_tokens_per_s": raw["output_throughput_tokens_per_sec"].astype(float),
            "task": raw["task"],
        }
    )
    out["host_bound"] = host_bound(out)
    if not include_host_bound:
        out = out[~out["host_bound"]]
    return out[COLUMNS].sort_values(
        ["gpu", "model", "source_model", "task", "max_num_seqs"], ignore_index=True
    )

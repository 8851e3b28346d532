"""ML.ENERGY leaderboard v3 (vLLM serving on H100 / B200) -> decode observations.

Source: ``gpu_profiles/mlenergy/v3_leaderboard/llm_configurations_flat.csv``. Each row is one
serving configuration at saturation (``max_num_seqs`` concurrent requests) with the measured
median inter-token latency, average batch size, power and energy per output token.

Kept: dense BF16 models whose architecture is in the slit catalog. FP8 variants are dropped
(the catalog holds BF16 weights), as are MoE / hybrid models and models not in the catalog.
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
]


def load_mlenergy(data_dir: str | Path) -> pd.DataFrame:
    """Dense BF16 catalog models from the ML.ENERGY v3 leaderboard, in SI units.

    Returns:
        Columns ``model`` (slit id), ``source_model`` (ML.ENERGY id), ``gpu`` (slit id), ``tp``,
        ``num_gpus``, ``max_num_seqs``, ``avg_batch_size``, ``median_itl_s`` (s),
        ``avg_power_w`` (W, all GPUs of the configuration), ``energy_per_token_j`` (J),
        ``avg_output_len`` (tokens), ``output_tokens_per_s`` (all requests together), ``task``.
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
    )[COLUMNS]
    return out.sort_values(["gpu", "model", "source_model", "max_num_seqs"], ignore_index=True)

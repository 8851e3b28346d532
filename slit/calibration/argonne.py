"""LLM-Inference-Bench (Argonne) end-to-end runs -> batch-latency, TTFT and power observations.

Source: ``gpu_profiles/argonne_llm_inference_bench/`` (argonne-lcf/LLM-Inference-Bench,
BSD-3-Clause; Chitty-Venkata et al., SC24 workshops). Each run serves one closed batch of
``Batch Size`` requests of ``L`` prompt tokens that each generate ``L`` tokens
(``Input Output Length``) on ``Num of Hardware`` GPUs with tensor parallelism; ``Latency`` is the
time until the whole batch is done (prefill of B x L tokens, then L decode steps), s.

Kept: vLLM runs (the engine slit models) on Nvidia A100 and H100, for models whose architecture
is in the slit catalog. TensorRT-LLM runs are loaded too, tagged by ``framework``, for an
engine-to-engine comparison; the fit uses vLLM only.

GPU types: the A100 runs were made on 40 GB A100 SXM parts. The measurements say so on their
own: Llama-2-7B (512 KiB of KV cache per token) at batch 32 x 2,048 tokens needs 32 GiB of KV
cache, which fits beside the weights on an 80 GB part but not on a 40 GB one, and the measured
latency doubles from batch 16 to 32 and again to 64 (throughput flat at about 1,450 tokens/s),
as a KV-bound engine's does, while the GQA models (Llama-3-8B, Mistral, 4x less KV) keep
gaining throughput. The H100 runs were made on 80 GB H100 SXM parts.

``power_results.csv`` adds the average power (reported in mW) of single-GPU runs of Llama-2-7B
and Llama-3-8B at L = 1024; ``ttft_itl_results.csv`` the time to first token of B = 16 prompts of
1,024 tokens.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ARGONNE_DIR = Path("gpu_profiles") / "argonne_llm_inference_bench"

#: Argonne model id -> slit catalog id. Meta-Llama-3-8B/70B share the architecture of
#: Llama-3.1-8B/70B (they differ only in RoPE scaling and context length).
ARGONNE_MODELS: dict[str, str] = {
    "meta-llama/Llama-2-7b-hf": "llama-2-7b",
    "meta-llama/Llama-2-70b-hf": "llama-2-70b",
    "meta-llama/Meta-Llama-3-8B": "llama-3.1-8b",
    "meta-llama/Meta-Llama-3-70B": "llama-3.1-70b",
    "mistralai/Mistral-7B-v0.1": "mistral-7b",
}

#: ``max_position_embeddings`` of the models as run (vLLM's default ``max_model_len``), tokens.
#: The catalog stand-ins for Meta-Llama-3 (Llama-3.1) have a 131,072-token context; the
#: Llama-3 models run here have 8,192, which sets vLLM's prefill budget and activation reserve.
ARGONNE_MAX_MODEL_LEN: dict[str, int] = {
    "meta-llama/Llama-2-7b-hf": 4096,
    "meta-llama/Llama-2-70b-hf": 4096,
    "meta-llama/Meta-Llama-3-8B": 8192,
    "meta-llama/Meta-Llama-3-70B": 8192,
    "mistralai/Mistral-7B-v0.1": 32768,
}

#: Argonne hardware name -> slit GPU catalog id (see the module doc for the A100's memory).
ARGONNE_GPUS: dict[str, str] = {"Nvidia A100 GPU": "a100-40gb", "Nvidia H100 GPU": "h100-80gb"}

FRAMEWORKS: dict[str, str] = {"vLLM": "vllm", "TensorRT-LLM": "tensorrt-llm"}

COLUMNS = [
    "gpu", "model", "framework", "tp", "batch", "tokens", "latency_s", "source_model",
    "max_model_len",
]  # fmt: skip


def _select(raw: pd.DataFrame) -> pd.DataFrame:
    keep = (
        raw["Framework"].isin(FRAMEWORKS)
        & raw["Hardware"].isin(ARGONNE_GPUS)
        & raw["Model"].isin(ARGONNE_MODELS)
    )
    return raw[keep]


def _read(data_dir: str | Path, name: str, what: str) -> pd.DataFrame:
    """One results file, blank separator lines and padded headers removed, restricted to the
    kept hardware, frameworks and models."""
    path = Path(data_dir) / ARGONNE_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"LLM-Inference-Bench {what} not found at {path}")
    raw = pd.read_csv(path, skip_blank_lines=True).dropna(subset=["Hardware"])
    raw.columns = [c.strip() for c in raw.columns]
    return _select(raw)


def _run_columns(raw: pd.DataFrame, tokens_column: str) -> dict[str, pd.Series]:
    """The columns every observation shares, in slit's ids and SI units."""
    return {
        "gpu": raw["Hardware"].map(ARGONNE_GPUS),
        "model": raw["Model"].map(ARGONNE_MODELS),
        "framework": raw["Framework"].map(FRAMEWORKS),
        "tp": raw["Num of Hardware"].astype(int),
        "batch": raw["Batch Size"].astype(int),
        "tokens": raw[tokens_column].astype(int),
        "max_model_len": raw["Model"].map(ARGONNE_MAX_MODEL_LEN),
    }


def load_argonne_runs(data_dir: str | Path) -> pd.DataFrame:
    """Closed-batch runs of catalog models on A100/H100 (vLLM and TensorRT-LLM).

    Returns:
        Columns ``gpu`` (slit id), ``model`` (slit id), ``framework`` (``vllm`` or
        ``tensorrt-llm``), ``tp`` (GPUs), ``batch`` (requests), ``tokens`` (prompt tokens =
        output tokens per request), ``latency_s`` (the batch's end-to-end time, s),
        ``source_model`` and ``max_model_len`` (the model's context as run, tokens).
        Duplicate rows of one configuration are averaged.
    """
    raw = _read(data_dir, "all_results.csv", "results")
    out = pd.DataFrame(
        {
            **_run_columns(raw, "Input Output Length"),
            "latency_s": raw["Latency"].astype(float),
            "source_model": raw["Model"],
        }
    )
    keys = ["gpu", "model", "framework", "tp", "batch", "tokens", "source_model", "max_model_len"]
    runs = pd.DataFrame(out.groupby(keys, as_index=False)["latency_s"].mean())
    return runs[COLUMNS].sort_values(keys[:6], ignore_index=True)


def load_argonne_power(data_dir: str | Path) -> pd.DataFrame:
    """Average power of single-GPU runs: the run columns plus ``power_w`` (W)."""
    raw = _read(data_dir, "power_results.csv", "power results")
    return pd.DataFrame(
        {
            **_run_columns(raw, "Input Output Length"),
            "latency_s": raw["Latency"].astype(float),
            "power_w": raw["avg_power"].astype(float) / 1e3,  # reported in mW
        }
    ).reset_index(drop=True)


def load_argonne_ttft(data_dir: str | Path) -> pd.DataFrame:
    """Time to first token of B prompts of L tokens: ``gpu, model, framework, tp, batch,
    tokens, max_model_len, ttft_s``."""
    raw = _read(data_dir, "ttft_itl_results.csv", "TTFT results")
    return pd.DataFrame(
        {**_run_columns(raw, "Input Length"), "ttft_s": raw["TTFT Latency"].astype(float)}
    ).reset_index(drop=True)

"""Vidur per-operator profiles -> dense (non-attention) prefill time per model forward pass.

Source: ``gpu_profiles/vidur/profiling/compute/{a100,h100,a40}/<org>/<model>/mlp.csv.gz``
(microsoft/vidur, MIT). Each row holds kernel times in ms (min/max/mean/median/std) of the
operators of **one decoder layer on one GPU** of a tensor-parallel group, for ``num_tokens``
tokens in the batch and ``num_tensor_parallel_workers`` GPUs. ``emb`` (the embedding lookup)
runs once per forward pass; the other operators run once per layer.

The time of one forward pass over ``num_tokens`` tokens is therefore

    t = emb + layers * sum(per-layer operator medians)

Two things are **not** in these sums:

* attention itself (``attention.csv`` is a Git-LFS object absent from the snapshot), so the
  sums cover the dense work only (QKV / output projections, MLP, norms, RoPE, residual add);
* tensor-parallel communication (all-reduce), which Vidur profiles separately.

The files carry no layer count; it comes from the slit catalog. Each (num_tokens, tp) pair
appears twice in the files (two profiling runs); their medians are averaged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from slit.catalogue.llms import bundled_llms

VIDUR_COMPUTE = Path("gpu_profiles") / "vidur" / "profiling" / "compute"

#: Vidur GPU folder -> slit GPU catalog id.
VIDUR_GPUS: dict[str, str] = {"a100": "a100-80gb", "h100": "h100-80gb", "a40": "a40"}

#: Vidur model folder -> slit LLM catalog id. Meta-Llama-3-8B/70B are not in the catalog; their
#: architecture (layers, widths, heads, vocabulary) is identical to Llama-3.1-8B/70B, which
#: differ only in RoPE scaling and context length, so the 3.1 entries stand in for them.
VIDUR_MODELS: dict[str, str] = {
    "Llama-2-7b-hf": "llama-2-7b",
    "Llama-2-70b-hf": "llama-2-70b",
    "Meta-Llama-3-8B": "llama-3.1-8b",
    "Meta-Llama-3-70B": "llama-3.1-70b",
    "CodeLlama-34b-Instruct-hf": "codellama-34b",
    "Qwen-72B": "qwen-72b",
    "phi-2": "phi-2",
}

#: Model folders present in the data with no slit catalog entry (skipped by the loader).
VIDUR_UNMAPPED: tuple[str, ...] = ("internlm-20b",)

#: Operators that run once per decoder layer (those present in a file are summed).
PER_LAYER_OPS: tuple[str, ...] = (
    "input_layernorm",
    "attn_pre_proj",
    "attn_rope",
    "attn_post_proj",
    "post_attention_layernorm",
    "mlp_up_proj",
    "mlp_act",
    "mlp_down_proj",
    "add",
)

COLUMNS = [
    "gpu",
    "model",
    "vidur_gpu",
    "vidur_model",
    "tp",
    "num_tokens",
    "layers",
    "per_layer_s",
    "emb_s",
    "time_s",
]


def read_vidur_mlp(path: Path) -> pd.DataFrame:
    """One ``mlp.csv.gz``: per (num_tokens, tp), the per-layer and embedding times, s."""
    raw = pd.read_csv(path)
    ops = [op for op in PER_LAYER_OPS if f"time_stats.{op}.median" in raw.columns]
    if not ops or "time_stats.emb.median" not in raw.columns:
        raise ValueError(f"{path}: no per-layer operator medians found")
    frame = pd.DataFrame(
        {
            "num_tokens": raw["num_tokens"].astype(int),
            "tp": raw["num_tensor_parallel_workers"].astype(int),
            "per_layer_s": raw[[f"time_stats.{op}.median" for op in ops]].sum(axis=1) / 1e3,
            "emb_s": raw["time_stats.emb.median"] / 1e3,
        }
    )
    return frame.groupby(["tp", "num_tokens"], as_index=False).mean()


def load_vidur_prefill(data_dir: str | Path) -> pd.DataFrame:
    """Dense (non-attention, no communication) forward-pass time per GPU x model x tp x tokens.

    Args:
        data_dir: the raw data folder (holding ``gpu_profiles/``).

    Returns:
        One row per (gpu, model, tp, num_tokens) with columns ``gpu``, ``model`` (slit catalog
        ids), ``vidur_gpu``, ``vidur_model`` (folder names), ``tp``, ``num_tokens``, ``layers``,
        ``per_layer_s``, ``emb_s`` and ``time_s = emb_s + layers * per_layer_s`` (seconds, per
        GPU of the tensor-parallel group, i.e. the iteration's kernel time).
    """
    root = Path(data_dir) / VIDUR_COMPUTE
    if not root.is_dir():
        raise FileNotFoundError(f"Vidur compute profiles not found under {root}")
    llms = bundled_llms()
    parts = []
    for path in sorted(root.glob("*/*/*/mlp.csv.gz")):
        vidur_gpu, vidur_model = path.parts[-4], path.parts[-2]
        if vidur_gpu not in VIDUR_GPUS or vidur_model not in VIDUR_MODELS:
            continue
        model = VIDUR_MODELS[vidur_model]
        frame = read_vidur_mlp(path)
        layers = llms[model].layers
        frame["layers"] = layers
        frame["time_s"] = frame["emb_s"] + layers * frame["per_layer_s"]
        frame["gpu"] = VIDUR_GPUS[vidur_gpu]
        frame["model"] = model
        frame["vidur_gpu"] = vidur_gpu
        frame["vidur_model"] = vidur_model
        parts.append(frame)
    if not parts:
        raise FileNotFoundError(f"no mapped mlp.csv.gz files under {root}")
    out = pd.concat(parts, ignore_index=True)[COLUMNS]
    return out.sort_values(["gpu", "model", "tp", "num_tokens"], ignore_index=True)

"""Checks on the shipped GPU and LLM catalogs, read straight from the YAML files."""

from pathlib import Path

import pytest
import yaml

CATALOG_DIR = Path(__file__).resolve().parents[2] / "slit/data/catalog"

GPU_NUMERIC_KEYS = (
    "peak_bf16_tflop_per_s",
    "memory_gb",
    "memory_bandwidth_gb_per_s",
    "interconnect_gb_per_s",
    "idle_power_w",
    "max_power_w",
    "embodied_carbon_kg",
)
# memory_unit (GiB or GB) says what the vendor's memory figure means; ecc_reserved_fraction may be 0
GPU_MEMORY_KEYS = ("memory_unit", "ecc_reserved_fraction")
GPU_KEYS = {"name", "sources", *GPU_NUMERIC_KEYS, *GPU_MEMORY_KEYS}
REQUIRED_GPUS = {"a100-40gb", "a100-80gb", "h100-80gb", "h200", "l4", "l40s", "a10g", "b200"}
OPTIONAL_GPUS = {"a40", "v100-32gb"}

LLM_ARCH_KEYS = (
    "layers",
    "hidden_size",
    "attention_heads",
    "kv_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
)
LLM_INT_KEYS = (*LLM_ARCH_KEYS, "max_context_tokens")
LLM_FLOAT_KEYS = ("parameters_billion", "active_parameters_billion", "bytes_per_parameter")
LLM_KEYS = {
    "name", "sources", "weight_precision", "tied_embeddings", *LLM_INT_KEYS, *LLM_FLOAT_KEYS,
}  # fmt: skip
REQUIRED_LLMS = {
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "llama-3.1-405b",
    "mistral-7b",
    "mixtral-8x7b",
}
OPTIONAL_LLMS = {
    "codellama-34b", "bloom-176b", "qwen-72b", "phi-2", "qwen3-8b", "qwen3-14b", "qwen3-32b",
}  # fmt: skip

# Models whose attention width (heads x head_dim) differs from hidden_size, with the reason.
# Add one here rather than weakening the check.
HEAD_DIM_EXCEPTIONS: dict[str, str] = {
    "qwen3-32b": "64 heads of 128 (attention width 8192) over a 5120 hidden size, per config.json",
}
#: Llama-style models that also normalise each query and key head (two head_dim vectors a layer).
QK_NORM = {"qwen3-8b", "qwen3-14b", "qwen3-32b"}

# Llama-style architectures (untied embeddings, gated MLP, no biases, RMSNorm) whose parameter
# count can be recomputed from the config fields alone.
LLAMA_STYLE = {
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "llama-3.1-405b",
    "mistral-7b",
    "codellama-34b",
} | QK_NORM


def _load(name: str) -> dict:
    data = yaml.safe_load((CATALOG_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{name} must be a mapping from id to spec"
    return data


GPUS = _load("gpus.yaml")
LLMS = _load("llms.yaml")


def kv_bytes_per_token(spec: dict) -> int:
    return 2 * spec["layers"] * spec["kv_heads"] * spec["head_dim"] * 2


# ---------------------------------------------------------------- GPUs


def check_ids(ids: set[str], required: set[str], optional: set[str], what: str) -> None:
    """Every required id present, nothing unexpected, all lower case."""
    assert required <= ids, f"missing {what}: {sorted(required - ids)}"
    unexpected = ids - required - optional
    assert not unexpected, f"unexpected {what}: {sorted(unexpected)}"
    assert all(key == key.lower() for key in ids)


def test_gpu_ids():
    check_ids(set(GPUS), REQUIRED_GPUS, OPTIONAL_GPUS, "GPUs")


@pytest.mark.parametrize("gpu_id", sorted(GPUS))
def test_gpu_keys_exact(gpu_id):
    assert set(GPUS[gpu_id]) == GPU_KEYS


@pytest.mark.parametrize("gpu_id", sorted(GPUS))
def test_gpu_values_positive(gpu_id):
    spec = GPUS[gpu_id]
    assert isinstance(spec["name"], str) and spec["name"].strip()
    for key in GPU_NUMERIC_KEYS:
        value = spec[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (gpu_id, key)
        assert value > 0, (gpu_id, key, value)


@pytest.mark.parametrize("gpu_id", sorted(GPUS))
def test_gpu_every_number_has_a_source(gpu_id):
    sources = GPUS[gpu_id]["sources"]
    assert isinstance(sources, dict)
    for key in (*GPU_NUMERIC_KEYS, *GPU_MEMORY_KEYS):
        assert isinstance(sources.get(key), str) and sources[key].strip(), (gpu_id, key)
    unknown = set(sources) - {*GPU_NUMERIC_KEYS, *GPU_MEMORY_KEYS}
    assert not unknown, f"sources for unknown keys: {sorted(unknown)}"


@pytest.mark.parametrize("gpu_id", sorted(GPUS))
def test_gpu_memory_unit_and_ecc_share(gpu_id):
    # NVIDIA's memory sizes are binary (nvidia-smi totals); GDDR6 boards lose 1/16 to ECC
    spec = GPUS[gpu_id]
    assert spec["memory_unit"] in ("GiB", "GB")
    assert spec["ecc_reserved_fraction"] in (0.0, 0.0625)


@pytest.mark.parametrize("gpu_id", sorted(GPUS))
def test_gpu_idle_below_max_power(gpu_id):
    spec = GPUS[gpu_id]
    assert spec["idle_power_w"] < spec["max_power_w"]


@pytest.mark.parametrize("gpu_id", sorted(GPUS))
def test_gpu_memory_faster_than_interconnect(gpu_id):
    spec = GPUS[gpu_id]
    assert spec["memory_bandwidth_gb_per_s"] > spec["interconnect_gb_per_s"]


@pytest.mark.parametrize(
    ("gpu_id", "key", "expected"),
    [
        ("a100-80gb", "peak_bf16_tflop_per_s", 312.0),
        ("a100-40gb", "peak_bf16_tflop_per_s", 312.0),
        ("a100-80gb", "memory_bandwidth_gb_per_s", 2039.0),
        ("a100-80gb", "idle_power_w", 63.0),
        ("a100-80gb", "max_power_w", 400.0),
        ("h100-80gb", "memory_bandwidth_gb_per_s", 3350.0),
        ("h100-80gb", "idle_power_w", 75.0),
        ("h100-80gb", "max_power_w", 700.0),
        ("h100-80gb", "interconnect_gb_per_s", 900.0),
        ("h100-80gb", "embodied_carbon_kg", 164.0),
        ("h200", "memory_gb", 141.0),
        ("h200", "memory_bandwidth_gb_per_s", 4800.0),
        ("l4", "max_power_w", 72.0),
        ("b200", "memory_gb", 180.0),
    ],
)
def test_gpu_anchor_values(gpu_id, key, expected):
    assert GPUS[gpu_id][key] == pytest.approx(expected)


def test_h100_dense_bf16_is_half_the_sparse_figure():
    # The datasheet's 1,979 TFLOPS is with 2:4 sparsity; the catalog holds the dense half.
    assert GPUS["h100-80gb"]["peak_bf16_tflop_per_s"] == pytest.approx(1979 / 2, rel=1e-3)


def test_estimates_are_labelled():
    # Only the parts with a measured idle power may cite it without the word "estimate".
    measured_idle = {"a100-80gb", "h100-80gb"}
    for gpu_id, spec in GPUS.items():
        if gpu_id not in measured_idle:
            assert "estimate" in spec["sources"]["idle_power_w"].lower(), gpu_id
    # Only these parts have a published per-GPU embodied-carbon figure.
    published_embodied = {"a100-40gb", "h100-80gb", "b200"}
    for gpu_id, spec in GPUS.items():
        if gpu_id not in published_embodied:
            assert "estimate" in spec["sources"]["embodied_carbon_kg"].lower(), gpu_id


# ---------------------------------------------------------------- LLMs


def test_llm_ids():
    check_ids(set(LLMS), REQUIRED_LLMS, OPTIONAL_LLMS, "LLMs")


@pytest.mark.parametrize("model_id", sorted(LLMS))
def test_llm_keys_exact(model_id):
    assert set(LLMS[model_id]) == LLM_KEYS


@pytest.mark.parametrize("model_id", sorted(LLMS))
def test_llm_values_positive_and_typed(model_id):
    spec = LLMS[model_id]
    assert isinstance(spec["name"], str) and "/" in spec["name"]
    for key in LLM_INT_KEYS:
        assert type(spec[key]) is int, (model_id, key)
        assert spec[key] > 0, (model_id, key)
    for key in LLM_FLOAT_KEYS:
        value = spec[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (model_id, key)
        assert value > 0, (model_id, key)


@pytest.mark.parametrize("model_id", sorted(LLMS))
def test_llm_tied_embeddings_is_a_boolean_and_a_tied_count_holds_the_table_once(model_id):
    spec = LLMS[model_id]
    assert isinstance(spec["tied_embeddings"], bool)
    if spec["tied_embeddings"]:  # a tied model says why (it is the exception)
        assert "tied_embeddings" in spec["sources"]


@pytest.mark.parametrize("model_id", sorted(LLMS))
def test_llm_every_number_has_a_source(model_id):
    sources = LLMS[model_id]["sources"]
    assert isinstance(sources, dict)
    allowed = {"architecture", "weight_precision", "tied_embeddings", *LLM_INT_KEYS,
               *LLM_FLOAT_KEYS}  # fmt: skip
    unknown = set(sources) - allowed
    assert not unknown, f"sources for unknown keys: {sorted(unknown)}"
    for key in (*LLM_INT_KEYS, *LLM_FLOAT_KEYS):
        cited = sources.get(key) or (sources.get("architecture") if key in LLM_ARCH_KEYS else None)
        assert isinstance(cited, str) and cited.strip(), (model_id, key)


@pytest.mark.parametrize("model_id", sorted(LLMS))
def test_llm_kv_heads_divide_attention_heads(model_id):
    spec = LLMS[model_id]
    assert spec["kv_heads"] <= spec["attention_heads"]
    assert spec["attention_heads"] % spec["kv_heads"] == 0


@pytest.mark.parametrize("model_id", sorted(LLMS))
def test_llm_head_dim_times_heads_is_hidden_size(model_id):
    if model_id in HEAD_DIM_EXCEPTIONS:
        pytest.skip(f"{model_id}: {HEAD_DIM_EXCEPTIONS[model_id]}")
    spec = LLMS[model_id]
    assert spec["head_dim"] * spec["attention_heads"] == spec["hidden_size"]


@pytest.mark.parametrize("model_id", sorted(LLMS))
def test_llm_active_not_above_total(model_id):
    spec = LLMS[model_id]
    assert spec["active_parameters_billion"] <= spec["parameters_billion"]


def test_only_mixtral_is_sparse():
    for model_id, spec in LLMS.items():
        if model_id == "mixtral-8x7b":
            assert spec["active_parameters_billion"] == pytest.approx(12.9, abs=0.05)
            assert spec["parameters_billion"] == pytest.approx(46.7, abs=0.05)
        else:
            assert spec["active_parameters_billion"] == spec["parameters_billion"], model_id


@pytest.mark.parametrize("model_id", sorted(LLAMA_STYLE & set(LLMS)))
def test_llama_style_parameter_count_matches_architecture(model_id):
    s = LLMS[model_id]
    h, heads, kv, d = s["hidden_size"], s["attention_heads"], s["kv_heads"], s["head_dim"]
    attention = 2 * h * heads * d + 2 * h * kv * d
    mlp = 3 * h * s["intermediate_size"]
    norms = 2 * h + (2 * d if model_id in QK_NORM else 0)
    count = 2 * s["vocab_size"] * h + s["layers"] * (attention + mlp + norms) + h
    assert s["parameters_billion"] == pytest.approx(count / 1e9, abs=0.006)


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("llama-2-7b", 524288),
        ("llama-2-13b", 819200),
        ("llama-2-70b", 327680),
        ("llama-3.1-8b", 131072),
        ("llama-3.1-70b", 327680),
        ("mistral-7b", 131072),
        ("mixtral-8x7b", 131072),
    ],
)
def test_llm_kv_bytes_per_token_anchors(model_id, expected):
    assert kv_bytes_per_token(LLMS[model_id]) == expected


@pytest.mark.parametrize(
    ("model_id", "key", "expected"),
    [
        ("llama-2-7b", "max_context_tokens", 4096),
        ("llama-2-70b", "kv_heads", 8),
        ("llama-3.1-8b", "vocab_size", 128256),
        ("llama-3.1-405b", "layers", 126),
        ("llama-3.1-405b", "kv_heads", 8),
        ("llama-3.1-405b", "max_context_tokens", 131072),
        ("mixtral-8x7b", "intermediate_size", 14336),
    ],
)
def test_llm_anchor_values(model_id, key, expected):
    assert LLMS[model_id][key] == expected


def test_all_weights_are_two_bytes():
    assert {spec["bytes_per_parameter"] for spec in LLMS.values()} == {2.0}
    assert {spec["weight_precision"] for spec in LLMS.values()} == {"bf16", "fp16"}

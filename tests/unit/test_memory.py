"""The memory model (slit.models.memory): units, precision, capacity, refusals, scenario errors."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.catalogue.gpus import GpuSpec, bundled_gpus
from slit.catalogue.llms import LlmSpec, bundled_llms
from slit.cli import main
from slit.errors import ScenarioError
from slit.models import latency, power
from slit.models.memory import (
    DRIVER_RESERVED_BYTES,
    GIB,
    check_fits,
    kv_capacity_tokens,
    memory_budget,
)
from slit.optimize.evaluator import FastEvaluator
from slit.scenario.loader import scenario_from_dict
from tests.conftest import small_scenario_dict

GPUS = bundled_gpus()
LLMS = bundled_llms()


# -- the reviewer's case and other named deployments ----------------------------------------


def test_llama2_70b_on_two_a100_80gb_holds_about_twice_the_old_kv_cache() -> None:
    llm, gpu = LLMS["llama-2-70b"], GPUS["a100-80gb"]
    assert llm.kv_bytes_per_token == 327_680  # GQA: 2 x 80 layers x 8 heads x 128 x 2 bytes
    old = 18_432  # 0.9 x 2 x 80e9 - weights, as the reviewer found
    got = kv_capacity_tokens(llm, gpu, 2)
    # no reserve at all would leave 0.9 x 80 GiB - weights / 2 per GPU
    ceiling = 2 * (0.9 * 80 * GIB - llm.weight_bytes / 2) / llm.kv_bytes_per_token
    assert 1.8 * old < got < ceiling
    assert got == 36_592
    assert got % 16 == 0  # whole vLLM blocks


@pytest.mark.parametrize(
    ("model", "gpu", "tp", "tokens"),
    [
        ("llama-3.1-8b", "a100-40gb", 1, 155_392),
        ("llama-2-7b", "h100-80gb", 1, 118_368),
        ("llama-2-7b", "a100-80gb", 1, 118_368),  # vLLM logged 7,351 blocks = 117,616 tokens
        ("llama-3.1-70b", "h100-80gb", 4, 485_312),
    ],
)
def test_named_deployments(model: str, gpu: str, tp: int, tokens: int) -> None:
    assert kv_capacity_tokens(LLMS[model], GPUS[gpu], tp) == tokens
    assert latency.ReplicaPerf(LLMS[model], GPUS[gpu], tp).kv_capacity_tokens(0.9) == tokens


def test_llama3_8b_budget_is_close_to_vllm_log_on_h100() -> None:
    # vLLM's start-up log (Llama-3-8B, H100 80GB): 79.22 GiB visible, 71.29 GiB usable at 0.9,
    # 14.96 GiB of weights, 1.26 GiB of activation peak
    mem = memory_budget(LLMS["llama-3.1-8b"], GPUS["h100-80gb"], 1)
    assert mem.visible / GIB == pytest.approx(79.22, abs=0.05)
    assert mem.budget / GIB == pytest.approx(71.29, abs=0.05)
    assert mem.weights / GIB == pytest.approx(14.96, abs=0.05)
    assert mem.activation / GIB == pytest.approx(1.26, rel=0.15)


# -- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu", "gib"),
    [("a100-40gb", 40), ("a100-80gb", 80), ("h100-80gb", 80), ("h200", 141), ("b200", 180),
     ("l40s", 48), ("l4", 24)],
)  # fmt: skip
def test_nvidia_memory_is_binary(gpu: str, gib: int) -> None:
    assert GPUS[gpu].memory_unit == "GiB"
    assert GPUS[gpu].memory_bytes == gib * 2**30


def test_a_gpu_in_decimal_gb_and_the_ecc_share() -> None:
    decimal = GpuSpec.model_validate({**GPUS["a100-80gb"].model_dump(), "memory_unit": "GB"})
    assert decimal.memory_bytes == 80e9
    # a user-defined GPU without a unit keeps meaning decimal GB, as before
    spec = {k: v for k, v in GPUS["a100-80gb"].model_dump().items() if k != "memory_unit"}
    assert GpuSpec.model_validate(spec).memory_bytes == 80e9
    cap = kv_capacity_tokens(LLMS["llama-2-7b"], GPUS["a100-80gb"], 1)
    assert kv_capacity_tokens(LLMS["llama-2-7b"], decimal, 1) < cap
    # GDDR6 with ECC on: CUDA sees 15/16 of 48 GiB (45 GiB, nvidia-smi's 46,068 MiB) less the
    # driver's reserve
    l40s = memory_budget(LLMS["llama-3.1-8b"], GPUS["l40s"], 1)
    assert l40s.visible == 45 * GIB - DRIVER_RESERVED_BYTES


# -- precision -----------------------------------------------------------------------------


def test_precision_sets_the_weight_bytes() -> None:
    llm = LLMS["llama-3.1-70b"]
    assert llm.weight_precision == "bf16" and llm.bytes_per_parameter == 2.0
    assert llm.with_precision("fp8").weight_bytes == pytest.approx(llm.weight_bytes / 2)
    assert llm.with_precision("int4").weight_bytes == pytest.approx(llm.weight_bytes / 4)
    assert llm.with_precision(None) is llm
    fp8_kv = llm.with_precision(None, "fp8")
    assert fp8_kv.kv_bytes_per_token == llm.kv_bytes_per_token / 2
    assert fp8_kv.weight_bytes == llm.weight_bytes
    h100 = GPUS["h100-80gb"]
    assert kv_capacity_tokens(llm.with_precision("fp8"), h100, 4) > kv_capacity_tokens(llm, h100, 4)
    assert LLMS["llama-2-7b"].weight_precision == "fp16"


def test_bytes_per_parameter_follows_the_precision_and_must_agree() -> None:
    base = {k: v for k, v in LLMS["llama-3.1-8b"].model_dump().items()
            if k not in ("weight_precision", "bytes_per_parameter")}  # fmt: skip
    assert LlmSpec.model_validate({**base, "weight_precision": "int8"}).bytes_per_parameter == 1.0
    assert LlmSpec.model_validate({**base, "bytes_per_parameter": 1.0}).weight_precision is None
    with pytest.raises(ValueError, match="disagrees with weight_precision fp8"):
        LlmSpec.model_validate({**base, "weight_precision": "fp8", "bytes_per_parameter": 2.0})


# -- scenarios -----------------------------------------------------------------------------


def _with_pool(**pool: Any) -> dict[str, Any]:
    data = small_scenario_dict()
    data["datacenters"][1]["pools"] = [pool]
    return data


def test_405b_fp8_fits_on_eight_h100_and_bf16_does_not() -> None:
    fp8 = scenario_from_dict(
        _with_pool(model="llama-3.1-405b", gpu="h100-80gb", tp=8, weight_precision="fp8")
    )
    pool = fp8.config.datacenters[1].pools[0]
    assert fp8.pool_llm(pool).weight_bytes == pytest.approx(405.85e9)
    assert kv_capacity_tokens(fp8.pool_llm(pool), GPUS["h100-80gb"], 8) > 300_000
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(_with_pool(model="llama-3.1-405b", gpu="h100-80gb", tp=8))
    text = str(err.value)
    for pattern in (
        r"datacenters\[1\]\.pools\[0\] \(datacenter dc-b\)",
        r"llama-3\.1-405b \(bf16, 811\.7 GB of weights\) does not fit on 8 x h100-80gb",
        r"needs 101\.5 GB of weights \+ 1\.8 GB of activation and runtime reserve",
        r"offers 76\.6 GB \(85\.1 GB visible x gpu_memory_utilization 0\.9\)",
        r"raise tp to 16; set weight_precision: fp8; pick a GPU with more memory \(b200, h200\)",
    ):
        assert re.search(pattern, text), (pattern, text)


def test_slit_validate_exits_2_when_the_weights_do_not_fit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main([
        "validate", "bundled:default",
        "--set", "datacenters[0].pools[1].model=llama-3.1-405b",
        "--set", "datacenters[0].pools[1].tp=8",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert "does not fit on 8 x h100-80gb" in err and "Traceback" not in err


def test_a_pool_of_no_replicas_is_not_checked() -> None:
    scenario_from_dict(
        _with_pool(model="llama-3.1-405b", gpu="h100-80gb", tp=8, replicas=0)
        | {"workload": {"source": "synthetic", "origins": {"a": 1, "b": 1}}}
    )


def test_kv_memory_fraction_is_a_deprecated_alias() -> None:
    old = scenario_from_dict(
        _with_pool(model="llama-3.1-8b", gpu="a100-80gb", kv_memory_fraction=0.5)
    )
    new = scenario_from_dict(
        _with_pool(model="llama-3.1-8b", gpu="a100-80gb", gpu_memory_utilization=0.5)
    )
    assert old.config.datacenters[1].pools[0].gpu_memory_utilization == 0.5
    assert old.content_hash() == new.content_hash()
    assert "kv_memory_fraction" not in old.resolved_yaml()


def test_simulator_and_evaluator_use_the_pool_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _with_pool(
        model="llama-3.1-8b", gpu="a100-40gb", gpu_memory_utilization=0.8, max_batch_size=64
    )
    data["time"].update(horizon_s=60, epoch_s=60, drain_s=60)
    scenario = scenario_from_dict(data)
    expected = kv_capacity_tokens(
        LLMS["llama-3.1-8b"], GPUS["a100-40gb"], 1, 0.8, max_batched_tokens=8192, max_num_seqs=64
    )
    assert FastEvaluator.from_scenario(scenario).kv_capacity[1] == expected

    import slit.sim.simulate as sim_mod

    seen: list[int] = []
    real = sim_mod.Replica

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[3].kv_capacity_tokens)  # the PoolInputs the replica is built from
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_mod, "Replica", spy)
    sim_mod.simulate(scenario)
    assert expected in seen


# -- the latency and power APIs refuse batches beyond the KV capacity ---------------------


def test_latency_and_power_refuse_a_batch_beyond_the_kv_cache() -> None:
    args = ("llama-2-70b", "a100-80gb", 2)
    message = r"needs 64,000 KV tokens, more than the 36,592 .* use a batch of at most 36"
    with pytest.raises(ValueError, match=message):
        latency.decode_step_time_s(*args, 64, 1000)
    with pytest.raises(ValueError, match=r"more than the 36,592"):
        latency.prefill_time_s(*args, 4000, batch_size=10)
    with pytest.raises(ValueError, match=r"more than the 36,592"):
        power.energy_per_output_token_j(*args, 64, 800, 400)
    assert latency.decode_step_time_s(*args, 36, 1000) > 0
    assert check_fits(*args, 36, 1000) == 36_592


def test_a_replica_without_room_for_weights_is_refused_with_its_fix() -> None:
    with pytest.raises(ValueError, match=r"holds no KV cache.*raise tp to 16"):
        latency.decode_step_time_s("llama-3.1-405b", "h100-80gb", 8, 1, 100)


# -- properties ----------------------------------------------------------------------------

_models = st.sampled_from(sorted(LLMS))
_gpus = st.sampled_from(sorted(GPUS))
_utils = st.floats(min_value=0.05, max_value=1.0)


@settings(max_examples=300, deadline=None)
@given(_models, _gpus, st.integers(1, 64), _utils, _utils)
def test_capacity_is_non_negative_and_grows_with_utilization(
    model: str, gpu: str, tp: int, u1: float, u2: float
) -> None:
    lo, hi = sorted((u1, u2))
    a = kv_capacity_tokens(LLMS[model], GPUS[gpu], tp, lo)
    b = kv_capacity_tokens(LLMS[model], GPUS[gpu], tp, hi)
    assert 0 <= a <= b
    assert a % 16 == 0


@settings(max_examples=300, deadline=None)
@given(_models, _gpus, st.integers(1, 64), st.integers(1, 64), _utils)
def test_capacity_grows_with_tensor_parallelism(
    model: str, gpu: str, t1: int, t2: int, util: float
) -> None:
    lo, hi = sorted((t1, t2))
    assert kv_capacity_tokens(LLMS[model], GPUS[gpu], lo, util) <= kv_capacity_tokens(
        LLMS[model], GPUS[gpu], hi, util
    )


@settings(max_examples=300, deadline=None)
@given(_models, _gpus, st.integers(1, 16), st.integers(1, 200), st.integers(1, 200))
def test_capacity_shrinks_as_kv_bytes_per_token_grow(
    model: str, gpu: str, tp: int, l1: int, l2: int
) -> None:
    # more layers -> more KV bytes per token, the weights (parameters_billion) unchanged
    small, big = sorted((l1, l2))
    m = LLMS[model]
    a = m.model_copy(update={"layers": small})
    b = m.model_copy(update={"layers": big})
    assert a.kv_bytes_per_token <= b.kv_bytes_per_token
    assert kv_capacity_tokens(a, GPUS[gpu], tp) >= kv_capacity_tokens(b, GPUS[gpu], tp)
    assert math.isfinite(b.kv_bytes_per_token)

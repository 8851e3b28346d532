"""Chunked prefill (Sarathi-Serve): prompts split into chunks that share iterations with decodes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from slit.catalogue.gpus import bundled_gpus
from slit.catalogue.llms import bundled_llms
from slit.models.latency import ReplicaPerf, calibrated_efficiency
from slit.scenario.loader import load_scenario, scenario_from_dict
from slit.sim.simulate import simulate

CONST = {"source": "constant", "carbon_g_per_kwh": 100, "price_usd_per_mwh": 50}


def _load(chunked: bool, budget: int, rate: float = 20.0):
    return scenario_from_dict(
        {
            "seed": 3,
            "time": {
                "start_utc": "2023-07-15T00:00:00Z",
                "horizon_s": 900,
                "epoch_s": 900,
                "drain_s": 600,
            },  # fmt: skip
            "regions": [{"id": "a", "latitude": 0.0, "longitude": 0.0, "signals": CONST}],
            "datacenters": [
                {
                    "id": "dc",
                    "region": "a",
                    "pools": [
                        {
                            "model": "llama-3.1-8b",
                            "gpu": "h100-80gb",
                            "replicas": 4,
                            "chunked_prefill": chunked,
                            "max_prefill_tokens": budget,
                        }  # fmt: skip
                    ],
                }
            ],
            "workload": {"source": "synthetic", "rate_per_s": rate, "diurnal_amplitude": 0.0},
        }
    )


@pytest.mark.slow
def test_smaller_chunks_bound_decode_stalls_at_the_cost_of_ttft() -> None:
    separate = simulate(_load(False, 8192)).summary
    small_run = simulate(_load(True, 512))
    small = small_run.summary
    assert separate["dropped"] == small["dropped"] == 0
    # chunked requests record when their first chunk started, so their queue time is known
    assert small_run.requests["queue_s"].notna().all()
    assert (small_run.requests["queue_s"] >= 0).all()
    assert small["tpot_s"]["p95"] < 0.95 * separate["tpot_s"]["p95"]
    assert small["ttft_s"]["p95"] > 1.1 * separate["ttft_s"]["p95"]


def test_a_lone_prompt_takes_the_sum_of_its_chunk_iterations(tmp_path: Path) -> None:
    prompt, budget = 2048, 512
    rows = [(0.0, prompt, 4, "a"), (50.0, 10, 2, "b")]
    pd.DataFrame(rows, columns=["arrival_s", "prompt_tokens", "output_tokens", "origin"]).to_csv(
        tmp_path / "trace.csv", index=False
    )
    pool = {"model": "llama-3.1-8b", "gpu": "h100-80gb", "chunked_prefill": True,
            "max_prefill_tokens": budget}  # fmt: skip
    data = {
        "time": {
            "start_utc": "2023-07-15T00:00:00Z",
            "horizon_s": 50,
            "epoch_s": 50,
            "drain_s": 60,
        },  # fmt: skip
        "regions": [
            {"id": "a", "latitude": 0.0, "longitude": 0.0, "signals": CONST},
            {"id": "b", "latitude": 0.0, "longitude": 120.0, "signals": CONST},
        ],
        "datacenters": [
            {"id": "dc-a", "region": "a", "pools": [pool]},
            {"id": "dc-b", "region": "b", "pools": [{"model": "llama-3.1-8b", "gpu": "h100-80gb"}]},
        ],
        "workload": {"source": "trace", "path": "trace.csv", "format": "csv"},
        "network": {"latency": "distance", "base_rtt_ms": 0.0, "bandwidth_gbit_per_s": 1e6},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    req = simulate(load_scenario(tmp_path / "s.yaml")).requests
    ttft = float(req.loc[req["datacenter"] == "dc-a", "ttft_s"].iloc[0])
    perf = ReplicaPerf(
        bundled_llms()["llama-3.1-8b"],
        bundled_gpus()["h100-80gb"],
        1,
        calibrated_efficiency("h100-80gb"),
    )
    # four iterations of 512 prompt tokens after 0, 512, 1024, 1536 already prefilled
    expected = sum(
        perf.hybrid_time_s(0, 0.0, budget, budget * (2 * done + budget), done + budget)[0]
        for done in range(0, prompt, budget)
    )
    assert ttft == pytest.approx(expected, rel=1e-8)
    # one chunk of the whole prompt is exactly a prefill iteration
    whole = perf.hybrid_time_s(0, 0.0, prompt, prompt * prompt, prompt)[0]
    assert whole == pytest.approx(perf.prefill_time_s(prompt, prompt * prompt), rel=1e-12)
    assert perf.hybrid_time_s(8, 8000.0, 0, 0, 0)[0] == pytest.approx(
        perf.decode_step_time_s(8, 8000.0), rel=1e-12
    )

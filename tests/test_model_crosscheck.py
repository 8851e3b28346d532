"""The simulator against the model API: one replica at a fixed batch size must show the TTFT and
TPOT that `slit.models.latency` predicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from slit.models.latency import decode_step_time_s, prefill_time_s
from slit.scenario.loader import load_scenario
from slit.sim.simulate import simulate

MODEL, GPU = "llama-3.1-8b", "h100-80gb"


def _scenario(tmp_path: Path, batch: int, prompt: int, output: int, tp: int) -> Path:
    # `batch` requests arrive together in region a; one more, much later and far away in region
    # b, only makes the trace cover the horizon and is served by another datacenter.
    rows = [(0.0, prompt, output, "a")] * batch + [(50.0, 10, 2, "b")]
    pd.DataFrame(rows, columns=["arrival_s", "prompt_tokens", "output_tokens", "origin"]).to_csv(
        tmp_path / "trace.csv", index=False
    )
    const = {"source": "constant", "carbon_g_per_kwh": 100, "price_usd_per_mwh": 50}
    pool: dict[str, Any] = {
        "model": MODEL,
        "gpu": GPU,
        "tp": tp,
        "replicas": 1,
        "max_batch_size": batch,
        "max_prefill_tokens": batch * prompt,
    }
    data = {
        "time": {
            "start_utc": "2023-07-15T00:00:00Z",
            "horizon_s": 50,
            "epoch_s": 50,
            "drain_s": 600,
        },  # fmt: skip
        "regions": [
            {"id": "a", "latitude": 0.0, "longitude": 0.0, "signals": const},
            {"id": "b", "latitude": 0.0, "longitude": 120.0, "signals": const},
        ],
        "datacenters": [
            {"id": "dc-a", "region": "a", "pools": [pool]},
            {"id": "dc-b", "region": "b", "pools": [{"model": MODEL, "gpu": GPU}]},
        ],
        "workload": {"source": "trace", "path": "trace.csv", "format": "csv"},
        "network": {"latency": "distance", "base_rtt_ms": 0.0, "bandwidth_gbit_per_s": 1e6},
        "routing": {"policy": "nearest"},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("batch", "prompt", "output", "tp"),
    [(1, 512, 128, 1), (16, 1024, 256, 1), (64, 256, 512, 1), (32, 2048, 128, 2)],
)
def test_simulated_ttft_and_tpot_match_the_model(
    tmp_path: Path, batch: int, prompt: int, output: int, tp: int
) -> None:
    result = simulate(load_scenario(_scenario(tmp_path, batch, prompt, output, tp)))
    req = result.requests
    mine = req[req["datacenter"] == "dc-a"]
    assert len(mine) == batch and (mine["drop_reason"] == "").all()
    ttft_model = prefill_time_s(MODEL, GPU, tp, prompt, batch)
    # decode contexts grow from prompt + 1 to prompt + output; the mean step sees the middle
    tpot_model = decode_step_time_s(MODEL, GPU, tp, batch, prompt + output // 2)
    assert np.allclose(mine["ttft_s"], ttft_model, rtol=0.05), (mine["ttft_s"].max(), ttft_model)
    assert np.allclose(mine["tpot_s"], tpot_model, rtol=0.05), (mine["tpot_s"].max(), tpot_model)

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


@pytest.mark.parametrize(("prompt", "output", "tp"), [(512, 128, 1), (2048, 64, 2), (64, 400, 4)])
def test_booked_energy_of_a_request_is_the_power_model_of_its_iterations(
    tmp_path: Path, prompt: int, output: int, tp: int
) -> None:
    """One request alone on a replica: its booked IT energy is exactly the power model's power
    of its prefill iteration times that iteration's length, plus the power of its decode
    stretch (the mean compute, memory, per-request and all-reduce shares of its steps) times
    the stretch's length. The engine computes nothing of its own: it calls slit.models.power."""
    from slit.catalogue.gpus import bundled_gpus
    from slit.catalogue.llms import bundled_llms
    from slit.models.latency import ReplicaPerf, calibrated_efficiency, sum_of_max_lines
    from slit.models.power import calibrated_power, it_power_w, iteration_activity

    scenario = load_scenario(_scenario(tmp_path, 1, prompt, output, tp))
    dc = scenario.config.datacenters[0]
    mine = simulate(scenario).requests.query("datacenter == 'dc-a'").iloc[0]
    gpu = bundled_gpus()[GPU]
    perf = ReplicaPerf(bundled_llms()[MODEL], gpu, tp, calibrated_efficiency(GPU))
    power = calibrated_power(GPU)

    def it_w(activity: float) -> float:
        return it_power_w(gpu, tp, activity, dc.server_overhead_fraction,
                          dc.server_overhead_w_per_gpu)  # fmt: skip

    c, m, f = perf.prefill_terms(float(prompt), float(prompt) ** 2)
    t_pre = max(c, m) + f
    energy = it_w(iteration_activity(c, m, t_pre, power, 0.0, perf.comm_time_s(prompt))) * t_pre
    k = output - 1
    c0, c1, m0, m1, fixed = perf.decode_lines(1, float(prompt + 1))
    t_dec = sum_of_max_lines(c0, c1, m0, m1, fixed, k)
    comp = (c0 + c1 * (k - 1) / 2.0) * k
    mem = (m0 + m1 * (k - 1) / 2.0) * k
    req = perf.eff.per_request_overhead_s * k
    comm = perf.comm_time_s(1.0, k)
    energy += it_w(iteration_activity(comp, mem, t_dec, power, req, comm)) * t_dec
    serve_s = mine["ttft_s"] - mine["transfer_s"] - mine["network_rtt_s"]
    assert serve_s == pytest.approx(t_pre, rel=1e-6)  # up to float rounding of event times
    assert mine["it_energy_kwh"] * 3.6e6 == pytest.approx(energy, rel=1e-9)

"""Analytical checks: a datacenter without batching is an M/D/c queue.

With ``max_batch_size: 1`` every replica serves one request at a time, fixed prompt and output
lengths give a fixed service time S, and homogeneous Poisson arrivals (rate lambda) wait in the
datacenter's shared first-come-first-served queue. The mean wait of M/D/c follows from Erlang C:
half the M/M/c wait (Allen-Cunneen with service-time SCV 0; exact for c = 1 by
Pollaczek-Khinchine), refined for c > 1 by Cosmetatos (1976):

    W_q = C(c, a) / (c mu - lambda) / 2 * (1 + (1 - rho)(c - 1)(sqrt(4 + 5c) - 2) / (16 rho c))

with a = lambda / mu, mu = 1 / S, rho = a / c.
"""

from __future__ import annotations

import math

import pytest

from slit.scenario.loader import scenario_from_dict
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a`` (Erlang C)."""
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def md_c_wait(c: int, lam: float, service_s: float) -> float:
    """Mean queue wait of M/D/c (see the module docstring), s."""
    mu = 1.0 / service_s
    rho = lam / mu / c
    cosmetatos = 1 + (1 - rho) * (c - 1) * (math.sqrt(4 + 5 * c) - 2) / (16 * rho * c)
    return erlang_c(c, lam / mu) / (c * mu - lam) / 2.0 * cosmetatos


def _queue_scenario(c: int, rate: float, horizon_s: float, seed: int):
    data = small_scenario_dict(
        seed=seed,
        time={
            "start_utc": "2023-07-15T00:00:00Z",
            "horizon_s": horizon_s,
            "epoch_s": 3600,
            "drain_s": 3600,
        },
        regions=[small_scenario_dict()["regions"][0]],
        datacenters=[
            {
                "id": "dc",
                "region": "a",
                "pools": [
                    {
                        "model": "llama-3.1-8b",
                        "gpu": "h100-80gb",
                        "replicas": c,
                        "max_batch_size": 1,
                    }
                ],
            }
        ],
        workload={
            "source": "synthetic",
            "rate_per_s": rate,
            "diurnal_amplitude": 0.0,
            "prompt_tokens": 200,
            "output_tokens": 100,
        },
    )
    return scenario_from_dict(data)


def _service_time_s() -> float:
    probe = simulate(_queue_scenario(1, 0.01, 3600, 0))
    done = probe.requests[probe.requests["completed"]]
    service = done["e2e_s"] - done["network_rtt_s"] - done["queue_s"] - done["transfer_s"]
    assert service.max() - service.min() < 1e-9  # fixed lengths give a fixed service time
    return float(service.iloc[0])


@pytest.mark.parametrize("c, rho", [(1, 0.7), (3, 0.7)])
@pytest.mark.slow
def test_mean_wait_matches_erlang_c_within_10_percent(c, rho):
    service_s = _service_time_s()
    lam = rho * c / service_s
    horizon_s = 40_000 / lam  # about 40k requests
    result = simulate(_queue_scenario(c, lam, horizon_s, seed=11))
    done = result.requests[result.requests["completed"]]
    assert len(done) == len(result.requests)
    measured = float(done["queue_s"].mean())
    predicted = md_c_wait(c, lam, service_s)
    assert measured == pytest.approx(predicted, rel=0.10), (measured, predicted)

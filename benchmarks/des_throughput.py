"""Simulated requests per wall-second of the full serving model, against a plain SimPy queue.

    python benchmarks/des_throughput.py [--sizes 10000 100000 1000000] [--repeats 1]

For each size N the bundled default scenario (six datacenters, mixed GPUs, continuous
batching with KV-cache limits, Llama-3.1 8B and 70B, a workload shaped like the Azure 2023
conversation trace) runs with its own load (2 requests/s) over a horizon of N / 2 seconds, so
every size has the same load per replica and only the length grows. Each size runs in a fresh
process, which reports its wall time and peak resident memory. In the same process as the
measurement, a plain SimPy M/M/c queue (Poisson arrivals, ``simpy.Resource`` with c servers,
exponential service) processes N requests as a machine-speed reference, so the ratio of the two
throughputs holds on a noisy or slower machine.

Prints one JSON line: per size the requests, the wall time of ``simulate`` (inputs built
beforehand are excluded and reported apart), requests per wall-second, peak memory in MB, the
reference's requests per wall-second and the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

RATE_PER_S = 2.0
"""The default scenario's mean arrival rate (requests/s); the horizon is N / RATE_PER_S."""


def simpy_reference(n_requests: int, servers: int = 21, seed: int = 0) -> float:
    """Requests per wall-second of a plain SimPy M/M/c queue (utilisation 0.7) with n requests."""
    import numpy as np
    import simpy

    rng = np.random.default_rng(seed)
    rate = 1.0
    service = rng.exponential(0.7 * servers / rate, size=n_requests)
    gaps = rng.exponential(1.0 / rate, size=n_requests)
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=servers)
    done = [0]

    def request(i: int):  # noqa: ANN202
        with pool.request() as req:
            yield req
            yield env.timeout(service[i])
        done[0] += 1

    def source():  # noqa: ANN202
        for i in range(n_requests):
            yield env.timeout(gaps[i])
            env.process(request(i))

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    assert done[0] == n_requests
    return n_requests / wall


def measure(n_requests: int) -> dict[str, float]:
    """One size, in this process: the slit run, then the reference."""
    from slit.scenario.loader import load_scenario
    from slit.sim.simulate import simulate

    horizon = n_requests / RATE_PER_S
    scenario = load_scenario(None, [f"time.horizon_s={horizon:.0f}"])
    t0 = time.perf_counter()
    result = simulate(scenario)
    wall = time.perf_counter() - t0
    n = int(result.summary["requests"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ref = simpy_reference(n)
    return {
        "requests": n,
        "completed": int(result.summary["completed"]),
        "horizon_s": horizon,
        "wall_s": wall,
        "requests_per_wall_s": n / wall,
        "peak_rss_mb": peak_mb,
        "simpy_mmc_requests_per_wall_s": ref,
        "ratio_to_simpy_mmc": (n / wall) / ref,
        "inputs_wall_s": float(result.metadata.get("inputs_wall_s", float("nan"))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # the child process: one size
        print(json.dumps(measure(args.one)))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True,
                             capture_output=True, text=True)  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, last = rows[0], rows[-1]
    print(json.dumps({
        "benchmark": "des_throughput",
        "sizes": rows,
        "throughput_ratio_largest_to_smallest":
            last["requests_per_wall_s"] / first["requests_per_wall_s"],
    }))  # fmt: skip


if __name__ == "__main__":
    main()

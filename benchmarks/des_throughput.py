"""Simulated requests per wall-second of the full serving model, against a plain SimPy queue.

    python benchmarks/des_throughput.py [--sizes 10000 100000 1000000]
    python benchmarks/des_throughput.py --sizes 100000 --datacenter-copies 1 2 4 8 \
        [--policy least_loaded]

For each size N the bundled default scenario (six datacenters, mixed GPUs, continuous
batching with KV-cache limits, Llama-3.1 8B and 70B, a workload shaped like the Azure 2023
conversation trace) runs with its own load (2 requests/s) over a horizon of N / 2 seconds, so
every size has the same load per replica and only the length grows. Each size runs in a fresh
process, which reports its wall time and peak resident memory. In the same process as the
measurement, a plain SimPy M/M/c queue (Poisson arrivals, ``simpy.Resource`` with c servers,
exponential service) processes N requests as a machine-speed reference, so the ratio of the two
throughputs holds on a noisy or slower machine.

With ``--datacenter-copies K ...`` it measures instead how cost grows with the datacenters:
every default datacenter K times (same region, same pools) at K times the load, so requests
and load per replica stay the same; a load-aware policy (the default ``least_loaded``) reads
every datacenter's load per request.

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


def measure_copies(n_requests: int, copies: int, policy: str) -> dict[str, float]:
    """One datacenter count, in this process: every default datacenter ``copies`` times (the
    copies in the same region, with the same pools) and ``copies`` times the load, so the load
    per replica and the number of requests stay the same while the datacenters grow."""
    from slit.scenario.loader import load_scenario, scenario_from_dict
    from slit.sim.simulate import simulate

    horizon = n_requests / (RATE_PER_S * copies)
    raw = load_scenario(None, [f"time.horizon_s={horizon:.0f}"]).resolved_dict()
    raw["datacenters"] = [
        dict(dc, id=f"{dc['id']}-{c}") for c in range(copies) for dc in raw["datacenters"]
    ]
    raw["workload"]["rate_per_s"] = RATE_PER_S * copies
    raw["routing"] = {"policy": policy}
    scenario = scenario_from_dict(raw)
    t0 = time.perf_counter()
    result = simulate(scenario)
    wall = time.perf_counter() - t0
    n = int(result.summary["requests"])
    return {
        "datacenters": len(raw["datacenters"]),
        "policy": policy,
        "requests": n,
        "wall_s": wall,
        "requests_per_wall_s": n / wall,
        "simpy_mmc_requests_per_wall_s": (ref := simpy_reference(n)),
        "ratio_to_simpy_mmc": (n / wall) / ref,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--datacenter-copies", type=int, nargs="+", default=None, metavar="K",
        help="instead of sizes: the default's datacenters K times each, at the first size",
    )  # fmt: skip
    parser.add_argument("--policy", default="least_loaded",
                        help="routing policy of the --datacenter-copies runs")  # fmt: skip
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--copies", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # the child process: one measurement
        if args.copies is None:
            print(json.dumps(measure(args.one)))
        else:
            print(json.dumps(measure_copies(args.one, args.copies, args.policy)))
        return
    if args.datacenter_copies:
        rows = []
        for k in args.datacenter_copies:
            cmd = [sys.executable, __file__, "--one", str(args.sizes[0]), "--copies", str(k),
                   "--policy", args.policy]  # fmt: skip
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps({"benchmark": "des_throughput_datacenters", "runs": rows}))
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

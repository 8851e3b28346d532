"""How hard a scenario's routing choice is: at each epoch, the share of the demand that the
sites best on carbon, on water and on cost could serve together.

    python experiments/hard_scenarios/capacity.py SCENARIO [--set KEY=VALUE ...] [--utilization 0.8]

A datacenter's capacity for an LLM is what its replicas sustain at full batch for the run's
mean request (the ``throughput_rps`` the routing policies see), times a utilisation at which
queues stay short (0.8 by default). Prints, per LLM, the peak epoch's demand (requests/s), the
capacity of every datacenter, the sites best on carbon, water and cost per IT kWh in that
epoch, and their share of the demand, per LLM and of the whole load (each LLM's demand served up
to their capacity), over the five busiest epochs. A scenario is *capacity-bound* in the sense of
the hard scenario family when, at the peak, that whole-load share lies between 0.5 and 0.7 and
all datacenters together can still serve every LLM's peak.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from slit.inputs import compile_inputs
from slit.optimize.demand import demands_of
from slit.scenario.loader import load_scenario


def capacity_rps(inputs, utilization: float) -> np.ndarray:
    """``[model, datacenter]`` requests/s the replicas sustain at ``utilization`` of full batch
    (the routing context's estimate, :meth:`slit.inputs.PoolInputs.replica_throughput_rps` at
    the run's mean lengths per LLM)."""
    req = inputs.requests
    fleet = inputs.fleet
    out = np.zeros((len(fleet.model_ids), len(fleet.datacenter_ids)))
    for pool in fleet.pools:
        m = pool.model
        mine = req.model == m
        if m < 0 or not mine.any():
            continue
        prompt = float(req.prompt_tokens[mine].mean())
        output = float(req.output_tokens[mine].mean())
        out[m, pool.datacenter] += pool.replicas * pool.replica_throughput_rps(prompt, output)
    return out * utilization


def analyse(scenario, utilization: float = 0.8) -> dict:
    """The capacity figures of ``scenario`` (see the module doc) as a dictionary."""
    inputs = compile_inputs(scenario)
    demands = demands_of(inputs)
    cap = capacity_rps(inputs, utilization)
    sig = inputs.signals
    fleet = inputs.fleet
    total = np.array([d.rate_per_s.sum() for d in demands])
    busiest = np.argsort(-total)[:5]
    rows = []
    for e in busiest:
        d = demands[e]
        best = {
            "carbon": int(np.argmin(sig.carbon_g_per_it_kwh[e])),
            "water": int(np.argmin(sig.water_l_per_it_kwh[e])),
            "cost": int(np.argmin(sig.price_usd_per_it_mwh[e])),
        }
        sites = sorted(set(best.values()))
        per_model = {}
        for m, name in enumerate(fleet.model_ids):
            want = float(d.rate_per_s[:, m].sum())
            if want <= 0:
                continue
            per_model[name] = {
                "demand_rps": want,
                "best_sites_share": float(cap[m, sites].sum() / want),
                "all_sites_share": float(cap[m].sum() / want),
            }
        served = sum(min(v["best_sites_share"], 1.0) * v["demand_rps"] for v in per_model.values())
        rows.append({
            "epoch": int(e), "demand_rps": float(total[e]),
            "best_sites_load_share": float(served / total[e]),
            "best_sites": {k: fleet.datacenter_ids[v] for k, v in best.items()},
            "models": per_model,
        })  # fmt: skip
    worst_best = min(v["best_sites_share"] for r in rows for v in r["models"].values())
    peak = rows[0]
    worst_all = min(v["all_sites_share"] for r in rows for v in r["models"].values())
    return {
        "utilization": utilization,
        "capacity_rps": {
            dc: {m: float(cap[i, j]) for i, m in enumerate(fleet.model_ids)}
            for j, dc in enumerate(fleet.datacenter_ids)
        },
        "busiest_epochs": rows,
        "peak_best_sites_load_share": peak["best_sites_load_share"],
        "min_best_sites_share": worst_best,
        "min_all_sites_share": worst_all,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--utilization", type=float, default=0.8)
    args = parser.parse_args()
    out = analyse(load_scenario(args.scenario, args.overrides), args.utilization)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

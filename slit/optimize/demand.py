"""Per-epoch demand and impact factors of a scenario, as the fast evaluator takes them.

:func:`oracle_demands` counts the requests a run with the same seed will see in each epoch
(the oracle forecast) and takes the epoch's signals exactly as the simulator does, so that a
plan evaluated here and replayed in the simulator faces the same inputs (common random numbers).
"""

from __future__ import annotations

import numpy as np

from slit.inputs import RunInputs, compile_inputs
from slit.optimize.evaluator import EpochDemand, prompt_quantiles
from slit.scenario.loader import Scenario


def oracle_demands(
    scenario: Scenario, seed: int | None = None
) -> tuple[list[EpochDemand], list[str]]:
    """One :class:`EpochDemand` per epoch of the accounting window (horizon + drain) and the
    LLM ids, from the seed's requests and signals (see :func:`demands_of`)."""
    inputs = compile_inputs(scenario, seed=seed)
    return demands_of(inputs), list(inputs.model_ids)


def demands_of(inputs: RunInputs, interactive_only: bool = False) -> list[EpochDemand]:
    """One :class:`EpochDemand` per epoch of the accounting window (horizon + drain), from a
    run's compiled requests and signals; drain epochs have no arrivals. With
    ``interactive_only`` the rates count the interactive requests alone (the mean lengths are
    those of every request).

    The horizon's last epoch is cut at the horizon, and the drain's epochs are cut at its end,
    so that the epoch lengths add up to ``horizon_s + drain_s``."""
    timeline, signals = inputs.timeline, inputs.signals
    requests = inputs.requests.frame()
    n_o, n_m = len(inputs.fleet.region_ids), len(inputs.model_ids)
    epoch_s, end_s = timeline.epoch_s, timeline.end_s
    n_epochs, n_horizon = timeline.n_epochs, timeline.n_horizon_epochs
    epoch_of = np.minimum((requests["arrival_s"].to_numpy() // epoch_s).astype(int), n_horizon - 1)
    counted = np.ones(len(requests), bool)
    if interactive_only and inputs.requests.request_class is not None:
        counted = inputs.requests.request_class == 0
    out = []
    # mean lengths over the whole horizon keep epochs with few requests well defined
    prompt_all = np.array(
        [
            requests.loc[requests["model"] == m, "prompt_tokens"].mean()
            if (requests["model"] == m).any()
            else 1.0
            for m in range(n_m)
        ]
    )
    output_all = np.array(
        [
            requests.loc[requests["model"] == m, "output_tokens"].mean()
            if (requests["model"] == m).any()
            else 1.0
            for m in range(n_m)
        ]
    )
    # the prompt-length distribution, for the TTFT tail (quantiles at PROMPT_CELL_EDGES)
    prompt_quantiles_all = np.stack(
        [
            prompt_quantiles(requests.loc[requests["model"] == m, "prompt_tokens"].to_numpy())
            for m in range(n_m)
        ]
    )
    for e in range(n_epochs):
        # epochs after the horizon (the drain) receive no requests but their idle power counts,
        # as in the simulator's accounting window of horizon + drain
        counts = np.zeros((n_o, n_m))
        if e < n_horizon:
            here = requests[counted & (epoch_of == e)]
            np.add.at(counts, (here["origin"].to_numpy(), here["model"].to_numpy()), 1.0)
            length = min(epoch_s, timeline.horizon_s - e * epoch_s)
        else:
            length = min(epoch_s, end_s - e * epoch_s)
        if length <= 0:
            continue
        out.append(
            EpochDemand(
                rate_per_s=counts / length,
                prompt_tokens=prompt_all,
                output_tokens=output_all,
                carbon_g_per_it_kwh=signals.carbon_g_per_it_kwh[e],
                water_l_per_it_kwh=signals.water_l_per_it_kwh[e],
                price_usd_per_it_mwh=signals.price_usd_per_it_mwh[e],
                epoch_s=length,
                prompt_quantiles_tokens=prompt_quantiles_all,
            )
        )
    return out

"""slit: simulate and optimise where LLM inference requests are served across datacenters,
trading time-to-first-token against carbon, water and electricity cost.

Public API::

    import slit
    scenario = slit.load_scenario("scenarios/default.yaml", overrides=["seed=3"])
    result = slit.simulate(scenario, "lowest_carbon")
    result.summary["carbon_kg"]
    table = slit.run_sweep("experiments/smoke/sweep.yaml", "runs/smoke", jobs=2)

``slit.run_sweep`` and ``slit.run_optimize`` are loaded on first use, so that ``import slit``
stays light (the optimiser pulls in pymoo and scikit-learn).
"""

from __future__ import annotations

from slit.errors import SlitError
from slit.scenario.loader import Scenario, load_scenario
from slit.sim.results import SimResult
from slit.sim.simulate import simulate
from slit.version import __version__

__all__ = ["Scenario", "SimResult", "SlitError", "__version__", "load_scenario", "run_optimize",
           "run_sweep", "simulate"]  # fmt: skip


def __getattr__(name: str) -> object:
    # lazy: the optimiser and the sweep runner import heavy libraries
    if name == "run_optimize":
        from slit.optimize.run import run_optimize

        return run_optimize
    if name == "run_sweep":
        from slit.experiment.sweep import sweep

        return sweep
    raise AttributeError(f"module 'slit' has no attribute {name!r}")

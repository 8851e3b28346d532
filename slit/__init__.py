"""slit: simulate and optimise where LLM inference requests are served across datacenters,
trading time-to-first-token against carbon, water and electricity cost.

Public API::

    import slit
    scenario = slit.load_scenario("scenarios/default.yaml", overrides=["seed=3"])
    result = slit.simulate(scenario, "lowest_carbon")
    result.summary["carbon_kg"]
    table = slit.run_sweep("experiments/smoke/sweep.yaml", "runs/smoke", jobs=2)

Everything but ``SlitError`` and ``__version__`` is loaded on first use, so that
``import slit`` (and ``slit --help``, which imports it) stays light: the simulator pulls in
pandas and pydantic, the optimiser pymoo and scikit-learn.
"""

from __future__ import annotations

from importlib import import_module

from slit.errors import SlitError
from slit.version import __version__

_LAZY = {
    "Scenario": ("slit.scenario.loader", "Scenario"),
    "load_scenario": ("slit.scenario.loader", "load_scenario"),
    "SimResult": ("slit.sim.results", "SimResult"),
    "simulate": ("slit.sim.simulate", "simulate"),
    "run_optimize": ("slit.optimize.run", "run_optimize"),
    "run_sweep": ("slit.experiment.sweep", "sweep"),
}

__all__ = ["Scenario", "SimResult", "SlitError", "__version__", "load_scenario", "run_optimize",
           "run_sweep", "simulate"]  # fmt: skip


def __getattr__(name: str) -> object:
    """Load a public name of :data:`_LAZY` on first use (PEP 562)."""
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'slit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

"""slit: simulate and optimise where LLM inference requests are served across datacenters,
trading time-to-first-token against carbon, water and electricity cost.

Public API::

    import slit
    scenario = slit.load_scenario("scenarios/default.yaml", overrides=["seed=3"])
    result = slit.simulate(scenario, "lowest_carbon")
    result.summary["carbon_kg"]
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from slit.errors import SlitError
from slit.scenario.loader import Scenario, load_scenario
from slit.sim.results import SimResult
from slit.sim.simulate import simulate

try:
    __version__ = version("slit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["Scenario", "SimResult", "SlitError", "__version__", "load_scenario", "simulate"]

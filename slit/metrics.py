"""The metric catalogue: one name, label, unit, direction and number format per metric.

Every figure of :mod:`slit.plot` and every table of :mod:`slit.report` labels a quantity
through this module, so that a metric reads the same everywhere ("TTFT p95 [s]", never
``balanced.ttft_p95_s``). A result column may carry a prefix naming a plan or a policy
(``balanced.carbon_kg``, ``nearest.ttft_p95_s``); :func:`metric_label` puts it after the
metric ("carbon, balanced plan [kg CO2e]"). A sweep's parameter (``param.time.horizon_s``,
``param.options.pop_size``) is labelled by :func:`parameter_label`.

The units are those of docs/metrics.md: seconds, kWh, kg CO2-equivalent, litres, US dollars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["min", "max", "none"]


@dataclass(frozen=True)
class Metric:
    """One quantity of the outputs.

    Attributes:
        key: the column or summary key (``ttft_p95_s``).
        label: what it is, in words, without the unit ("TTFT p95").
        unit: the unit as printed in brackets ("s", "kg CO2e"); "" for a pure number.
        direction: ``min`` if smaller is better, ``max`` if larger is, else ``none``.
        fmt: a format spec for tables (``.3g``).
    """

    key: str
    label: str
    unit: str
    direction: Direction = "min"
    fmt: str = ".4g"

    def axis_label(self, of: str = "") -> str:
        """``label[, of] [unit]``: an axis or column heading."""
        text = f"{self.label}, {of}" if of else self.label
        return f"{text} [{self.unit}]" if self.unit else text

    def format(self, value: float) -> str:
        """``value`` in the metric's format (an empty string for a missing value)."""
        if value is None or value != value:  # None or NaN
            return ""
        return format(value, self.fmt)


_METRICS = (
    Metric("ttft_s", "TTFT mean", "s"),
    Metric("ttft_mean_s", "TTFT mean", "s"),
    Metric("ttft_p50_s", "TTFT median", "s"),
    Metric("ttft_p95_s", "TTFT p95", "s"),
    Metric("ttft_p99_s", "TTFT p99", "s"),
    Metric("tpot_s", "TPOT mean", "s"),
    Metric("tpot_p95_s", "TPOT p95", "s"),
    Metric("e2e_s", "end-to-end latency mean", "s"),
    Metric("e2e_p95_s", "end-to-end latency p95", "s"),
    Metric("slo_attainment", "SLO attainment", "fraction", "max", ".3f"),
    Metric("slo_ttft_s", "TTFT SLO", "s", "none"),
    Metric("deadline_misses", "deadline misses", "", "min", ",.0f"),
    Metric("defer_s", "wait before release", "s"),
    Metric("requests", "requests", "", "none", ",.0f"),
    Metric("completed", "completed requests", "", "max", ",.0f"),
    Metric("dropped", "dropped requests", "", "min", ",.0f"),
    Metric("energy_kwh", "energy", "kWh"),
    Metric("it_energy_kwh", "IT energy", "kWh"),
    Metric("carbon_kg", "carbon", "kg CO2e"),
    Metric("carbon_operational_kg", "operational carbon", "kg CO2e"),
    Metric("carbon_embodied_kg", "embodied carbon", "kg CO2e"),
    Metric("carbon_average_kg", "operational carbon at average intensity", "kg CO2e"),
    Metric("carbon_marginal_kg", "operational carbon at marginal intensity", "kg CO2e"),
    Metric("water_l", "water", "L"),
    Metric("water_onsite_l", "on-site water", "L"),
    Metric("water_offsite_l", "off-site water", "L"),
    Metric("cost_usd", "cost", "USD"),
    Metric("gpu_utilization", "GPU utilisation", "fraction", "none", ".3f"),
    Metric("powered_gpu_hours", "powered GPU time", "GPU-h", "min", ",.1f"),
    Metric("pareto_size", "plans on the front", "", "none", ".0f"),
    Metric("hypervolume_mean", "hypervolume", "normalised", "max", ".4f"),
    Metric("wall_s", "wall time", "s", "min", ".3g"),
    Metric("optimise_wall_s", "search wall time", "s", "min", ".3g"),
    Metric("carbon_g_per_kwh", "carbon intensity", "gCO2e/kWh", "none"),
    Metric("marginal_carbon_g_per_kwh", "marginal carbon intensity", "gCO2e/kWh", "none"),
    Metric("water_l_per_it_kwh", "water intensity", "L/kWh IT", "none"),
    Metric("price_usd_per_mwh", "electricity price", "USD/MWh", "none"),
)
METRICS: dict[str, Metric] = {m.key: m for m in _METRICS}
"""Every catalogued metric by key."""

PLAN_NAMES = {"balanced": "balanced plan", "ttft": "TTFT-first plan", "carbon": "carbon-first plan",
              "water": "water-first plan", "cost": "cost-first plan",
              "knee": "knee plan"}  # fmt: skip
"""How a decision variant's prefix reads in a label."""

_UNIT_SUFFIXES = (("_per_s", "1/s"), ("_s", "s"), ("_kg", "kg"), ("_l", "L"), ("_usd", "USD"),
                  ("_kwh", "kWh"), ("_mwh", "MWh"), ("_gb", "GB"), ("_ms", "ms"),
                  ("_c", "°C"), ("_w", "W"))  # fmt: skip

OPTION_LABELS = {
    "pop_size": ("population size", ""),
    "evaluations": ("evaluations per epoch", ""),
    "signal_error": ("signal forecast error (sd)", "fraction"),
    "front_replays": ("front plans replayed", ""),
    "time_budget_s": ("search time per epoch", "s"),
    "algorithm": ("algorithm", ""),
    "forecaster": ("demand forecaster", ""),
    "policy": ("routing policy", ""),
}
"""Labels of the ``slit optimize`` options a sweep may vary (``options.NAME``)."""


def metric(key: str) -> Metric | None:
    """The catalogued metric of a column (prefix ignored), or None."""
    return METRICS.get(key.rsplit(".", 1)[-1])


def _split_unit(name: str) -> tuple[str, str]:
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], unit
    return name, ""


def metric_label(key: str) -> str:
    """An axis or column heading for a result column, with its unit.

    ``carbon_kg`` -> "carbon [kg CO2e]"; ``balanced.ttft_p95_s`` -> "TTFT p95, balanced plan
    [s]"; ``nearest.cost_usd`` -> "cost, nearest [USD]"; an uncatalogued ``foo_kwh`` ->
    "foo [kWh]".
    """
    prefix, _, base = key.rpartition(".")
    of = PLAN_NAMES.get(prefix, prefix.replace("_", " "))
    m = METRICS.get(base)
    if m is not None:
        return m.axis_label(of)
    name, unit = _split_unit(base)
    text = name.replace("_", " ") + (f", {of}" if of else "")
    return f"{text} [{unit}]" if unit else text


def parameter_label(key: str) -> str:
    """An axis heading for a swept parameter: ``param.time.horizon_s`` -> "time: horizon [s]",
    ``param.options.pop_size`` -> "population size", ``param.routing.policy`` -> "routing:
    policy"."""
    key = key.removeprefix("param.")
    if key.startswith("options."):
        name = key.removeprefix("options.")
        label, unit = OPTION_LABELS.get(name, _split_unit(name))
        label = label.replace("_", " ")
        return f"{label} [{unit}]" if unit else label
    section, _, name = key.rpartition(".")
    name, unit = _split_unit(name)
    text = name.replace("_", " ")
    if section:
        text = f"{section.replace('_', ' ')}: {text}"
    return f"{text} [{unit}]" if unit else text

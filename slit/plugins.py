"""The plug-in points of slit, one :class:`~slit.registry.Registry` each.

They sit at the bottom of the package (they import nothing of slit but the registry type), so
every layer can read them: the scenario validator lists the routing policies and the file
formats without importing the simulator or the readers. The built-in entries are added by the
modules that define them (:mod:`slit.sim.policies` and :mod:`slit.sim.baselines`,
:mod:`slit.optimize.algorithms` and :mod:`slit.optimize.slit_algorithm`,
:mod:`slit.optimize.forecast`, :mod:`slit.traces.grid_readers`, :mod:`slit.traces.requests`),
which a registry imports the first time it is read; a plug-in of your own is added the same
way, e.g. ``@register_policy("mine")`` on a :class:`~slit.sim.policies.RoutingPolicy`
subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slit.registry import Registry

if TYPE_CHECKING:  # type-only: the registries do not import the layers that fill them
    from slit.optimize.forecast import Forecaster
    from slit.sim.policies import RoutingPolicy
    from slit.traces.requests import RequestReader

POLICIES: Registry[type[RoutingPolicy]] = Registry(
    "routing policy", "slit list policies", ("slit.sim.policies", "slit.sim.baselines")
)
"""Routing policies: :class:`~slit.sim.policies.RoutingPolicy` subclasses by name."""

DEFERRALS: Registry[type[Any]] = Registry(
    "deferral policy", "slit list deferrals", ("slit.sim.deferral",)
)
"""Deferral policies of deferrable requests: :class:`~slit.sim.deferral.DeferralPolicy`
subclasses by name."""

ALGORITHMS: Registry[Callable[..., Any]] = Registry(
    "algorithm",
    "slit list algorithms",
    ("slit.optimize.algorithms", "slit.optimize.slit_algorithm"),
)
"""Multi-objective algorithms: ``factory(pop_size, n_obj, seed, **context) -> pymoo
Algorithm``, each with a one-line description."""

FORECASTERS: Registry[Callable[..., Forecaster]] = Registry(
    "forecaster", "slit optimize --help", ("slit.optimize.forecast",)
)
"""Demand forecasters: ``factory(**params) -> forecaster(history, truth) -> prediction``."""

GRID_FORMATS: Registry[Callable[..., Any]] = Registry(
    "grid-signal format", "slit traces list", ("slit.traces.grid_readers",)
)
"""Grid-signal file readers: ``reader(path, label, **options) -> DataFrame``, each with a
one-line description."""

REQUEST_FORMATS: Registry[RequestReader] = Registry(
    "request-trace format", "slit traces list", ("slit.traces.requests",)
)
"""Request-trace readers (:class:`~slit.traces.requests.RequestReader`)."""

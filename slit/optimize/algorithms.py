"""An open registry of multi-objective algorithms that solve the epoch problem.

Every entry builds a pymoo ``Algorithm`` for a population size and a seed; the optimiser never
knows which one it runs. The pymoo algorithms are registered here, SLIT's own in
:mod:`slit.optimize.slit_algorithm`; more are added with :func:`register_algorithm`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from slit.errors import RegistryError
from slit.plugins import ALGORITHMS

AlgorithmFactory = Callable[[int, int, int], Any]
"""``factory(pop_size, n_obj, seed) -> pymoo Algorithm``."""


def register_algorithm(
    name: str, description: str, *, replace: bool = False
) -> Callable[[AlgorithmFactory], AlgorithmFactory]:
    """Decorator adding an algorithm factory to :data:`slit.plugins.ALGORITHMS` under ``name``
    (a name already taken is an error unless ``replace=True``)."""
    return ALGORITHMS.register(name, description=description, replace=replace)


def algorithm_names() -> list[str]:
    """Registered algorithm names."""
    return ALGORITHMS.names()


def algorithm_description(name: str) -> str:
    """One line on what the algorithm is."""
    return ALGORITHMS.description(name)


def make_algorithm(name: str, pop_size: int, n_obj: int, seed: int, **context: Any) -> Any:
    """A fresh pymoo algorithm instance.

    Raises:
        RegistryError: unknown name (the message lists the registered ones).
    """
    factory = ALGORITHMS.get(name)
    # state kept across the epochs of one optimisation (SLIT's learned guide) goes to
    # factories that take it
    import inspect

    accepted = inspect.signature(factory).parameters
    return factory(pop_size, n_obj, seed, **{k: v for k, v in context.items() if k in accepted})


def _ref_dirs(n_obj: int, pop_size: int, seed: int) -> Any:
    # each algorithm gets its own writable copy: pymoo's compiled NSGA-III niching takes a
    # writable buffer, and the cached directions are read-only so that no run can alter them
    return reference_directions(n_obj, pop_size).copy()


@cache
def reference_directions(n_obj: int, n: int) -> Any:
    """Riesz s-energy weight vectors: exactly ``n`` of them for any number of objectives.

    Computing them takes about a second, so they are made once per size (with a fixed seed:
    the same directions for every epoch and run) and reused.
    """
    from pymoo.util.ref_dirs import get_reference_directions

    dirs = get_reference_directions("energy", n_obj, n, seed=1)
    dirs.setflags(write=False)
    return dirs


@register_algorithm("nsga2", "NSGA-II (Deb et al. 2002): non-dominated sorting and crowding")
def _nsga2(pop_size: int, n_obj: int, seed: int) -> Any:
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return NSGA2(pop_size=pop_size)


@register_algorithm("nsga3", "NSGA-III (Deb & Jain 2014): reference-direction niching")
def _nsga3(pop_size: int, n_obj: int, seed: int) -> Any:
    from pymoo.algorithms.moo.nsga3 import NSGA3

    return NSGA3(ref_dirs=_ref_dirs(n_obj, pop_size, seed), pop_size=pop_size)


@register_algorithm("moead", "MOEA/D (Zhang & Li 2007): decomposition with Tchebycheff weights")
def _moead(pop_size: int, n_obj: int, seed: int) -> Any:
    from pymoo.algorithms.moo.moead import MOEAD

    return MOEAD(ref_dirs=_ref_dirs(n_obj, pop_size, seed), n_neighbors=min(15, pop_size - 1))


@register_algorithm("agemoea2", "AGE-MOEA2 (Panichella 2022): adaptive geometry (needs numba)")
def _agemoea2(pop_size: int, n_obj: int, seed: int) -> Any:
    try:
        from pymoo.algorithms.moo.age2 import AGEMOEA2
    except Exception:  # pymoo raises a bare Exception when numba is missing
        raise RegistryError("algorithm 'agemoea2' needs numba: pip install numba") from None
    return AGEMOEA2(pop_size=pop_size)


@register_algorithm("smsemoa", "SMS-EMOA (Beume et al. 2007): hypervolume-contribution selection")
def _smsemoa(pop_size: int, n_obj: int, seed: int) -> Any:
    from pymoo.algorithms.moo.sms import SMSEMOA

    return SMSEMOA(pop_size=pop_size)


@register_algorithm("rvea", "RVEA (Cheng et al. 2016): reference vectors, angle-penalised")
def _rvea(pop_size: int, n_obj: int, seed: int) -> Any:
    from pymoo.algorithms.moo.rvea import RVEA

    return RVEA(ref_dirs=_ref_dirs(n_obj, pop_size, seed))


@register_algorithm("random", "Random search: uniform allocations, the non-dominated ones kept")
def _random(pop_size: int, n_obj: int, seed: int) -> Any:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.mutation import Mutation

    class Resample(Mutation):  # type: ignore[misc]
        """Replace every offspring by a fresh uniform sample: pure random search."""

        def _do(self, problem: Any, X: Any, **kwargs: Any) -> Any:
            import numpy as np

            rng = np.random.default_rng(kwargs.get("random_state"))
            return rng.uniform(problem.xl, problem.xu, size=X.shape)

    return NSGA2(pop_size=pop_size, mutation=Resample(prob=1.0))

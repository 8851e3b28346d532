"""Routing policies: which datacenter serves a request. An open registry.

A policy sees a :class:`RoutingContext` (static facts: RTTs, per-epoch signals, which datacenters
serve which LLM, which datacenters each origin may use, a random generator) and, per request,
the origin, the LLM, the time and the live load of each datacenter. Add your own with::

    @register_policy("mine")
    class Mine(RoutingPolicy):
        def choose(self, origin, model, t_s, load): ...

A policy must pick one of ``self.candidates_for(origin, model)``: the datacenters that serve the
LLM and that the origin may use under the scenario's data residency (the simulator refuses any
other choice).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from slit.errors import Problem, RoutingError, ScenarioError

if TYPE_CHECKING:
    from slit.inputs import RunInputs
    from slit.scenario.loader import Scenario
from slit.plugins import POLICIES

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RoutingContext:
    """What a policy may know before the simulation starts.

    Attributes:
        region_ids: origin regions, in index order.
        datacenter_ids: datacenters, in index order.
        model_ids: LLMs, in index order.
        rtt_ms: ``[origin, datacenter]`` round-trip time, ms.
        serves: ``[model, datacenter]`` True where the datacenter has replicas of the model.
        epoch_s: epoch length, s.
        carbon_g_per_kwh, water_l_per_kwh, price_usd_per_mwh: ``[epoch, datacenter]`` signals
            per kWh of *IT* energy (PUE and water factors folded in), i.e. what one more kWh of
            serving costs there at that time.
        capacity: ``[datacenter]`` replicas able to serve, used to normalise load.
        rng: the policy's own random generator.
        throughput_rps: ``[model, datacenter]`` requests/s the datacenter's replicas of the LLM
            can sustain at full batch for the run's mean prompt and output lengths (None when
            not computed).
        slots: ``[model, datacenter]`` requests the datacenter's replicas of the LLM hold at
            once at full batch (batch slots, or KV cache over the mean request), None when not
            computed.
        slo_ttft_s: the scenario's TTFT objective, s (None when not given).
        allowed: ``[origin, datacenter]`` True where the origin's requests may be served (data
            residency; None: everywhere).
        datacenter_regions: the region id of each datacenter (for messages; may be empty).
    """

    region_ids: tuple[str, ...]
    datacenter_ids: tuple[str, ...]
    model_ids: tuple[str, ...]
    rtt_ms: FloatArray
    serves: npt.NDArray[np.bool_]
    epoch_s: float
    carbon_g_per_kwh: FloatArray
    water_l_per_kwh: FloatArray
    price_usd_per_mwh: FloatArray
    capacity: FloatArray
    rng: np.random.Generator
    throughput_rps: FloatArray | None = None
    slots: FloatArray | None = None
    slo_ttft_s: float | None = None
    allowed: npt.NDArray[np.bool_] | None = None
    datacenter_regions: tuple[str, ...] = ()

    def allowed_rows(self) -> list[list[bool]] | None:
        """``allowed`` as nested lists (read per request by the simulator's check), or None
        when every origin may use every datacenter."""
        if self.allowed is None or self.allowed.all():
            return None
        return [[bool(v) for v in row] for row in self.allowed]

    def epoch_of(self, t_s: float) -> int:
        """Index of the epoch holding time ``t_s`` (clamped to the last epoch)."""
        return min(int(t_s // self.epoch_s), self.carbon_g_per_kwh.shape[0] - 1)


class NoParams(BaseModel):
    """A policy without parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutingPolicy(ABC):
    """Base class of routing policies.

    Subclasses set ``Params`` (a pydantic model of their parameters) and implement
    :meth:`choose`. :meth:`setup` is called once with the context before the first request.
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    uses_load: ClassVar[bool] = True
    """Whether :meth:`choose` reads ``load``. A policy that sets this False decides from the
    request, its arrival time and its own state alone, so the simulator routes all its requests
    before the run, in arrival order (the same calls in the same order: the same random draws),
    and saves an event per request. Leave it True in your own policies unless sure."""

    def __init__(self, **params: Any) -> None:
        self.params = self.Params.model_validate(params)
        self.ctx: RoutingContext | None = None
        self.candidates: list[npt.NDArray[np.int64]] = []
        self.by_origin: list[list[npt.NDArray[np.int64]]] = []

    def check_names(self, region_ids: list[str], datacenter_ids: list[str]) -> None:
        """Refuse (ScenarioError) parameters naming regions or datacenters the scenario does
        not have; called by ``slit validate``. Most policies name none."""
        return None

    def check_scenario(self, scenario: Scenario) -> None:
        """Refuse (ScenarioError) parameters the scenario cannot use; called by ``slit
        validate``. By default :meth:`check_names` with the scenario's region and datacenter
        ids."""
        cfg = scenario.config
        self.check_names([r.id for r in cfg.regions], [dc.id for dc in cfg.datacenters])

    def setup(self, ctx: RoutingContext) -> None:
        """Receive the static context; precompute the candidate datacenters: per LLM those
        that serve it (``candidates[model]``) and per origin and LLM those of them the origin
        may use (``by_origin[origin][model]``, :meth:`candidates_for`)."""
        self.ctx = ctx
        self.candidates = [np.flatnonzero(ctx.serves[m]) for m in range(len(ctx.model_ids))]
        n_o = len(ctx.region_ids)
        if ctx.allowed is None or ctx.allowed.all():
            self.by_origin = [self.candidates] * n_o  # the same arrays: nothing restricted
        else:
            self.by_origin = [
                [np.flatnonzero(ctx.serves[m] & ctx.allowed[o]) for m in range(len(ctx.model_ids))]
                for o in range(n_o)
            ]
        self._rtt_rows: list[list[float]] = ctx.rtt_ms.tolist()  # for _argmin's tie-break

    def candidates_for(self, origin: int, model: int) -> npt.NDArray[np.int64]:
        """The datacenters that serve the LLM and that the origin may use (data residency),
        in index order: the choices :meth:`choose` may make."""
        return self.by_origin[origin][model]

    def place(self, scenario: Scenario, inputs: RunInputs) -> Scenario:
        """The scenario the run serves with, called once before :meth:`setup`: unchanged,
        unless the policy also decides where model replicas run (``helix`` places them on the
        datacenters' GPUs). A policy that changes it may change only the datacenters' pools;
        ``inputs`` are the run's compiled inputs (requests, signals, the fleet as given)."""
        return scenario

    @abstractmethod
    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        """Index of the datacenter that serves this request, one of
        ``self.candidates_for(origin, model)`` (the simulator refuses a datacenter the origin
        may not use).

        Args:
            origin: index of the origin region.
            model: index of the LLM.
            t_s: simulation time, s.
            load: ``[datacenter]`` requests in flight per able replica, now: a read-only
                view of the simulator's live array (copy it to keep it). A policy whose
                ``uses_load`` is False is handed zeros, and its requests are routed before
                the run, in arrival order.
        """

    def _argmin(self, values: FloatArray, cand: npt.NDArray[np.int64], origin: int) -> int:
        """Candidate with the lowest value; ties go to the lower RTT, then the lower index."""
        assert self.ctx is not None
        vals = values.tolist()
        if sum(vals) != sum(vals):  # a NaN (or opposite infinities): numpy's order, NaN last
            order = np.lexsort((cand, self.ctx.rtt_ms[origin, cand], values))
            return int(cand[order[0]])
        # the same order as the lexsort above, on plain Python numbers (called per request by
        # the load-aware policies, for a handful of candidates)
        ids = cand.tolist()
        rtt = self._rtt_rows[origin]
        return min(zip(vals, [rtt[c] for c in ids], ids, strict=True))[2]


def residency_violation(policy: RoutingPolicy, origin: int, datacenter: int) -> RoutingError:
    """The error of a policy that chose, for a request of ``origin``, a datacenter its data
    residency forbids (the simulator checks every choice). A plain message: the simulator
    re-raises a process's exception from its arguments."""
    ctx = policy.ctx
    assert ctx is not None
    origin_id, dc = ctx.region_ids[origin], ctx.datacenter_ids[datacenter]
    region = ctx.datacenter_regions[datacenter] if ctx.datacenter_regions else "?"
    allowed = ctx.allowed[origin] if ctx.allowed is not None else np.ones(len(ctx.datacenter_ids))
    may = ", ".join(ctx.datacenter_ids[d] for d in np.flatnonzero(allowed)) or "none"
    name = policy.name or type(policy).__name__
    problem = Problem(
        "routing.policy",
        f"policy '{name}' sent a request of origin '{origin_id}' to datacenter '{dc}' in "
        f"region '{region}', outside the origin's data residency (it may use: {may})",
        "a policy must choose among self.candidates_for(origin, model); fix the policy, "
        f"or allow region '{region}' in data_residency.{origin_id}",
    )
    return RoutingError(str(problem))


def register_policy(
    name: str, *, replace: bool = False
) -> Callable[[type[RoutingPolicy]], type[RoutingPolicy]]:
    """Class decorator adding a policy to :data:`slit.plugins.POLICIES` under ``name`` (a name
    already taken is an error unless ``replace=True``)."""

    def deco(cls: type[RoutingPolicy]) -> type[RoutingPolicy]:
        cls.name = name
        return POLICIES.add(name, cls, replace=replace)

    return deco


def policy_names() -> list[str]:
    """Names of all registered policies."""
    return POLICIES.names()


def policy_class(name: str) -> type[RoutingPolicy]:
    """The policy class registered as ``name`` (:class:`~slit.errors.RegistryError` naming the
    valid ones if there is none)."""
    return POLICIES.get(name)


def make_policy(name: str, params: dict[str, Any] | None = None) -> RoutingPolicy:
    """Instantiate a registered policy; bad parameters raise a located ScenarioError."""
    cls = policy_class(name)
    try:
        return cls(**(params or {}))
    except ValidationError as exc:
        raise params_error(exc, "routing.params", name, cls.Params) from None


def params_error(
    exc: ValidationError, where: str, name: str, params: type[BaseModel]
) -> ScenarioError:
    """The located ScenarioError of a plug-in's bad parameters (``where``: the scenario key
    that holds them), naming the parameters ``name`` takes."""
    return ScenarioError([
        Problem(
            where + "".join(f".{p}" for p in err["loc"]),
            err["msg"] if err["type"] != "extra_forbidden" else "unknown parameter",
            f"parameters of '{name}': {', '.join(params.model_fields) or '(none)'}",
        )
        for err in exc.errors(include_url=False)
    ])  # fmt: skip


# --------------------------------------------------------------------------------------------
# The built-in policies


@register_policy("nearest")
class Nearest(RoutingPolicy):
    """The datacenter with the lowest RTT from the origin."""

    uses_load: ClassVar[bool] = False

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        # nested lists of ints: read once per request, cheaper than numpy indexing
        self._best = [
            [self._argmin(ctx.rtt_ms[o, c], c, o) if len(c) else -1 for c in self.by_origin[o]]
            for o in range(len(ctx.region_ids))
        ]

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        return self._best[origin][model]


@register_policy("round_robin")
class RoundRobin(RoutingPolicy):
    """Each LLM's able datacenters in turn, whatever the origin (under data residency, the
    origins that may use the same datacenters share one turn over them)."""

    uses_load: ClassVar[bool] = False

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        # one rotation per distinct candidate list: without residency one per LLM, as before
        rotations: dict[tuple[int, tuple[int, ...]], int] = {}
        self._cands: list[list[int]] = []
        self._rotation: list[list[int]] = []  # [origin][model] -> index of its rotation
        for o in range(len(ctx.region_ids)):
            row = []
            for m, cand in enumerate(self.by_origin[o]):
                key = (m, tuple(int(d) for d in cand))
                if key not in rotations:
                    rotations[key] = len(self._cands)
                    self._cands.append(list(key[1]))
                row.append(rotations[key])
            self._rotation.append(row)
        self._next = [0] * len(self._cands)

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        r = self._rotation[origin][model]
        cand = self._cands[r]
        i = self._next[r]
        self._next[r] = (i + 1) % len(cand)
        return cand[i]


@register_policy("least_loaded")
class LeastLoaded(RoutingPolicy):
    """The datacenter with the fewest requests in flight per able replica."""

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        cand = self.by_origin[origin][model]
        return self._argmin(load[cand], cand, origin)


class _LowestSignal(RoutingPolicy):
    """The datacenter where one more kWh is cheapest in some signal at the current epoch."""

    signal: ClassVar[str] = ""
    uses_load: ClassVar[bool] = False

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        # the choice depends only on (epoch, origin, model): work it out once per key
        self._chosen: dict[tuple[int, int, int], int] = {}

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        assert self.ctx is not None
        key = (self.ctx.epoch_of(t_s), origin, model)
        best = self._chosen.get(key)
        if best is None:
            cand = self.by_origin[origin][model]
            values = getattr(self.ctx, self.signal)[key[0], cand]
            best = self._chosen[key] = self._argmin(values, cand, origin)
        return best


@register_policy("lowest_carbon")
class LowestCarbon(_LowestSignal):
    """The datacenter with the lowest carbon per kWh of IT energy (PUE x grid intensity)."""

    signal = "carbon_g_per_kwh"


@register_policy("lowest_water")
class LowestWater(_LowestSignal):
    """The datacenter with the lowest water per kWh of IT energy (WUE + PUE x EWIF)."""

    signal = "water_l_per_kwh"


@register_policy("lowest_cost")
class LowestCost(_LowestSignal):
    """The datacenter with the lowest electricity cost per kWh of IT energy (PUE x price)."""

    signal = "price_usd_per_mwh"


class WeightedParams(BaseModel):
    """Weights of the normalised terms of the ``weighted`` policy's score (all >= 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    latency: float = Field(1.0, ge=0)
    carbon: float = Field(1.0, ge=0)
    water: float = Field(1.0, ge=0)
    cost: float = Field(1.0, ge=0)
    load: float = Field(1.0, ge=0)


def _minmax(x: FloatArray) -> FloatArray:
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


@register_policy("weighted")
class Weighted(RoutingPolicy):
    """Lowest weighted sum of min-max normalised RTT, carbon, water, cost and load."""

    Params = WeightedParams

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        # the terms that do not depend on the load, per (epoch, origin, model)
        self._static: dict[tuple[int, int, int], FloatArray] = {}

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        assert self.ctx is not None
        p: Any = self.params
        ctx = self.ctx
        cand = self.by_origin[origin][model]
        e = ctx.epoch_of(t_s)
        key = (e, origin, model)
        static = self._static.get(key)
        if static is None:
            # summed in the order of the whole score, so adding the load term last gives the
            # same doubles as summing all five per request
            static = self._static[key] = (
                p.latency * _minmax(ctx.rtt_ms[origin, cand])
                + p.carbon * _minmax(ctx.carbon_g_per_kwh[e, cand])
                + p.water * _minmax(ctx.water_l_per_kwh[e, cand])
                + p.cost * _minmax(ctx.price_usd_per_mwh[e, cand])
            )
        score = static + p.load * _minmax(load[cand])
        return self._argmin(score, cand, origin)


class PlanParams(BaseModel):
    """Allocation ``A[origin][datacenter]`` = share of the origin's requests sent there.

    ``allocation`` holds for every epoch; ``epochs`` (a list, one allocation per epoch, the last
    repeated) overrides it. Rows are renormalised over the datacenters able to serve the LLM.
    A positive share on a datacenter outside the origin's data residency is an error.
    """

    # a share is finite and >= 0: NaN would silently send an origin elsewhere
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    allocation: dict[str, dict[str, Annotated[float, Field(ge=0)]]] = Field(default_factory=dict)
    epochs: list[dict[str, dict[str, Annotated[float, Field(ge=0)]]]] = Field(
        default_factory=list
    )


@register_policy("plan")
class Plan(RoutingPolicy):
    """Follow a per-epoch allocation matrix ``A[origin, datacenter]`` by sampling each request.

    Where a row puts no weight on a datacenter able to serve the request's LLM, the request goes
    to the nearest able one the origin may use (counted in ``fallbacks``). The choice does not
    read the load, so the requests are routed before the run (in arrival order: the same random
    draws). A plan that puts a positive share on a datacenter outside an origin's data
    residency is refused (ScenarioError naming the origin, the datacenter and its region).
    """

    Params = PlanParams
    uses_load: ClassVar[bool] = False

    def __init__(self, matrix: FloatArray | None = None, **params: Any) -> None:
        super().__init__(**params)
        self._matrix_in = matrix
        self.fallbacks = 0

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        n_o, n_d = len(ctx.region_ids), len(ctx.datacenter_ids)
        if self._matrix_in is not None:
            m = np.asarray(self._matrix_in, float)
            m = m[None] if m.ndim == 2 else m
            if m.shape[1:] != (n_o, n_d):
                raise ScenarioError(
                    [
                        Problem(
                            "routing.params",
                            f"plan matrix has shape {m.shape}, expected (epochs, {n_o}, {n_d})",
                            "",
                        )
                    ]
                )
        else:
            p: Any = self.params
            tables = p.epochs or [p.allocation]
            m = np.stack([self._table(t, ctx) for t in tables])
        if (m < 0).any():
            raise ScenarioError([Problem("routing.params", "plan shares must be >= 0", "")])
        if ctx.allowed is not None:
            problems = self._outside(m, ctx.allowed, ctx.region_ids, ctx.datacenter_ids,
                                     ctx.datacenter_regions)  # fmt: skip
            if problems:
                raise ScenarioError(problems)
        self._plan = m
        self._rows: dict[tuple[int, int, int], tuple[list[float], float, list[int]]] = {}
        self._nearest = Nearest()
        self._nearest.setup(ctx)

    def check_names(self, region_ids: list[str], datacenter_ids: list[str]) -> None:
        """Refuse origins and datacenters of the allocation that the scenario does not have
        (what ``slit validate`` checks before a run)."""
        from types import SimpleNamespace

        ids = SimpleNamespace(region_ids=list(region_ids), datacenter_ids=list(datacenter_ids))
        p: Any = self.params
        for table in p.epochs or [p.allocation]:
            self._table(table, ids)  # type: ignore[arg-type]

    def check_scenario(self, scenario: Scenario) -> None:
        """:meth:`check_names`, and no positive share outside an origin's data residency."""
        from slit.inputs.fleet import data_residency_mask

        super().check_scenario(scenario)
        cfg = scenario.config
        if self._matrix_in is not None or not cfg.data_residency:
            return
        from types import SimpleNamespace

        region_ids = [r.id for r in cfg.regions]
        dc_ids = [dc.id for dc in cfg.datacenters]
        ids = SimpleNamespace(region_ids=region_ids, datacenter_ids=dc_ids)
        p: Any = self.params
        m = np.stack([self._table(t, ids) for t in p.epochs or [p.allocation]])  # type: ignore[arg-type]
        problems = self._outside(m, data_residency_mask(scenario), region_ids, dc_ids,
                                 [dc.region for dc in cfg.datacenters])  # fmt: skip
        if problems:
            raise ScenarioError(problems)

    def _outside(
        self,
        plan: FloatArray,
        allowed: npt.NDArray[np.bool_],
        region_ids: Any,
        datacenter_ids: Any,
        datacenter_regions: Any,
    ) -> list[Problem]:
        """One problem per (origin, datacenter) on which ``plan`` (``[epoch, origin,
        datacenter]``) puts a positive share that the origin's data residency forbids."""
        p: Any = self.params
        problems = []
        bad = (plan > 0) & ~np.asarray(allowed, bool)[None]
        for o, d in zip(*np.nonzero(bad.any(axis=0)), strict=True):
            epochs = np.flatnonzero(bad[:, o, d])
            origin, dc = region_ids[o], datacenter_ids[d]
            region = datacenter_regions[d] if len(datacenter_regions) else "?"
            if self._matrix_in is not None:
                where = "routing.params (plan matrix)"
            elif p.epochs:
                where = f"routing.params.epochs[{epochs[0]}].{origin}.{dc}"
            else:
                where = f"routing.params.allocation.{origin}.{dc}"
            allowed_dcs = [datacenter_ids[k] for k in np.flatnonzero(allowed[o])]
            problems.append(Problem(
                where,
                f"the plan gives origin '{origin}' a share of {float(plan[epochs[0], o, d]):.4g} "
                f"on datacenter '{dc}' in region '{region}'"
                + (f" (in {len(epochs)} epochs, the first {epochs[0]})" if len(epochs) > 1
                   else f" (epoch {epochs[0]})" if plan.shape[0] > 1 else "")
                + ", outside the origin's data residency",
                f"give '{dc}' a share of 0 for '{origin}' (it may use "
                f"{', '.join(allowed_dcs) or 'no datacenter'}), or allow region '{region}' in "
                f"data_residency.{origin}",
            ))  # fmt: skip
        return problems

    @staticmethod
    def _table(table: dict[str, dict[str, float]], ctx: RoutingContext) -> FloatArray:
        out = np.zeros((len(ctx.region_ids), len(ctx.datacenter_ids)))
        problems = []
        for origin, row in table.items():
            if origin not in ctx.region_ids:
                problems.append(
                    Problem(
                        f"routing.params.allocation.{origin}",
                        "unknown region",
                        f"valid: {', '.join(ctx.region_ids)}",
                    )
                )
                continue
            for dc, share in row.items():
                if dc not in ctx.datacenter_ids:
                    problems.append(
                        Problem(
                            f"routing.params.allocation.{origin}.{dc}",
                            "unknown datacenter",
                            f"valid: {', '.join(ctx.datacenter_ids)}",
                        )
                    )
                    continue
                out[ctx.region_ids.index(origin), ctx.datacenter_ids.index(dc)] = share
        if problems:
            raise ScenarioError(problems)
        return out

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        assert self.ctx is not None
        e = min(self.ctx.epoch_of(t_s), self._plan.shape[0] - 1)
        key = (e, origin, model)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = self._row(e, origin, model)
        cum, total, cand = row
        if total <= 0:
            self.fallbacks += 1
            return self._nearest.choose(origin, model, t_s, load)
        u = self.ctx.rng.random() * total
        return cand[min(bisect_right(cum, u), len(cand) - 1)]

    def _row(self, e: int, origin: int, model: int) -> tuple[list[float], float, list[int]]:
        """The cumulative shares of one (epoch, origin, LLM) over the able datacenters, their
        total and the datacenters, as plain Python numbers (worked out once per key: the
        sums are numpy's, so the draws fall where they would with numpy per request)."""
        cand = self.by_origin[origin][model]
        weights = self._plan[e, origin, cand]
        return np.cumsum(weights).tolist(), float(weights.sum()), [int(c) for c in cand]


class PlanSpillParams(PlanParams):
    """Parameters of ``plan+spill``: the plan's, and how close to the TTFT SLO the planned
    datacenter's predicted TTFT may come before a request spills."""

    headroom: float = Field(1.0, gt=0, le=10)


@register_policy("plan+spill")
class PlanSpill(Plan):
    """Follow the epoch's plan, but spill a request elsewhere when the planned datacenter's
    live queue would break the TTFT SLO.

    The predicted TTFT at datacenter ``d`` is ``RTT/2 + W_d`` with the queueing wait
    ``W_d = max(0, N_d - S_d) / X_d``: ``N_d`` the requests in flight there now, ``S_d`` the
    requests its replicas hold at full batch and ``X_d`` their full-batch throughput (every
    LLM of the datacenter together, a live estimate that needs no model of its own). When the
    planned datacenter's prediction exceeds ``headroom x slo.ttft_s``, the request goes to the
    datacenter of the highest planned share (then the lowest prediction) among those whose
    prediction stays within it, or, if none does, to the one with the lowest prediction
    (``spills`` counts the requests sent elsewhere than planned)."""

    Params = PlanSpillParams
    uses_load: ClassVar[bool] = True

    def __init__(self, matrix: FloatArray | None = None, **params: Any) -> None:
        super().__init__(matrix, **params)
        self.spills = 0

    def setup(self, ctx: RoutingContext) -> None:
        super().setup(ctx)
        n_d = len(ctx.datacenter_ids)
        thr = ctx.throughput_rps.sum(axis=0) if ctx.throughput_rps is not None else np.ones(n_d)
        slots = ctx.slots.sum(axis=0) if ctx.slots is not None else np.zeros(n_d)
        p: Any = self.params
        slo = ctx.slo_ttft_s if ctx.slo_ttft_s is not None else 2.0
        self._limit = p.headroom * slo
        self._cap = np.maximum(ctx.capacity, 1.0).tolist()
        self._slots = slots.tolist()
        self._thr = np.maximum(thr, 1e-9).tolist()
        self._half_rtt = (ctx.rtt_ms / 2000.0).tolist()

    def _predicted(self, origin: int, d: int, load: FloatArray) -> float:
        waiting = load[d] * self._cap[d] - self._slots[d]
        wait = waiting / self._thr[d] if waiting > 0 else 0.0
        return float(self._half_rtt[origin][d] + wait)

    def choose(self, origin: int, model: int, t_s: float, load: FloatArray) -> int:
        d = super().choose(origin, model, t_s, load)
        limit = self._limit
        if self._predicted(origin, d, load) <= limit:
            return d
        assert self.ctx is not None
        e = min(self.ctx.epoch_of(t_s), self._plan.shape[0] - 1)
        cand = [int(c) for c in self.candidates_for(origin, model)]
        pred = [self._predicted(origin, c, load) for c in cand]
        ok = [i for i, p in enumerate(pred) if p <= limit]
        if ok:
            share = self._plan[e, origin]
            i = min(ok, key=lambda i: (-share[cand[i]], pred[i], cand[i]))
        else:
            i = min(range(len(cand)), key=lambda i: (pred[i], cand[i]))
        if cand[i] != d:
            self.spills += 1
        return cand[i]

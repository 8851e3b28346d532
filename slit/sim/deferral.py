"""Deferral policies: *when* a deferrable request is served. An open registry.

A request of a deferrable class (``workload.classes``) has a completion deadline instead of a
TTFT objective. A deferral policy decides, before the run, when each deferrable request leaves
its origin (its *release*) and, optionally, which datacenter serves it; until its release it
waits at its origin. A released request without a datacenter is routed by the scenario's
routing policy at its release time, exactly as an interactive request is at its arrival.

The decision reads the request and the run's forecast-free signals (the same
:class:`~slit.sim.policies.RoutingContext` routing policies get), never the live load, so the
whole schedule is worked out before the run (:func:`schedule_releases`). Add your own with::

    @register_deferral("mine")
    class Mine(DeferralPolicy):
        def schedule(self, jobs, ctx): ...

Waiting is modelled at the origin: holding the request at the datacenter instead differs only
in when its prompt crosses the network (tens of milliseconds against hours of waiting).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from slit.plugins import DEFERRALS
from slit.sim.policies import NoParams, RoutingContext, params_error

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DeferrableJobs:
    """The deferrable requests of a run, in arrival order.

    Attributes:
        index: each one's index among all the run's requests (its ``request_id``).
        origin, model: indices of its origin region and LLM.
        arrival_s: arrival at the origin, s from the run's start.
        deadline_at_s: the time it must complete by (arrival + its class's deadline), s.
        end_s: end of the run (horizon + drain), s: a release at or after it never happens.
        candidates: ``[origin][model]`` the datacenters that may serve such a request (they
            serve the LLM and, under data residency, the origin may use them).
    """

    index: IntArray
    origin: IntArray
    model: IntArray
    arrival_s: FloatArray
    deadline_at_s: FloatArray
    end_s: float
    candidates: list[list[IntArray]]

    def __len__(self) -> int:
        return len(self.index)


@dataclass(frozen=True)
class Releases:
    """What a deferral policy decided for each of the :class:`DeferrableJobs`.

    Attributes:
        release_s: when it leaves its origin, s (at least its arrival).
        datacenter: the datacenter that serves it, or -1 for the routing policy's choice at
            the release time.
    """

    release_s: FloatArray
    datacenter: IntArray


class DeferralPolicy(ABC):
    """Base class of deferral policies: set ``Params`` (a pydantic model of the parameters)
    and implement :meth:`schedule`."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, **params: Any) -> None:
        self.params = self.Params.model_validate(params)

    @abstractmethod
    def schedule(self, jobs: DeferrableJobs, ctx: RoutingContext) -> Releases:
        """The release time (>= arrival) and the datacenter (a candidate, or -1) of each
        deferrable request."""


def register_deferral(
    name: str, *, replace: bool = False
) -> Callable[[type[DeferralPolicy]], type[DeferralPolicy]]:
    """Class decorator adding a deferral policy to :data:`slit.plugins.DEFERRALS`."""

    def deco(cls: type[DeferralPolicy]) -> type[DeferralPolicy]:
        cls.name = name
        return DEFERRALS.add(name, cls, description=_first_line(cls.__doc__), replace=replace)

    return deco


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0]


def deferral_names() -> list[str]:
    """Names of all registered deferral policies."""
    return DEFERRALS.names()


def make_deferral(name: str, params: dict[str, Any] | None = None) -> DeferralPolicy:
    """Instantiate a registered deferral policy; bad parameters raise a located
    ScenarioError (at ``routing.deferral.params``)."""
    cls = DEFERRALS.get(name)
    try:
        policy: DeferralPolicy = cls(**(params or {}))
    except ValidationError as exc:
        raise params_error(exc, "routing.deferral.params", name, cls.Params) from None
    return policy


def schedule_releases(
    policy: DeferralPolicy, jobs: DeferrableJobs, ctx: RoutingContext
) -> Releases:
    """Run ``policy`` and check what it returned (a policy of one's own may err): one release
    per job, none before its arrival, every datacenter a candidate of the job or -1.

    Raises:
        ValueError: the policy broke one of these rules (naming the policy and the request).
    """
    out = policy.schedule(jobs, ctx)
    release = np.asarray(out.release_s, dtype=np.float64)
    dc = np.asarray(out.datacenter, dtype=np.int64)
    name = policy.name or type(policy).__name__
    if release.shape != (len(jobs),) or dc.shape != (len(jobs),):
        raise ValueError(
            f"deferral policy {name!r} returned {release.shape} release times and {dc.shape} "
            f"datacenters for {len(jobs)} deferrable requests"
        )
    bad = np.flatnonzero(~(release >= jobs.arrival_s))  # NaN too
    if len(bad):
        i = bad[0]
        raise ValueError(
            f"deferral policy {name!r} released request {int(jobs.index[i])} at "
            f"{release[i]!r} s, before its arrival at {jobs.arrival_s[i]!r} s"
        )
    for i in np.flatnonzero(dc >= 0):
        if dc[i] not in jobs.candidates[jobs.origin[i]][jobs.model[i]]:
            raise ValueError(
                f"deferral policy {name!r} sent request {int(jobs.index[i])} to datacenter "
                f"{ctx.datacenter_ids[dc[i]] if dc[i] < len(ctx.datacenter_ids) else dc[i]!r},"
                " which may not serve it (it does not serve its LLM, or the origin's data may "
                "not go there)"
            )
    return Releases(release, dc)


# --------------------------------------------------------------------------------------------
# The built-in policies


@register_deferral("at_once")
class AtOnce(DeferralPolicy):
    """Serve each deferrable request as it arrives (the run-at-once baseline)."""

    def schedule(self, jobs: DeferrableJobs, ctx: RoutingContext) -> Releases:
        return Releases(jobs.arrival_s.copy(), np.full(len(jobs), -1, dtype=np.int64))


class CleanestParams(BaseModel):
    """Parameters of the ``cleanest`` deferral policy."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    signal: Literal["carbon", "water", "cost"] = Field(
        "carbon", description="The signal whose lowest epoch and datacenter are chosen."
    )
    margin_s: float | None = Field(
        None,
        ge=0,
        le=366 * 86400.0,
        description="Time kept before the deadline (and the run's end) to serve the request,"
        " s; default one epoch.",
    )
    datacenter: Literal["own", "route"] = Field(
        "own",
        description="own: serve at the datacenter of the chosen (epoch, datacenter); route: "
        "only wait for the epoch whose best datacenter is cleanest and let the routing policy "
        "choose where.",
    )


_SIGNALS = {"carbon": "carbon_g_per_kwh", "water": "water_l_per_kwh", "cost": "price_usd_per_mwh"}


@register_deferral("cleanest")
class Cleanest(DeferralPolicy):
    """Wait for the cleanest epoch before the deadline (greedy, per request).

    For a request arriving in epoch ``e0`` with deadline ``D``, the epochs ``e0 .. e1`` whose
    start lies before ``min(D, end) - margin`` are the window; the policy picks the (epoch,
    datacenter) of the window and the request's candidates with the lowest signal per kWh of IT
    energy (``carbon``: grid intensity x PUE, as ``lowest_carbon`` reads it; ties go to the
    earlier epoch, then the lower RTT, then the lower index). The request leaves at once if that
    epoch is ``e0``, else at the same offset into the chosen epoch as it arrived into its own
    (so the released load keeps the arrivals' shape instead of landing in one burst), never
    after the window's latest start. The signals are the run's own: the policy knows the
    future signals exactly (a perfect forecast), which makes it an upper bound of what greedy
    waiting can gain.
    """

    Params = CleanestParams

    def schedule(self, jobs: DeferrableJobs, ctx: RoutingContext) -> Releases:
        p: Any = self.params
        epoch_s = ctx.epoch_s
        values = getattr(ctx, _SIGNALS[p.signal])
        n_epochs = values.shape[0]
        margin = epoch_s if p.margin_s is None else p.margin_s
        release = jobs.arrival_s.copy()
        dc = np.full(len(jobs), -1, dtype=np.int64)
        chosen: dict[tuple[int, int, int, int], tuple[int, int]] = {}
        rtt = ctx.rtt_ms
        for i in range(len(jobs)):
            t = float(jobs.arrival_s[i])
            o, m = int(jobs.origin[i]), int(jobs.model[i])
            cand = jobs.candidates[o][m]
            if len(cand) == 0:
                continue  # no datacenter may serve it: the routing policy's fallback decides
            latest = min(float(jobs.deadline_at_s[i]), jobs.end_s) - margin
            e0 = min(int(t // epoch_s), n_epochs - 1)
            e1 = min(int(latest // epoch_s), n_epochs - 1) if latest > t else e0
            e1 = max(e0, e1)
            key = (o, m, e0, e1)
            best = chosen.get(key)
            if best is None:
                window = values[e0 : e1 + 1][:, cand]  # [epoch, candidate]
                # lowest value, then earliest epoch, then lowest RTT, then lowest index
                ee, cc = np.meshgrid(np.arange(e0, e1 + 1), cand, indexing="ij")
                order = np.lexsort(
                    (cc.ravel(), rtt[o, cc.ravel()], ee.ravel(), window.ravel())
                )
                j = int(order[0])
                best = chosen[key] = (int(ee.ravel()[j]), int(cc.ravel()[j]))
            e, d = best
            if e > e0:
                offset = t - e0 * epoch_s
                release[i] = max(t, min(e * epoch_s + offset, latest))
            if p.datacenter == "own":
                dc[i] = d
        return Releases(release, dc)


class PlannedRelease(DeferralPolicy):
    """Release the real backlog as a shift plan says (the replay of an optimised plan,
    :class:`slit.optimize.shifting.ShiftPlan`).

    Epoch by epoch, each (origin, LLM)'s backlog (deferrable requests arrived by the epoch's
    end and not yet released) is released earliest deadline first: the plan's fraction of it
    to each datacenter, rounded down, the remainder by largest fraction. A request whose window
    ends in this epoch is released now whatever the plan says, to its cheapest datacenter by
    the plan's score (the deadline's safety net). A request waiting from an earlier epoch
    leaves at the same offset into this epoch as it arrived into its own; one arriving in this
    epoch leaves on arrival; none after its window's latest start.
    """

    name = "planned"

    def __init__(self, fractions: FloatArray, score: FloatArray, margin_s: float) -> None:
        """``fractions[epoch, origin, model, datacenter]`` of the backlog to release,
        ``score[epoch, datacenter]`` the plan's cost per IT kWh (for the safety net),
        ``margin_s`` the time kept before each deadline, s."""
        super().__init__()
        self.fractions = np.asarray(fractions, float)
        self.score = np.asarray(score, float)
        self.margin_s = float(margin_s)
        self.forced = 0

    def schedule(self, jobs: DeferrableJobs, ctx: RoutingContext) -> Releases:
        plan = self
        epoch_s = ctx.epoch_s
        n_e = plan.fractions.shape[0]
        release = jobs.arrival_s.copy()
        dc = np.full(len(jobs), -1, dtype=np.int64)
        latest = np.minimum(jobs.deadline_at_s, jobs.end_s) - plan.margin_s
        arrival_epoch = np.minimum((jobs.arrival_s // epoch_s).astype(np.int64), n_e - 1)
        last_epoch = np.clip((np.maximum(latest, jobs.arrival_s) // epoch_s).astype(np.int64),
                             arrival_epoch, n_e - 1)  # fmt: skip
        backlog: dict[tuple[int, int], list[int]] = {}
        by_epoch: dict[int, list[int]] = {}
        for i in range(len(jobs)):
            by_epoch.setdefault(int(arrival_epoch[i]), []).append(i)

        def leave(i: int, e: int, d: int) -> None:
            t = float(jobs.arrival_s[i])
            if e > arrival_epoch[i]:
                t = max(t, min(e * epoch_s + (t - arrival_epoch[i] * epoch_s), float(latest[i])))
            release[i], dc[i] = t, d

        for e in range(n_e):
            for i in by_epoch.get(e, ()):
                backlog.setdefault((int(jobs.origin[i]), int(jobs.model[i])), []).append(i)
            for (o, m), waiting in backlog.items():
                if not waiting:
                    continue
                cand = jobs.candidates[o][m]
                if len(cand) == 0:
                    for i in waiting:
                        leave(i, e, -1)
                    waiting.clear()
                    continue
                waiting.sort(key=lambda i: (jobs.deadline_at_s[i], i))
                f = plan.fractions[e, o, m, cand]
                want = f * len(waiting)
                k = np.floor(want + 1e-9).astype(np.int64)
                extra = min(len(waiting), int(round(float(want.sum())))) - int(k.sum())
                if extra > 0:
                    k[np.argsort(-(want - k), kind="stable")[:extra]] += 1
                queue = deque(waiting)
                kept: list[int] = []
                for j, d in enumerate(cand):
                    for _ in range(int(k[j])):
                        if queue:
                            leave(queue.popleft(), e, int(d))
                best = int(cand[int(np.argmin(plan.score[e, cand]))])
                for i in queue:
                    if last_epoch[i] <= e:
                        leave(i, e, best)
                        self.forced += 1
                    else:
                        kept.append(i)
                waiting[:] = kept
        for waiting in backlog.values():  # past the plan's last epoch: at once
            for i in waiting:
                release[i] = jobs.arrival_s[i]
        return Releases(release, dc)

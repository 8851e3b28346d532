"""Results of one simulation: flat per-request records, per-epoch per-datacenter series, summary.

Summary keys (see docs/metrics.md): ``requests``, ``completed``, ``dropped``, ``ttft_s``,
``tpot_s``, ``e2e_s`` (each ``{mean, p50, p95, p99}`` over completed requests), ``slo_attainment``
(share of *all* requests that completed within both SLOs), ``energy_kwh`` (facility),
``it_energy_kwh``, ``carbon_kg`` (= ``carbon_operational_kg`` + ``carbon_embodied_kg``),
``carbon_average_kg`` and ``carbon_marginal_kg`` (operational carbon at either intensity; None
where a region has no marginal intensity), ``water_l`` (on-site + off-site, scarcity-weighted),
``cost_usd``, ``per_datacenter`` (the same totals by datacenter), ``deadline_misses``,
``classes`` (counts, objective attainment, latencies and waits by request class) and, only for
a scenario with a ``data_residency`` section, ``data_residency`` (:class:`DataResidencySummary`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd


class _Fields(Mapping[str, Any]):
    """A frozen dataclass that also reads as the JSON object it serialises to: ``x["key"]``
    is ``x.key``, and iterating gives the keys in the JSON's order."""

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def _keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """The plain JSON-ready dictionary (nested records as dictionaries)."""
        return asdict(self)  # type: ignore[call-overload,no-any-return]


@dataclass(frozen=True, eq=True)
class LatencyStats(_Fields):
    """Mean and percentiles of one latency over the completed requests, s (None when no
    request completed)."""

    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, eq=True)
class DatacenterTotals(_Fields):
    """One datacenter's share of a run: requests routed there and its totals."""

    requests: int
    completed: int
    it_energy_kwh: float
    energy_kwh: float
    carbon_kg: float
    carbon_operational_kg: float
    carbon_embodied_kg: float
    carbon_average_kg: float
    carbon_marginal_kg: float | None
    water_l: float
    water_onsite_l: float
    water_offsite_l: float
    cost_usd: float
    gpu_utilization: float
    powered_gpu_hours: float


@dataclass(frozen=True, eq=True)
class ClassSummary(_Fields):
    """The requests of one class (``interactive`` or a deferrable class) in a run.

    Attributes:
        requests, completed: counts.
        deadline_s: the class's completion deadline after arrival, s (None: interactive).
        slo_attainment: share of the class's requests that met its objective (interactive: the
            TTFT and TPOT SLOs; deferrable: completion within the deadline).
        deadline_misses: deferrable requests that did not complete within their deadline.
        ttft_s, e2e_s: over the completed requests, from *arrival* (a deferred request's
            include its wait at the origin), s.
        defer_s: the wait at the origin before release, over the released requests, s.
    """

    requests: int
    completed: int
    deadline_s: float | None
    slo_attainment: float | None
    deadline_misses: int
    ttft_s: LatencyStats
    e2e_s: LatencyStats
    defer_s: LatencyStats


@dataclass(frozen=True, eq=True)
class DataResidencySummary(_Fields):
    """How a run kept its data residency (the ``data_residency`` block of ``summary.json``).

    Attributes:
        origins: each restricted origin region and the regions that may serve it.
        requests: requests from those origins.
        requests_served_outside: requests routed to a datacenter outside their origin's
            regions (0: the simulator refuses such a choice; a check of the records).
    """

    origins: dict[str, list[str]]
    requests: int
    requests_served_outside: int


@dataclass(frozen=True, eq=True)
class RunSummary(_Fields):
    """The summary of one run (``summary.json``; docs/metrics.md gives every key).

    Attributes:
        requests, completed, dropped: counts; ``drop_reasons`` counts the dropped by reason.
        ttft_s, tpot_s, e2e_s: latency statistics over the completed *interactive* requests
            (every request, in a workload without deferrable classes), s.
        slo_attainment: share of all requests that met their class's objective (interactive:
            completed within both SLOs; deferrable: completed within the deadline); None for a
            run without requests.
        deadline_misses: deferrable requests that did not complete within their deadline.
        classes: the same by request class (:class:`ClassSummary`).
        it_energy_kwh, energy_kwh: IT and facility energy, kWh.
        carbon_kg, water_l, water_onsite_l, water_offsite_l, cost_usd: impacts (water
            scarcity-weighted).
        per_datacenter: the totals by datacenter id.
        carbon_operational_kg, carbon_embodied_kg: the two parts of ``carbon_kg``: operational
            at the scenario's chosen intensity, and embodied (0 when not counted).
        carbon_average_kg, carbon_marginal_kg: operational carbon at the average and at the
            marginal intensity (the latter None unless every datacenter's region gives one).
        data_residency: how the run kept its data residency; None (and left out of the
            JSON) for a scenario without it.
    """

    requests: int
    completed: int
    dropped: int
    drop_reasons: dict[str, int]
    ttft_s: LatencyStats
    tpot_s: LatencyStats
    e2e_s: LatencyStats
    slo_attainment: float | None
    deadline_misses: int
    it_energy_kwh: float
    energy_kwh: float
    carbon_kg: float
    carbon_operational_kg: float
    carbon_embodied_kg: float
    carbon_average_kg: float
    carbon_marginal_kg: float | None
    water_l: float
    water_onsite_l: float
    water_offsite_l: float
    cost_usd: float
    powered_gpu_hours: float
    per_datacenter: dict[str, DatacenterTotals]
    classes: dict[str, ClassSummary]
    data_residency: DataResidencySummary | None = None

    def _keys(self) -> tuple[str, ...]:
        keys = super()._keys()
        # a run without data residency has the summary it had before the key existed
        return keys if self.data_residency is not None else keys[:-1]

    def to_dict(self) -> dict[str, Any]:
        """The plain JSON-ready dictionary (``data_residency`` only when set)."""
        out = super().to_dict()
        if self.data_residency is None:
            del out["data_residency"]
        return out


def data_residency_summary(
    requests: pd.DataFrame, timeseries: pd.DataFrame, residency: Mapping[str, Sequence[str]]
) -> DataResidencySummary | None:
    """The ``data_residency`` block of a run's summary (None without residency): the
    restricted origins, their requests and how many of them were routed outside their
    regions (datacenter regions read from the time series)."""
    if not residency:
        return None
    region_of = dict(zip(timeseries["datacenter"].astype(str), timeseries["region"].astype(str),
                         strict=True))  # fmt: skip
    origin = requests["origin"].astype(str).to_numpy()
    mine = np.isin(origin, list(residency))
    dc = requests["datacenter"].astype(object).to_numpy()[mine]
    outside = sum(
        1 for o, d in zip(origin[mine], dc, strict=True)
        if isinstance(d, str) and region_of[d] not in residency[o]
    )  # fmt: skip
    return DataResidencySummary(
        origins={o: list(r) for o, r in residency.items()},
        requests=int(mine.sum()),
        requests_served_outside=int(outside),
    )


def _stats(values: pd.Series) -> LatencyStats:
    v = values.dropna().to_numpy(float)
    if len(v) == 0:
        return LatencyStats(None, None, None, None)
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    return LatencyStats(float(v.mean()), float(p50), float(p95), float(p99))


TOTAL_COLUMNS = (
    "it_energy_kwh",
    "energy_kwh",
    "carbon_kg",
    "water_l",
    "water_onsite_l",
    "water_offsite_l",
    "cost_usd",
)
CARBON_COLUMNS = ("carbon_operational_kg", "carbon_embodied_kg", "carbon_average_kg")
"""Carbon totals beside ``carbon_kg`` (its two parts and the average-intensity figure)."""


def _powered_gpu_hours(frame: pd.DataFrame) -> float:
    """GPU-hours powered: every provisioned GPU's time less what scale to zero and capacity
    control released."""
    released = frame["released_gpu_s"].sum() if "released_gpu_s" in frame else 0.0
    return float((frame["gpu_s"].sum() - released) / 3600.0)


def _marginal_total(frame: pd.DataFrame) -> float | None:
    """The sum of ``carbon_marginal_kg``; None if any row lacks it (a region without a
    marginal intensity: a partial sum would read as a total)."""
    values = frame["carbon_marginal_kg"].to_numpy(dtype=float)
    if len(values) == 0 or np.isnan(values).any():
        return None
    return float(values.sum())


def slo_windows_met(requests: pd.DataFrame, epoch_s: float, ttft_slo_s: float,
                    q: float = 0.95) -> float:  # fmt: skip
    """Share of the (epoch, origin) windows with requests whose TTFT ``q`` quantile is within
    ``ttft_slo_s``: the SLO read in every epoch, as the optimiser's default constraint reads
    it, where the run's own p95 reads it over the whole run. A request that did not complete
    counts as late. NaN without requests."""
    if not len(requests):
        return float("nan")
    ttft = requests["ttft_s"].to_numpy(dtype=float)
    ttft = np.where(np.isnan(ttft), np.inf, ttft)
    frame = pd.DataFrame({
        "epoch": (requests["arrival_s"].to_numpy(dtype=float) // epoch_s).astype(np.int64),
        "origin": requests["origin"].astype(str).to_numpy(),
        "ttft": ttft,
    })  # fmt: skip
    # the q quantile is within the SLO when at most 1 - q of the window's requests exceed it
    late = (frame["ttft"] > ttft_slo_s).groupby([frame["epoch"], frame["origin"]]).mean()
    return float((late <= 1.0 - q + 1e-12).mean())


def summary_metrics(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The flat per-run metrics of a summary (units in the names), as sweeps and the
    optimiser's replays tabulate them: requests, completed, dropped, TTFT mean and p95, TPOT
    p95, end-to-end p95, SLO attainment, deadline misses, energy, carbon (with its operational
    and embodied parts), water, cost."""
    return {
        "requests": summary["requests"], "completed": summary["completed"],
        "dropped": summary["dropped"], "ttft_mean_s": summary["ttft_s"]["mean"],
        "ttft_p95_s": summary["ttft_s"]["p95"], "tpot_p95_s": summary["tpot_s"]["p95"],
        "e2e_p95_s": summary["e2e_s"]["p95"], "slo_attainment": summary["slo_attainment"],
        "deadline_misses": summary.get("deadline_misses", 0),
        "energy_kwh": summary["energy_kwh"], "carbon_kg": summary["carbon_kg"],
        "water_l": summary["water_l"], "cost_usd": summary["cost_usd"],
        "carbon_operational_kg": summary.get("carbon_operational_kg"),
        "carbon_embodied_kg": summary.get("carbon_embodied_kg"),
    }  # fmt: skip


def _class_summaries(requests: pd.DataFrame) -> dict[str, ClassSummary]:
    """:class:`ClassSummary` of each request class (all ``interactive`` without the column)."""
    if "request_class" in requests:
        names = [str(c) for c in requests["request_class"].cat.categories]
        groups = {name: requests[requests["request_class"] == name] for name in names}
    else:
        groups = {"interactive": requests}
    out = {}
    for name, grp in groups.items():
        n = len(grp)
        deadline = grp["deadline_s"].dropna() if "deadline_s" in grp else pd.Series([])
        done = grp[grp["completed"]]
        out[name] = ClassSummary(
            requests=int(n),
            completed=int(grp["completed"].sum()),
            deadline_s=float(deadline.iloc[0]) if name != "interactive" and len(deadline)
            else None,
            slo_attainment=float(grp["slo_met"].sum() / n) if n else None,
            deadline_misses=int(grp["deadline_missed"].sum()) if "deadline_missed" in grp
            else 0,
            ttft_s=_stats(done["ttft_s"]),
            e2e_s=_stats(done["e2e_s"]),
            defer_s=_stats(grp["defer_s"] if "defer_s" in grp else pd.Series(np.zeros(n))),
        )
    return out


def summarize(
    requests: pd.DataFrame,
    timeseries: pd.DataFrame,
    data_residency: Mapping[str, Sequence[str]] | None = None,
) -> RunSummary:
    """The summary of a run (see the module docstring for the keys); ``data_residency`` is
    the scenario's section (origin -> allowed regions), if any."""
    interactive = (
        requests["request_class"] == "interactive" if "request_class" in requests else None
    )
    done = requests[requests["completed"] & (True if interactive is None else interactive)]
    totals = timeseries[list(TOTAL_COLUMNS)].sum()
    per_dc: dict[str, DatacenterTotals] = {}
    for dc, grp in timeseries.groupby("datacenter", sort=False):
        served = requests[requests["datacenter"] == dc]
        per_dc[str(dc)] = DatacenterTotals(
            requests=int(len(served)),
            completed=int(served["completed"].sum()),
            **{k: float(grp[k].sum()) for k in TOTAL_COLUMNS},
            gpu_utilization=float(grp["busy_gpu_s"].sum() / max(grp["gpu_s"].sum(), 1e-12)),
            powered_gpu_hours=_powered_gpu_hours(grp),
            **{k: float(grp[k].sum()) for k in CARBON_COLUMNS},
            carbon_marginal_kg=_marginal_total(grp),
        )
    n = len(requests)
    return RunSummary(
        requests=int(n),
        completed=int(requests["completed"].sum()),
        dropped=int((~requests["completed"]).sum()),
        drop_reasons={
            str(k): int(v)
            for k, v in requests.loc[~requests["completed"], "drop_reason"]
            .astype(str)
            .value_counts()
            .sort_index()
            .items()
        },
        ttft_s=_stats(done["ttft_s"]),
        tpot_s=_stats(done["tpot_s"]),
        e2e_s=_stats(done["e2e_s"]),
        slo_attainment=float(requests["slo_met"].sum() / n) if n else None,
        deadline_misses=int(requests["deadline_missed"].sum())
        if "deadline_missed" in requests
        else 0,
        **{k: float(totals[k]) for k in TOTAL_COLUMNS},
        powered_gpu_hours=_powered_gpu_hours(timeseries),
        per_datacenter=per_dc,
        **{k: float(timeseries[k].sum()) for k in CARBON_COLUMNS},
        carbon_marginal_kg=_marginal_total(timeseries),
        classes=_class_summaries(requests),
        data_residency=data_residency_summary(requests, timeseries, data_residency or {}),
    )


@dataclass
class SimResult:
    """Everything one simulation produced.

    Attributes:
        requests: one row per request (see docs/metrics.md for the columns and units).
        timeseries: one row per epoch x datacenter.
        summary: totals and latency statistics (:class:`RunSummary`; reads as a mapping
            too, ``summary["carbon_kg"]``).
        metadata: seed, timings and counters of the run.
    """

    requests: pd.DataFrame
    timeseries: pd.DataFrame
    summary: RunSummary
    metadata: dict[str, Any] = field(default_factory=dict)

    def summary_json(self) -> str:
        """The summary as stable, pretty JSON text (what ``summary.json`` holds)."""
        from slit.jsonio import dumps

        return dumps(self.summary.to_dict(), indent=2, sort_keys=False) + "\n"

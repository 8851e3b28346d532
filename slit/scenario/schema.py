"""The scenario schema: every key a scenario YAML may hold, with its unit, default and bounds.

The schema is a tree of frozen pydantic models that reject unknown keys. Cross-references (a
datacenter's region, a pool's GPU and LLM, a routing policy) are checked by field validators that
read the names that exist from the validation *context*, so that one validation pass reports every
problem at once (pydantic skips model-level validators when a field fails, field validators it
does not).
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from slit.catalogue.gpus import GpuSpec
from slit.catalogue.llms import KvCacheDtype, LlmSpec, WeightPrecision
from slit.models.ranges import SIGNAL_RANGES
from slit.models.water import DEFAULT_WUE_SCALE

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
YEAR_S = 366 * 86400.0
"""The longest horizon, drain or shift a scenario may give, s (a leap year)."""
Seconds = Annotated[float, Field(gt=0, le=YEAR_S)]
Weight = Annotated[float, Field(gt=0, le=1.0e9)]
"""A relative weight (origins, LLMs): only ratios matter, bounded so that sums stay finite."""
Scale = Annotated[float, Field(ge=0, le=1000)]
PriceScale = Annotated[float, Field(ge=-1000, le=1000)]


def _ranged(name: str) -> Any:
    r = SIGNAL_RANGES[name]
    return Annotated[float, Field(ge=r.lo, le=r.hi, description=f"{r.unit}; {r.why}")]


# constant signals take the ranges the data-file readers check (slit.models.ranges)
CarbonGPerKwh = _ranged("carbon_g_per_kwh")
PriceUsdPerMwh = _ranged("price_usd_per_mwh")
WetbulbC = _ranged("wetbulb_c")
EwifLPerKwh = _ranged("ewif_l_per_kwh")
RttMs = Annotated[float, Field(ge=0, le=100_000)]
Tokens = Annotated[int, Field(ge=1, le=10_000_000)]
MAX_EPOCHS = 1_000_000
"""The most decision epochs a horizon may hold."""
MAX_REPLICAS = 1_000_000
"""The most replicas one pool may have."""


class Strict(BaseModel):
    """Base of every scenario section: frozen, unknown keys rejected, every number finite
    (``.inf`` and ``.nan`` are errors; the bounds of each field are physical ranges, see
    docs/scenario.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_SINGULAR = {
    "gpus": "GPU type",
    "llms": "LLM",
    "regions": "region",
    "zones": "grid zone",
    "policies": "policy",
    "deferrals": "deferral policy",
    "grid_formats": "grid-file format",
    "request_formats": "request-trace format",
}


def _check_known(value: str, info: ValidationInfo, kind: str) -> str:
    """Raise a ValueError naming the valid choices if ``value`` is not a known ``kind``."""
    known = (info.context or {}).get(kind)
    if known is None or value in known:
        return value
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    valid = ", ".join(sorted(known)) or "(none defined)"
    raise ValueError(f"unknown {_SINGULAR.get(kind, kind)} '{value}'.{hint} Valid: {valid}")


# --------------------------------------------------------------------------------------------
# Catalog entries a scenario may add (or override) next to the bundled catalogs


class CatalogAdditions(Strict):
    """User-defined GPU types and LLMs, merged over the bundled catalogs."""

    gpus: dict[str, GpuSpec] = Field(default_factory=dict)
    llms: dict[str, LlmSpec] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Time


START_YEARS = (1900, 2200)
"""The years a scenario may start in (inclusive)."""


class TimeConfig(Strict):
    """The simulated period: UTC start, horizon, decision epoch and drain time."""

    start_utc: AwareDatetime = Field(
        default=datetime.fromisoformat("2023-07-15T00:00:00+00:00"),
        description="UTC start of the simulated period (ISO 8601 with a timezone).",
    )
    horizon_s: Seconds = Field(86400.0, description="Arrivals happen in [0, horizon_s) s.")
    epoch_s: Annotated[float, Field(gt=0, le=YEAR_S)] = Field(
        900.0,
        description="Decision/accounting epoch length, s; the horizon holds at most "
        "1,000,000 epochs.",
    )
    drain_s: Annotated[float, Field(ge=0, le=YEAR_S)] = Field(
        3600.0,
        description="After the horizon, requests in flight may finish for this long, s; "
        "requests still unfinished then are counted as dropped ('unfinished').",
    )

    @field_validator("start_utc")
    @classmethod
    def _start_in_range(cls, v: datetime) -> datetime:
        # the calendar of every signal, trace and output: years a pandas timestamp holds,
        # with a year of horizon and drain to spare
        if not START_YEARS[0] <= v.astimezone(UTC).year <= START_YEARS[1]:
            raise ValueError(
                f"start_utc {v.isoformat()} is outside the years {START_YEARS[0]}-"
                f"{START_YEARS[1]} slit simulates; give a start such as 2023-07-15T00:00:00Z"
            )
        return v

    @field_validator("epoch_s")
    @classmethod
    def _epoch_le_horizon(cls, v: float, info: ValidationInfo) -> float:
        horizon = info.data.get("horizon_s")
        if horizon is not None and v > horizon:
            raise ValueError(
                f"epoch_s ({v:g} s) is longer than horizon_s ({horizon:g} s); "
                "make the epoch shorter or the horizon longer"
            )
        if horizon is not None and horizon / v > MAX_EPOCHS:
            raise ValueError(
                f"epoch_s ({v:g} s) makes {horizon / v:.3g} epochs of the {horizon:g} s "
                f"horizon; at most {MAX_EPOCHS:,} are allowed: make the epoch longer"
            )
        return v


# --------------------------------------------------------------------------------------------
# Regions and their grid signals


class ProfileSignals(Strict):
    """Hourly signals generated from the bundled month x hour profile of a grid zone."""

    source: Literal["profile"] = "profile"
    zone: str | None = Field(None, description="Grid zone id; defaults to the region's zone.")
    noise_scale: Annotated[float, Field(ge=0, le=10)] = Field(
        1.0, description="Multiplier of the profile's hour-to-hour spread (0 = the mean day)."
    )
    carbon_scale: Scale = Field(1.0, description="Multiplier applied to carbon intensity.")
    price_scale: PriceScale = Field(1.0, description="Multiplier applied to the electricity price.")


class ConstantSignals(Strict):
    """Signals that do not change over time."""

    source: Literal["constant"]
    carbon_g_per_kwh: CarbonGPerKwh
    price_usd_per_mwh: PriceUsdPerMwh
    wetbulb_c: WetbulbC = 15.0
    ewif_l_per_kwh: EwifLPerKwh = 2.0
    marginal_carbon_g_per_kwh: CarbonGPerKwh | None = Field(
        None,
        description="Marginal carbon intensity, gCO2e/kWh (emissions of the generators that "
        "answer a change in load); none by default (carbon.intensity: marginal needs it).",
    )


class GridRepairConfig(Strict):
    """Repairs of hourly input files; all off, so that nothing is changed silently.

    Every repair made is listed in the run's ``metadata.json`` under ``inputs.repairs``.
    """

    sort: bool = Field(False, description="Sort rows by time instead of rejecting disorder.")
    drop_duplicates: bool = Field(False, description="Keep the first row of a repeated time.")
    fill_gaps: Literal["none", "ffill", "linear"] = Field(
        "none", description="Fill missing hours by holding the last value or interpolating."
    )
    max_gap_h: Annotated[int, Field(ge=1)] = Field(
        6, description="Longest gap (hours) that fill_gaps may fill."
    )
    fill_nan: Literal["none", "ffill", "linear"] = Field("none", description="Fill NaN values.")
    clip_negative: bool = Field(
        False, description="Set negative carbon intensity or EWIF values to 0."
    )


class CsvSignals(Strict):
    """Hourly signals read from a CSV with a ``time_utc`` column and unit-named value columns."""

    source: Literal["csv"]
    path: str
    carbon_scale: Scale = 1.0
    price_scale: PriceScale = 1.0
    repair: GridRepairConfig = Field(default_factory=GridRepairConfig)


class SignalFile(Strict):
    """One hourly file and the column of it that gives a signal (see ``slit traces formats``)."""

    path: str = Field(description="The file, relative to the scenario file.")
    format: str = Field("csv", description="Reader: electricitymaps, eia930, prices, ...")
    column: str | None = Field(
        None, description="Column to use; defaults to the signal's own unit-named column."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Reader options, e.g. water_table: macknick2012."
    )
    shift_years: Annotated[int, Field(ge=-200, le=200)] = Field(
        0,
        description="Move the file's times by whole years (e.g. 1 to use 2023 data for a 2024 "
        "scenario); hours keep their weekday-free calendar position.",
    )

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str, info: ValidationInfo) -> str:
        return _check_known(v, info, "grid_formats")


class FileSignals(Strict):
    """Signals from real hourly files; a signal not given comes from the zone's profile.

    Each of ``carbon``, ``price``, ``wetbulb`` and ``ewif`` is a file, a constant number, or
    omitted (then drawn from the bundled profile of ``zone``, or of the region's zone).
    ``marginal_carbon`` is a file, a number or omitted (then the region has no marginal
    intensity: the bundled profiles hold average intensity only).
    """

    source: Literal["files"]
    carbon: SignalFile | CarbonGPerKwh | None = Field(None, description="gCO2e/kWh.")
    price: SignalFile | PriceUsdPerMwh | None = Field(None, description="USD/MWh.")
    wetbulb: SignalFile | WetbulbC | None = Field(None, description="Wet-bulb temperature, °C.")
    ewif: SignalFile | EwifLPerKwh | None = Field(
        None, description="Water consumed per kWh generated, L/kWh."
    )
    marginal_carbon: SignalFile | CarbonGPerKwh | None = Field(
        None,
        description="Marginal carbon intensity, gCO2e/kWh (e.g. a WattTime MOER file, format "
        "watttime); no profile holds it, so omitted means none (carbon.intensity: marginal "
        "needs it).",
    )
    zone: str | None = Field(None, description="Zone of the profile for signals not given.")
    noise_scale: Annotated[float, Field(ge=0, le=10)] = 1.0
    carbon_scale: Scale = 1.0
    price_scale: PriceScale = 1.0
    repair: GridRepairConfig = Field(default_factory=GridRepairConfig)

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else _check_known(v, info, "zones")


SignalsConfig = Annotated[
    ProfileSignals | ConstantSignals | CsvSignals | FileSignals, Field(discriminator="source")
]


class Region(Strict):
    """A geographic region: a location on the network and a grid with its signals."""

    id: str
    zone: str | None = Field(None, description="Grid zone id of the bundled region catalog.")
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    timezone: str | None = Field(None, description="IANA timezone, for the local-time workload.")
    signals: SignalsConfig = Field(default_factory=ProfileSignals)

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else _check_known(v, info, "zones")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(v, sorted(_timezone_names()), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(
                f"unknown time zone '{v}'.{hint} Give an IANA name such as 'Europe/Berlin' "
                "(the tz database's names)"
            ) from None
        return v


def _timezone_names() -> set[str]:
    from zoneinfo import available_timezones

    return available_timezones()


# --------------------------------------------------------------------------------------------
# Datacenters


class WaterConfig(Strict):
    """On-site water model of a datacenter's cooling (see docs/models.md, water)."""

    wue_model: Literal["wetbulb", "constant"] = "wetbulb"
    wue_l_per_kwh: Annotated[float, Field(ge=0, le=20)] = Field(
        0.5, description="On-site WUE when wue_model is 'constant', L per kWh of IT energy."
    )
    cycles_of_concentration: Annotated[float, Field(gt=1, le=100)] = 6.0
    min_wue_l_per_kwh: Annotated[float, Field(ge=0, le=20)] = Field(
        0.05, description="Floor for free-cooling hours."
    )
    wue_scale: Annotated[float, Field(gt=0, le=100)] = Field(
        DEFAULT_WUE_SCALE,
        description="k of the wet-bulb model: 1/3.517 reads the Li et al. polynomial per "
        "ton-hour of heat (default, physically bounded); 1 gives the published values.",
    )
    scarcity_factor: Annotated[float, Field(ge=0, le=1000)] = Field(
        1.0, description="Water-scarcity weight applied to reported water (1 = plain volume)."
    )


class Pool(Strict):
    """Identical replicas serving one LLM on one GPU type at one tensor-parallel degree."""

    model: str
    gpu: str
    tp: Annotated[int, Field(strict=True, ge=1, le=64)] = Field(
        1, description="Tensor-parallel GPUs/replica."
    )
    replicas: Annotated[int, Field(strict=True, ge=0, le=MAX_REPLICAS)] = 1
    max_batch_size: Annotated[int, Field(ge=1, le=100_000)] = 256
    max_prefill_tokens: Annotated[int, Field(ge=1, le=100_000_000)] = Field(
        8192,
        description="Most prompt tokens one prefill iteration admits; with chunked_prefill, "
        "the token budget of every iteration (decode tokens first, then prompt chunks).",
    )
    latency_model: Literal["roofline", "table"] = Field(
        "roofline",
        description="roofline: the calibrated roofline; table: interpolate the measured tables "
        "shipped with slit where they cover this GPU, model and tp (see `slit calibrate`).",
    )
    chunked_prefill: bool = Field(
        False,
        description="Split prompts into chunks that share iterations with decodes "
        "(Sarathi-Serve; vLLM's default scheduler) instead of separate prefill iterations.",
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = Field(
        0.9,
        description="Share of each GPU's memory the replica may use for weights, activations "
        "and KV cache, as vLLM's gpu_memory_utilization (default 0.9); the KV cache gets what "
        "is left (see docs/models.md, Memory).",
    )
    kv_memory_fraction: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None,
        exclude=True,
        description="Deprecated alias of gpu_memory_utilization (same meaning).",
    )
    weight_precision: WeightPrecision | None = Field(
        None,
        description="Precision the weights are served at (bf16, fp16, fp8, int8, int4); "
        "default: the LLM catalog's. Sets the weight bytes in memory and in the latency model.",
    )
    kv_cache_dtype: KvCacheDtype | None = Field(
        None, description="Precision of the KV cache (bf16, fp16, fp8); default: the catalog's."
    )
    resident: bool = Field(True, description="Whether the weights are loaded at time 0.")
    load_bandwidth_gb_per_s: Annotated[float, Field(gt=0, le=10_000)] = Field(
        8.0, description="Bandwidth of loading the weights into GPU memory (SLIT's BW_g), GB/s."
    )
    keep_alive_s: Annotated[float, Field(gt=0, le=1.0e7, allow_inf_nan=False)] | None = Field(
        None,
        description="Scale to zero: a replica idle this long unloads its weights and releases "
        "its GPUs (they draw no power until it loads again, as a serverless platform hands them "
        "to other work); the next request it must take pays the load time. Requests go to a "
        "loaded replica when one can admit them. With resident: false the pool starts "
        "released. Default: never unload (every GPU draws idle power all the time), s.",
    )
    prefill_replicas: Annotated[int, Field(strict=True, ge=0, le=MAX_REPLICAS)] | None = Field(
        None,
        description="With phase_split enabled: replicas that only prefill (default: "
        "phase_split.prefill_fraction of the pool).",
    )
    phase_role: Literal["prefill", "decode"] | None = Field(
        None,
        description="With phase_split enabled: every replica of this pool only prefills or "
        "only decodes (Splitwise's prompt and token machines on different GPU types, e.g. an "
        "H100 prefill pool and an A100 decode pool of one LLM); another pool of the LLM in the "
        "datacenter must take the other phase. Default: the pool splits itself "
        "(prefill_replicas).",
    )
    dispatch: Literal["shared", "round_robin", "shortest_queue", "least_kv"] = Field(
        "shared",
        description="How the datacenter's requests for this LLM reach the replicas. shared: one "
        "queue that every replica able to admit pulls from. round_robin, shortest_queue (fewest "
        "requests queued or in service), least_kv (least KV tokens in use plus queued, as a "
        "share of the KV capacity): each request is assigned to one replica on arrival and "
        "waits in that replica's own queue (one engine per replica, as vLLM). Every pool of "
        "one LLM in a datacenter must have the same dispatch.",
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str, info: ValidationInfo) -> str:
        return _check_known(v, info, "llms")

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, v: str, info: ValidationInfo) -> str:
        return _check_known(v, info, "gpus")

    @model_validator(mode="before")
    @classmethod
    def _kv_memory_fraction_alias(cls, data: Any) -> Any:
        """Read the deprecated ``kv_memory_fraction`` as ``gpu_memory_utilization``."""
        if not isinstance(data, dict) or data.get("kv_memory_fraction") is None:
            return data
        old = data["kv_memory_fraction"]
        if not isinstance(old, (int, float)) or isinstance(old, bool) or not 0 < old <= 1:
            return data  # the field's own check reports it at its own path
        new = data.get("gpu_memory_utilization")
        if new is not None and new != old:
            raise ValueError(
                f"kv_memory_fraction ({old:g}) is the deprecated name of gpu_memory_utilization "
                f"({new}); give only gpu_memory_utilization"
            )
        return {**data, "gpu_memory_utilization": old}


class PhaseSplitConfig(Strict):
    """Phase-split serving (Splitwise): prefill and decode on separate replicas of a pool.

    With ``enabled``, each pool of two or more replicas gives ``prefill_replicas`` (or
    ``prefill_fraction`` of its replicas, at least one, leaving at least one) to prefill only;
    the rest decode only. A request is prefilled on a prefill replica, its KV cache crosses the
    datacenter's link at ``kv_link_gb_per_s``, and a decode replica generates the rest. Pools of
    one replica stay colocated and serve both phases.
    """

    enabled: bool = False
    prefill_fraction: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.5, description="Share of a pool's replicas that only prefill."
    )
    kv_link_gb_per_s: Annotated[float, Field(gt=0, le=100_000)] = Field(
        25.0,
        description="Bandwidth of the link the KV cache crosses from a prefill to a decode "
        "replica, GB/s (25 GB/s = 200 Gbit/s InfiniBand).",
    )
    roles: Literal["pools", "by_gpu"] = Field(
        "pools",
        description="pools: each pool's phase_role, or the pool splits itself (prefill_replicas). "
        "by_gpu: Splitwise-HA's machine pools; for each LLM served here on two or more GPU "
        "types, the pools on the type of highest BF16 peak prefill (prompt machines) and the "
        "others decode (token machines); a pool's own phase_role still wins, and an LLM on one "
        "GPU type splits its pools as with pools.",
    )


class Datacenter(Strict):
    """A datacenter in a region: GPU pools, facility overhead (PUE) and a water model."""

    id: str
    region: str
    pue: Annotated[float, Field(ge=1.0, le=3.0)] = 1.2
    server_overhead_fraction: Annotated[float, Field(ge=0, le=10)] = Field(
        0.35, description="Non-GPU server power (CPU, memory, NICs, fans) as a share of GPU power."
    )
    server_overhead_w_per_gpu: Annotated[float, Field(ge=0, le=100_000)] = Field(
        0.0,
        description="Constant non-GPU server power per GPU, W, on top of the fraction (e.g. "
        "fans and idle CPUs that draw the same at any load).",
    )
    water: WaterConfig = Field(default_factory=WaterConfig)
    phase_split: PhaseSplitConfig = Field(default_factory=PhaseSplitConfig)
    pools: list[Pool] = Field(min_length=1)

    @field_validator("region")
    @classmethod
    def _known_region(cls, v: str, info: ValidationInfo) -> str:
        return _check_known(v, info, "regions")


# --------------------------------------------------------------------------------------------
# Workload


ClassShare = Annotated[float, Field(ge=0, le=1)]


class RequestClass(Strict):
    """A class of *deferrable* requests: they may wait (at their origin) and be served later,
    as long as they complete within ``deadline_s`` of their arrival (the batch interfaces of
    LLM APIs promise 24 h). Requests of no listed class are *interactive*: served at once,
    held to the ``slo`` section's TTFT and TPOT objectives.

    A request of origin ``o`` and LLM ``m`` belongs to this class with probability
    ``shares[o][m]`` if given, else ``shares[o]`` if that is a number, else ``share``; the
    classes' probabilities of one (origin, LLM) may add up to at most 1 (the rest is
    interactive). Classes are drawn from the run's own random stream, independent of the
    arrivals.
    """

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: Literal["deferrable"] = Field(
        "deferrable", description="deferrable: completion deadline, may be served later."
    )
    deadline_s: Seconds = Field(description="Completion deadline after arrival, s.")
    share: ClassShare = Field(0.0, description="Share of every origin's and LLM's requests.")
    shares: dict[str, ClassShare | dict[str, ClassShare]] = Field(
        default_factory=dict,
        description="Per origin region: a share, or a share per LLM id (overrides share).",
    )

    @field_validator("name")
    @classmethod
    def _not_interactive(cls, v: str) -> str:
        if v == "interactive":
            raise ValueError(
                "'interactive' names the requests of no listed class; give this class "
                "another name"
            )
        return v

    @field_validator("shares")
    @classmethod
    def _known_keys(
        cls, v: dict[str, float | dict[str, float]], info: ValidationInfo
    ) -> dict[str, float | dict[str, float]]:
        for origin, value in v.items():
            _check_known(origin, info, "regions")
            if isinstance(value, dict):
                for model in value:
                    _check_known(model, info, "llms")
        return v

    def share_of(self, origin: str, model: str) -> float:
        """The probability that a request of ``origin`` and LLM ``model`` is of this class."""
        value = self.shares.get(origin, self.share)
        if isinstance(value, dict):
            return value.get(model, self.share)
        return value


class _WorkloadChecks(Strict):
    """The checks every workload shares: origin regions and LLMs must exist, request classes
    have distinct names."""

    classes: list[RequestClass] = Field(
        default_factory=list,
        description="Deferrable request classes (the rest of the requests are interactive).",
    )

    @field_validator("classes")
    @classmethod
    def _distinct_classes(cls, v: list[RequestClass]) -> list[RequestClass]:
        names = [c.name for c in v]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"request class name(s) {', '.join(repeated)} given more than once; "
                "names must be distinct"
            )
        return v

    @model_validator(mode="after")
    def _class_shares_at_most_one(self) -> _WorkloadChecks:
        # every (origin, LLM) pair the shares can tell apart: those named, and "any other"
        origins: set[str | None] = {None}
        models: set[str | None] = {None}
        for c in self.classes:
            origins.update(c.shares)
            for value in c.shares.values():
                if isinstance(value, dict):
                    models.update(value)
        worst: tuple[float, str | None, str | None] = (0.0, None, None)
        for o in origins:
            for m in models:
                total = sum(c.share_of(o or "", m or "") for c in self.classes)
                if total > worst[0]:
                    worst = (total, o, m)
        if worst[0] > 1.0 + 1e-9:
            total, o, m = worst
            where = f"origin {o or '(any other)'}, LLM {m or '(any other)'}"
            raise ValueError(
                f"the request classes' shares add up to {total:g} for {where}; they may add "
                "up to at most 1 (the rest of the requests are interactive): lower a share"
            )
        return self

    @field_validator("origins", check_fields=False)
    @classmethod
    def _known_origins(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for key in v:
            _check_known(key, info, "regions")
        return v

    @field_validator("models", check_fields=False)
    @classmethod
    def _known_models(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for key in v:
            _check_known(key, info, "llms")
        return v


class SyntheticWorkload(_WorkloadChecks):
    """Poisson arrivals with a diurnal rate in each origin's local time, token lengths from a
    bundled profile of a real trace."""

    source: Literal["synthetic"] = "synthetic"
    profile: str = Field("azure2023-conv", description="Bundled token-length profile.")
    rate_per_s: Annotated[float, Field(gt=0, le=1.0e6)] = Field(
        2.0, description="Mean arrival rate over all origins, 1/s."
    )
    diurnal_amplitude: Fraction = Field(
        0.5, description="Relative amplitude of the daily rate cycle (0 = flat)."
    )
    peak_hour_local: Annotated[float, Field(ge=0, lt=24)] = 14.0
    origins: dict[str, Weight] = Field(
        default_factory=dict, description="Origin region -> weight (default: equal)."
    )
    models: dict[str, Weight] = Field(
        default_factory=dict, description="LLM id -> share of requests (default: equal)."
    )
    max_prompt_tokens: Tokens | None = None
    max_output_tokens: Tokens | None = None
    prompt_tokens: Tokens | None = Field(
        None, description="Fix every prompt to this many tokens (instead of the profile)."
    )
    output_tokens: Tokens | None = Field(
        None, description="Fix every output to this many tokens (instead of the profile)."
    )


class TraceWorkload(_WorkloadChecks):
    """Requests replayed from a trace file (see ``docs/request-traces.md``).

    The trace's arrival times count from its first request; ``time_shift_s`` places that request
    in the horizon. Requests without an origin (or model) in the file get one drawn from
    ``origins`` (or ``models``) with the workload's random stream.
    """

    source: Literal["trace"]
    path: str = Field(description="The trace file, relative to the scenario file.")
    format: str = Field("csv", description="azure, mooncake, burstgpt or csv.")
    options: dict[str, Any] = Field(default_factory=dict, description="Reader options.")
    replay: Literal["as_recorded", "tile", "resample"] = Field(
        "as_recorded",
        description="as_recorded: the trace once; tile: repeated back to back to fill the "
        "horizon; resample: Poisson arrivals at the trace's rate with sizes drawn from it.",
    )
    rate_scale: Annotated[float, Field(gt=0, le=10_000)] = Field(
        1.0, description="Multiply the arrival rate (time / k)."
    )
    skip_s: Annotated[float, Field(ge=0, le=YEAR_S)] = Field(
        0.0, description="Drop the trace's first skip_s seconds."
    )
    time_shift_s: Annotated[float, Field(ge=0, le=YEAR_S)] = Field(
        0.0, description="Delay every arrival by this much, s."
    )
    sort: bool = Field(False, description="Sort out-of-order arrivals instead of rejecting them.")
    origins: dict[str, Weight] = Field(default_factory=dict)
    models: dict[str, Weight] = Field(default_factory=dict)
    model_map: dict[str, str] = Field(
        default_factory=dict, description="The trace's model names -> LLM ids."
    )
    max_prompt_tokens: Tokens | None = None
    max_output_tokens: Tokens | None = None

    @field_validator("model_map")
    @classmethod
    def _known_mapped(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for value in v.values():
            _check_known(value, info, "llms")
        return v

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str, info: ValidationInfo) -> str:
        return _check_known(v, info, "request_formats")


WorkloadConfig = Annotated[SyntheticWorkload | TraceWorkload, Field(discriminator="source")]


# --------------------------------------------------------------------------------------------
# Network, routing, SLO


class NetworkConfig(Strict):
    """How long a request takes to reach a datacenter and its tokens to come back."""

    latency: Literal["distance", "hops", "rtt_matrix", "cloud"] = Field(
        "distance",
        description="distance: great-circle model; hops: SLIT's hops x K_media; rtt_matrix: "
        "RTTs given in rtt_ms; cloud: a measured cloud RTT table between the regions' zones.",
    )
    cloud_provider: Literal["azure", "aws", "gcp"] = Field(
        "azure", description="'cloud' model: whose RTT table (Azure P95, AWS P50, GCP median)."
    )
    rtt_table: str | None = Field(
        None,
        description="'cloud' model: the provider's RTT file; default: the bundled zone table "
        "derived from the Azure P95 statistics.",
    )
    cloud_fallback: Literal["distance", "error"] = Field(
        "distance", description="'cloud' model: zone pairs the table lacks use the distance model."
    )
    base_rtt_ms: RttMs = Field(2.0, description="RTT inside one region, ms.")
    route_factor: Annotated[float, Field(ge=1, le=10)] = Field(
        1.6, description="Fibre route length over great-circle distance ('distance' model)."
    )
    fibre_km_per_ms: Annotated[float, Field(gt=0, le=300)] = Field(
        204.0, description="Light speed in fibre, km/ms."
    )
    rtt_ms: dict[str, dict[str, RttMs]] = Field(
        default_factory=dict, description="'rtt_matrix' model: region -> region -> RTT, ms."
    )
    links: list[tuple[str, str]] = Field(
        default_factory=list, description="'hops' model: undirected region links."
    )

    @field_validator("rtt_ms")
    @classmethod
    def _known_rtt_regions(
        cls, v: dict[str, dict[str, float]], info: ValidationInfo
    ) -> dict[str, dict[str, float]]:
        for src, row in v.items():
            _check_known(src, info, "regions")
            for dst in row:
                _check_known(dst, info, "regions")
        return v

    @field_validator("links")
    @classmethod
    def _known_link_regions(
        cls, v: list[tuple[str, str]], info: ValidationInfo
    ) -> list[tuple[str, str]]:
        for a, b in v:
            _check_known(a, info, "regions")
            _check_known(b, info, "regions")
        return v
    k_media_ms: RttMs = Field(
        10.0, description="'hops' model: latency per hop (SLIT's K_media), ms."
    )
    bandwidth_gbit_per_s: Annotated[float, Field(gt=0, le=1.0e6)] = Field(
        1.0, description="Bandwidth available to one prompt transfer, Gbit/s."
    )
    bytes_per_token: Annotated[float, Field(gt=0, le=1000)] = Field(
        4.0, description="Bytes per prompt token on the wire."
    )


class DeferralConfig(Strict):
    """When deferrable requests are served (see ``slit list deferrals``): ``at_once`` serves
    them as they arrive, like interactive ones; others hold them at their origin and release
    them later, before their deadline."""

    policy: str = "at_once"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("policy")
    @classmethod
    def _known_deferral(cls, v: str, info: ValidationInfo) -> str:
        return _check_known(v, info, "deferrals")


class RoutingConfig(Strict):
    """The routing policy and its parameters (see ``slit list policies``), and the deferral
    policy of deferrable requests."""

    policy: str = "nearest"
    params: dict[str, Any] = Field(default_factory=dict)
    deferral: DeferralConfig = Field(default_factory=DeferralConfig)

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str, info: ValidationInfo) -> str:
        return _check_known(v, info, "policies")


class CapacityConfig(Strict):
    """How many replicas of each pool are powered, epoch by epoch (see docs/scenario.md).

    ``fixed``: all of them, all the time. ``follow_load``: at each epoch's start, the fewest
    replicas (at least ``min_replicas``) whose full-batch throughput covers the last epoch's
    arrival rate plus the queue, over ``target_utilization``. ``plan``: the counts of
    ``epochs`` (one mapping ``{datacenter: {llm: replicas}}`` per epoch, the last repeated;
    what is not named stays fully powered). A powered-down replica finishes what it holds,
    then releases its GPUs (no energy; embodied carbon is still charged); powering up loads
    the weights again, paying the load time."""

    policy: Literal["fixed", "follow_load", "plan"] = "fixed"
    target_utilization: Annotated[float, Field(gt=0, le=1)] = Field(
        0.7, description="follow_load: the share of the powered replicas' throughput to use."
    )
    min_replicas: Annotated[int, Field(strict=True, ge=0, le=MAX_REPLICAS)] = Field(
        1, description="follow_load: replicas kept powered per datacenter and LLM."
    )
    epochs: list[dict[str, dict[str, Annotated[int, Field(strict=True, ge=0)]]]] = Field(
        default_factory=list,
        description="plan: per epoch, {datacenter: {llm: powered replicas}}; the last repeats.",
    )


def _known_region_id(value: str, info: ValidationInfo) -> str:
    """A region id of the scenario (for the keys and values of ``data_residency``)."""
    return _check_known(value, info, "regions")


RegionId = Annotated[str, AfterValidator(_known_region_id)]
"""The id of one of the scenario's regions."""

DataResidency = dict[RegionId, Annotated[list[RegionId], Field(min_length=1)]]
"""Data residency: origin region -> the regions whose datacenters may serve its requests (an
origin not named may be served anywhere). Not to be confused with a pool's ``resident`` (model
weights kept loaded)."""


class SloConfig(Strict):
    """Service-level objectives a request must meet to count as attained."""

    ttft_s: Annotated[float, Field(gt=0, le=86400)] = 2.0
    tpot_s: Annotated[float, Field(gt=0, le=3600)] = 0.2


# --------------------------------------------------------------------------------------------
# Carbon accounting

LIFETIME_YEARS_BOUNDS = (0.5, 20.0)
"""The amortisation lifetimes a scenario may give, years (a GPU serves months to decades)."""


class EmbodiedCarbonConfig(Strict):
    """Embodied (manufacturing) carbon of the GPUs and their servers, amortised over a lifetime
    and charged per GPU-hour provisioned (see docs/models.md, Embodied carbon)."""

    enabled: bool = Field(
        False, description="Charge embodied carbon (off: carbon_embodied_kg is 0)."
    )
    gpu_lifetime_years: Annotated[
        float, Field(ge=LIFETIME_YEARS_BOUNDS[0], le=LIFETIME_YEARS_BOUNDS[1])
    ] = Field(
        5.0,
        description="Years over which a GPU and its server share are amortised (cloud "
        "providers depreciate servers over 5-6 years), years.",
    )
    server_kg_per_gpu: Annotated[float, Field(ge=0, le=100_000)] = Field(
        312.5,
        description="Embodied carbon of the non-GPU part of a server (CPUs, memory, board, "
        "chassis, storage) per GPU it holds, kgCO2e (Luccioni et al. 2023: 2,500 kg per "
        "8-GPU node).",
    )


class CarbonConfig(Strict):
    """Which operational intensity carbon is counted at, and embodied carbon."""

    intensity: Literal["average", "marginal"] = Field(
        "average",
        description="Operational intensity carbon_operational_kg (and so carbon_kg, the "
        "carbon-aware policies and the optimiser's carbon objective) uses: the grid's average "
        "intensity, or its marginal intensity (every region must then give one).",
    )
    embodied: EmbodiedCarbonConfig = Field(default_factory=EmbodiedCarbonConfig)


class ScenarioModel(Strict):
    """A whole scenario: what to simulate, where, with which workload and which routing."""

    name: str = "scenario"
    description: str = ""
    seed: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] = 0
    time: TimeConfig = Field(default_factory=TimeConfig)
    catalog: CatalogAdditions = Field(default_factory=CatalogAdditions)
    regions: list[Region] = Field(min_length=1)
    datacenters: list[Datacenter] = Field(min_length=1)
    workload: WorkloadConfig = Field(default_factory=SyntheticWorkload)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    slo: SloConfig = Field(default_factory=SloConfig)
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)
    data_residency: DataResidency = Field(
        default_factory=dict,
        description="Origin region -> the regions whose datacenters may serve its requests "
        "(data residency; an origin not named may be served anywhere).",
    )
    carbon: CarbonConfig = Field(default_factory=CarbonConfig)

"""Grid and weather signals of a run: hourly per region, then per epoch and datacenter.

A region's signals are constants, a CSV, one file per signal or draws from a bundled profile;
:func:`epoch_signals` averages them over the run's epochs and adds each datacenter's WUE, PUE and
water scarcity (the factors that turn IT energy into carbon, water and cost,
:mod:`slit.models.impacts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from slit.errors import Problem, ScenarioError, TraceError
from slit.inputs.streams import RandomStreams
from slit.inputs.timeline import Timeline
from slit.models import impacts
from slit.models.water import wue_from_wetbulb
from slit.scenario.loader import Scenario
from slit.scenario.schema import (
    ConstantSignals,
    CsvSignals,
    FileSignals,
    GridRepairConfig,
    ProfileSignals,
    Region,
    SignalFile,
)
from slit.traces import profiles
from slit.traces.grid import SIGNAL_COLUMNS, GridSignals, constant_signals
from slit.traces.grid_readers import GridRepair, check_covers, read_grid

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EpochSignals:
    """Per-epoch, per-datacenter signals and the factors that turn IT energy into impacts.

    Arrays are ``[epoch, datacenter]``. ``carbon_g_per_kwh`` is the grid's average carbon
    intensity, ``marginal_carbon_g_per_kwh`` its marginal intensity (NaN for a datacenter whose
    region gives none); ``carbon_intensity`` says which of the two operational carbon is
    counted at (:attr:`operational_carbon_g_per_kwh`).
    """

    carbon_g_per_kwh: FloatArray
    price_usd_per_mwh: FloatArray
    wetbulb_c: FloatArray
    ewif_l_per_kwh: FloatArray
    wue_l_per_kwh: FloatArray
    pue: FloatArray  # [datacenter]
    scarcity: FloatArray  # [datacenter]
    marginal_carbon_g_per_kwh: FloatArray | None = None
    carbon_intensity: str = "average"

    def __post_init__(self) -> None:
        if self.marginal_carbon_g_per_kwh is None:
            object.__setattr__(
                self, "marginal_carbon_g_per_kwh", np.full_like(self.carbon_g_per_kwh, np.nan)
            )
        if self.carbon_intensity not in ("average", "marginal"):
            raise ValueError(f"carbon_intensity is average or marginal, not "
                             f"{self.carbon_intensity!r}")  # fmt: skip

    @property
    def marginal(self) -> FloatArray:
        """``marginal_carbon_g_per_kwh`` (never None after construction)."""
        assert self.marginal_carbon_g_per_kwh is not None
        return self.marginal_carbon_g_per_kwh

    @property
    def operational_carbon_g_per_kwh(self) -> FloatArray:
        """The intensity operational carbon is counted at: the average or the marginal one
        (``carbon_intensity``), gCO2e/kWh."""
        return self.marginal if self.carbon_intensity == "marginal" else self.carbon_g_per_kwh

    @property
    def carbon_g_per_it_kwh(self) -> FloatArray:
        """Carbon of one more kWh of IT energy at the chosen intensity: PUE x CI, g/kWh."""
        return impacts.carbon_g_per_it_kwh(self.operational_carbon_g_per_kwh, self.pue)

    @property
    def water_l_per_it_kwh(self) -> FloatArray:
        """Water of one more kWh of IT energy: (WUE + PUE x EWIF) x scarcity, L/kWh."""
        return impacts.water_l_per_it_kwh(
            self.wue_l_per_kwh, self.ewif_l_per_kwh, self.pue, self.scarcity
        )

    @property
    def price_usd_per_it_mwh(self) -> FloatArray:
        """Cost of one more MWh of IT energy: PUE x price, USD/MWh."""
        return impacts.price_usd_per_it_mwh(self.price_usd_per_mwh, self.pue)


_SIGNAL_COLUMN = {
    "carbon": "carbon_g_per_kwh",
    "price": "price_usd_per_mwh",
    "wetbulb": "wetbulb_c",
    "ewif": "ewif_l_per_kwh",
    "marginal_carbon": "marginal_carbon_g_per_kwh",
}
_PROFILE_SIGNALS = ("carbon", "price", "wetbulb", "ewif")
"""The signals a bundled profile holds (a region's marginal intensity has no profile)."""
MARGINAL = "marginal_carbon_g_per_kwh"


def _profile_frame(
    region: Region,
    zone: str | None,
    start: pd.Timestamp,
    hours: int,
    rng: np.random.Generator,
    noise_scale: float,
    where: str,
    needed: tuple[str, ...] = SIGNAL_COLUMNS,
) -> pd.DataFrame:
    """Hourly series drawn from the bundled profile of ``zone`` (its ``needed`` columns)."""
    if zone is None:
        raise ScenarioError(
            [
                Problem(
                    where,
                    "no grid zone for the bundled profile",
                    "set the region's zone or signals.zone, or give every signal",
                )
            ]
        )
    try:
        frame = profiles.grid_series_from_profile(zone, start, hours, rng, noise_scale)
    except KeyError as exc:
        raise ScenarioError([Problem(where, str(exc.args[0]), "")]) from None
    missing = [c for c in needed if frame[c].isna().any()]
    if missing:
        raise ScenarioError(
            [
                Problem(
                    where,
                    f"the bundled profile of zone {zone} has no data for {', '.join(missing)}",
                    "give these signals as files or constants, or use another zone",
                )
            ]
        )
    return frame


def _shift_years(frame: pd.DataFrame, years: int) -> pd.DataFrame:
    """Move an hourly frame by whole calendar years; 29 February is dropped or filled."""
    idx = pd.DatetimeIndex(frame.index + pd.DateOffset(years=years), name="time_utc")
    moved = frame.set_axis(idx)
    moved = moved[~moved.index.duplicated(keep="first")]
    full = pd.date_range(moved.index[0], moved.index[-1], freq="h", name="time_utc")
    return moved.reindex(full).ffill()


def _file_series(
    scenario: Scenario,
    where: str,
    name: str,
    spec: SignalFile,
    repair: GridRepairConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
    log: list[str],
) -> pd.Series:
    """One signal read from a file, checked to cover ``[start, end)``."""
    path = scenario.resolve_path(spec.path, f"{where}.path")
    label = f"{path.name} ({where})"
    frame = read_grid(
        path, spec.format, label=label, repair=GridRepair(**repair.model_dump()), **spec.options
    )
    log.extend(frame.attrs.get("repairs", []))
    log.extend(frame.attrs.get("transforms", []))  # e.g. sub-hourly readings averaged
    column = spec.column or _SIGNAL_COLUMN[name]
    if column not in frame.columns:
        raise TraceError(
            f"{label}: format '{spec.format}' gives no column '{column}'; it gives "
            f"{', '.join(map(str, frame.columns))}. Set {where}.column to one of them"
        )
    if spec.shift_years:
        frame = _shift_years(frame, spec.shift_years)
        log.append(f"{label}: times moved by {spec.shift_years} year(s)")
    check_covers(frame, start, end, label)
    return frame[column].astype(float)


def region_signals(
    scenario: Scenario,
    region: Region,
    hours: int,
    rng: np.random.Generator,
    log: list[str] | None = None,
) -> GridSignals:
    """Hourly grid signals of a region covering ``hours`` hours from the scenario start.

    Repairs of input files and signals taken from a profile are appended to ``log``.
    """
    log = [] if log is None else log
    start = pd.Timestamp(scenario.config.time.start_utc).tz_convert("UTC").floor("h")
    cfg = region.signals
    i = scenario.config.regions.index(region)
    where = f"regions[{i}].signals"
    if isinstance(cfg, ConstantSignals):
        const = constant_signals(
            start,
            hours,
            f"region {region.id}",
            carbon_g_per_kwh=cfg.carbon_g_per_kwh,
            price_usd_per_mwh=cfg.price_usd_per_mwh,
            wetbulb_c=cfg.wetbulb_c,
            ewif_l_per_kwh=cfg.ewif_l_per_kwh,
        )
        if cfg.marginal_carbon_g_per_kwh is None:
            return const
        frame = const.frame.copy()
        frame[MARGINAL] = float(cfg.marginal_carbon_g_per_kwh)
        return GridSignals(frame, const.label)
    if isinstance(cfg, CsvSignals):
        path = scenario.resolve_path(cfg.path, f"{where}.path")
        label = f"{path.name} ({where})"
        grid = read_grid(path, "csv", label=label, repair=GridRepair(**cfg.repair.model_dump()))
        log.extend(grid.attrs.get("repairs", []))
        log.extend(grid.attrs.get("transforms", []))
        missing = [c for c in SIGNAL_COLUMNS if c not in grid.columns]
        if missing:
            raise TraceError(
                f"{label}: missing column(s) {', '.join(missing)}; a signals CSV needs "
                f"time_utc and {', '.join(SIGNAL_COLUMNS)} (or use source: files to give them "
                "one by one)"
            )
        end = start + pd.Timedelta(hours=hours)
        check_covers(grid, start, end, label)
        # a marginal intensity column is read when the file has one
        kept = [*SIGNAL_COLUMNS, *([MARGINAL] if MARGINAL in grid.columns else [])]
        frame = grid.loc[start : end - pd.Timedelta(hours=1), kept].copy()
    elif isinstance(cfg, FileSignals):
        idx = pd.date_range(start, periods=hours, freq="h", name="time_utc")
        end = idx[-1] + pd.Timedelta(hours=1)
        frame = pd.DataFrame(index=idx)
        from_profile = []
        for name, column in _SIGNAL_COLUMN.items():
            spec = getattr(cfg, name)
            if isinstance(spec, SignalFile):
                series = _file_series(
                    scenario, f"{where}.{name}", name, spec, cfg.repair, start, end, log
                )
                frame[column] = series.reindex(idx).to_numpy()
            elif spec is not None:
                frame[column] = float(spec)
            elif name in _PROFILE_SIGNALS:
                from_profile.append(column)
        if from_profile:
            zone = cfg.zone or region.zone
            drawn = _profile_frame(
                region, zone, start, hours, rng, cfg.noise_scale, where, tuple(from_profile)
            )
            for column in from_profile:
                frame[column] = drawn[column].to_numpy()
            log.append(
                f"region {region.id}: {', '.join(from_profile)} drawn from the profile of "
                f"zone {zone}"
            )
    else:
        assert isinstance(cfg, ProfileSignals)
        frame = _profile_frame(
            region, cfg.zone or region.zone, start, hours, rng, cfg.noise_scale, where
        )
    frame["carbon_g_per_kwh"] *= cfg.carbon_scale
    frame["price_usd_per_mwh"] *= cfg.price_scale
    columns = list(SIGNAL_COLUMNS)
    if MARGINAL in frame.columns:
        # carbon_scale scales the grid's intensity, marginal as well as average
        frame[MARGINAL] *= cfg.carbon_scale
        columns.append(MARGINAL)
    return GridSignals(frame[columns], f"region {region.id}")


def epoch_signals(
    scenario: Scenario, streams: RandomStreams, timeline: Timeline, log: list[str] | None = None
) -> EpochSignals:
    """Per-epoch signals of every datacenter (from its region) and its WUE, over the
    timeline's accounting window.

    Repairs of input files and signals drawn from profiles are appended to ``log``.
    """
    cfg = scenario.config
    start = timeline.start_utc
    n_epochs = timeline.n_epochs
    hours = timeline.signal_hours
    by_region = {}
    for region in cfg.regions:
        sig = region_signals(scenario, region, hours, streams.signals[region.id], log)
        try:
            by_region[region.id] = sig.epoch_means(start, timeline.epoch_s, n_epochs)
        except TraceError as exc:
            raise TraceError(f"{exc} (region '{region.id}')") from None
    cols: dict[str, list[FloatArray]] = {
        k: []
        for k in ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c", "ewif_l_per_kwh", "wue")
    }
    for dc in cfg.datacenters:
        s = by_region[dc.region]
        for k in ("carbon_g_per_kwh", "price_usd_per_mwh", "wetbulb_c", "ewif_l_per_kwh"):
            cols[k].append(s[k])
        if dc.water.wue_model == "constant":
            cols["wue"].append(np.full(n_epochs, dc.water.wue_l_per_kwh))
        else:
            cols["wue"].append(
                wue_from_wetbulb(
                    s["wetbulb_c"],
                    dc.water.cycles_of_concentration,
                    dc.water.min_wue_l_per_kwh,
                    dc.water.wue_scale,
                )
            )
    nan = np.full(n_epochs, np.nan)
    if cfg.carbon.intensity == "marginal":
        lacking = [(i, r.id) for i, r in enumerate(cfg.regions) if MARGINAL not in by_region[r.id]]
        if lacking:  # the scenario's check catches all but a signals CSV without the column
            raise ScenarioError([
                Problem(f"regions[{i}].signals", f"region {rid} has no marginal carbon "
                        "intensity, and carbon.intensity is marginal",
                        f"give its signals a {MARGINAL} column (or marginal_carbon), or set "
                        "carbon.intensity: average")
                for i, rid in lacking
            ])  # fmt: skip
    marginal = np.stack([by_region[dc.region].get(MARGINAL, nan) for dc in cfg.datacenters], axis=1)
    stack = {k: np.stack(v, axis=1) for k, v in cols.items()}
    return EpochSignals(
        stack["carbon_g_per_kwh"],
        stack["price_usd_per_mwh"],
        stack["wetbulb_c"],
        stack["ewif_l_per_kwh"],
        stack["wue"],
        np.array([dc.pue for dc in cfg.datacenters]),
        np.array([dc.water.scarcity_factor for dc in cfg.datacenters]),
        marginal_carbon_g_per_kwh=marginal,
        carbon_intensity=cfg.carbon.intensity,
    )

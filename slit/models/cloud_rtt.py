"""Measured round-trip times between cloud regions, and grid-zone RTTs derived from them.

Three public RTT tables are supported (see ``docs/network.md``):

* ``azure``: Microsoft's inter-region **P95** RTT table (CSV, 54×54, empty diagonal);
* ``aws``: a cloudping.co snapshot of the **P50** over one year (JSON, or the same data pivoted
  to CSV; 32×32 with the intra-region RTT on the diagonal);
* ``gcp``: the Google Cloud Performance Dashboard **median** (CSV, 44×44).

:func:`read_rtt_matrix` reads one into a square DataFrame (rows = sources, columns =
destinations, ms, NaN where not measured). The bundled catalog ``slit/data/catalog/
cloud_regions.yaml`` places each table region on the map and in one of slit's grid zones;
:func:`zone_rtt_ms` turns a table into an RTT matrix between grid zones, falling back to the
great-circle distance model of :mod:`slit.models.network` for pairs that are not measured and
reporting which pairs did.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from slit.errors import SlitError, TraceError
from slit.models.network import great_circle_km, measured_graph

PROVIDERS = ("azure", "aws", "gcp")
"""Providers whose RTT tables :func:`read_rtt_matrix` reads."""

STATISTICS = {"azure": "p95", "aws": "p50", "gcp": "median"}
"""The statistic each provider's table reports."""

RTT_FILES = {
    "azure": "network/latency/azure_interregion_rtt_p95_ms.csv",
    "aws": "network/latency/aws_interregion_rtt_p50_1y_cloudping.json",
    "gcp": "network/latency/gcp_interregion_rtt_median_4h_20231127.csv",
}
"""Where each table lies inside the raw-data folder (``shared/data``)."""

ZONE_RTT_COLUMNS = ("src_zone", "dst_zone", "rtt_ms", "provider", "statistic", "method")
"""Columns of the bundled zone RTT table (:func:`slit.builders.cloud_rtt.derive_zone_rtt_table`)."""

DEFAULT_BASE_RTT_MS = 2.0
"""RTT inside one region when the table has no intra-region value (as the scenario default)."""

CATALOG_COLUMNS = (
    "provider",
    "region",
    "api_name",
    "location",
    "latitude",
    "longitude",
    "zone",
    "primary",
    "rtt_tables",
    "note",
)

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Reading the tables


def _check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise SlitError(
            f"unknown cloud provider {provider!r}; valid providers are {', '.join(PROVIDERS)}"
        )
    return provider


def read_rtt_matrix(path: Path | str, format: str) -> pd.DataFrame:
    """Read a provider's inter-region RTT table.

    Args:
        path: the table. ``azure`` and ``gcp`` tables are CSV files whose first row names the
            destination regions and whose first column names the source regions; ``aws`` is
            either cloudping's JSON (``{"metadata": …, "data": {src: {dst: ms}}}``) or the same
            data as such a CSV, chosen by the file extension (``.json`` or ``.csv``).
        format: ``"azure"``, ``"aws"`` or ``"gcp"``.

    Returns:
        A square DataFrame of RTTs in ms (float): index = source regions, columns = destination
        regions in the same order, NaN where the table has no value. ``attrs`` holds
        ``provider``, ``statistic`` (``"p95"``, ``"p50"`` or ``"median"``), ``source`` (the file
        name) and ``unit`` (``"ms"``).

    Raises:
        TraceError: the file is missing, empty, not a square table with the same region names on
            both axes, or holds a value that is not a number or is negative.
    """
    _check_provider(format)
    path = Path(path)
    if not path.is_file():
        raise TraceError(
            f"{path}: RTT table not found; give the path of the {format} table "
            f"(in the raw-data folder it is {RTT_FILES[format]})"
        )
    suffix = path.suffix.lower()
    statistic = STATISTICS[format]
    if suffix == ".json":
        if format != "aws":
            raise TraceError(
                f"{path}: the {format} table is read from CSV only; JSON is the aws format"
            )
        frame, statistic = _read_json(path)
    elif suffix == ".csv":
        frame = _read_csv(path)
    else:
        raise TraceError(
            f"{path}: unknown file type {suffix or '(none)'!r}; RTT tables are .csv "
            "(azure, aws, gcp) or .json (aws)"
        )
    _check_values(frame, path)
    frame.index.name = "source"
    frame.columns.name = "destination"
    frame.attrs.update(
        {"provider": format, "statistic": statistic, "source": path.name, "unit": "ms"}
    )
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise TraceError(f"{path}: the file is empty; expected a square CSV RTT table") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TraceError(
            f"{path}: cannot read as CSV ({exc}); expected one header row of destination "
            "regions and one row per source region"
        ) from None
    if raw.shape[1] < 2 or raw.empty:
        raise TraceError(
            f"{path}: no data rows or columns; expected a header row 'source,<region>,…' "
            "followed by one row per source region"
        )
    first = raw.columns[0]
    labels = raw[first].astype(str).str.strip()
    cells = raw.drop(columns=first)
    cells.columns = [str(c).strip() for c in cells.columns]
    _check_square(list(labels), list(cells.columns), path)
    text = cells.fillna("").apply(lambda col: col.astype(str).str.strip())
    values = text.apply(pd.to_numeric, errors="coerce")
    empty = text.isin(["", "nan", "NaN", "NA"])
    bad = values.isna() & ~empty
    if bad.to_numpy().any():
        i, j = (int(k[0]) for k in np.nonzero(bad.to_numpy()))
        raise TraceError(
            f"{path}: line {i + 2}, row {labels.iloc[i]!r}, column {cells.columns[j]!r}: "
            f"{text.iat[i, j]!r} is not a number; cells must hold an RTT in ms (or be empty "
            "where not measured)"
        )
    values.index = pd.Index(labels)
    return values.loc[:, list(labels)].astype(float)


def _read_json(path: Path) -> tuple[pd.DataFrame, str]:
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise TraceError(f"{path}: the file is empty; expected cloudping JSON")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path}: not valid JSON ({exc})") from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if (
        not isinstance(data, dict)
        or not data
        or not all(isinstance(v, dict) for v in data.values())
    ):
        raise TraceError(
            f"{path}: unknown layout; expected cloudping JSON "
            '{"metadata": {...}, "data": {"<source>": {"<destination>": <ms>, ...}, ...}}'
        )
    statistic = STATISTICS["aws"]
    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("percentile"), str):
        statistic = meta["percentile"].replace("_", "").lower()  # "p_50" -> "p50"
    sources = sorted(data)
    unknown = sorted({d for row in data.values() for d in row} - set(data))
    if unknown:
        raise TraceError(
            f"{path}: not a square RTT table; destination(s) {unknown[:5]} are not sources; "
            'every destination must also appear as a key of "data" (use null where not measured)'
        )
    out = pd.DataFrame(np.nan, index=pd.Index(sources), columns=pd.Index(sources))
    for src, row in data.items():
        for dst, value in row.items():
            number = value is None or (
                isinstance(value, int | float) and not isinstance(value, bool)
            )
            if not number:
                raise TraceError(
                    f"{path}: data[{src!r}][{dst!r}] = {value!r} is not a number; values must "
                    "be RTTs in ms (or null where not measured)"
                )
            out.at[src, dst] = np.nan if value is None else float(value)
    return out, statistic


def _check_square(rows: list[str], columns: list[str], path: Path) -> None:
    for axis, names in (("row", rows), ("column", columns)):
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise TraceError(f"{path}: {axis} region(s) {dup} appear more than once")
    only_rows = sorted(set(rows) - set(columns))
    only_cols = sorted(set(columns) - set(rows))
    if only_rows or only_cols:
        raise TraceError(
            f"{path}: not a square RTT table ({len(rows)} source rows, {len(columns)} "
            f"destination columns); rows without a column: {only_rows[:5]}, columns without a "
            f"row: {only_cols[:5]}; every region must appear once as a row and once as a column"
        )


def _check_values(frame: pd.DataFrame, path: Path) -> None:
    arr = frame.to_numpy(dtype=float)
    neg = np.argwhere(arr < 0)
    if len(neg):
        i, j = neg[0]
        raise TraceError(
            f"{path}: row {frame.index[i]!r}, column {frame.columns[j]!r}: RTT {arr[i, j]:g} ms "
            "is negative; RTTs must be >= 0 (leave the cell empty where not measured)"
        )
    inf = np.argwhere(np.isinf(arr))
    if len(inf):
        i, j = inf[0]
        raise TraceError(
            f"{path}: row {frame.index[i]!r}, column {frame.columns[j]!r}: RTT is infinite; "
            "leave the cell empty where not measured"
        )
    if np.isnan(arr).all():
        raise TraceError(f"{path}: the table holds no RTT values")


# --------------------------------------------------------------------------------------------
# Graph


def rtt_graph(matrix: pd.DataFrame, symmetric: bool = True) -> nx.Graph:
    """The measured links of an RTT table as a graph whose edges carry ``rtt_ms``.

    With ``symmetric`` an undirected :class:`networkx.Graph` keeps the mean of both directions
    of a pair (or the one measured direction), as :func:`slit.models.network.measured_graph`
    does; otherwise a :class:`networkx.DiGraph` keeps each direction. Pairs without a value get
    no edge; a measured diagonal is kept as the node attribute ``intra_rtt_ms``. Pass the graph
    to :func:`slit.models.network.rtt_matrix_ms` for shortest-path RTTs.
    """
    names = [str(n) for n in matrix.index]
    arr = matrix.loc[names, names].to_numpy(dtype=float)
    rows = {
        a: {b: float(arr[i, j]) for j, b in enumerate(names) if i != j and np.isfinite(arr[i, j])}
        for i, a in enumerate(names)
    }
    g: nx.Graph
    if symmetric:
        g = measured_graph(names, rows)
    else:
        g = nx.DiGraph()
        g.add_nodes_from(names)
        for a, row in rows.items():
            for b, value in row.items():
                g.add_edge(a, b, rtt_ms=value)
    for i, name in enumerate(names):
        if np.isfinite(arr[i, i]):
            g.nodes[name]["intra_rtt_ms"] = float(arr[i, i])
    return g


# --------------------------------------------------------------------------------------------
# Region catalog


@cache
def _catalog_doc() -> dict[str, Any]:
    text = resources.files("slit").joinpath("data/catalog/cloud_regions.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def load_cloud_region_catalog() -> pd.DataFrame:
    """The bundled cloud-region catalog ``slit/data/catalog/cloud_regions.yaml``.

    One row per (provider, region) with columns ``provider``, ``region`` (as spelled in the RTT
    table), ``api_name`` (the provider's programmatic name: for Azure the display name in lower
    case without spaces), ``location``, ``latitude``/``longitude`` (degrees; NaN where the
    location is unknown), ``zone`` (slit grid zone or None), ``primary`` (the region that stands
    for its zone with that provider), ``rtt_tables`` (tuple of table keys) and ``note``.
    """
    rows = []
    for entry in _catalog_doc()["regions"]:
        region = str(entry["region"])
        api = region.replace(" ", "").lower() if entry["provider"] == "azure" else region
        lat, lon = entry.get("latitude"), entry.get("longitude")
        rows.append(
            {
                "provider": entry["provider"],
                "region": region,
                "api_name": api,
                "location": entry.get("location", ""),
                "latitude": np.nan if lat is None else float(lat),
                "longitude": np.nan if lon is None else float(lon),
                "zone": entry.get("zone"),
                "primary": bool(entry.get("primary", False)),
                "rtt_tables": tuple(entry.get("rtt_tables", ())),
                "note": entry.get("note", ""),
            }
        )
    return pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))


def cloud_rtt_tables() -> dict[str, dict[str, str]]:
    """The RTT tables the catalog refers to, by key (file, provider, statistic, licence)."""
    return {k: dict(v) for k, v in _catalog_doc()["rtt_tables"].items()}


def cloud_region_for_zone(zone: str, provider: str) -> str | None:
    """The provider's region that stands for grid ``zone`` (its ``primary`` region), or None.

    None means the provider has no region in that zone (e.g. AWS in ``CA-ON``: ca-central-1 is
    in Montreal, Quebec) or the zone is not one of slit's grid zones.
    """
    _check_provider(provider)
    cat = load_cloud_region_catalog()
    hit = cat[(cat["provider"] == provider) & (cat["zone"] == zone) & cat["primary"]]
    return None if hit.empty else str(hit["region"].iloc[0])


def _region_coords(provider: str) -> dict[str, tuple[float, float]]:
    cat = load_cloud_region_catalog()
    cat = cat[(cat["provider"] == provider) & cat["latitude"].notna()]
    return {
        str(r): (float(a), float(b))
        for r, a, b in zip(cat["region"], cat["latitude"], cat["longitude"], strict=True)
    }


# --------------------------------------------------------------------------------------------
# Grid zones


def _zone_coords(
    zones: Sequence[str], extra: Mapping[str, tuple[float, float]] | None
) -> dict[str, tuple[float, float]]:
    from slit.catalogue import load_region_catalog

    catalog = load_region_catalog()
    out: dict[str, tuple[float, float]] = {}
    for z in zones:
        if extra is not None and z in extra:
            out[z] = (float(extra[z][0]), float(extra[z][1]))
        elif z in catalog:
            out[z] = (float(catalog[z]["latitude"]), float(catalog[z]["longitude"]))
        else:
            raise SlitError(
                f"zone {z!r} has no coordinates: it is not one of the bundled grid zones "
                f"({', '.join(sorted(catalog))}); pass its (latitude, longitude) in zone_coords"
            )
    return out


def pair_label(a: str, b: str) -> str:
    """How :func:`zone_rtt_ms` names a zone pair in its fallback list: ``"A<->B"``."""
    return f"{a}<->{b}"


def zone_rtt_ms(
    zones: Sequence[str],
    matrix: pd.DataFrame,
    provider: str,
    *,
    fallback: Literal["distance", "error"] = "distance",
    route_factor: float = 1.6,
    fibre_km_per_ms: float = 204.0,
    base_rtt_ms: float = DEFAULT_BASE_RTT_MS,
    zone_coords: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[FloatArray, list[str]]:
    """RTT between grid zones through the provider's region in each zone, ms.

    Each zone stands in for the provider's primary region there
    (:func:`cloud_region_for_zone`). A pair of zones takes the table's RTT between their regions,
    the mean of both directions where both are measured. A pair the table cannot answer (a zone
    without a region of that provider, or no value for the region pair) uses the distance model
    of :mod:`slit.models.network`: ``base_rtt_ms + 2 · d · route_factor / fibre_km_per_ms``,
    with ``d`` the great-circle distance between the regions' coordinates (the zone's own point,
    from ``regions.yaml`` or ``zone_coords``, where it has no region). The same zone twice takes
    the table's intra-region RTT where it has one (AWS, GCP) and ``base_rtt_ms`` otherwise.

    Args:
        zones: grid zone ids (the bundled ones, or any with coordinates in ``zone_coords``).
        matrix: a table from :func:`read_rtt_matrix`.
        provider: the table's provider, ``"azure"``, ``"aws"`` or ``"gcp"``.
        fallback: ``"distance"`` (default) or ``"error"`` to raise instead of estimating.
        zone_coords: (latitude, longitude) of zones, overriding the bundled zone points.

    Returns:
        The symmetric ``[len(zones), len(zones)]`` RTT matrix and the labels
        (:func:`pair_label`, ``i < j`` in ``zones`` order) of the pairs that used the distance
        model. Diagonal entries are never listed.

    Raises:
        SlitError: unknown provider or zone, a table of another provider, or (with
            ``fallback="error"``) a pair the table cannot answer.
    """
    _check_provider(provider)
    if fallback not in ("distance", "error"):
        raise SlitError(f"fallback must be 'distance' or 'error', not {fallback!r}")
    table_provider = matrix.attrs.get("provider")
    if table_provider is not None and table_provider != provider:
        raise SlitError(
            f"the RTT table is from {table_provider!r} but provider={provider!r}; pass the "
            "provider the table was read with"
        )
    zones = [str(z) for z in zones]
    coords = _zone_coords(zones, zone_coords)
    region_xy = _region_coords(provider)
    names = {str(n): i for i, n in enumerate(matrix.index)}
    arr = matrix.loc[list(names), list(names)].to_numpy(dtype=float)
    regions = [cloud_region_for_zone(z, provider) for z in zones]
    points = [
        region_xy.get(r, coords[z]) if r is not None else coords[z]
        for z, r in zip(zones, regions, strict=True)
    ]

    n = len(zones)
    out = np.zeros((n, n))
    fell_back: list[str] = []
    for i in range(n):
        for j in range(i, n):
            ri, rj = regions[i], regions[j]
            value = math.nan
            if ri in names and rj in names:
                a, b = names[ri], names[rj]
                pair = [arr[a, b], arr[b, a]] if a != b else [arr[a, a]]
                finite = [v for v in pair if np.isfinite(v)]
                value = float(np.mean(finite)) if finite else math.nan
            if i == j or (ri is not None and ri == rj):
                if math.isnan(value):
                    value = base_rtt_ms
            elif math.isnan(value):
                if fallback == "error":
                    raise SlitError(
                        f"the {provider} RTT table ({matrix.attrs.get('source', 'table')}) has "
                        f"no value for zones {zones[i]} ({ri or 'no region'}) and {zones[j]} "
                        f"({rj or 'no region'}); use fallback='distance' or other zones"
                    )
                d = great_circle_km(*points[i], *points[j])
                value = base_rtt_ms + 2.0 * d * route_factor / fibre_km_per_ms
                fell_back.append(pair_label(zones[i], zones[j]))
            out[i, j] = out[j, i] = value
    return out, fell_back


def measured_pairs(matrix: pd.DataFrame, provider: str) -> pd.DataFrame:
    """Region pairs of a table with both a measured RTT and catalogued coordinates.

    One row per unordered pair (``src`` < ``dst`` in table order): ``src``, ``dst``, ``km``
    (great-circle distance between the catalogued coordinates) and ``rtt_ms`` (mean of both
    directions where both are measured). Used to check and fit the distance model.
    """
    _check_provider(provider)
    xy = _region_coords(provider)
    names = [str(n) for n in matrix.index if str(n) in xy]
    arr = matrix.loc[names, names].to_numpy(dtype=float)
    rows = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            finite = [v for v in (arr[i, j], arr[j, i]) if np.isfinite(v)]
            if finite:
                b = names[j]
                km = great_circle_km(*xy[a], *xy[b])
                rows.append((a, b, km, float(np.mean(finite))))
    return pd.DataFrame(rows, columns=["src", "dst", "km", "rtt_ms"])


def fit_distance_model(matrix: pd.DataFrame, provider: str) -> tuple[float, float, float]:
    """Least-squares line ``rtt_ms = intercept + slope · km`` over a table's measured pairs.

    Returns ``(intercept_ms, slope_ms_per_km, r2)``. The intercept holds what distance does not
    explain (routing detours, switching, the statistic's tail); on the Azure P95 table it is
    about 25 ms with a slope of 0.0153 ms/km (docs/network.md).
    """
    from sklearn.linear_model import LinearRegression

    pairs = measured_pairs(matrix, provider)
    if len(pairs) < 3:
        raise SlitError(f"only {len(pairs)} measured pair(s) with coordinates; cannot fit a line")
    x = pairs[["km"]].to_numpy(float)
    y = pairs["rtt_ms"].to_numpy(float)
    model = LinearRegression().fit(x, y)
    return float(model.intercept_), float(model.coef_[0]), float(model.score(x, y))

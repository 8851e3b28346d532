"""Measured cloud RTT tables, the cloud-region catalog and zone RTTs (slit.models.cloud_rtt)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import require_shared_data

from slit.builders.cloud_rtt import derive_zone_rtt_table, write_zone_rtt_table
from slit.errors import SlitError, TraceError
from slit.models import cloud_rtt
from slit.models.cloud_rtt import (
    cloud_region_for_zone,
    fit_distance_model,
    load_cloud_region_catalog,
    measured_pairs,
    read_rtt_matrix,
    rtt_graph,
    zone_rtt_ms,
)
from slit.models.network import great_circle_km
from slit.traces.profiles import load_region_catalog, load_zone_rtt_table

SHAPES = {"azure": 54, "aws": 32, "gcp": 44}


def _read(provider: str, file: str | None = None) -> pd.DataFrame:
    data = require_shared_data()
    return read_rtt_matrix(data / (file or cloud_rtt.RTT_FILES[provider]), provider)


@pytest.fixture(scope="module")
def azure() -> pd.DataFrame:
    return _read("azure")


# --------------------------------------------------------------------------------------------
# Readers on the real files


def test_azure_table_is_54_square_p95_with_empty_diagonal(azure: pd.DataFrame) -> None:
    assert azure.shape == (54, 54)
    assert list(azure.index) == list(azure.columns)
    assert azure.attrs == {
        "provider": "azure",
        "statistic": "p95",
        "source": "azure_interregion_rtt_p95_ms.csv",
        "unit": "ms",
    }
    arr = azure.to_numpy()
    assert np.isnan(np.diag(arr)).all()
    assert np.isfinite(arr[~np.eye(54, dtype=bool)]).all()
    # values read from the file
    assert azure.at["West US", "East US"] == 72.0
    assert azure.at["East US", "West US"] == 74.0
    assert azure.at["UK South", "West Europe"] == 12.0
    assert azure.at["Japan East", "Southeast Asia"] == 74.0
    # slightly asymmetric: the data README gives a mean |a->b - b->a| of 2.8 ms
    off = ~np.eye(54, dtype=bool)
    assert np.abs(arr - arr.T)[off].mean() == pytest.approx(2.75, abs=0.05)


def test_aws_json_and_csv_hold_the_same_32_square_p50() -> None:
    js = _read("aws")
    csv = _read("aws", "network/latency/aws_interregion_rtt_p50_1y_cloudping.csv")
    assert js.shape == csv.shape == (32, 32)
    assert js.attrs["statistic"] == csv.attrs["statistic"] == "p50"
    assert js.attrs["source"].endswith(".json") and csv.attrs["source"].endswith(".csv")
    pd.testing.assert_frame_equal(js, csv.loc[js.index, js.columns], check_exact=False)
    assert js.at["us-east-1", "us-west-1"] == pytest.approx(63.932)
    assert js.at["us-west-1", "us-east-1"] == pytest.approx(63.80095)
    assert js.at["eu-central-1", "eu-west-2"] == pytest.approx(17.78)
    assert js.at["us-east-1", "us-east-1"] == pytest.approx(5.349)  # intra-region diagonal
    assert np.isfinite(js.to_numpy()).all()
    arr = js.to_numpy()
    assert np.abs(arr - arr.T).mean() < 5.0


def test_gcp_table_is_44_square_median() -> None:
    gcp = _read("gcp")
    assert gcp.shape == (44, 44)
    assert gcp.attrs["statistic"] == "median"
    assert gcp.at["us-east4", "europe-west3"] == 87.0
    assert gcp.at["europe-west3", "us-east4"] == 87.0
    assert gcp.at["asia-northeast1", "asia-southeast1"] == 73.0
    diag = np.diag(gcp.to_numpy())
    assert (diag > 0).all() and (diag < 1.0).all()  # 0.1-0.6 ms
    arr = gcp.to_numpy()
    assert np.abs(arr - arr.T).mean() < 1.0


# --------------------------------------------------------------------------------------------
# Catalog


def test_catalog_names_are_those_of_the_tables() -> None:
    cat = load_cloud_region_catalog()
    for provider, n in SHAPES.items():
        table = _read(provider)
        names = cat.loc[cat["provider"] == provider, "region"]
        assert len(names) == n and set(names) == set(table.index), provider
    tables = cloud_rtt.cloud_rtt_tables()
    for key, provider in zip(cat["rtt_tables"], cat["provider"], strict=True):
        assert len(key) == 1 and tables[key[0]]["provider"] == provider


def test_catalog_is_consistent() -> None:
    cat = load_cloud_region_catalog()
    zones = load_region_catalog()
    assert set(cat["provider"]) == set(cloud_rtt.PROVIDERS)
    assert not cat.duplicated(["provider", "region"]).any()
    mapped = cat[cat["zone"].notna()]
    assert set(mapped["zone"]) <= set(zones)
    assert not cat.loc[cat["zone"].isna(), "primary"].any()
    # exactly one primary region per (provider, zone) that has any region
    primaries = mapped.groupby(["provider", "zone"])["primary"].sum()
    assert (primaries == 1).all(), primaries[primaries != 1]
    located = cat[cat["latitude"].notna()]
    assert located["latitude"].between(-90, 90).all()
    assert located["longitude"].between(-180, 180).all()
    assert mapped["latitude"].notna().all()
    # a mapped region lies within 1,500 km of its zone's point (Cape Town - Johannesburg is the
    # farthest, about 1,270 km)
    for _, r in mapped.iterrows():
        z = zones[r["zone"]]
        km = great_circle_km(r["latitude"], r["longitude"], z["latitude"], z["longitude"])
        assert km < 1500, (r["provider"], r["region"], r["zone"], km)
    azure_api = cat.loc[cat["provider"] == "azure", "api_name"]
    assert {"westus", "eastus2", "australiacentral2", "germanywestcentral"} <= set(azure_api)


def test_cloud_region_for_zone() -> None:
    assert cloud_region_for_zone("US-CAL-CISO", "azure") == "West US"
    assert cloud_region_for_zone("US-CAL-CISO", "aws") == "us-west-1"
    assert cloud_region_for_zone("US-CAL-CISO", "gcp") == "us-west2"
    assert cloud_region_for_zone("US-MIDA-PJM", "aws") == "us-east-1"
    assert cloud_region_for_zone("US-TEX-ERCO", "azure") == "South Central US"
    assert cloud_region_for_zone("CA-ON", "azure") == "Canada Central"
    assert cloud_region_for_zone("CA-ON", "aws") is None  # ca-central-1 is Montreal (Quebec)
    assert cloud_region_for_zone("CL-SIC", "gcp") == "southamerica-west1"
    assert cloud_region_for_zone("ZA", "aws") == "af-south-1"
    for provider in cloud_rtt.PROVIDERS:
        assert cloud_region_for_zone("US-NY-NYIS", provider) is None
    assert cloud_region_for_zone("XX-NOWHERE", "gcp") is None
    with pytest.raises(SlitError, match="unknown cloud provider 'oracle'.*azure, aws, gcp"):
        cloud_region_for_zone("GB", "oracle")


# --------------------------------------------------------------------------------------------
# Graph


def _toy(values: dict[tuple[str, str], float], provider: str = "azure") -> pd.DataFrame:
    names = sorted({n for pair in values for n in pair})
    m = pd.DataFrame(np.nan, index=names, columns=names)
    for (a, b), v in values.items():
        m.at[a, b] = v
    m.attrs["provider"] = provider
    return m


def test_rtt_graph_averages_pairs_and_skips_missing() -> None:
    m = _toy({("a", "b"): 10.0, ("b", "a"): 14.0, ("a", "c"): 30.0, ("c", "c"): 1.0})
    g = rtt_graph(m)
    assert isinstance(g, nx.Graph) and not g.is_directed()
    assert g["a"]["b"]["rtt_ms"] == 12.0
    assert g["a"]["c"]["rtt_ms"] == 30.0  # one direction measured
    assert not g.has_edge("b", "c")
    assert g.nodes["c"]["intra_rtt_ms"] == 1.0 and "intra_rtt_ms" not in g.nodes["a"]
    d = rtt_graph(m, symmetric=False)
    assert isinstance(d, nx.DiGraph)
    assert d["a"]["b"]["rtt_ms"] == 10.0 and d["b"]["a"]["rtt_ms"] == 14.0
    assert d.has_edge("a", "c") and not d.has_edge("c", "a")


def test_rtt_graph_of_azure_is_complete(azure: pd.DataFrame) -> None:
    g = rtt_graph(azure)
    assert g.number_of_nodes() == 54 and g.number_of_edges() == 54 * 53 // 2
    mean = (azure.at["West US", "East US"] + azure.at["East US", "West US"]) / 2
    assert g["West US"]["East US"]["rtt_ms"] == mean


# --------------------------------------------------------------------------------------------
# Zone RTTs


def test_zone_rtt_ms_uses_the_table_and_the_distance_fallback_on_a_toy_table() -> None:
    m = _toy({("West US", "East US"): 70.0, ("East US", "West US"): 74.0})
    zones = ["US-CAL-CISO", "US-MIDA-PJM", "US-NY-NYIS"]
    rtt, fell_back = zone_rtt_ms(zones, m, "azure", base_rtt_ms=3.0)
    assert rtt[0, 1] == rtt[1, 0] == 72.0
    assert np.diag(rtt).tolist() == [3.0, 3.0, 3.0]
    assert fell_back == ["US-CAL-CISO<->US-NY-NYIS", "US-MIDA-PJM<->US-NY-NYIS"]
    # NY has no Azure region: distance model from the East US coordinates to NY's zone point
    cat = load_cloud_region_catalog().set_index(["provider", "region"])
    east = cat.loc[("azure", "East US")]
    ny = load_region_catalog()["US-NY-NYIS"]
    km = great_circle_km(east["latitude"], east["longitude"], ny["latitude"], ny["longitude"])
    assert rtt[1, 2] == pytest.approx(3.0 + 2 * km * 1.6 / 204.0)
    with pytest.raises(SlitError, match="no value for zones US-CAL-CISO.*US-NY-NYIS"):
        zone_rtt_ms(zones, m, "azure", fallback="error")
    with pytest.raises(SlitError, match="table is from 'azure' but provider='aws'"):
        zone_rtt_ms(zones, m, "aws")
    with pytest.raises(SlitError, match="zone 'XX' has no coordinates"):
        zone_rtt_ms(["XX"], m, "azure")
    own, _ = zone_rtt_ms(["XX", "GB"], m, "azure", zone_coords={"XX": (51.5, -0.1)})
    assert own[0, 1] == pytest.approx(2.0, abs=0.1)  # London to London through the model


def test_zone_rtt_ms_on_real_tables(azure: pd.DataFrame) -> None:
    zones = ["US-CAL-CISO", "US-MIDA-PJM", "US-NY-NYIS", "DE-LU", "JP-TK", "CL-SIC"]
    rtt, fell_back = zone_rtt_ms(zones, azure, "azure")
    assert np.isfinite(rtt).all() and np.array_equal(rtt, rtt.T)
    assert (rtt[~np.eye(len(zones), dtype=bool)] > 2.0).all()
    assert rtt[0, 1] == (azure.at["West US", "East US"] + azure.at["East US", "West US"]) / 2
    expected = {
        f"{a}<->{b}"
        for i, a in enumerate(zones)
        for b in zones[i + 1 :]
        if "US-NY-NYIS" in (a, b) or "CL-SIC" in (a, b)
    }
    assert set(fell_back) == expected and len(fell_back) == 9
    gcp = _read("gcp")
    rtt_g, fell_back_g = zone_rtt_ms(zones, gcp, "gcp")
    assert set(fell_back_g) == {p for p in expected if "US-NY-NYIS" in p}  # GCP has Santiago
    assert rtt_g[0, 0] == gcp.at["us-west2", "us-west2"]  # intra-region value on the diagonal
    aws = _read("aws")
    rtt_a, _ = zone_rtt_ms(zones, aws, "aws")
    assert rtt_a[1, 1] == pytest.approx(5.349)


def test_measured_rtt_grows_with_distance(azure: pd.DataFrame) -> None:
    pairs = measured_pairs(azure, "azure")
    assert len(pairs) == 54 * 53 // 2  # every Azure region has coordinates
    rho = pairs["km"].corr(pairs["rtt_ms"], method="spearman")
    assert rho > 0.8, rho  # 0.896 on the 2026 table (docs/network.md)
    slope, intercept = np.polyfit(pairs["km"], pairs["rtt_ms"], 1)
    # the distance model's slope 2 * 1.6 / 204 = 0.0157 ms/km; measured 0.0153
    assert slope == pytest.approx(2 * 1.6 / 204.0, rel=0.15)
    assert 10.0 < intercept < 40.0
    # no pair beats light in fibre along the great circle: the coordinates are plausible
    for provider in cloud_rtt.PROVIDERS:
        p = measured_pairs(_read(provider), provider)
        assert (p["rtt_ms"] >= 2 * p["km"] / 204.0).all(), provider


# --------------------------------------------------------------------------------------------
# Bundled derivative


@pytest.mark.slow
def test_derive_and_write_zone_rtt_table(tmp_path: Path) -> None:
    data = require_shared_data()
    table = derive_zone_rtt_table(data)
    zones = sorted(load_region_catalog())
    assert list(table.columns) == list(cloud_rtt.ZONE_RTT_COLUMNS)
    assert len(table) == len(zones) ** 2
    assert set(table["provider"]) == {"azure"} and set(table["statistic"]) == {"p95"}
    diag = table[table["src_zone"] == table["dst_zone"]]
    assert (diag["method"] == "base").all() and (diag["rtt_ms"] == 2.0).all()
    off = table[table["src_zone"] != table["dst_zone"]]
    no_region = {"US-NY-NYIS", "CL-SIC"}  # no Azure region in the table
    lacks = off["src_zone"].isin(no_region) | off["dst_zone"].isin(no_region)
    assert (off.loc[lacks, "method"] == "distance").all()
    assert (off.loc[~lacks, "method"] == "measured").all()
    wide = table.pivot(index="src_zone", columns="dst_zone", values="rtt_ms")
    assert np.allclose(wide.to_numpy(), wide.to_numpy().T)
    row = table[(table["src_zone"] == "GB") & (table["dst_zone"] == "DE-LU")].iloc[0]
    azure = _read("azure")
    want = (
        azure.at["UK South", "Germany West Central"] + azure.at["Germany West Central", "UK South"]
    ) / 2
    assert row["rtt_ms"] == want

    a = write_zone_rtt_table(table, tmp_path / "a.csv")
    b = write_zone_rtt_table(table.sample(frac=1.0, random_state=3), tmp_path / "b" / "b.csv")
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "src_zone,dst_zone,rtt_ms,provider,statistic,method"
    assert "\r" not in text
    back = pd.read_csv(a)
    assert len(back) == len(table)
    assert np.allclose(back["rtt_ms"], np.round(table["rtt_ms"], 1))
    assert all(len(v.split(".")[1]) == 1 for v in back["rtt_ms"].astype(str))


# --------------------------------------------------------------------------------------------
# Errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"nope\.csv: RTT table not found.*azure_interregion"):
        read_rtt_matrix(tmp_path / "nope.csv", "azure")


def test_unknown_format_and_extension(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("Source,a\na,\n")
    with pytest.raises(SlitError, match="unknown cloud provider 'oci'"):
        read_rtt_matrix(f, "oci")
    g = tmp_path / "t.txt"
    g.write_text("x")
    with pytest.raises(TraceError, match=r"t\.txt: unknown file type '\.txt'"):
        read_rtt_matrix(g, "gcp")
    h = tmp_path / "t.json"
    h.write_text("{}")
    with pytest.raises(TraceError, match="azure table is read from CSV only"):
        read_rtt_matrix(h, "azure")


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.csv"
    f.write_text("")
    with pytest.raises(TraceError, match=r"empty\.csv: the file is empty"):
        read_rtt_matrix(f, "gcp")
    j = tmp_path / "empty.json"
    j.write_text("  \n")
    with pytest.raises(TraceError, match=r"empty\.json: the file is empty"):
        read_rtt_matrix(j, "aws")
    h = tmp_path / "header.csv"
    h.write_text("Source,a,b\n")
    with pytest.raises(TraceError, match=r"header\.csv: no data rows"):
        read_rtt_matrix(h, "azure")


def test_non_numeric_cell_names_row_and_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("Source,East US,West US\nEast US,,74\nWest US,fast,\n")
    with pytest.raises(
        TraceError, match=r"bad\.csv: line 3, row 'West US', column 'East US': 'fast' is not a"
    ):
        read_rtt_matrix(f, "azure")
    j = tmp_path / "bad.json"
    j.write_text(json.dumps({"data": {"a": {"a": 1, "b": "x"}, "b": {"a": 2, "b": 1}}}))
    with pytest.raises(TraceError, match=r"data\['a'\]\['b'\] = 'x' is not a number"):
        read_rtt_matrix(j, "aws")


def test_negative_value(tmp_path: Path) -> None:
    f = tmp_path / "neg.csv"
    f.write_text("source,a,b\na,0.4,-3\nb,5,0.4\n")
    with pytest.raises(TraceError, match=r"neg\.csv: row 'a', column 'b': RTT -3 ms is negative"):
        read_rtt_matrix(f, "gcp")


def test_non_square_and_unknown_layout(tmp_path: Path) -> None:
    f = tmp_path / "rect.csv"
    f.write_text("source,a,b,c\na,1,2,3\nb,2,1,3\n")
    with pytest.raises(TraceError, match=r"rect\.csv: not a square RTT table.*\['c'\]"):
        read_rtt_matrix(f, "gcp")
    d = tmp_path / "dup.csv"
    d.write_text("source,a,b\na,1,2\na,2,1\n")
    with pytest.raises(TraceError, match=r"row region\(s\) \['a'\] appear more than once"):
        read_rtt_matrix(d, "gcp")
    j = tmp_path / "layout.json"
    j.write_text(json.dumps({"rows": [[1, 2], [2, 1]]}))
    with pytest.raises(TraceError, match=r"layout\.json: unknown layout; expected cloudping"):
        read_rtt_matrix(j, "aws")
    k = tmp_path / "nan.csv"
    k.write_text("source,a,b\na,,\nb,,\n")
    with pytest.raises(TraceError, match="holds no RTT values"):
        read_rtt_matrix(k, "azure")


def test_small_files_read_as_expected(tmp_path: Path) -> None:
    f = tmp_path / "small.csv"
    f.write_text("source,b,a\na,10,\nb,,12.5\n")  # columns in another order than rows
    m = read_rtt_matrix(f, "azure")
    assert list(m.index) == list(m.columns) == ["a", "b"]
    assert m.at["a", "b"] == 10.0 and m.at["b", "a"] == 12.5 and math.isnan(m.at["a", "a"])
    j = tmp_path / "small.json"
    j.write_text(json.dumps({"metadata": {"percentile": "p_90"}, "data": {"b": {"a": 3}, "a": {}}}))
    mj = read_rtt_matrix(j, "aws")
    assert mj.attrs["statistic"] == "p90" and mj.at["b", "a"] == 3.0
    assert np.isnan(mj.at["a", "b"])
    k = tmp_path / "rect.json"
    k.write_text(json.dumps({"data": {"a": {"a": 1, "z": 3}}}))
    with pytest.raises(TraceError, match=r"rect\.json: not a square RTT table.*\['z'\]"):
        read_rtt_matrix(k, "aws")


def test_fitted_distance_line_on_azure_and_the_bundled_fallback(azure: pd.DataFrame) -> None:
    intercept, slope, r2 = fit_distance_model(azure, "azure")
    assert 20 < intercept < 30 and 0.014 < slope < 0.017 and r2 > 0.75
    table = load_zone_rtt_table()
    est = table[table["method"] == "distance"]
    assert len(est) > 0
    # every estimated pair lies on the fitted line (the bundled table was built with it)
    coords = load_region_catalog()
    for row in est.itertuples():
        a, b = coords[row.src_zone], coords[row.dst_zone]
        ra = cloud_region_for_zone(row.src_zone, "azure")
        rb = cloud_region_for_zone(row.dst_zone, "azure")
        assert row.rtt_ms > intercept  # at least the zero-distance part
        if ra is None and rb is None:
            km = great_circle_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"])
            assert row.rtt_ms == pytest.approx(intercept + slope * km, abs=0.1)
    same = table[table["src_zone"] == table["dst_zone"]]
    assert (same["rtt_ms"] == 2.0).all()

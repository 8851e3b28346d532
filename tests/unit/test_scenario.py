"""Scenario loading: composition, overrides, and errors that locate every problem at once."""

from __future__ import annotations

import json

import pytest
import yaml
from pydantic import ValidationError

from slit.errors import ScenarioError
from slit.scenario.loader import apply_override, load_scenario, parse_path, scenario_from_dict
from tests.conftest import small_scenario_dict


def write(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_bundled_default_is_valid_and_large_enough():
    s = load_scenario()
    cfg = s.config
    assert len(cfg.datacenters) >= 5
    assert cfg.time.horizon_s == 86400 and cfg.time.epoch_s == 900
    gpus = {p.gpu for dc in cfg.datacenters for p in dc.pools}
    assert len(gpus) >= 2
    from slit.traces.profiles import load_region_catalog

    zones = load_region_catalog()
    continents = {zones[r.zone]["continent"] for r in cfg.regions}
    assert len(continents) >= 3


def test_three_problems_reported_together_with_paths_and_lines(tmp_path):
    data = small_scenario_dict()
    data["datacenters"][0]["peu"] = 1.2
    data["datacenters"][1]["pue"] = "high"
    data["datacenters"][1]["pools"][0]["gpu"] = "h100-80g"
    path = write(tmp_path / "bad.yaml", data)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert len(err.value.problems) == 3, text
    assert "datacenters[0].peu" in text and "unknown key" in text
    assert "did you mean 'pue'" in text
    assert "datacenters[1].pue" in text
    assert "datacenters[1].pools[0].gpu" in text and "h100-80gb" in text
    assert f"{path}:" in text  # file and line


def test_broken_yaml_gives_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nregions:\n  - id: a\n   zone: GB\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert f"{path}:4" in str(err.value) and "syntax" in str(err.value)


def test_extends_merges_mappings_and_replaces_lists(tmp_path):
    write(tmp_path / "base.yaml", small_scenario_dict())
    write(
        tmp_path / "child.yaml", {"extends": "base.yaml", "seed": 99, "time": {"horizon_s": 1800}}
    )
    s = load_scenario(tmp_path / "child.yaml")
    assert s.config.seed == 99
    assert s.config.time.horizon_s == 1800 and s.config.time.epoch_s == 900
    assert len(s.config.datacenters) == 2


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path / "a.yaml", {"extends": "b.yaml"})
    write(tmp_path / "b.yaml", {"extends": "a.yaml"})
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_extends_bundled_default(tmp_path):
    write(tmp_path / "short.yaml", {"extends": "bundled:default", "time": {"horizon_s": 3600}})
    assert load_scenario(tmp_path / "short.yaml").config.time.horizon_s == 3600


def test_overrides_by_index_by_id_and_nested():
    s = load_scenario(
        None,
        [
            "seed=5",
            "datacenters[dc-us-west].pue=1.05",
            "datacenters.1.pools[0].replicas=7",
            "routing.policy=lowest_carbon",
        ],
    )
    assert s.config.seed == 5
    assert s.config.datacenters[0].pue == 1.05
    assert s.config.datacenters[1].pools[0].replicas == 7
    assert s.config.routing.policy == "lowest_carbon"


def test_override_errors_are_located():
    with pytest.raises(ScenarioError, match="index out of range"):
        load_scenario(None, ["datacenters[40].pue=1.1"])
    with pytest.raises(ScenarioError, match="no item with id 'nope'"):
        load_scenario(None, ["datacenters[nope].pue=1.1"])
    with pytest.raises(ScenarioError, match="unknown key 'nonsense'"):
        load_scenario(None, ["nonsense=1"])
    with pytest.raises(ScenarioError, match="missing '='"):
        load_scenario(None, ["seed"])


def test_parse_path():
    assert parse_path("a.b[2].c") == ["a", "b", 2, "c"]
    assert parse_path("dcs[dc-eu].pue") == ["dcs", "dc-eu", "pue"]
    data = {"x": [{"id": "p", "v": 1}]}
    apply_override(data, "x[p].v=3")
    assert data["x"][0]["v"] == 3


@pytest.mark.parametrize(
    "change, message",
    [
        ({"time": {"horizon_s": 600, "epoch_s": 900}}, "longer than horizon_s"),
        (
            {
                "datacenters": [
                    {
                        "id": "d",
                        "region": "zz",
                        "pools": [{"model": "llama-3.1-8b", "gpu": "h100-80gb"}],
                    }
                ]
            },
            "unknown region 'zz'",
        ),
        ({"routing": {"policy": "fastest"}}, "unknown policy 'fastest'"),
    ],
)
def test_semantic_errors(change, message):
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(small_scenario_dict(**change))


def test_duplicate_ids_and_negative_counts():
    data = small_scenario_dict()
    data["datacenters"][1]["id"] = "dc-a"
    data["datacenters"][0]["pools"][0]["replicas"] = -1
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    text = str(err.value)
    assert "duplicate datacenter id 'dc-a'" in text and "replicas" in text


def test_user_catalog_entries_are_usable():
    data = small_scenario_dict()
    data["catalog"] = {
        "gpus": {
            "my-gpu": {
                "peak_bf16_tflop_per_s": 500,
                "memory_gb": 96,
                "memory_bandwidth_gb_per_s": 4000,
                "interconnect_gb_per_s": 900,
                "idle_power_w": 80,
                "max_power_w": 700,
            }
        }
    }
    data["datacenters"][0]["pools"][0]["gpu"] = "my-gpu"
    s = scenario_from_dict(data)
    assert s.gpus["my-gpu"].memory_gb == 96


def test_resolved_yaml_round_trips_and_hash_is_stable():
    s = load_scenario()
    again = scenario_from_dict(yaml.safe_load(s.resolved_yaml()))
    assert again.content_hash() == s.content_hash()


def test_scenario_is_frozen():
    s = load_scenario()
    with pytest.raises(ValidationError):
        s.config.seed = 3  # type: ignore[misc]


def test_json_schema_is_json():
    from slit.scenario.schema import ScenarioModel

    schema = ScenarioModel.model_json_schema()
    json.dumps(schema)
    assert "datacenters" in schema["properties"]


def test_example_scenarios_are_valid():
    from tests.conftest import REPO

    for path in sorted((REPO / "scenarios").glob("*.yaml")):
        assert load_scenario(path).config.regions

"""Every change slit makes to an input is counted in metadata.json and said as a note."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from slit.cli import main
from tests.conftest import small_scenario_dict


def test_cut_and_raised_request_lengths_are_counted_and_said(tmp_path: Path, capsys) -> None:
    data = small_scenario_dict()
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    data["workload"] = {"source": "trace", "path": "trace.csv", "format": "csv"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    rows = ["arrival_s,prompt_tokens,output_tokens,origin"]
    rows += [f"{i * 2.0},{500_000 if i % 50 == 0 else 100},{0 if i % 40 == 0 else 10},{'ab'[i % 2]}"
             for i in range(400)]  # fmt: skip
    (tmp_path / "trace.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(out)]) == 0
    notes = json.loads((out / "metadata.json").read_text())["inputs"]
    # 300 requests arrive within the 600 s horizon: every 50th has a prompt beyond the
    # 128k context window, every 40th asks for no output
    expected = {
        "workload: 6 of 300 request(s) with a prompt longer than its LLM's context window cut "
        "to fit it",
        "workload: 8 of 300 request(s) asking for no output given 1 output token",
    }
    assert expected <= set(notes)
    err = capsys.readouterr().err
    for line in expected:
        assert f"note: {line}" in err


def test_another_policy_says_the_scenarios_params_are_not_used(tmp_path: Path, capsys) -> None:
    data = small_scenario_dict()
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    data["routing"] = {"policy": "weighted", "params": {"carbon": 5.0}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(out), "--policy", "nearest"]) == 0
    notes = json.loads((out / "metadata.json").read_text())["inputs"]
    said = [n for n in notes if "routing.params (carbon)" in n and "'weighted'" in n]
    assert said and f"note: {said[0]}" in capsys.readouterr().err


def test_settings_the_chosen_modes_do_not_read_are_said(tmp_path: Path, capsys) -> None:
    data = small_scenario_dict()
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    data["datacenters"][0]["water"] = {"wue_model": "wetbulb", "wue_l_per_kwh": 19}
    data["datacenters"][1]["water"] = {"wue_model": "constant", "cycles_of_concentration": 3}
    data["datacenters"][0]["pools"][0]["phase_role"] = "prefill"
    data["network"] = {"latency": "distance", "rtt_ms": {"a": {"b": 10}}, "k_media_ms": 3}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(out)]) == 0
    notes = json.loads((out / "metadata.json").read_text())["inputs"]
    unused = [n for n in notes if "is not used" in n]
    assert [n.split(" is not used")[0] for n in unused] == [
        "datacenters[0] (dc-a).water.wue_l_per_kwh",
        "datacenters[0] (dc-a).pools[0].phase_role",
        "datacenters[1] (dc-b).water.cycles_of_concentration",
        "network.rtt_ms",
        "network.k_media_ms",
    ]
    err = capsys.readouterr().err
    assert all(f"note: {n}" in err for n in unused)


def test_the_bundled_scenarios_set_nothing_unused() -> None:
    from slit.scenario.loader import bundled_scenario_names, load_scenario
    from slit.scenario.unused import unused_settings

    for name in bundled_scenario_names():
        try:
            scenario = load_scenario(f"bundled:{name}")
        except Exception:  # scenarios of the real data need SLIT_DATA; their settings still do
            continue
        assert unused_settings(scenario.config) == [], name


def test_a_replaced_bundled_gpu_and_an_unused_load_bandwidth_are_said(tmp_path: Path) -> None:
    from slit.scenario.loader import scenario_from_dict
    from slit.scenario.unused import unused_settings

    data = small_scenario_dict()
    data["catalog"] = {"gpus": {"h100-80gb": {
        "peak_bf16_tflop_per_s": 900, "memory_gb": 80, "memory_bandwidth_gb_per_s": 3000,
        "interconnect_gb_per_s": 900, "idle_power_w": 70, "max_power_w": 700}}}  # fmt: skip
    data["datacenters"][0]["pools"][0]["load_bandwidth_gb_per_s"] = 5.0
    notes = unused_settings(scenario_from_dict(data).config)
    assert any(n.startswith("catalog.gpus.h100-80gb replaces the bundled") for n in notes)
    assert any("load_bandwidth_gb_per_s is not used" in n for n in notes)

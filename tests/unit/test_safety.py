"""Safety: inputs are data, never code; YAML is read with the safe loader; nothing is fetched
from the network while slit runs; paths in a scenario resolve against the scenario file."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest
import yaml

from slit.cli import main
from tests.conftest import small_scenario_dict

SOURCE = Path(__file__).resolve().parents[2] / "slit"


def _unsafe_calls(tree: ast.AST) -> list[tuple[str, int]]:
    """Calls that would run text as code or build Python objects from YAML."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in ("eval", "exec", "compile", "__import__"):
            found.append((f.id, node.lineno))
        elif (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
              and f.value.id == "yaml" and f.attr in ("load", "load_all", "unsafe_load",
                                                     "full_load", "full_load_all")):  # fmt: skip
            found.append((f"yaml.{f.attr}", node.lineno))
    return found


def test_no_input_is_evaluated_as_code_and_yaml_is_read_safely():
    bad = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, line in _unsafe_calls(tree):
            bad.append(f"{path.relative_to(SOURCE)}:{line}: {name}()")
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                if any(n.split(".")[0] in ("pickle", "marshal", "shelve") for n in names):
                    bad.append(f"{path.relative_to(SOURCE)}:{node.lineno}: imports {names}")
    assert not bad, bad


def test_yaml_tags_that_build_python_objects_are_refused(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: !!python/object/apply:os.system ['echo owned']\n", "utf-8")
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "s.yaml" in err and "python/object/apply" in err and "Traceback" not in err


def test_a_run_fetches_nothing_from_the_network(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("slit opened a network connection at run time")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    out = tmp_path / "out"
    assert main(["run", "--set", "time.horizon_s=1800", "--out", str(out), "-q"]) == 0
    assert (out / "requests.parquet").exists()


def test_paths_in_a_scenario_resolve_against_the_scenario_file(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    folder.mkdir()
    rows = "".join(f"{i * 2.0},{100 + i},{10},{'ab'[i % 2]}\n" for i in range(200))
    (folder / "trace.csv").write_text("arrival_s,prompt_tokens,output_tokens,origin\n" + rows)
    data = small_scenario_dict()
    data["time"].update(horizon_s=300, epoch_s=150, drain_s=60)
    data["workload"] = {"source": "trace", "path": "trace.csv", "format": "csv"}
    (folder / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(folder / "s.yaml"), "--out", "out", "-q"]) == 0
    assert (elsewhere / "out" / "requests.parquet").exists()


@pytest.mark.parametrize("ref", ["../outside.yaml", "/etc/passwd"])
def test_extends_reads_only_scenarios(tmp_path, capsys, ref):
    # a path outside the folder is allowed (studies share bases), but it must be a scenario
    (tmp_path / "outside.yaml").write_text("- not a mapping\n", "utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "s.yaml").write_text(f"extends: {ref}\nname: s\n", "utf-8")
    assert main(["validate", str(sub / "s.yaml")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_result_json_never_holds_nan_or_infinity() -> None:
    import json
    import math

    import numpy as np

    from slit.jsonio import dumps

    text = dumps({"a": float("inf"), "b": [1.0, float("nan"), np.float64("-inf")], "c": 2.5,
                  "d": {"e": np.float32(3.0)}})  # fmt: skip
    data = json.loads(text, parse_constant=lambda word: math.nan)  # would see NaN/Infinity
    assert data == {"a": None, "b": [1.0, None, None], "c": 2.5, "d": {"e": 3.0}}
    assert "NaN" not in text and "Infinity" not in text

"""A hostile user's scenarios: the bundled default with one value changed to a wrong type, a
flipped sign, an absurd magnitude, inf or NaN, a null, an empty list or mapping, or deleted.
Whatever the change, slit either refuses it (exit status 2 and a message, no traceback) or runs
it (exit status 0); it never crashes."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slit.catalogue.bundled import bundled_folder
from slit.cli import main

DEFAULT: dict[str, Any] = yaml.safe_load(
    (bundled_folder("scenarios") / "default.yaml").read_text(encoding="utf-8")
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value of the scenario (mappings and lists walked into)."""
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _leaves(v, (*path, i))
    return out


PATHS = _leaves(DEFAULT)


def _mutate(value: Any, kind: str) -> Any:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return {
        "text": "not a value",
        "negative": -value if numeric else -1,
        "huge": value * 1e12 if numeric else 1e300,
        "tiny": value * 1e-12 if numeric else 1e-300,
        "inf": math.inf,
        "nan": math.nan,
        "null": None,
        "list": [value, value],
        "mapping": {"x": value},
        "zero": 0,
        "bool": True,
    }[kind]


KINDS = ("text", "negative", "huge", "tiny", "inf", "nan", "null", "list", "mapping", "zero",
         "bool", "delete")  # fmt: skip


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])  # fmt: skip
@given(where=st.sampled_from(PATHS), kind=st.sampled_from(KINDS))
def test_a_mutated_default_is_refused_or_runs_never_crashes(tmp_path: Path, capsys, where,
                                                            kind) -> None:  # fmt: skip
    data = copy.deepcopy(DEFAULT)
    node = data
    for key in where[:-1]:
        node = node[key]
    if kind == "delete":
        del node[where[-1]]
    else:
        node[where[-1]] = _mutate(node[where[-1]], kind)
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    capsys.readouterr()
    status = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert status in (0, 2) and "Traceback" not in err, (where, kind, err)
    event("refused" if status == 2 else "valid")
    if status == 2:
        assert "error" in err or "invalid" in err, (where, kind, err)
        return
    # it validates: it must run, on a short horizon (the change may be anywhere else)
    from slit.inputs.estimate import expected_requests
    from slit.scenario.loader import load_scenario

    short = ["time.horizon_s=300", "time.epoch_s=300", "time.drain_s=60"]
    n = expected_requests(load_scenario(str(path), short))
    if n is not None and n > 50_000:
        return  # a rate the estimate would refuse only at a longer horizon: not for a test
    out = tmp_path / "out"
    args = ["run", str(path), "--out", str(out), "-q", "--overwrite"]
    status = main([*args, *(a for s in short for a in ("--set", s))])
    err = capsys.readouterr().err
    assert status in (0, 2) and "Traceback" not in err, (where, kind, err)
    event(f"run: exit {status}")

"""The protected YAML reader reads numbers as YAML 1.2 does (``1e-3`` is a number) without
changing PyYAML's own loader."""

from __future__ import annotations

import pytest
import yaml

from slit.yamlio import safe_load


@pytest.mark.parametrize("text, value", [
    ("1e-1", 0.1), ("2E6", 2e6), ("-3e-2", -0.03), ("1.5e3", 1500.0), ("+4e0", 4.0),
    ("10", 10), ("0.5", 0.5), (".5", 0.5), ("1e3x", "1e3x"), ("e3", "e3"), ("1_000", 1000),
])  # fmt: skip
def test_numbers_read_as_yaml_1_2_reads_them(text: str, value: object) -> None:
    got = safe_load(f"v: {text}\n")["v"]
    assert got == value and type(got) is type(value)


def test_pyyamls_own_loader_is_left_as_it_is() -> None:
    safe_load("v: 1e-1\n")
    assert yaml.safe_load("v: 1e-1\n")["v"] == "1e-1"

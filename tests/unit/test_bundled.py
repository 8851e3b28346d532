"""The bundled folders: traces/ and scenarios/ at the top of the tree, found by the package."""

from __future__ import annotations

import csv

import pytest

from slit.catalogue.bundled import BUNDLED_FOLDERS, bundled_folder
from slit.errors import SlitError
from slit.scenario.loader import bundled_scenario_names, load_scenario
from tests.conftest import REPO


def test_the_bundled_folders_are_the_top_level_ones_in_a_checkout() -> None:
    for name in BUNDLED_FOLDERS:
        assert bundled_folder(name).resolve() == (REPO / name).resolve()


def test_every_profile_file_is_in_the_manifest_with_source_and_licence() -> None:
    folder = bundled_folder("traces")
    rows = list(csv.DictReader((folder / "MANIFEST.csv").open(encoding="utf-8")))
    listed = {r["file"] for r in rows}
    data_files = {p.name for p in folder.iterdir() if p.name not in ("MANIFEST.csv", "README.md")}
    assert data_files == listed
    assert all(r["source"] and r["licence"] and r["units"] for r in rows)
    assert {r["builder"] for r in rows} == {"slit.builders.profiles"}


def test_every_scenario_of_the_folder_is_bundled_and_loads() -> None:
    names = bundled_scenario_names()
    assert {p.stem for p in (REPO / "scenarios").glob("*.yaml")} == set(names)
    assert "default" in names
    for name in ("default", "one-hour", "carbon-aware"):
        assert load_scenario(f"bundled:{name}").config.regions


def test_an_unknown_folder_names_the_valid_ones() -> None:
    with pytest.raises(SlitError, match="unknown bundled folder 'data'; valid: traces, scenarios"):
        bundled_folder("data")

"""Shared fixtures: small scenarios built in code, and the location of the real data."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def small_scenario_dict(**changes: Any) -> dict[str, Any]:
    """A two-region, two-datacenter scenario of one simulated hour with constant signals."""
    data: dict[str, Any] = {
        "name": "small",
        "seed": 7,
        "time": {
            "start_utc": "2023-07-15T00:00:00Z",
            "horizon_s": 3600,
            "epoch_s": 900,
            "drain_s": 600,
        },
        "regions": [
            {
                "id": "a",
                "latitude": 37.0,
                "longitude": -122.0,
                "signals": {
                    "source": "constant",
                    "carbon_g_per_kwh": 200,
                    "price_usd_per_mwh": 50,
                    "wetbulb_c": 18,
                    "ewif_l_per_kwh": 2.0,
                },
            },
            {
                "id": "b",
                "latitude": 50.0,
                "longitude": 8.0,
                "signals": {
                    "source": "constant",
                    "carbon_g_per_kwh": 400,
                    "price_usd_per_mwh": 90,
                    "wetbulb_c": 12,
                    "ewif_l_per_kwh": 1.5,
                },
            },
        ],
        "datacenters": [
            {
                "id": "dc-a",
                "region": "a",
                "pue": 1.1,
                "pools": [{"model": "llama-3.1-8b", "gpu": "h100-80gb", "replicas": 1}],
            },
            {
                "id": "dc-b",
                "region": "b",
                "pue": 1.3,
                "pools": [{"model": "llama-3.1-8b", "gpu": "a100-80gb", "replicas": 1}],
            },
        ],
        "workload": {
            "source": "synthetic",
            "rate_per_s": 1.0,
            "diurnal_amplitude": 0.0,
            "origins": {"a": 1, "b": 1},
        },
        "routing": {"policy": "nearest"},
    }
    for key, value in changes.items():
        data[key] = copy.deepcopy(value)
    return data


@pytest.fixture
def small_dict() -> dict[str, Any]:
    return small_scenario_dict()


def require_shared_data() -> Path:
    """The real data folder, or skip the test with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            "real data not found at ../shared/data (beside the checkout); this test needs it"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def built_profiles_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled profiles rebuilt once per test session from ../shared/data by the console
    command (`slit traces build`, in-process); the build calibrates each zone's persistence by
    simulation and takes one to two minutes, so the tests that need its output share it."""
    from slit.cli import main

    data = require_shared_data()
    out = tmp_path_factory.mktemp("built-profiles")
    assert main(["traces", "build", "--from", str(data), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def result_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real outputs of ``slit run``, ``slit optimize`` and ``slit sweep`` (a run sweep and
    an optimisation sweep) of the bundled default, shortened, made once per session, for the
    tests of figures and reports: ``{"run", "when", "opt", "sweep", "opt_sweep"}`` -> folder
    (``when``: a run of the bundled ``deferrable`` scenario)."""
    import yaml

    from slit.cli import main

    root = tmp_path_factory.mktemp("results")
    assert main(["run", "--set", "time.horizon_s=3600", "--out", str(root / "run"), "-q"]) == 0
    # deferrable requests and capacity following load (the figure of when and how much)
    assert main(["run", "bundled:deferrable", "--set", "time.horizon_s=7200",
                 "--set", "time.drain_s=3600", "--set", "workload.classes[0].deadline_s=3600",
                 "--out", str(root / "when"), "-q"]) == 0  # fmt: skip
    assert main(["optimize", "--set", "time.horizon_s=1800", "--evaluations", "200",
                 "--pop-size", "10", "--out", str(root / "opt"), "-q"]) == 0  # fmt: skip
    runs = {"base": "bundled:default", "command": "run", "seeds": [1, 2],
            "set": ["time.horizon_s=1800", "time.epoch_s=900"],
            "grid": {"routing.policy": ["nearest", "lowest_carbon", "round_robin"],
                     "workload.rate_per_s": [1.0, 2.0]}}  # fmt: skip
    opts = {"base": "bundled:default", "command": "optimize", "seeds": [1],
            "set": ["time.horizon_s=1800"], "options": {"evaluations": 60},
            "grid": {"options.pop_size": [6, 10]}}  # fmt: skip
    for name, spec in (("sweep", runs), ("opt_sweep", opts)):
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        assert main(["sweep", str(path), "--out", str(root / name), "-q", "--jobs", "2"]) == 0
    return {name: root / name for name in ("run", "when", "opt", "sweep", "opt_sweep")}


def load_study(folder: Path) -> Any:
    """The ``run.py`` module of a study folder under ``experiments/``, imported by path (the
    studies are scripts, not a package)."""
    import importlib.util
    import sys

    name = f"{folder.name}_run"
    spec = importlib.util.spec_from_file_location(name, folder / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module

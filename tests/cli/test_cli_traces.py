"""`slit traces list | show | build`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import slit
from tests.conftest import require_shared_data


@pytest.mark.slow
def test_traces_list_names_zones_profiles_and_formats() -> None:
    proc = slit("traces", "list")
    assert proc.returncode == 0, proc.stderr
    for word in ("US-CAL-CISO", "azure2023-conv", "electricitymaps", "eia930", "openmeteo",
                 "mooncake", "burstgpt"):  # fmt: skip
        assert word in proc.stdout


@pytest.mark.slow
def test_traces_show_zone_prints_units_and_writes_a_plot(tmp_path: Path) -> None:
    out = tmp_path / "ciso.png"
    proc = slit("traces", "show", "US-CAL-CISO", "--plot", str(out), "--hours", "48")
    assert proc.returncode == 0, proc.stderr
    assert "gCO2e/kWh" in proc.stdout and "USD/MWh" in proc.stdout and "L/kWh" in proc.stdout
    assert out.stat().st_size > 1000


@pytest.mark.slow
def test_traces_show_csv_file(tmp_path: Path) -> None:
    p = tmp_path / "sig.csv"
    p.write_text("time_utc,carbon_g_per_kwh\n2023-01-01T00:00Z,100\n2023-01-01T01:00Z,300\n")
    proc = slit("traces", "show", str(p), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert "2023-01-01 00:00 to 2023-01-01 02:00 UTC (2 h)" in proc.stdout
    assert "200" in proc.stdout  # the mean


@pytest.mark.slow
def test_traces_show_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    for args in (
        ("traces", "show", "ATLANTIS"),
        ("traces", "show", str(tmp_path / "none.csv"), "--format", "csv"),
        ("traces", "show", "US-CAL-CISO", "--format", "nope"),
    ):
        proc = slit(*args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr
    assert "neither a bundled zone nor a request profile" in slit("traces", "show", "X").stderr


@pytest.mark.slow
def test_traces_show_real_eia930_file_needs_and_reports_the_repair() -> None:
    data = require_shared_data()
    path = str(data / "carbon/eia930_fuelmix_hourly_2022/CISO_2022_fuelmix_ci.csv.gz")
    bad = slit("traces", "show", path, "--format", "eia930")
    assert bad.returncode == 2 and "repair.fill_nan" in bad.stderr
    ok = slit("traces", "show", path, "--format", "eia930", "--repair", "fill_nan=linear")
    assert ok.returncode == 0, ok.stderr
    assert "ewif_l_per_kwh" in ok.stdout and "filled 30 NaN value(s) in 3 hour(s)" in ok.stdout


@pytest.mark.slow
def test_traces_build_writes_the_profiles(tmp_path: Path, built_profiles_dir: Path) -> None:
    # built in-process by the session fixture: the subprocess tests above already cover the
    # console entry point
    names = {p.name for p in built_profiles_dir.iterdir()}
    assert {
        "grid_month_hour.csv",
        "regions.yaml",
        "zone_rtt_azure_p95.csv",
        "MANIFEST.csv",
    } <= names
    missing = slit("traces", "build", "--from", str(tmp_path / "nothing"), "--out", str(tmp_path))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr

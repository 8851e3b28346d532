"""The HTML report as a reader sees it: ``slit report`` of a run, an optimisation and a sweep,
opened in headless Chromium. The page must load with no console error, every image must
decode, the tables must be there, and nothing may be fetched from outside the file. A
full-page screenshot of each is kept in ``test-artifacts/`` (or ``$SLIT_TEST_ARTIFACTS``).

Needs Chromium and ChromeDriver (Debian packages ``chromium`` and ``chromium-driver``, which
``.ci/run`` installs) and Selenium (a test dependency); skips, saying which is missing,
where they are absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from slit.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(
    os.environ.get("SLIT_TEST_ARTIFACTS") or Path(__file__).parents[2] / "test-artifacts"
)


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Selenium is not installed (pip install -e '.[dev]')"
    if not CHROMIUM:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    if not CHROMEDRIVER:
        return "ChromeDriver is not installed (Debian: apt-get install chromium-driver)"
    return None


if _missing() is not None and os.environ.get("SLIT_REQUIRE_BROWSER"):
    raise RuntimeError(f"SLIT_REQUIRE_BROWSER is set but {_missing()}")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # headless, and nothing reaching out to the network (the report must need nothing)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--disable-extensions",
                 "--window-size=1280,900", "--force-device-scale-factor=1"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)  # fmt: skip
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


IMAGES_DECODED = """
return Array.from(document.images).map(img => ({
    alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight}));
"""

RESOURCES = "return performance.getEntriesByType('resource').map(e => e.name);"


@pytest.mark.parametrize("kind", ["run", "when", "opt", "sweep", "opt_sweep"])
def test_the_report_opens_cleanly_in_chromium(browser, result_folders, tmp_path, kind) -> None:
    report = tmp_path / f"report-{kind}.html"
    assert main(["report", str(result_folders[kind]), "--out", str(report), "-q"]) == 0
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(report.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], f"console errors: {errors}"

    images = browser.execute_script(IMAGES_DECODED)
    assert images, "the report holds no image"
    broken = [i["alt"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert broken == [], f"images that do not decode: {broken}"
    tables = browser.execute_script("return document.querySelectorAll('table').length")
    assert tables >= 2
    headings = browser.execute_script(
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
    )
    assert "Figures" in headings and "Provenance" in headings
    if kind in ("sweep", "opt_sweep"):
        assert "Sweep file (sweep.yaml)" in headings
    outside = [u for u in browser.execute_script(RESOURCES) if not u.startswith(("data:", "file:"))]
    assert outside == [], f"the report fetched {outside}"

    # a full-page screenshot, kept for a person to look at
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 100, 16000))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"report-{kind}.png"
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1280, 900)
    assert shot.stat().st_size > 20_000

"""The gallery of docs/plots-and-reports.md: five `--style paper` figures, as slit writes them,
of an optimisation and a sweep of the bundled default.

Usage: python scripts/gallery_figures.py [--out docs/figures] [--work DIR]

Runs ``slit optimize`` (six simulated hours, 500 evaluations per epoch) and ``slit sweep``
(the arrival rate at three values, three seeds, two simulated hours each) into ``--work``
(a temporary folder by default), draws their figures with ``slit plot --style paper`` and
copies five of them to ``--out`` as ``gallery_<name>.png``. About two minutes on two cores.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import yaml

from slit.cli import main as slit

GALLERY = {
    "opt/plots/pareto_grid.png": "gallery_pareto_grid.png",
    "opt/plots/parallel.png": "gallery_parallel.png",
    "opt/plots/routing_share.png": "gallery_routing_share.png",
    "opt/plots/datacenter_impacts.png": "gallery_datacenter_impacts.png",
    "sweep/plots/sweep_ttft_p95_s_vs_workload-rate_per_s.png": "gallery_sweep_ttft_p95.png",
}
"""Figure written by `slit plot` -> file name in the gallery."""


def run(work: Path, out: Path) -> None:
    """Make the results in ``work`` and copy the gallery's figures to ``out``."""
    assert slit(["optimize", "--set", "time.horizon_s=21600", "--evaluations", "500",
                 "--out", str(work / "opt"), "-q"]) == 0  # fmt: skip
    spec = {"base": "bundled:default", "command": "run", "seeds": [1, 2, 3],
            "set": ["time.horizon_s=7200"],
            "grid": {"workload.rate_per_s": [1.0, 2.0, 4.0]}}  # fmt: skip
    (work / "sweep.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert slit(["sweep", str(work / "sweep.yaml"), "--out", str(work / "sweep"), "--jobs", "2",
                 "-q"]) == 0  # fmt: skip
    for folder in ("opt", "sweep"):
        assert slit(["plot", str(work / folder), "--style", "paper", "-q"]) == 0
    out.mkdir(parents=True, exist_ok=True)
    for source, name in GALLERY.items():
        shutil.copyfile(work / source, out / name)
        print(out / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    parser.add_argument("--work", type=Path, default=None, help="keep the results here")
    args = parser.parse_args()
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        run(args.work, args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), args.out)


if __name__ == "__main__":
    main()

"""Start-up stays light: ``slit --help`` imports no heavy library, and each command imports
only the libraries it uses (matplotlib for figures, pymoo and scikit-learn for the optimiser)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("matplotlib", "sklearn", "pymoo", "pandas", "pyarrow", "scipy", "numba", "ray")


def _imported(code: str, cwd: Path) -> set[str]:
    probe = (f"import sys, io, contextlib\n{code}\n"
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=cwd, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_command_line_imports_no_heavy_library_before_a_command(tmp_path: Path) -> None:
    code = ("from slit.cli import build_parser\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    build_parser().format_help()")  # fmt: skip
    assert _imported(code, tmp_path) == set()
    assert _imported("import slit", tmp_path) == set()


@pytest.mark.slow
def test_a_run_imports_no_plotting_and_no_optimiser(tmp_path: Path) -> None:
    code = ("from slit.cli import main\n"
            "assert main(['run', '--set', 'time.horizon_s=600', '--set', 'time.epoch_s=300', "
            "'--out', 'out', '-q']) == 0")  # fmt: skip
    assert not _imported(code, tmp_path) & {"matplotlib", "sklearn", "pymoo", "numba", "ray"}

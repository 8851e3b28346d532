"""docs/tutorial.md, executed: every ``console`` block's ``$`` commands run in a fresh folder,
in order, and each output line the tutorial shows must appear in what the command printed
(numbers may differ in their digits: they are compared as "a number"). ``yaml file=NAME``
blocks are written to NAME first. Blocks marked ``needs=SLIT_DATA`` run only where the real
data is (``../shared/data`` beside the checkout); ``bash`` blocks (the install) are shown,
not run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.M | re.S)
NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?")


@dataclass
class Block:
    kind: str  # console, yaml, bash, ...
    attrs: dict[str, str]
    text: str


def blocks() -> list[Block]:
    out = []
    for kind, info, text in FENCE.findall(TUTORIAL.read_text(encoding="utf-8")):
        attrs = dict(a.split("=", 1) for a in info.split() if "=" in a)
        out.append(Block(kind, attrs, text))
    return out


def steps(block: Block) -> list[tuple[str, list[str]]]:
    """``(command, expected lines)`` of a console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif line.strip() and out:
            out[-1][1].append(line)
    return out


def _shape(text: str) -> str:
    """A line as compared: numbers as '#', runs of spaces as one."""
    return " ".join(NUMBER.sub("#", text).split())


def test_the_tutorial_has_what_it_promises() -> None:
    found = blocks()
    commands = [c for b in found if b.kind == "console" for c, _ in steps(b)]
    for needed in ("slit run", "slit validate", "slit optimize", "slit sweep", "slit plot",
                   "slit report"):  # fmt: skip
        assert any(c.startswith(needed) for c in commands), needed
    assert any(b.attrs.get("file") == "three-regions.yaml" for b in found)
    assert "bibtex" in {b.kind for b in found}


@pytest.mark.slow
def test_every_command_of_the_tutorial_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    slit = shutil.which("slit", path=str(Path(sys.executable).parent)) or shutil.which("slit")
    assert slit, "the slit command is not installed beside this Python"
    env = dict(os.environ, COLUMNS="120")
    have_data = SHARED_DATA.is_dir()
    if have_data:
        env["SLIT_DATA"] = str(SHARED_DATA)
    else:
        env.pop("SLIT_DATA", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ran = 0
    for block in blocks():
        if block.attrs.get("needs") == "SLIT_DATA" and not have_data:
            continue
        if block.kind == "yaml" and "file" in block.attrs:
            (tmp_path / block.attrs["file"]).write_text(block.text, encoding="utf-8")
        if block.kind != "console":
            continue
        for command, expected in steps(block):
            done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, text=True,
                                  capture_output=True, timeout=600)  # fmt: skip
            assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
            printed = {_shape(line) for line in (done.stdout + done.stderr).splitlines()}
            missing = [line for line in expected if _shape(line) not in printed]
            assert not missing, (
                f"$ {command}: the tutorial shows lines it no longer prints: {missing}\n"
                f"--- printed:\n{done.stdout}{done.stderr}"
            )
            ran += 1
    assert ran >= 9

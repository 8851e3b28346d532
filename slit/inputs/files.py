"""The data files a scenario reads, and a digest of their contents.

A sweep names each point's result by everything it depends on; the scenario's text is not
enough when it names files (a trace, hourly signals, an RTT table) whose contents change, or
names them through an environment variable (``${SLIT_DATA}``) that points elsewhere on the next
run. :func:`input_digest` hashes the resolved path and the bytes of every file read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from slit.scenario.loader import Scenario

_CACHE: dict[tuple[str, int, int], str] = {}
"""Content hashes by (path, size, modification time): a sweep asks for each file per point."""


def input_paths(scenario: Scenario) -> list[Path]:
    """Every data file the scenario names, resolved (``${NAME}`` expanded), in a stable order."""
    cfg = scenario.config
    named: list[tuple[str, str]] = []
    path = getattr(cfg.workload, "path", None)
    if path:
        named.append((path, "workload.path"))
    for i, region in enumerate(cfg.regions):
        signals: Any = region.signals
        if signals is None:
            continue
        if getattr(signals, "path", None):
            named.append((signals.path, f"regions[{i}].signals.path"))
        for name in ("carbon", "price", "wetbulb", "ewif"):
            spec = getattr(signals, name, None)
            if getattr(spec, "path", None):
                named.append((spec.path, f"regions[{i}].signals.{name}.path"))
    table = getattr(cfg.network, "rtt_table", None)
    if table:
        named.append((table, "network.rtt_table"))
    return [scenario.resolve_path(p, where) for p, where in named]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes ("missing" for a file that is not there)."""
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        _CACHE[key] = h.hexdigest()
    return _CACHE[key]


def input_digest(scenario: Scenario) -> str:
    """One hash of every data file the scenario reads: its resolved path and its bytes."""
    h = hashlib.sha256()
    for path in input_paths(scenario):
        h.update(f"{path.resolve()}\0{file_digest(path)}\n".encode())
    return h.hexdigest()

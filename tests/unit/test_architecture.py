"""The package's layering, checked on the source: a module imports only from its own layer or
the layers below it, and no two modules import each other, directly or round a circle.

Layers, bottom to top (docs/design-notes.md):

    errors, registry, plugins, version < catalogue < models < traces < scenario < inputs < sim
    < optimize < experiment, calibration, builders < plot, report
    < cli and the package facade (slit/__init__.py)

Every ``import`` counts, also one inside a function (a lazy import is still a dependency);
imports under ``if TYPE_CHECKING:`` do not (they never run). The plug-in registries load their
built-in entries by module name (:mod:`slit.plugins`), which is not an import of the layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2] / "slit"

LAYERS: list[tuple[str, ...]] = [
    (
        "slit.errors",
        "slit.registry",
        "slit.plugins",
        "slit.version",
        "slit.jsonio",
        "slit.yamlio",
        "slit.processes",
        "slit.metrics",
    ),
    ("slit.catalogue",),
    ("slit.models",),
    ("slit.traces",),
    ("slit.scenario",),
    ("slit.inputs",),
    ("slit.sim",),
    ("slit.optimize",),
    ("slit.experiment", "slit.calibration", "slit.builders"),
    ("slit.plot", "slit.report"),
    ("slit.cli", "slit"),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of the longest prefix naming ``module``'s layer."""
    best, best_len = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    if best < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    skip.update(id(n) for n in ast.walk(child))
    return skip


def imports_of(module: str) -> set[str]:
    """The slit modules ``module`` imports at run time (see :func:`imports_in`)."""
    return imports_in(MODULES[module].read_text(encoding="utf-8"), module)


def imports_in(source: str, module: str = "") -> set[str]:
    """The slit modules the Python ``source`` imports at run time (a ``from package import
    name`` counts as an import of ``package.name`` when that is a module, else of
    ``package``)."""
    tree = ast.parse(source)
    skip = _type_checking_nodes(tree)
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "slit")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "slit":
                continue
            subs = [f"{node.module}.{a.name}" for a in node.names]
            found = [s for s in subs if s in MODULES]
            out.update(found or [node.module])
            if len(found) < len(subs):
                out.add(node.module)
    out.discard(module)
    return {m for m in out if m in MODULES}


GRAPH = nx.DiGraph()
for _m in MODULES:
    GRAPH.add_node(_m)
    for _t in imports_of(_m):
        GRAPH.add_edge(_m, _t)


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_from_a_higher_layer(module: str) -> None:
    mine = layer_of(module)
    upward = sorted(t for t in GRAPH.successors(module) if layer_of(t) > mine)
    assert not upward, (
        f"{module} (layer {mine}: {', '.join(LAYERS[mine])}) imports from higher layers: "
        + ", ".join(f"{t} (layer {layer_of(t)})" for t in upward)
    )


def test_no_import_circles() -> None:
    # a package's __init__ importing its own modules is how a package exposes them, not a circle
    graph = GRAPH.copy()
    graph.remove_edges_from(
        [
            (a, b)
            for a, b in GRAPH.edges
            if b.startswith(a + ".") and MODULES[a].name == "__init__.py"
        ]  # fmt: skip
    )
    circles = sorted(sorted(c) for c in nx.simple_cycles(graph))
    assert not circles, f"import circles: {circles}"


def test_the_check_sees_a_violation() -> None:
    """The checks are not vacuous: a lazy import inside a function is found, a type-only one is
    not, and an upward import and a circle would be reported."""
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from slit.optimize.run import run_optimize
def f():
    from slit.sim import engine
    return engine
"""
    got = imports_in(source)
    assert got == {"slit.sim.engine"}
    assert layer_of("slit.sim.engine") > layer_of("slit.models.latency")  # upward from models
    probe = nx.DiGraph([("slit.models.a", "slit.sim.b"), ("slit.sim.b", "slit.models.a")])
    assert list(nx.simple_cycles(probe))
    # cloud_rtt imports the region catalogue inside its functions: a lazy import counts
    assert "slit.catalogue" in imports_of("slit.models.cloud_rtt")


def test_simulator_and_optimiser_meet_only_at_the_input_record() -> None:
    """``slit.sim`` never imports ``slit.optimize``; in ``slit.optimize`` only the replay
    (``run``) imports the simulator, through its public entry points, and the fast evaluator
    builds on the input layer's fleet, not on the simulator's set-up."""
    for module in MODULES:
        if module.startswith("slit.sim"):
            assert not any(t.startswith("slit.optimize") for t in GRAPH.successors(module))
    public = {"slit.sim.simulate", "slit.sim.policies", "slit.sim.results", "slit.sim.deferral"}
    for module in MODULES:
        if module.startswith("slit.optimize"):
            into_sim = {t for t in GRAPH.successors(module) if t.startswith("slit.sim")}
            assert into_sim <= (public if module == "slit.optimize.run" else set()), (
                module,
                into_sim,
            )
    assert "slit.inputs.fleet" in nx.descendants(GRAPH, "slit.optimize.evaluator")
    assert "slit.inputs.fleet" in nx.descendants(GRAPH, "slit.sim.engine")


RUNTIME = ("slit.catalogue", "slit.models", "slit.traces", "slit.scenario", "slit.inputs",
           "slit.sim", "slit.optimize", "slit.experiment")  # fmt: skip


def test_no_run_imports_an_offline_builder() -> None:
    """The offline builders (``slit.builders``: ``slit traces build``; ``slit.calibration``:
    ``slit calibrate``) are reached only from the CLI and the benchmarks, never from what a
    run, an optimisation or a sweep imports."""
    offline = ("slit.builders", "slit.calibration")
    for module in MODULES:
        if module.startswith(RUNTIME):
            reached = nx.descendants(GRAPH, module)
            bad = sorted(t for t in reached if t.startswith(offline))
            assert not bad, f"{module} reaches offline builder(s) {bad}"

"""The one registry type behind every plug-in point: one behaviour everywhere."""

from __future__ import annotations

import pytest

from slit.errors import RegistryError, SlitError
from slit.plugins import ALGORITHMS, FORECASTERS, GRID_FORMATS, POLICIES, REQUEST_FORMATS
from slit.registry import Registry


def test_add_get_describe_list() -> None:
    reg: Registry[int] = Registry("widget", "slit list widgets")
    assert reg.add("b", 2, description="the second") == 2
    reg.register("a")(1)
    assert reg.get("a") == 1 and reg.names() == ["a", "b"] and list(reg) == ["a", "b"]
    assert "a" in reg and "c" not in reg and len(reg) == 2
    assert reg.description("b") == "the second" and reg.description("a") == ""


def test_a_taken_name_is_an_error_unless_replaced() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(RegistryError, match=r"'a' is already registered.*replace=True"):
        reg.add("a", 2)
    assert reg.get("a") == 1  # nothing lost
    reg.add("a", 3, replace=True)
    assert reg.get("a") == 3


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_a_name_must_be_a_non_empty_string(bad: object) -> None:
    with pytest.raises(ValueError, match="non-empty name"):
        Registry("widget").add(bad, 1)  # type: ignore[arg-type]


def test_an_unknown_name_says_what_is_valid() -> None:
    reg: Registry[int] = Registry("widget", "slit list widgets")
    reg.add("nearest", 1)
    reg.add("round_robin", 2)
    with pytest.raises(RegistryError) as info:
        reg.get("neares")
    text = str(info.value)
    assert "unknown widget 'neares'" in text and "Did you mean 'nearest'?" in text
    assert "`slit list widgets`" in text and "nearest, round_robin" in text
    assert isinstance(info.value, SlitError)  # the CLI prints it without a traceback
    with pytest.raises(RegistryError, match="none registered"):
        Registry("widget").get("x")
    with pytest.raises(RegistryError):
        reg.get(["not", "hashable"])  # type: ignore[arg-type]


def test_remove_takes_a_temporary_entry_out() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("tmp", 1, description="d")
    assert reg.remove("tmp") == 1 and "tmp" not in reg
    with pytest.raises(RegistryError):
        reg.remove("tmp")


def test_built_ins_are_loaded_on_first_read(tmp_path, monkeypatch) -> None:
    """A registry imports the modules that hold its built-ins the first time it is read, not
    before: a low layer lists what a higher one provides without importing it."""
    import importlib
    import sys

    (tmp_path / "widget_registry.py").write_text(
        "from slit.registry import Registry\n"
        "WIDGETS = Registry('widget', builtins=('widget_builtins',))\n",
        encoding="utf-8",
    )
    (tmp_path / "widget_builtins.py").write_text(
        "from widget_registry import WIDGETS\nWIDGETS.add('builtin', 42)\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    widgets = importlib.import_module("widget_registry").WIDGETS
    assert "widget_builtins" not in sys.modules  # nothing imported yet
    assert widgets.names() == ["builtin"] and widgets.get("builtin") == 42
    assert "widget_builtins" in sys.modules
    for name in ("widget_registry", "widget_builtins"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("registry", "some"),
    [
        (POLICIES, {"nearest", "round_robin", "helix", "splitwise"}),
        (ALGORITHMS, {"nsga2", "moead", "slit", "slit-guided", "slit-nolocal"}),
        (FORECASTERS, {"last", "oracle", "seasonal"}),
        (GRID_FORMATS, {"csv", "electricitymaps", "eia930"}),
        (REQUEST_FORMATS, {"azure", "csv", "mooncake"}),
    ],
)
def test_every_plug_in_point_is_a_registry_with_its_built_ins(registry, some) -> None:
    assert isinstance(registry, Registry) and some <= set(registry.names())
    with pytest.raises(RegistryError, match=f"unknown {registry.kind} 'zzz'"):
        registry.get("zzz")
    name = sorted(some)[0]
    with pytest.raises(RegistryError, match="already registered"):
        registry.add(name, registry.get(name))

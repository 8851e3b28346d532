"""Reading YAML that a user wrote, safely: every YAML document slit reads (scenarios, sweep
files, catalogs) goes through :func:`load_node`.

* PyYAML's safe loader only: no tag builds a Python object.
* At most :data:`MAX_ALIASES` aliases, and :data:`MAX_NODES` nodes once they are expanded,
  counted without expanding anything (a "billion laughs" document is refused at once).
* At most :data:`MAX_DEPTH` levels of nesting (PyYAML composes recursively).
* No key twice in one mapping (YAML would keep the last value without a word), and only plain
  scalars as keys.
* Numbers as YAML 1.2 reads them: ``1e-3`` is a number, not the text PyYAML (YAML 1.1) makes
  of it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_ALIASES = 1000
"""The most aliases a document may use."""
MAX_NODES = 1_000_000
"""The most nodes a YAML document may hold once its aliases are expanded."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and lists a document may have."""


class _SafeLoaderNoAliasBomb(yaml.SafeLoader):
    """A safe loader that refuses documents with too many aliases (billion laughs)."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D401 - yaml API
        if self.check_event(yaml.AliasEvent):
            self._alias_count = getattr(self, "_alias_count", 0) + 1
            if self._alias_count > MAX_ALIASES:
                raise yaml.YAMLError(
                    f"more than {MAX_ALIASES} YAML aliases; refusing a possible alias bomb"
                )
        depth = getattr(self, "_depth", 0) + 1
        if depth > MAX_DEPTH:
            raise yaml.YAMLError(
                f"nested more than {MAX_DEPTH} levels deep; a scenario needs far fewer"
            )
        self._depth = depth
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth - 1


def _expanded_nodes(node: Any, memo: dict[int, int]) -> int:
    """Nodes in ``node``'s tree with every alias expanded, counted without expanding any (an
    aliased node is the same object wherever it appears, so its count is worked out once)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a node that contains itself counts once; YAML's safe loader refuses those
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_nodes(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_nodes(k, memo) + _expanded_nodes(v, memo) for k, v in node.value)
    memo[key] = total
    return total


def _check_keys(root: Any) -> None:
    """Refuse a mapping with a key twice, or with a key that is not a plain scalar."""
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, Any] = {}
            for key, value in node.value:
                if key.tag == "tag:yaml.org,2002:merge":  # `<<: *base` merges, a key of YAML's
                    stack.append(value)
                    continue
                if not isinstance(key, yaml.ScalarNode):
                    raise yaml.MarkedYAMLError(
                        problem="a mapping key must be a plain name, not a list or a mapping",
                        problem_mark=key.start_mark,
                    )
                if key.value in first:
                    line = first[key.value].start_mark.line + 1
                    raise yaml.MarkedYAMLError(
                        problem=f"the key '{key.value}' appears twice in one mapping (first on "
                        f"line {line}); YAML would keep only the last value",
                        problem_mark=key.start_mark,
                    )
                first[key.value] = key
                stack.append(value)


# YAML 1.2 floats: PyYAML follows YAML 1.1, where a float needs a dot, so `1e-3` or `2e6`
# would be read as text and then refused as "not a number". The loader's own copy of the
# resolvers is extended; PyYAML's SafeLoader is left as it is.
_SafeLoaderNoAliasBomb.yaml_implicit_resolvers = {
    k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SafeLoaderNoAliasBomb.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_node(text: str) -> tuple[Any, Any]:
    """Compose and construct one YAML document safely (see the module doc): its node tree
    (with line and column marks) and its value.

    Raises:
        yaml.YAMLError: on a syntax error, an alias bomb, too deep a nesting, or a repeated
            or non-scalar key (a ``yaml.MarkedYAMLError`` where a line is known).
    """
    loader = _SafeLoaderNoAliasBomb(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise yaml.YAMLError(f"nested more than {MAX_DEPTH} levels deep") from None
        if node is not None:
            size = _expanded_nodes(node, {})
            if size > MAX_NODES:
                raise yaml.YAMLError(
                    f"its aliases expand to {size:,} nodes, more than {MAX_NODES:,} "
                    "(a YAML alias bomb?)"
                )
            _check_keys(node)
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def safe_load(text: str) -> Any:
    """The value of one YAML document, read as :func:`load_node` reads it."""
    return load_node(text)[1]

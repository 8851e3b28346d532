"""Loading scenarios: YAML files composed with ``extends:``, ``--set`` overrides, validation.

Every problem is collected and raised together as one :class:`~slit.errors.ScenarioError`, each with
its file, line and YAML path (``datacenters[0].pools[1].gpu``), what is valid and how to fix it.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from slit.catalogue.bundled import bundled_folder
from slit.catalogue.gpus import GpuSpec, bundled_gpus
from slit.catalogue.llms import LlmSpec, bundled_llms
from slit.errors import Problem, ScenarioError
from slit.models.memory import fit_problem
from slit.scenario.schema import (
    ConstantSignals,
    FileSignals,
    Pool,
    ProfileSignals,
    ScenarioModel,
)
from slit.yamlio import MAX_NODES, load_node

BUNDLED_PREFIX = "bundled:"
MAX_YAML_BYTES = 20_000_000


# --------------------------------------------------------------------------------------------
# YAML reading with positions


@dataclass
class _Source:
    """One YAML document read from disk (or the bundled package) and its composed node tree."""

    label: str
    path: Path | None
    data: Any
    node: Any


MAX_YAML_NODES = MAX_NODES
"""The most nodes a YAML document may hold once its aliases are expanded."""


def _read_yaml(text: str, label: str, path: Path | None) -> _Source:
    try:
        node, data = load_node(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        what = f"YAML syntax error: {exc.problem or exc}"
        if exc.context:
            what += f" ({exc.context})"
        raise ScenarioError(
            [Problem(where, what, "fix the YAML syntax at that line (indentation, quotes, colons)")]
        ) from None
    except yaml.YAMLError as exc:
        hint = "write the repeated values out, or share parts of scenarios with extends:"
        raise ScenarioError([Problem(label, f"YAML error: {exc}", hint)]) from None
    return _Source(label, path, data, node)


def bundled_scenario_names() -> list[str]:
    """Names of the scenarios shipped with the package (``bundled:NAME``): the default and
    the examples of the top-level ``scenarios/`` folder."""
    folder = bundled_folder("scenarios")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_source(ref: str | Path, relative_to: Path | None) -> _Source:
    ref_str = str(ref)
    if ref_str.startswith(BUNDLED_PREFIX):
        name = ref_str[len(BUNDLED_PREFIX) :]
        names = bundled_scenario_names()
        if name not in names:
            raise ScenarioError(
                [Problem(ref_str, "no such bundled scenario", f"valid: {', '.join(names)}")]
            )
        text = (bundled_folder("scenarios") / f"{name}.yaml").read_text("utf-8")
        return _read_yaml(text, ref_str, None)
    path = Path(ref_str)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if not path.is_file():
        if path.is_dir():
            raise ScenarioError([Problem(str(path), "is a folder", "name a scenario file")])
        if path.exists():
            raise ScenarioError([Problem(str(path), "is not a regular file (a pipe or a device)",
                                         "name a scenario file")])  # fmt: skip
        hint = "check the path (relative paths resolve against the file that names them)"
        raise ScenarioError([Problem(str(path), "scenario file not found", hint)])
    if path.stat().st_size > MAX_YAML_BYTES:
        raise ScenarioError([Problem(str(path), "file larger than 20 MB", "is it a scenario?")])
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Problem(str(path), f"not UTF-8 text (byte {exc.start})", "save it as UTF-8")]
        ) from None
    if not text.strip():
        raise ScenarioError([Problem(str(path), "the file is empty", "a scenario is a mapping")])
    return _read_yaml(text, str(path), path)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; every other value (lists included) in ``top`` replaces.

    A mapping whose ``source`` differs from the base's (``workload: {source: trace, ...}`` over
    a synthetic workload, ``signals: {source: files, ...}`` over a profile) replaces the base's
    mapping whole: the keys of one kind of source mean nothing to another.
    """
    out = dict(base)
    for key, value in top.items():
        old = out.get(key)
        if (
            isinstance(value, dict)
            and isinstance(old, dict)
            and "source" in value
            and value["source"] != old.get("source", value["source"])
        ):
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = _deep_merge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _compose(
    ref: str | Path, relative_to: Path | None, chain: tuple[str, ...]
) -> tuple[dict[str, Any], list[_Source]]:
    """Read ``ref`` and, recursively, the files it ``extends``; return the merged mapping and the
    sources, most derived first (used to find the line of a YAML path)."""
    src = _read_source(ref, relative_to)
    key = str(src.path.resolve()) if src.path else src.label
    if key in chain:
        cycle = " -> ".join([*chain, key])
        raise ScenarioError([Problem(src.label, f"'extends' cycle: {cycle}", "remove one link")])
    if not isinstance(src.data, dict):
        kind = type(src.data).__name__ if src.data is not None else "nothing"
        raise ScenarioError(
            [
                Problem(
                    src.label, f"the top level is {kind}, not a mapping", "write `key: value` lines"
                )
            ]
        )
    data = dict(src.data)
    parents = data.pop("extends", None)
    if parents is None:
        return data, [src]
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ScenarioError(
            [Problem(f"{src.label}: extends", "must be a path or a list of paths", "")]
        )
    merged: dict[str, Any] = {}
    sources: list[_Source] = []
    base_dir = src.path.parent if src.path else None
    for parent in parents:
        try:
            pdata, psources = _compose(parent, base_dir, (*chain, key))
        except ScenarioError as exc:
            # say which file's extends: named it
            raise ScenarioError(
                [
                    Problem(f"{src.label}: extends: {parent}", p.what, p.hint)
                    if p.where == str(base_dir / parent if base_dir else parent)
                    else p
                    for p in exc.problems
                ]
            ) from None
        merged = _deep_merge(merged, pdata)
        merged = _deep_merge(merged, pdata)
        sources = psources + sources
    return _deep_merge(merged, data), [src, *sources]


# --------------------------------------------------------------------------------------------
# Overrides (--set a.b=value)

_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")
_PATH = re.compile(r"(?:[^.\[\]]+|\[[^\[\]]+\])(?:\.[^.\[\]]+|\[[^\[\]]+\])*")
"""A whole key path: names joined by single dots, each name or bracketed item non-empty."""


def parse_path(path: str) -> list[str | int]:
    """Split ``datacenters[0].pools.1.gpu`` or ``datacenters[dc-eu].pue`` into path parts.

    Integers select list items by position; other bracketed names select the item whose ``id`` is
    that name.
    """
    parts: list[str | int] = []
    for name, bracket in _TOKEN.findall(path):
        token = name or bracket
        parts.append(int(token) if token.lstrip("-").isdigit() else token)
    return parts


def apply_override(data: dict[str, Any], assignment: str) -> tuple[str | int, ...]:
    """Apply one ``key.path=value`` assignment in place; the value is parsed as YAML.

    Returns:
        the path it set, with list items by position (ids resolved), for locating errors.
    """
    if "=" not in assignment:
        raise ScenarioError(
            [Problem(f"--set {assignment}", "missing '='", "write --set key.path=value")]
        )
    path_text, value_text = assignment.split("=", 1)
    if not path_text.strip():
        raise ScenarioError([Problem(f"--set {assignment}", "empty key path", "")])
    if not _PATH.fullmatch(path_text.strip()):
        raise ScenarioError([Problem(
            f"--set {assignment}", f"'{path_text.strip()}' is not a key path",
            "join names by single dots, select list items as [0] or [id]; a key holding dots "
            "goes in brackets, e.g. workload.models[llama-3.1-8b]=0.5")])  # fmt: skip
    parts = parse_path(path_text.strip())
    try:
        value = load_node(value_text)[1] if value_text else ""
    except yaml.YAMLError as exc:
        raise ScenarioError(
            [Problem(f"--set {assignment}", f"value is not YAML: {exc}", "")]
        ) from None
    node: Any = data
    resolved: list[str | int] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = _format_loc(parts[: i + 1])
        if isinstance(node, list):
            index = _list_index(node, part, assignment, here)
            resolved.append(index % len(node))
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if isinstance(part, int):
                raise ScenarioError(
                    [Problem(f"--set {assignment}", f"'{here}' is a mapping, not a list", "")]
                )
            resolved.append(part)
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ScenarioError(
                [
                    Problem(
                        f"--set {assignment}",
                        f"'{_format_loc(parts[:i])}' holds a value, not a mapping or list",
                        "shorten the key path",
                    )
                ]
            )
    return tuple(resolved)


def _list_index(node: list[Any], part: str | int, assignment: str, here: str) -> int:
    if isinstance(part, int):
        if -len(node) <= part < len(node):
            return part
        raise ScenarioError(
            [
                Problem(
                    f"--set {assignment}",
                    f"'{here}': index out of range",
                    f"the list has {len(node)} items (0..{len(node) - 1})",
                )
            ]
        )
    ids = [item.get("id") for item in node if isinstance(item, dict)]
    if part in ids:
        return ids.index(part)
    raise ScenarioError(
        [
            Problem(
                f"--set {assignment}",
                f"'{here}': no item with id '{part}'",
                f"valid ids: {', '.join(str(x) for x in ids)}",
            )
        ]
    )


# --------------------------------------------------------------------------------------------
# Validation and error mapping


def _format_loc(loc: typing.Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model class inside an annotation (``list[X]``, ``X | None``, ...), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(loc: tuple[Any, ...], raw: Any) -> list[str]:
    """Field names allowed in the mapping that holds ``loc[-1]`` (for close-match suggestions)."""
    model: type[BaseModel] | None = ScenarioModel
    node = raw
    for part in loc[:-1]:
        if model is None:
            return []
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if part in model.model_fields:
            annotation = model.model_fields[part].annotation
            node = node.get(part) if isinstance(node, dict) else None
            model = _pick_union_member(annotation, node)
        else:
            # a discriminated-union tag (e.g. 'synthetic') or a dict key: stay on the same model
            continue
    return sorted(model.model_fields) if model else []


def _pick_union_member(annotation: Any, node: Any) -> type[BaseModel] | None:
    candidates = []

    def collect(a: Any) -> None:
        if isinstance(a, type) and issubclass(a, BaseModel):
            candidates.append(a)
        for arg in typing.get_args(a):
            collect(arg)

    collect(annotation)
    if len(candidates) > 1 and isinstance(node, dict) and "source" in node:
        for cand in candidates:
            field_ = cand.model_fields.get("source")
            if field_ is not None and node["source"] in typing.get_args(field_.annotation):
                return cand
    return candidates[0] if candidates else None


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tags pydantic inserts into locations: discriminator values, the names
    of the schema's models (``SignalFile``) and of constrained scalar types."""
    import pydantic

    from slit.scenario import schema

    tags = {"profile", "constant", "csv", "files", "synthetic", "trace", "constrained-float",
            "constrained-int", "constrained-str", "[key]"}  # fmt: skip
    tags |= {name for name, obj in vars(schema).items()
             if isinstance(obj, type) and issubclass(obj, pydantic.BaseModel)}  # fmt: skip
    return tuple(p for p in loc if not (isinstance(p, str) and (p in tags or _GENERIC.match(p))))


_GENERIC = re.compile(r"^(dict|list|tuple|set)\[.*\]$")
"""A union tag pydantic gives a generic branch (``dict[str,constrained-float]``)."""


def _line_of(loc: tuple[Any, ...], sources: list[_Source]) -> str:
    """``file:line`` of the node at ``loc`` in the most derived file holding it; if no file holds
    all of ``loc`` (a missing key), the line of its deepest existing parent."""
    best: tuple[int, str] | None = None
    for src in sources:
        node, depth = src.node, 0
        for part in loc:
            nxt = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for knode, vnode in node.value:
                    if knode.value == part:
                        nxt = vnode if depth < len(loc) - 1 else knode
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    nxt = node.value[part]
            if nxt is None:
                break
            node, depth = nxt, depth + 1
        if node is not None and (best is None or depth > best[0]):
            best = (depth, f"{src.label}:{node.start_mark.line + 1}")
        if depth == len(loc):
            break
    if best is None:
        return sources[0].label if sources else "scenario"
    return best[1]


def _override_of(loc: tuple[Any, ...], overridden: dict[tuple[Any, ...], str]) -> str | None:
    """The ``--set`` assignment that set ``loc`` or a node holding it (the latest such)."""
    found = None
    for path, assignment in overridden.items():
        if loc[: len(path)] == path:
            found = assignment
    return found


def _problems_from(
    exc: ValidationError,
    raw: dict[str, Any],
    sources: list[_Source],
    context: dict[str, Any],
    overridden: dict[tuple[Any, ...], str] | None = None,
) -> list[Problem]:
    problems = []
    errors = exc.errors(include_url=False)
    # A mapping given where a value may be a mapping or a number (a signal file or a constant)
    # fails both branches; the number branch's "not a number" only hides the real problem.
    scalar = {"float_type", "float_parsing", "int_type", "int_parsing", "string_type",
              "bool_type"}  # fmt: skip
    cleaned = [_clean_loc(tuple(e["loc"])) for e in errors]

    mapping = {"dict_type", "model_type", "model_attributes_type"}

    def hidden(i: int) -> bool:
        loc, kind, given = cleaned[i], errors[i]["type"], errors[i].get("input")
        # the number branch of a mapping whose own branch says more
        if kind in scalar and isinstance(given, dict):
            return any(len(o) > len(loc) and o[:len(loc)] == loc for o in cleaned)
        # the mapping branch of a number given where a number or a mapping may go: the number
        # branch says what is wrong with it (out of range); text keeps both, as it may have
        # been meant for either
        if kind in mapping and isinstance(given, (int, float)) and not isinstance(given, bool):
            return any(j != i and cleaned[j] == loc for j in range(len(cleaned)))
        return False

    kept = [e for i, e in enumerate(errors) if not hidden(i)]
    for err in kept or errors:
        loc = _clean_loc(tuple(err["loc"]))
        assignment = _override_of(loc, overridden or {})
        origin = f"--set {assignment}" if assignment else _line_of(loc, sources)
        where = f"{origin}: {_format_loc(loc) or '(top level)'}"
        kind = err["type"]
        msg = err["msg"]
        hint = ""
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc, raw)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            msg = f"unknown key '{loc[-1]}'"
            hint = (f"did you mean '{close[0]}'? " if close else "") + (
                f"valid keys here: {', '.join(allowed)}" if allowed else ""
            )
        elif kind == "missing":
            msg = "required key is missing"
            hint = "add it (see `slit schema` or docs/scenario.md)"
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        else:
            given = err.get("input")
            if not isinstance(given, (dict, list)):
                msg = f"{msg} (got {given!r})"
            hint = _type_hint(kind, err.get("ctx") or {}, _format_loc(loc))
        problems.append(Problem(where, msg, hint))
    return problems


_BOUNDS = {"greater_than_equal": ("ge", ">="), "greater_than": ("gt", ">"),
           "less_than_equal": ("le", "<="), "less_than": ("lt", "<")}  # fmt: skip


def _type_hint(kind: str, ctx: dict[str, Any], path: str) -> str:
    """How to fix a value of the wrong type or out of its range (pydantic's error kinds)."""
    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        return f"set {path} to a value {op} {ctx.get(key)}"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        whole = kind.startswith("int")
        return (f"write a plain {'whole ' if whole else ''}number, without units or quotes "
                "(the unit is in the key's name)")  # fmt: skip
    if kind in ("bool_parsing", "bool_type"):
        return "write true or false"
    if kind == "string_type":
        return "write text; quote it if it would read as a number or a date"
    if kind == "literal_error" and ctx.get("expected"):
        return f"valid: {ctx['expected']}"
    if kind == "too_short" and path.startswith("data_residency."):
        return ("name at least one region whose datacenters may serve the origin's requests, "
                "or drop the origin to let it be served anywhere")  # fmt: skip
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        shape = "a list (- item lines)" if kind == "list_type" else "a mapping (key: value lines)"
        return f"write {shape} here (see `slit schema` or docs/scenario.md)"
    return ""


def _validation_context(raw: dict[str, Any]) -> dict[str, Any]:
    from slit.plugins import DEFERRALS, GRID_FORMATS, POLICIES, REQUEST_FORMATS
    from slit.traces.profiles import load_region_catalog

    def _of(mapping: Any, key: str, kind: type) -> Any:
        value = mapping.get(key)
        return value if isinstance(value, kind) else kind()

    catalog = _of(raw, "catalog", dict)
    user_gpus = _of(catalog, "gpus", dict)
    user_llms = _of(catalog, "llms", dict)
    regions = _of(raw, "regions", list)
    return {
        "gpus": set(bundled_gpus()) | set(user_gpus),
        "llms": set(bundled_llms()) | set(user_llms),
        "regions": {
            r["id"] for r in regions if isinstance(r, dict) and isinstance(r.get("id"), str)
        },
        "zones": set(load_region_catalog()),
        "policies": set(POLICIES.names()),
        "deferrals": set(DEFERRALS.names()),
        "grid_formats": set(GRID_FORMATS.names()),
        "request_formats": set(REQUEST_FORMATS.names()),
    }


def _duplicate_ids(raw: dict[str, Any], sources: list[_Source]) -> list[Problem]:
    """Duplicate ``id`` values in the id-keyed lists (found on the raw data, so that they are
    reported even when other problems stop pydantic from validating the whole list)."""
    problems = []
    for section in ("regions", "datacenters"):
        items = raw.get(section)
        if not isinstance(items, list):
            continue
        seen: dict[Any, int] = {}
        for i, item in enumerate(items):
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, str):  # a missing or non-text id: the schema says so
                continue
            if ident in seen:
                loc = (section, i, "id")
                problems.append(
                    Problem(
                        f"{_line_of(loc, sources)}: {_format_loc(loc)}",
                        f"duplicate {section[:-1]} id '{ident}' (also at {section}[{seen[ident]}])",
                        "ids must be unique; rename one",
                    )
                )
            else:
                seen[ident] = i
    return problems


# --------------------------------------------------------------------------------------------
# The public object


@dataclass(frozen=True)
class Scenario:
    """A validated, immutable scenario with its resolved catalogs.

    Attributes:
        config: the validated scenario tree (see :mod:`slit.scenario.schema`).
        base_dir: folder that relative paths in the scenario resolve against (None for bundled).
        label: where it came from (file path or ``bundled:NAME``).
        gpus, llms: bundled catalogs merged with the scenario's own ``catalog:`` entries.
    """

    config: ScenarioModel
    base_dir: Path | None
    label: str
    gpus: dict[str, GpuSpec] = field(repr=False)
    llms: dict[str, LlmSpec] = field(repr=False)

    def pool_llm(self, pool: Pool) -> LlmSpec:
        """The LLM a pool serves, at the pool's ``weight_precision`` and ``kv_cache_dtype``
        where it sets them (the catalog's otherwise)."""
        return self.llms[pool.model].with_precision(pool.weight_precision, pool.kv_cache_dtype)

    def resolved_dict(self) -> dict[str, Any]:
        """The full scenario with every default filled in, as plain YAML-able data."""
        return self.config.model_dump(mode="json")

    def resolved_yaml(self) -> str:
        """The full scenario as YAML (what ``config.resolved.yaml`` holds)."""
        return yaml.safe_dump(self.resolved_dict(), sort_keys=False, allow_unicode=True)

    def content_hash(self) -> str:
        """SHA-256 of the resolved scenario (canonical JSON), to identify identical inputs."""
        canon = json.dumps(self.resolved_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    def resolve_path(self, path: str, where: str = "scenario") -> Path:
        """A path named in the scenario, resolved against the scenario file's folder.

        ``${NAME}`` is replaced by the environment variable ``NAME``, so that a scenario can
        name data that lies in a different place on each machine (``${SLIT_DATA}/...``).

        Raises:
            ScenarioError: if a variable is not set (``where`` names the scenario key).
        """
        p = Path(expand_env(path, where))
        p = p if p.is_absolute() or self.base_dir is None else self.base_dir / p
        if p.exists() and not p.is_file() and not p.is_dir():
            # a named pipe would block the reader, a device feed it without end
            raise ScenarioError([Problem(where, f"{p} is not a regular file (a pipe or a device)",
                                         "name a data file")])  # fmt: skip
        return p

    def with_policy(self, policy: str | None) -> tuple[Scenario, str | None]:
        """The scenario with ``policy`` as its ``routing.policy`` (None: unchanged), so that
        a run's resolved scenario and hash record the policy that ran. The scenario's
        ``routing.params`` belong to its own policy and are dropped; the returned note says
        so (None when nothing was dropped)."""
        routing = self.config.routing
        if policy is None or policy == routing.policy:
            return self, None
        note = None
        if routing.params:
            note = (f"routing: policy {policy!r} runs with its defaults; the scenario's "
                    f"routing.params ({', '.join(sorted(routing.params))}) are those of "
                    f"{routing.policy!r} and are not used")  # fmt: skip
        return self.with_overrides([f"routing.policy={policy}", "routing.params={}"]), note

    def with_overrides(self, overrides: typing.Sequence[str]) -> Scenario:
        """A new scenario with ``key.path=value`` overrides applied and re-validated."""
        raw = self.resolved_dict()
        overridden = {apply_override(raw, assignment): assignment for assignment in overrides}
        return scenario_from_dict(
            raw, label=self.label, base_dir=self.base_dir, _overridden=overridden
        )


_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str, where: str = "scenario") -> str:
    """Replace each ``${NAME}`` in ``text`` by the environment variable ``NAME``.

    Raises:
        ScenarioError: naming ``where`` and the variable, if it is not set.
    """

    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise ScenarioError(
                [
                    Problem(
                        where,
                        f"the path '{text}' uses ${{{m.group(1)}}}, which is not set",
                        f"set it in the environment, e.g. export {m.group(1)}=/path/to/data",
                    )
                ]
            )
        return value

    return _ENV_VAR.sub(sub, text)


def _memory_problems(
    config: ScenarioModel,
    gpus: dict[str, GpuSpec],
    llms: dict[str, LlmSpec],
    sources: list[_Source],
) -> list[Problem]:
    """Pools whose weights (with vLLM's activation and runtime reserve) leave no room for a KV
    block on their GPUs (see :mod:`slit.models.memory`)."""
    problems = []
    for d, dc in enumerate(config.datacenters):
        for p, pool in enumerate(dc.pools):
            if pool.replicas == 0:
                continue  # deploys nothing
            llm = llms[pool.model].with_precision(pool.weight_precision, pool.kv_cache_dtype)
            found = fit_problem(
                llm,
                gpus[pool.gpu],
                pool.tp,
                pool.gpu_memory_utilization,
                model_id=pool.model,
                gpu_id=pool.gpu,
                gpus=gpus,
                max_batched_tokens=pool.max_prefill_tokens,
                max_num_seqs=pool.max_batch_size,
            )
            if found is not None:
                loc = ("datacenters", d, "pools", p)
                where = f"{_line_of(loc, sources)}: {_format_loc(loc)} (datacenter {dc.id})"
                problems.append(Problem(where, *found))
    return problems


def _capacity_problems(config: ScenarioModel, sources: list[_Source]) -> list[Problem]:
    """Capacity control where the engine cannot apply it: pools that scale to zero on their
    own (``keep_alive_s``), per-replica dispatch, phase-split datacenters; and a plan naming
    datacenters or LLMs the scenario does not have there."""
    cap = config.capacity
    if cap.policy == "fixed":
        if cap.epochs:
            loc: tuple[Any, ...] = ("capacity", "epochs")
            return [Problem(f"{_line_of(loc, sources)}: capacity.epochs",
                            "capacity.epochs is read only by policy: plan",
                            "set capacity.policy: plan, or remove epochs")]  # fmt: skip
        return []
    problems = []
    for d, dc in enumerate(config.datacenters):
        if dc.phase_split.enabled:
            loc = ("datacenters", d, "phase_split")
            problems.append(Problem(
                f"{_line_of(loc, sources)}: {_format_loc(loc)} (datacenter {dc.id})",
                f"capacity policy '{cap.policy}' cannot power phase-split replicas up and down",
                "use capacity.policy: fixed, or disable phase_split"))  # fmt: skip
        for p, pool in enumerate(dc.pools):
            for key, bad, why in (
                ("keep_alive_s", pool.keep_alive_s is not None, "scales to zero on its own"),
                ("dispatch", pool.dispatch != "shared", "has per-replica queues"),
            ):
                if bad:
                    loc = ("datacenters", d, "pools", p, key)
                    problems.append(Problem(
                        f"{_line_of(loc, sources)}: {_format_loc(loc)} (datacenter {dc.id})",
                        f"capacity policy '{cap.policy}' powers replicas up and down, but "
                        f"this pool {why}",
                        f"remove {key} (or use capacity.policy: fixed)"))  # fmt: skip
    serves = {dc.id: {pool.model for pool in dc.pools} for dc in config.datacenters}
    for e, table in enumerate(cap.epochs):
        for dc_id, row in table.items():
            loc = ("capacity", "epochs", e, dc_id)
            where = f"{_line_of(loc, sources)}: {_format_loc(loc)}"
            if dc_id not in serves:
                problems.append(Problem(where, f"unknown datacenter '{dc_id}'",
                                        f"valid: {', '.join(serves)}"))  # fmt: skip
                continue
            for llm in row:
                if llm not in serves[dc_id]:
                    problems.append(Problem(
                        f"{where}.{llm}", f"datacenter {dc_id} has no pool of LLM '{llm}'",
                        f"its LLMs: {', '.join(sorted(serves[dc_id]))}"))  # fmt: skip
    if cap.policy == "plan" and not cap.epochs:
        problems.append(Problem("capacity.epochs", "policy: plan needs epochs",
                                "give one {datacenter: {llm: replicas}} per epoch"))  # fmt: skip
    return problems


def residency_lacks(
    config: ScenarioModel, origin: str, models: typing.Iterable[str]
) -> tuple[list[str], list[str]]:
    """Of ``models``, those that some pool with replicas serves but none in a region whose
    datacenters ``origin`` may use (``data_residency``); with the regions that do serve the
    first of them (for a hint). Both empty for an origin without restriction."""
    allowed = config.data_residency.get(origin)
    if allowed is None:
        return [], []
    served: dict[str, list[str]] = {}
    for dc in config.datacenters:
        for pool in dc.pools:
            if pool.replicas > 0 and dc.region not in served.setdefault(pool.model, []):
                served[pool.model].append(dc.region)
    lacking = [m for m in dict.fromkeys(models)
               if m in served and not set(served[m]) & set(allowed)]  # fmt: skip
    return lacking, served[lacking[0]] if lacking else []


def residency_problem(
    config: ScenarioModel,
    origin: str,
    lacking: list[str],
    serving: list[str],
    where: str,
    asked: str,
) -> Problem:
    """The problem of an origin whose requests ask for LLMs (``lacking``) that no datacenter
    in its allowed regions serves (``serving``: regions that do serve the first of them)."""
    allowed = config.data_residency[origin]
    return Problem(
        where,
        f"origin '{origin}' may be served only in {', '.join(allowed)} (data residency), where "
        f"no datacenter serves {', '.join(lacking)}, which {asked}",
        f"add a pool of {lacking[0]} to a datacenter in {' or '.join(allowed)}, allow a region "
        f"that serves it in data_residency.{origin} ({', '.join(serving)}), or ask for it from "
        "other origins only",
    )  # fmt: skip


def _residency_problems(config: ScenarioModel, sources: list[_Source]) -> list[Problem]:
    """Origins of a synthetic workload whose requests may ask for an LLM that no datacenter of
    their allowed regions serves (a trace's origins and LLMs are known only once it is read:
    :func:`slit.inputs.compile.compile_inputs` checks them)."""
    wl = config.workload
    if not config.data_residency or wl.source != "synthetic":
        return []
    origins = list(wl.origins) or [r.id for r in config.regions]
    asked = list(wl.models) or [p.model for dc in config.datacenters for p in dc.pools]
    problems = []
    for origin in config.data_residency:
        if origin not in origins:
            continue  # it sends no requests
        lacking, serving = residency_lacks(config, origin, asked)
        if lacking:
            loc = ("data_residency", origin)
            where = f"{_line_of(loc, sources)}: {_format_loc(loc)}"
            what = ("its requests ask for (workload.models)" if wl.models
                    else "the workload asks for (every LLM a pool serves)")  # fmt: skip
            problems.append(residency_problem(config, origin, lacking, serving, where, what))
    return problems


def _carbon_problems(config: ScenarioModel, sources: list[_Source]) -> list[Problem]:
    """With ``carbon.intensity: marginal``, every region whose signals can hold no marginal
    intensity (a profile, constants without one, files without ``marginal_carbon``). A
    signals CSV is checked when it is read (it may have the column)."""
    if config.carbon.intensity != "marginal":
        return []
    problems = []
    for i, region in enumerate(config.regions):
        sig = region.signals
        if isinstance(sig, ConstantSignals) and sig.marginal_carbon_g_per_kwh is None:
            key, fix = "signals", "give signals.marginal_carbon_g_per_kwh"
        elif isinstance(sig, FileSignals) and sig.marginal_carbon is None:
            key, fix = "signals", "give signals.marginal_carbon (a file or a number, gCO2e/kWh)"
        elif isinstance(sig, ProfileSignals):
            key, fix = "signals", ("use signals source: files with marginal_carbon (a file, e.g. "
                                   "format: watttime, or a number); the bundled profiles hold "
                                   "average intensity only")  # fmt: skip
        else:
            continue
        loc = ("regions", i, key)
        problems.append(
            Problem(
                f"{_line_of(loc, sources)}: {_format_loc(loc)}",
                f"region {region.id} has no marginal carbon intensity, and carbon.intensity "
                "is marginal",
                f"{fix}, or set carbon.intensity: average",
            )
        )
    return problems


def scenario_from_dict(
    data: dict[str, Any],
    *,
    label: str = "scenario",
    base_dir: Path | None = None,
    _sources: list[_Source] | None = None,
    _overridden: dict[tuple[Any, ...], str] | None = None,
) -> Scenario:
    """Validate a scenario given as a mapping (as read from YAML)."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem(label, "the scenario is not a mapping", "")])
    context = _validation_context(data)
    sources = _sources or [_Source(label, None, data, None)]
    problems = _duplicate_ids(data, sources)
    try:
        config = ScenarioModel.model_validate(data, context=context)
    except ValidationError as exc:
        problems += _problems_from(exc, data, sources, context, _overridden)
    if problems:
        raise ScenarioError(problems)
    gpus = {**bundled_gpus(), **config.catalog.gpus}
    llms = {**bundled_llms(), **config.catalog.llms}
    problems = _memory_problems(config, gpus, llms, sources) + _carbon_problems(config, sources)
    problems += _capacity_problems(config, sources)
    problems += _residency_problems(config, sources)
    if problems:
        raise ScenarioError(problems)
    return Scenario(config=config, base_dir=base_dir, label=label, gpus=gpus, llms=llms)


def load_scenario(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> Scenario:
    """Load, compose (``extends:``), override (``key.path=value``) and validate a scenario.

    Args:
        path: a YAML file, ``bundled:NAME``, or None for the bundled default scenario.
        overrides: ``key.path=value`` assignments applied after composition, in order.

    Raises:
        ScenarioError: with every problem found, each located by file, line and YAML path.
    """
    ref = f"{BUNDLED_PREFIX}default" if path is None else path
    data, sources = _compose(ref, None, ())
    override_problems = []
    overridden: dict[tuple[Any, ...], str] = {}
    for assignment in overrides:
        try:
            overridden[apply_override(data, assignment)] = assignment
        except ScenarioError as exc:
            override_problems.extend(exc.problems)
    if override_problems:
        raise ScenarioError(override_problems)
    base_dir = sources[0].path.parent if sources[0].path else None
    return scenario_from_dict(
        data, label=sources[0].label, base_dir=base_dir, _sources=sources, _overridden=overridden
    )

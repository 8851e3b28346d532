"""The catalogue of bad inputs: each case is files to write, a command, and what its error must
say. ``tests/cli/test_bad_input_catalogue.py`` runs every case through the command line.

A case's ``says`` lists regular expressions the error must all match: what is wrong, where
(file, YAML path, or column and line), and what is valid or how to fix it.
"""

from __future__ import annotations

import copy
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.conftest import small_scenario_dict

GOOD_TRACE = "arrival_s,prompt_tokens,output_tokens,origin\n" + "".join(
    f"{i * 2.0},{100 + i},{10 + i % 7},{'ab'[i % 2]}\n" for i in range(400)
)
"""A request trace covering 800 s (the trace cases' horizon is 600 s)."""


def _signal_csv(rows: list[tuple[str, str]]) -> str:
    return "time_utc,carbon_g_per_kwh\n" + "".join(f"{t},{v}\n" for t, v in rows)


GOOD_HOURS = [(f"2023-07-15T{h:02d}:00:00Z", str(200 + h)) for h in range(24)]


@dataclass(frozen=True)
class Case:
    """One bad input: files (name -> text, or bytes), the command's arguments after ``slit``
    (``{scenario}`` and ``{out}`` filled in), and patterns its error must match."""

    name: str
    files: dict[str, str | bytes]
    says: tuple[str, ...]
    argv: tuple[str, ...] = ("run", "{scenario}", "--out", "{out}")
    extra: dict[str, Any] = field(default_factory=dict)


def _yaml(change: Callable[[dict[str, Any]], None] | None = None) -> str:
    data = small_scenario_dict()
    if change is not None:
        change(data)
    return yaml.safe_dump(data, sort_keys=False)


def _with(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change setting ``a.b.0.c``-style ``path`` to ``value``."""

    def change(data: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
        node: Any = data
        for k in keys[:-1]:
            node = node.setdefault(k, {}) if isinstance(node, dict) else node[k]
        node[keys[-1]] = copy.deepcopy(value)

    return change


def _trace_workload(data: dict[str, Any], path: str = "trace.csv") -> None:
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    data["workload"] = {"source": "trace", "path": path, "format": "csv"}


def _signal_file(data: dict[str, Any]) -> None:
    data["time"].update(horizon_s=3600, epoch_s=900, drain_s=600)
    data["regions"][0]["signals"] = {
        "source": "files",
        "carbon": {"path": "sig.csv", "format": "csv"},
        "price": 42.0,
    }


def _trace(text: str | bytes, name: str = "trace.csv") -> dict[str, str | bytes]:
    return {"s.yaml": _yaml(lambda d: _trace_workload(d, name)), name: text}


def _signals(text: str | bytes) -> dict[str, str | bytes]:
    return {"s.yaml": _yaml(_signal_file), "sig.csv": text}


_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n"
    for i in range(8)
)
"""The 'billion laughs' in YAML: nine levels of nine aliases, 9^9 strings if expanded."""


def _truncated_gzip() -> bytes:
    blob = gzip.compress(GOOD_TRACE.encode() * 20)
    return blob[: len(blob) // 2]


CASES: list[Case] = [
    # -- scenario YAML -------------------------------------------------------------------
    Case("yaml_syntax_error", {"s.yaml": "time:\n  horizon_s: [1, 2\nregions: x\n"},
         (r"s\.yaml:\d+:\d+", r"YAML syntax error", r"fix the YAML syntax")),
    Case("yaml_empty_file", {"s.yaml": ""}, (r"s\.yaml", r"empty", r"mapping|keys")),
    Case("yaml_top_level_not_a_mapping", {"s.yaml": "- a\n- b\n"},
         (r"s\.yaml", r"the top level is list, not a mapping", r"key: value")),
    Case("unknown_key_with_suggestion", {"s.yaml": _yaml(_with("time.horizn_s", 60))},
         (r"s\.yaml", r"time\.horizn_s", r"horizon_s")),
    Case("wrong_type", {"s.yaml": _yaml(_with("time.horizon_s", "an hour"))},
         (r"s\.yaml", r"time\.horizon_s", r"valid number", r"write a plain number")),
    Case("negative_gpu_count",
         {"s.yaml": _yaml(_with("datacenters.0.pools.0.replicas", -2))},
         (r"s\.yaml", r"datacenters\[0\]\.pools\[0\]\.replicas|datacenters\.0\.pools\.0\.replicas",
          r"greater than or equal to 0",
          r"to a value >= 0")),
    Case("negative_tensor_parallel_degree",
         {"s.yaml": _yaml(_with("datacenters.0.pools.0.tp", -4))},
         (r"s\.yaml:\d+", r"datacenters\[0\]\.pools\[0\]\.tp", r"greater than or equal to 1",
          r"to a value >= 1")),
    Case("unknown_grid_zone", {"s.yaml": _yaml(lambda d: d["regions"][0].update(
        zone="XX-NOWHERE", signals={"source": "profile"}))},
         (r"s\.yaml:\d+", r"regions\[0\]", r"XX-NOWHERE", r"US-CAL-CISO")),
    Case("unknown_dispatch",
         {"s.yaml": _yaml(_with("datacenters.0.pools.0.dispatch", "fastest"))},
         (r"s\.yaml:\d+", r"datacenters\[0\]\.pools\[0\]\.dispatch", r"fastest",
          r"valid: 'shared', 'round_robin', 'shortest_queue' or 'least_kv'")),
    Case("dispatch_differs_between_pools_of_one_llm",
         {"s.yaml": _yaml(lambda d: d["datacenters"][0]["pools"].append(
             {"model": "llama-3.1-8b", "gpu": "a100-80gb", "dispatch": "round_robin"}))},
         (r"datacenters\[0\]\.pools\[1\]\.dispatch",
          r"'round_robin' differs from pools\[0\]\.dispatch 'shared'", r"same dispatch")),
    Case("pue_below_one", {"s.yaml": _yaml(_with("datacenters.0.pue", 0.9))},
         (r"s\.yaml", r"pue", r"greater than or equal to 1", r"to a value >= 1")),
    Case("epoch_longer_than_horizon", {"s.yaml": _yaml(_with("time.epoch_s", 7200))},
         (r"s\.yaml", r"time\.epoch_s", r"horizon", r"shorter")),
    Case("unknown_region_in_origins",
         {"s.yaml": _yaml(_with("workload.origins", {"a": 1, "mars": 1}))},
         (r"s\.yaml", r"workload\.origins", r"mars", r"valid.*\ba\b.*\bb\b|a, b")),
    Case("unknown_gpu", {"s.yaml": _yaml(_with("datacenters.0.pools.0.gpu", "h200-9000"))},
         (r"s\.yaml", r"gpu", r"h200-9000", r"h100-80gb")),
    Case("unknown_model", {"s.yaml": _yaml(_with("datacenters.0.pools.0.model", "gpt-9"))},
         (r"s\.yaml", r"model", r"gpt-9", r"llama-3\.1-8b")),
    Case("weights_do_not_fit_the_gpus",
         {"s.yaml": _yaml(_with("datacenters.1.pools.0",
                                {"model": "llama-3.1-405b", "gpu": "h100-80gb", "tp": 8}))},
         (r"s\.yaml:\d+", r"datacenters\[1\]\.pools\[0\] \(datacenter dc-b\)",
          r"llama-3\.1-405b \(bf16, 811\.7 GB of weights\) does not fit on 8 x h100-80gb",
          r"needs 101\.5 GB of weights", r"offers 76\.6 GB",
          r"raise tp to 16", r"weight_precision: fp8", r"more memory \(b200, h200\)")),
    Case("deprecated_kv_memory_fraction_contradicts_gpu_memory_utilization",
         {"s.yaml": _yaml(lambda d: d["datacenters"][0]["pools"][0].update(
             kv_memory_fraction=0.5, gpu_memory_utilization=0.9))},
         (r"s\.yaml:\d+", r"datacenters\[0\]\.pools\[0\]", r"kv_memory_fraction \(0\.5\)",
          r"deprecated", r"give only gpu_memory_utilization")),
    Case("unknown_policy", {"s.yaml": _yaml(_with("routing.policy", "fastest"))},
         (r"s\.yaml|routing", r"routing\.policy", r"fastest", r"nearest")),
    Case("unknown_policy_on_the_command_line", {"s.yaml": _yaml()},
         (r"--policy|policy", r"fastest", r"nearest"),
         argv=("run", "{scenario}", "--out", "{out}", "--policy", "fastest")),
    Case("unknown_algorithm", {"s.yaml": _yaml()},
         (r"algorithm", r"genetic", r"slit"),
         argv=("optimize", "{scenario}", "--out", "{out}", "--algorithm", "genetic")),
    Case("duplicate_datacenter_ids",
         {"s.yaml": _yaml(lambda d: d["datacenters"].append(copy.deepcopy(d["datacenters"][0])))},
         (r"s\.yaml:\d+", r"datacenters\[2\]\.id", r"duplicate datacenter id 'dc-a'",
          r"rename one")),
    Case("datacenter_in_an_undefined_region",
         {"s.yaml": _yaml(_with("datacenters.0.region", "atlantis"))},
         (r"s\.yaml", r"datacenters\[0\]\.region|datacenters\.0\.region", r"atlantis",
          r"\ba\b.*\bb\b|a, b")),
    Case("cyclic_extends",
         {"s.yaml": "extends: t.yaml\nname: s\n", "t.yaml": "extends: s.yaml\nname: t\n"},
         (r"extends", r"cycle", r"s\.yaml -> .*t\.yaml -> .*s\.yaml", r"remove one link")),
    Case("missing_extends", {"s.yaml": "extends: nowhere.yaml\nname: s\n"},
         (r"s\.yaml: extends: nowhere\.yaml", r"not found", r"check the path")),
    Case("override_path_that_does_not_exist", {"s.yaml": _yaml()},
         (r"--set time\.horizonn_s=60", r"unknown key 'horizonn_s'", r"did you mean 'horizon_s'"),
         argv=("run", "{scenario}", "--out", "{out}", "--set", "time.horizonn_s=60")),
    Case("override_index_out_of_range", {"s.yaml": _yaml()},
         (r"--set", r"datacenters\[7\]", r"2 datacenters|0\.\.1|dc-a"),
         argv=("run", "{scenario}", "--out", "{out}", "--set", "datacenters[7].pue=1.2")),
    Case("yaml_alias_bomb", {"s.yaml": _BOMB},
         (r"s\.yaml", r"alias", r"expan|too many|limit")),
    # -- request traces -------------------------------------------------------------------
    Case("trace_missing_file", {"s.yaml": _yaml(_trace_workload)},
         (r"trace\.csv", r"not found", r"workload\.path|check the path")),
    Case("trace_empty_file", _trace(""), (r"trace\.csv", r"empty")),
    Case("trace_missing_column", _trace("arrival_s,prompt_tokens,origin\n0,1,a\n"),
         (r"trace\.csv \(workload\.path\)", r"missing column output_tokens", r"has columns",
          r"needs", r"rename")),
    Case("trace_non_numeric", _trace(GOOD_TRACE.replace("\n4.0,", "\nsoon,", 1)),
         (r"trace\.csv \(workload\.path\)", r"column arrival_s, data row 3", r"'soon'",
          r"not a number", r"plain number")),
    Case("trace_nan", _trace(GOOD_TRACE.replace("\n4.0,102,", "\n4.0,nan,", 1)),
         (r"trace\.csv", r"column prompt_tokens, data row 3", r"'nan' is not a number",
          r"plain number")),
    Case("trace_negative", _trace(GOOD_TRACE.replace("\n4.0,102,", "\n4.0,-102,", 1)),
         (r"trace\.csv", r"column prompt_tokens, data row 3", r"negative", r">= 0")),
    Case("trace_unsorted", _trace(GOOD_TRACE.replace("\n4.0,", "\n1.0,", 1)),
         (r"trace\.csv", r"column arrival_s, data row 3", r"must not decrease",
          r"workload\.sort")),
    Case("trace_shorter_than_the_horizon",
         _trace(GOOD_TRACE.split("\n100.0,")[0] + "\n"),
         (r"trace\.csv", r"covers", r"600", r"horizon_s|tile|resample")),
    Case("trace_max_total_tokens_not_a_count",
         {"s.yaml": _yaml(lambda d: (_trace_workload(d), d["workload"].update(
             options={"max_total_tokens": "4k"}))), "trace.csv": GOOD_TRACE},
         (r"trace\.csv", r"max_total_tokens is '4k'", r"whole number of tokens >= 1")),
    Case("trace_not_utf8", _trace(GOOD_TRACE.encode() + b"900.0,5,5,\xe9\xff\n"),
         (r"trace\.csv", r"UTF-8", r"byte")),
    Case("trace_truncated_gzip", _trace(_truncated_gzip(), "trace.csv.gz"),
         (r"trace\.csv\.gz", r"\.gz file is truncated or corrupt", r"copy the file again")),
    # -- grid signal files ----------------------------------------------------------------
    Case("signal_nan", _signals(_signal_csv(GOOD_HOURS[:5] + [("2023-07-15T05:00:00Z", "nan")]
                                            + GOOD_HOURS[6:])),
         (r"sig\.csv", r"carbon_g_per_kwh", r"line 7", r"NaN|empty")),
    Case("signal_negative", _signals(_signal_csv(GOOD_HOURS[:5] + [("2023-07-15T05:00:00Z", "-4")]
                                                 + GOOD_HOURS[6:])),
         (r"sig\.csv", r"line 7", r"negative", r">= 0")),
    Case("signal_duplicate_timestamp",
         _signals(_signal_csv(GOOD_HOURS[:6] + [GOOD_HOURS[5]] + GOOD_HOURS[6:])),
         (r"sig\.csv", r"05:00", r"twice", r"line 8")),
    Case("signal_unsorted_timestamps",
         _signals(_signal_csv(GOOD_HOURS[:4] + [GOOD_HOURS[5], GOOD_HOURS[4]] + GOOD_HOURS[6:])),
         (r"sig\.csv", r"backwards", r"line 7", r"sort")),
    Case("signal_gap", _signals(_signal_csv(GOOD_HOURS[:5] + GOOD_HOURS[8:])),
         (r"sig\.csv", r"missing", r"line 6", r"fill_gaps")),
    Case("signal_timezone_naive",
         _signals(_signal_csv([(t.replace("T", " ").replace(":00Z", ""), v)
                               for t, v in GOOD_HOURS])),
         (r"sig\.csv", r"time_utc", r"timezone", r"Z|\+00:00|UTC")),
    Case("signal_shorter_than_the_horizon", _signals(_signal_csv(GOOD_HOURS[:1])),
         (r"sig\.csv", r"covers|cover", r"horizon|needs")),
    Case("signal_not_utf8", _signals(_signal_csv(GOOD_HOURS).encode() + b"\xe9\xff\n"),
         (r"sig\.csv", r"UTF-8", r"byte")),
    Case("signal_truncated_gzip", {"s.yaml": _yaml(lambda d: (_signal_file(d), d["regions"][0][
        "signals"]["carbon"].update(path="sig.csv.gz"))), "sig.csv.gz": gzip.compress(
        _signal_csv(GOOD_HOURS * 40).encode())[:300]},
         (r"sig\.csv\.gz", r"truncated or corrupt")),
    Case("signal_missing_file", {"s.yaml": _yaml(_signal_file)},
         (r"sig\.csv", r"not found", r"check the path")),
    # -- non-finite and absurd numbers ---------------------------------------------------
    *[Case(f"not_finite_{name}_{label}", {"s.yaml": _yaml(_with(path, value))},
           (r"s\.yaml", re_path, r"finite number|less than or equal|greater than"))
      for name, path, re_path in (
          ("carbon", "regions.0.signals.carbon_g_per_kwh",
           r"regions\[0\]\.signals\.(constant\.)?carbon_g_per_kwh"),
          ("price", "regions.0.signals.price_usd_per_mwh",
           r"regions\[0\]\.signals\.(constant\.)?price_usd_per_mwh"),
          ("wetbulb", "regions.0.signals.wetbulb_c",
           r"regions\[0\]\.signals\.(constant\.)?wetbulb_c"),
          ("ewif", "regions.0.signals.ewif_l_per_kwh",
           r"regions\[0\]\.signals\.(constant\.)?ewif_l_per_kwh"),
          ("horizon", "time.horizon_s", r"time\.horizon_s"),
          ("drain", "time.drain_s", r"time\.drain_s"),
          ("rate", "workload.rate_per_s", r"workload\.(synthetic\.)?rate_per_s"),
          ("origin_weight", "workload.origins.a", r"workload\.(synthetic\.)?origins\.a"),
          ("pue", "datacenters.0.pue", r"datacenters\[0\]\.pue"),
          ("slo", "slo.ttft_s", r"slo\.ttft_s"),
          ("load_bandwidth", "datacenters.0.pools.0.load_bandwidth_gb_per_s",
           r"datacenters\[0\]\.pools\[0\]\.load_bandwidth_gb_per_s"),
      )
      for label, value in (("inf", float("inf")), ("nan", float("nan")), ("huge", 1e308))],
    *[Case(f"out_of_range_{name}", {"s.yaml": _yaml(_with(path, value))},
           (r"s\.yaml", re_path, says))
      for name, path, re_path, value, says in (
          ("diurnal_amplitude", "workload.diurnal_amplitude",
           r"workload\.(synthetic\.)?diurnal_amplitude", 1.5, r"less than or equal to 1"),
          ("peak_hour", "workload.peak_hour_local", r"workload\.(synthetic\.)?peak_hour_local",
           25, r"less than 24"),
          ("keep_alive_nan", "datacenters.0.pools.0.keep_alive_s",
           r"datacenters\[0\]\.pools\[0\]\.keep_alive_s", float("nan"), r"finite number"),
          ("gpu_memory_utilization", "datacenters.0.pools.0.gpu_memory_utilization",
           r"datacenters\[0\]\.pools\[0\]\.gpu_memory_utilization", 2.0,
           r"less than or equal to 1"),
          ("tp_zero", "datacenters.0.pools.0.tp", r"datacenters\[0\]\.pools\[0\]\.tp", 0,
           r"greater than or equal to 1"),
          ("tp_huge", "datacenters.0.pools.0.tp", r"datacenters\[0\]\.pools\[0\]\.tp", 512,
           r"less than or equal to 64"),
          ("batch_zero", "datacenters.0.pools.0.max_batch_size",
           r"datacenters\[0\]\.pools\[0\]\.max_batch_size", 0, r"greater than or equal to 1"),
          ("batch_huge", "datacenters.0.pools.0.max_batch_size",
           r"datacenters\[0\]\.pools\[0\]\.max_batch_size", 10**9,
           r"less than or equal to 100000"),
          ("server_overhead_inf", "datacenters.0.server_overhead_fraction",
           r"datacenters\[0\]\.server_overhead_fraction", float("inf"), r"finite number"),
          ("server_overhead_w", "datacenters.0.server_overhead_w_per_gpu",
           r"datacenters\[0\]\.server_overhead_w_per_gpu", 1e9, r"less than or equal to"),
          ("pue_huge", "datacenters.0.pue", r"datacenters\[0\]\.pue", 30.0,
           r"less than or equal to 3"),
          ("wue_huge", "datacenters.0.water.wue_l_per_kwh",
           r"datacenters\[0\]\.water\.wue_l_per_kwh", 500.0, r"less than or equal to 20"),
          ("cycles_one", "datacenters.0.water.cycles_of_concentration",
           r"datacenters\[0\]\.water\.cycles_of_concentration", 1.0, r"greater than 1"),
          ("scarcity_nan", "datacenters.0.water.scarcity_factor",
           r"datacenters\[0\]\.water\.scarcity_factor", float("nan"), r"finite number"),
          ("latitude", "regions.0.latitude", r"regions\[0\]\.latitude", 91.0,
           r"less than or equal to 90"),
          ("longitude", "regions.0.longitude", r"regions\[0\]\.longitude", -181.0,
           r"greater than or equal to -180"),
          ("tpot_slo_inf", "slo.tpot_s", r"slo\.tpot_s", float("inf"), r"finite number"),
          ("tpot_slo_zero", "slo.tpot_s", r"slo\.tpot_s", 0, r"greater than 0"),
          ("base_rtt_inf", "network.base_rtt_ms", r"network\.base_rtt_ms", float("inf"),
           r"finite number"),
          ("route_factor", "network.route_factor", r"network\.route_factor", 0.5,
           r"greater than or equal to 1"),
          ("fibre_speed", "network.fibre_km_per_ms", r"network\.fibre_km_per_ms", 3.0e5,
           r"less than or equal to 300"),
          ("bytes_per_token", "network.bytes_per_token", r"network\.bytes_per_token", 0,
           r"greater than 0"),
          ("bandwidth_nan", "network.bandwidth_gbit_per_s", r"network\.bandwidth_gbit_per_s",
           float("nan"), r"finite number"),
          ("max_prompt_tokens", "workload.max_prompt_tokens",
           r"workload\.(synthetic\.)?max_prompt_tokens", 10**9, r"less than or equal to"),
          ("fixed_output_tokens", "workload.output_tokens",
           r"workload\.(synthetic\.)?output_tokens", 0, r"greater than or equal to 1"),
          ("model_weight_zero", "workload.models", r"workload\.(synthetic\.)?models",
           {"llama-3.1-8b": 0}, r"greater than 0"),
          ("carbon_negative", "regions.1.signals.carbon_g_per_kwh",
           r"regions\[1\]\.signals\.(constant\.)?carbon_g_per_kwh", -5,
           r"greater than or equal to 0"),
          ("price_below_floor", "regions.1.signals.price_usd_per_mwh",
           r"regions\[1\]\.signals\.(constant\.)?price_usd_per_mwh", -1e6,
           r"greater than or equal to -10000"),
          ("wetbulb_hot", "regions.1.signals.wetbulb_c",
           r"regions\[1\]\.signals\.(constant\.)?wetbulb_c", 60,
           r"less than or equal to 40"),
          ("ewif_negative", "regions.1.signals.ewif_l_per_kwh",
           r"regions\[1\]\.signals\.(constant\.)?ewif_l_per_kwh", -1,
           r"greater than or equal to 0"),
          ("epoch_nan", "time.epoch_s", r"time\.epoch_s", float("nan"), r"finite number"),
          ("horizon_negative", "time.horizon_s", r"time\.horizon_s", -3600,
           r"greater than 0"),
          ("drain_two_years", "time.drain_s", r"time\.drain_s", 6.4e7, r"less than or equal to"),
      )],
    Case("absurd_wetbulb", {"s.yaml": _yaml(_with("regions.0.signals.wetbulb_c", -300))},
         (r"regions\[0\]\.signals", r"wetbulb_c", r"greater than or equal to -60")),
    Case("absurd_replicas", {"s.yaml": _yaml(_with("datacenters.0.pools.0.replicas", 10**30))},
         (r"datacenters\[0\]\.pools\[0\]\.replicas", r"less than or equal to 1000000")),
    Case("absurd_tiny_epoch", {"s.yaml": _yaml(_with("time.epoch_s", 1e-9))},
         (r"time\.epoch_s", r"epochs", r"at most 1,000,000", r"make the epoch longer")),
    Case("absurd_rtt",
         {"s.yaml": _yaml(lambda d: d.update(network={"rtt_ms": {"a": {"b": 1e308}}}))},
         (r"network\.rtt_ms\.a\.b", r"less than or equal to 100000")),
    Case("absurd_gpu_power", {"s.yaml": _yaml(lambda d: d.update(catalog={"gpus": {"g-x": {
        "peak_bf16_tflop_per_s": 100, "memory_gb": 80, "memory_bandwidth_gb_per_s": 2000,
        "interconnect_gb_per_s": 300, "max_power_w": float("inf")}}}))},
         (r"catalog\.gpus\.g-x\.max_power_w", r"finite number")),
    Case("signal_infinite", _signals(_signal_csv(GOOD_HOURS[:5] + [("2023-07-15T05:00:00Z", "inf")]
                                                 + GOOD_HOURS[6:])),
         (r"sig\.csv", r"line 7", r"not a finite number")),
    Case("signal_sentinel", _signals(_signal_csv(GOOD_HOURS[:5] + [("2023-07-15T05:00:00Z",
                                                                    "1e308")] + GOOD_HOURS[6:])),
         (r"sig\.csv", r"line 7", r"outside the physical range \[0, 3000\] gCO2e/kWh", r"unit")),
    *[Case(f"cli_{flag.strip('-').replace('-', '_')}_{label}", {"s.yaml": _yaml()},
           (rf"argument {flag}", says),
           argv=("optimize", "{scenario}", "--out", "{out}", flag, value))
      for flag, value, label, says in (
          ("--signal-error", "nan", "nan", r"outside \[0, 10\]"),
          ("--signal-error", "inf", "inf", r"outside \[0, 10\]"),
          ("--signal-error", "-0.1", "negative", r"outside \[0, 10\]"),
          ("--evaluations", "0", "zero", r"outside \[1, 10,000,000\]"),
          ("--evaluations", "1e3", "float", r"not an integer"),
          ("--pop-size", "1", "one", r"outside \[2, 100,000\]"),
          ("--jobs", "0", "zero", r"outside \[1, 1,024\]"),
          ("--time-budget-s", "inf", "inf", r"outside"),
          ("--time-budget-s", "0", "zero", r"outside"),
          ("--front-replays", "-5", "negative", r"outside \[-1, "),
          ("--seed", "-1", "negative", r"outside \[0, "),
          ("--seed", "1e400", "overflow", r"not an integer"),
      )],
    Case("yaml_duplicate_key", {"s.yaml": _yaml() + "seed: 3\n"},
         (r"s\.yaml:\d+:1", r"the key 'seed' appears twice", r"first on line \d+")),
    Case("yaml_key_is_a_list", {"s.yaml": "? [a, b]\n: 1\n" + _yaml()},
         (r"s\.yaml:1", r"key must be a plain name")),
    Case("yaml_nested_too_deep", {"s.yaml": "name: " + "[" * 200 + "]" * 200 + "\n"},
         (r"s\.yaml", r"nested more than 64 levels")),
    *[Case(f"sweep_{label}", {"s.yaml": text}, says,
           argv=("sweep", "{scenario}", "--out", "{out}"))
      for label, text, says in (
          ("alias_bomb", _BOMB, (r"s\.yaml", r"alias")),
          ("duplicate_key", "seeds: [1]\nseeds: [2]\n",
           (r"s\.yaml:2:1", r"'seeds' appears twice")),
          ("not_a_mapping", "- a\n- b\n", (r"s\.yaml", r"not a mapping")),
          ("nested_too_deep", "grid: " + "[" * 200 + "]" * 200 + "\n",
           (r"s\.yaml", r"nested more than 64")),
          ("not_utf8", "seeds: [1]\n# \udce9\n".encode("utf-8", "surrogateescape"),
           (r"s\.yaml", r"UTF-8")),
      )],
    # -- ids of the wrong type, unknown names that were once ignored ------------------------
    *[Case(f"id_{label}", {"s.yaml": _yaml(change)}, (r"s\.yaml:\d+", where, r"valid string"))
      for label, change, where in (
          ("region_id_list", lambda d: d["regions"][0].update(id=["a", "x"]),
           r"regions\[0\]\.id"),
          ("region_id_mapping", lambda d: d["regions"][0].update(id={"a": 1}),
           r"regions\[0\]\.id"),
          ("datacenter_id_list", lambda d: d["datacenters"][0].update(id=["dc"]),
           r"datacenters\[0\]\.id"),
          ("datacenter_region_list", lambda d: d["datacenters"][0].update(region=["a"]),
           r"datacenters\[0\]\.region"),
          ("pool_model_mapping", lambda d: d["datacenters"][0]["pools"][0].update(model={"x": 1}),
           r"datacenters\[0\]\.pools\[0\]\.model"),
      )],
    Case("unknown_timezone", {"s.yaml": _yaml(_with("regions.0.timezone", "Europe/Berln"))},
         (r"s\.yaml:\d+", r"regions\[0\]\.timezone", r"unknown time zone 'Europe/Berln'",
          r"Did you mean 'Europe/Berlin'")),
    Case("unknown_region_in_rtt_table", {"s.yaml": _yaml(lambda d: d.update(
        network={"latency": "rtt_matrix", "rtt_ms": {"a": {"b": 10, "zz": 5}}}))},
         (r"network\.rtt_ms", r"unknown region 'zz'", r"Valid: a, b")),
    Case("unknown_region_in_links", {"s.yaml": _yaml(lambda d: d.update(
        network={"latency": "hops", "links": [["a", "q"]]}))},
         (r"network\.links", r"unknown region 'q'")),
    Case("seed_beyond_64_bits", {"s.yaml": _yaml(_with("seed", 10**40))},
         (r"s\.yaml:\d+", r"seed", r"less than or equal to 9223372036854775807")),
    Case("signal_unit_mistake", _signals(_signal_csv([(t, str(float(v) * 1000))
                                                      for t, v in GOOD_HOURS])),
         (r"sig\.csv", r"carbon_g_per_kwh", r"physical range", r"unit")),
    # -- dates a calendar cannot hold, routing parameters checked as the run checks them -----
    *[Case(f"start_{label}", {"s.yaml": _yaml(_with("time.start_utc", when))},
           (r"s\.yaml:\d+", r"time\.start_utc", r"outside the years 1900-2200"))
      for label, when in (("year_9999", "9999-12-31T23:00:00Z"),
                          ("year_1", "0001-01-01T00:00:00Z"),
                          ("year_1850", "1850-01-01T00:00:00Z"))],
    Case("signal_shift_years_fraction", {**_signals(_signal_csv(GOOD_HOURS)), "s.yaml": _yaml(
        lambda d: (_signal_file(d), d["regions"][0]["signals"]["carbon"].update(
            shift_years=0.5)))},
         (r"^error: 1 problem", r"regions\[0\]\.signals\.carbon\.shift_years:",
          r"valid integer")),
    Case("signal_shift_years_huge", {**_signals(_signal_csv(GOOD_HOURS)), "s.yaml": _yaml(
        lambda d: (_signal_file(d), d["regions"][0]["signals"]["carbon"].update(
            shift_years=100000)))},
         (r"shift_years", r"less than or equal to 200")),
    *[Case(f"routing_{label}", {"s.yaml": _yaml(_with("routing", routing))}, says)
      for label, routing, says in (
          ("weighted_unknown_param", {"policy": "weighted", "params": {"carbn": 2}},
           (r"routing\.params\.carbn", r"unknown parameter", r"latency, carbon")),
          ("weighted_negative", {"policy": "weighted", "params": {"carbon": -2}},
           (r"routing\.params\.carbon", r"greater than or equal to 0")),
          ("weighted_nan", {"policy": "weighted", "params": {"carbon": float("nan")}},
           (r"routing\.params\.carbon", r"finite")),
          ("nearest_with_params", {"policy": "nearest", "params": {"a": 1}},
           (r"routing\.params\.a", r"unknown parameter")),
          ("plan_nan_share", {"policy": "plan",
                              "params": {"allocation": {"a": {"dc-a": float("nan")}}}},
           (r"routing\.params\.allocation\.a\.dc-a", r"finite")),
          ("plan_negative_share", {"policy": "plan", "params": {"allocation": {"a": {"dc-a": -1}}}},
           (r"routing\.params\.allocation\.a\.dc-a", r"greater than or equal to 0")),
          ("plan_unknown_origin", {"policy": "plan", "params": {"allocation": {"zz": {"dc-a": 1}}}},
           (r"routing\.params\.allocation\.zz", r"unknown region", r"valid: a, b")),
          ("plan_unknown_datacenter", {"policy": "plan",
                                       "params": {"allocation": {"a": {"dc-zz": 1}}}},
           (r"allocation\.a\.dc-zz", r"unknown datacenter", r"valid: dc-a, dc-b")),
      )],
    *[Case(f"validate_routing_{label}", {"s.yaml": _yaml(_with("routing", routing))}, says,
           argv=("validate", "{scenario}"))
      for label, routing, says in (
          ("weighted_unknown_param", {"policy": "weighted", "params": {"carbn": 2}},
           (r"routing\.params\.carbn", r"unknown parameter")),
          ("plan_unknown_datacenter", {"policy": "plan",
                                       "params": {"allocation": {"a": {"dc-zz": 1}}}},
           (r"allocation\.a\.dc-zz", r"unknown datacenter")),
      )],
    # -- data residency ---------------------------------------------------------------------
    Case("data_residency_unknown_region", {"s.yaml": _yaml(
        _with("data_residency", {"a": ["a", "mars"]}))},
         (r"s\.yaml:\d+", r"data_residency\.a\[1\]", r"unknown region 'mars'", r"Valid: a, b")),
    Case("data_residency_unknown_origin", {"s.yaml": _yaml(
        _with("data_residency", {"bb": ["a"]}))},
         (r"s\.yaml:\d+", r"data_residency\.bb", r"unknown region 'bb'", r"Did you mean 'b'")),
    Case("data_residency_empty_list", {"s.yaml": _yaml(_with("data_residency", {"a": []}))},
         (r"s\.yaml:\d+", r"data_residency\.a", r"at least 1 item",
          r"drop the origin to let it be served anywhere")),
    Case("data_residency_origin_its_llm_cannot_reach", {"s.yaml": _yaml(lambda d: (
        d["datacenters"][1].update(pools=[{"model": "llama-3.1-70b", "gpu": "a100-80gb",
                                           "tp": 4}]),
        d.update(data_residency={"b": ["b"]})))},
         (r"s\.yaml:\d+: data_residency\.b", r"origin 'b' may be served only in b",
          r"no datacenter serves llama-3\.1-8b", r"add a pool of llama-3\.1-8b",
          r"data_residency\.b \(a\)")),
    Case("data_residency_trace_origin_its_llm_cannot_reach", {"s.yaml": _yaml(lambda d: (
        _trace_workload(d),
        d["datacenters"][1].update(pools=[{"model": "llama-3.1-70b", "gpu": "a100-80gb",
                                           "tp": 4}]),
        d.update(data_residency={"b": ["b"]}))), "trace.csv": GOOD_TRACE},
         (r"data_residency\.b", r"origin 'b' may be served only in b",
          r"no datacenter serves llama-3\.1-8b, which the trace asks for from this origin",
          r"add a pool of llama-3\.1-8b")),
    *[Case(f"{command}_plan_share_outside_data_residency", {"s.yaml": _yaml(lambda d: d.update(
        routing={"policy": "plan", "params": {"allocation": {"b": {"dc-a": 1, "dc-b": 1}}}},
        data_residency={"b": ["b"]}))},
           (r"routing\.params\.allocation\.b\.dc-a",
            r"gives origin 'b' a share of 1 on datacenter 'dc-a' in region 'a'",
            r"outside the origin's data residency", r"share of 0 for 'b'"), argv=argv)
      for command, argv in (("run", ("run", "{scenario}", "--out", "{out}")),
                            ("validate", ("validate", "{scenario}")))],
    # -- request classes, deferral and capacity ----------------------------------------------
    *[Case(f"classes_{label}", {"s.yaml": _yaml(_with("workload.classes", classes))}, says)
      for label, classes, says in (
          ("named_interactive", [{"name": "interactive", "deadline_s": 60}],
           (r"s\.yaml:\d+", r"workload\.classes\[0\]\.name",
            r"'interactive' names the requests of no listed class")),
          ("shares_above_one", [{"name": "x", "deadline_s": 60, "share": 0.7},
                                {"name": "y", "deadline_s": 60, "shares": {"a": 0.5}}],
           (r"shares add up to 1\.2 for origin a", r"lower a share")),
          ("same_name_twice", [{"name": "x", "deadline_s": 60}, {"name": "x", "deadline_s": 9}],
           (r"request class name\(s\) x given more than once",)),
          ("unknown_origin", [{"name": "x", "deadline_s": 60, "shares": {"mars": 0.5}}],
           (r"workload\.classes\[0\]\.shares", r"unknown region 'mars'")),
          ("no_deadline", [{"name": "x", "share": 0.5}],
           (r"workload\.classes\[0\]\.deadline_s", r"required key is missing")),
          # a number where a number or a mapping may go: one problem, at its key, no union tag
          ("origin_share_above_one", [{"name": "x", "deadline_s": 60, "shares": {"a": 1.5}}],
           (r"1 problem in the scenario", r"workload\.classes\[0\]\.shares\.a: ",
            r"less than or equal to 1", r"to a value <= 1")),
      )],
    *[Case(f"deferral_{label}", {"s.yaml": _yaml(lambda d, deferral=deferral: (
        d["workload"].update(classes=[{"name": "x", "deadline_s": 600, "share": 0.5}]),
        d["routing"].update(deferral=deferral)))}, says)
      for label, deferral, says in (
          ("unknown_policy", {"policy": "cleanst"},
           (r"routing\.deferral\.policy", r"unknown deferral policy 'cleanst'",
            r"Did you mean 'cleanest'")),
          ("bad_signal", {"policy": "cleanest", "params": {"signal": "wind"}},
           (r"routing\.deferral\.params\.signal", r"'carbon', 'water' or 'cost'",
            r"parameters of 'cleanest'")),
          ("negative_margin", {"policy": "cleanest", "params": {"margin_s": -1}},
           (r"routing\.deferral\.params\.margin_s", r"greater than or equal to 0")),
      )],
    *[Case(f"capacity_{label}", {"s.yaml": _yaml(change)}, says)
      for label, change, says in (
          ("beside_keep_alive", lambda d: (
              d.update(capacity={"policy": "follow_load"}),
              d["datacenters"][0]["pools"][0].update(keep_alive_s=60)),
           (r"datacenters\[0\]\.pools\[0\]\.keep_alive_s", r"scales to zero on its own",
            r"remove keep_alive_s")),
          ("plan_unknown_datacenter", lambda d: d.update(capacity={
              "policy": "plan", "epochs": [{"dc-zz": {"llama-3.1-8b": 1}}]}),
           (r"capacity\.epochs\[0\]\.dc-zz", r"unknown datacenter 'dc-zz'",
            r"valid: dc-a, dc-b")),
          ("plan_without_epochs", lambda d: d.update(capacity={"policy": "plan"}),
           (r"policy: plan needs epochs",)),
          ("target_above_one", lambda d: d.update(capacity={"policy": "follow_load",
                                                            "target_utilization": 1.5}),
           (r"capacity\.target_utilization", r"less than or equal to 1")),
      )],
    # -- nothing to optimise ------------------------------------------------------------------
    Case("optimize_no_replica_anywhere", {"s.yaml": _yaml(
        lambda d: [p.update(replicas=0) for dc in d["datacenters"] for p in dc["pools"]])},
         (r"no datacenter has a replica of llama-3\.1-8b", r"replicas >= 1"),
         argv=("optimize", "{scenario}", "--out", "{out}")),
    Case("optimize_model_nobody_serves", {"s.yaml": _yaml(
        _with("workload.models", {"llama-3.1-70b": 1}))},
         (r"no datacenter has a replica of llama-3\.1-70b",),
         argv=("optimize", "{scenario}", "--out", "{out}", "--baselines", "nearest")),
    # -- input files that are not files -------------------------------------------------------
    Case("trace_path_is_a_device", {"s.yaml": _yaml(
        lambda d: _trace_workload(d, "/dev/zero"))},
         (r"workload\.path", r"not a regular file")),
    Case("scenario_is_a_device", {}, (r"/dev/zero", r"not a regular file"),
         argv=("run", "/dev/zero", "--out", "{out}")),
    # -- sweep files: values of the wrong kind, what would silently change the points --------
    *[Case(f"sweep_{label}", {"s.yaml": text}, says,
           argv=("sweep", "{scenario}", "--out", "{out}"))
      for label, text, says in (
          ("empty_file", "", (r"base", r"Field required")),
          ("no_base", "grid: {routing.policy: [nearest]}\n", (r"base", r"Field required")),
          ("empty_grid_list", "base: bundled:default\ngrid: {workload.rate_per_s: []}\n",
           (r"grid\.workload\.rate_per_s", r"at least 1 item")),
          ("seed_as_text", "base: bundled:default\nseeds: ['1']\n",
           (r"seeds\.0", r"valid integer")),
          ("seed_as_boolean", "base: bundled:default\nseeds: [true]\n",
           (r"seeds\.0", r"valid integer")),
          ("seed_twice", "base: bundled:default\nseeds: [1, 2, 1]\n",
           (r"seeds", r"listed twice")),
          ("keep_outputs_as_text", "base: bundled:default\nkeep_outputs: 'no'\n",
           (r"keep_outputs", r"valid boolean")),
          ("point_twice", "base: bundled:default\npoints: [{seed: 1}, {seed: 1}]\n",
           (r"points", r"repeats an earlier point")),
          ("point_and_grid_set_one_key",
           "base: bundled:default\npoints: [{routing.policy: nearest}]\n"
           "grid: {routing.policy: [lowest_carbon]}\n",
           (r"points\[0\]", r"routing\.policy, which the grid also sets")),
          ("unknown_algorithm", "base: bundled:default\ncommand: optimize\n"
           "options: {algorithm: genetic}\n", (r"options\.algorithm", r"unknown algorithm")),
          ("unknown_forecaster", "base: bundled:default\ncommand: optimize\n"
           "options: {forecaster: crystal_ball}\n", (r"unknown forecaster",)),
          ("unknown_baseline", "base: bundled:default\ncommand: optimize\n"
           "options: {baselines: [nearest, fastest]}\n", (r"unknown baseline policy 'fastest'",)),
          ("unknown_run_policy", "base: bundled:default\noptions: {policy: fastest}\n",
           (r"unknown policy 'fastest'",)),
          ("evaluations_as_text", "base: bundled:default\ncommand: optimize\n"
           "options: {evaluations: '200'}\n", (r"options\.evaluations", r"valid integer")),
          ("grid_too_large", "base: bundled:default\ngrid: {"
           + ", ".join(f"k{i}.x: [{', '.join(map(str, range(10)))}]" for i in range(6)) + "}\n",
           (r"1,000,000 point × seed runs", r"more than 10,000", r"--force")),
      )],
    # -- output paths a file system or a shell cannot take ------------------------------------
    Case("out_is_the_current_folder", {"s.yaml": _yaml()},
         (r"is the current folder", r"give a new folder"),
         argv=("run", "{scenario}", "--out", ".")),
    Case("out_name_too_long", {"s.yaml": _yaml()}, (r"longer than the 255",),
         argv=("run", "{scenario}", "--out", "{out}" + "x" * 300)),
    Case("out_not_utf8", {"s.yaml": _yaml()}, (r"not a UTF-8 name",),
         argv=("run", "{scenario}", "--out", "{out}\udcff")),
    Case("sweep_out_is_a_file", {"s.yaml": "base: bundled:default\n"},
         (r"exists and is not a folder",), argv=("sweep", "{scenario}", "--out", "{scenario}")),
    Case("traces_plot_of_another_type", {}, (r"--plot", r"ending in \.png, \.pdf, \.svg"),
         argv=("traces", "show", "US-CAL-CISO", "--plot", "{out}.txt")),
    Case("traces_start_unreadable", {}, (r"--start 'yesterday'", r"ISO 8601"),
         argv=("traces", "show", "US-CAL-CISO", "--plot", "{out}.png", "--start", "yesterday")),
    # -- key paths, whole numbers, catalog entries that contradict themselves ----------------
    *[Case(f"set_path_{label}", {"s.yaml": _yaml()}, (r"is not a key path", r"single dots"),
           argv=("run", "{scenario}", "--out", "{out}", "--set", assignment))
      for label, assignment in (("empty_segment", "time..horizon_s=300"),
                                ("leading_dot", ".time.horizon_s=300"),
                                ("trailing_dot", "time.horizon_s.=300"),
                                ("empty_brackets", "datacenters[].pue=1.2"))],
    *[Case(f"strict_{label}", {"s.yaml": _yaml(_with(path, value))},
           (r"s\.yaml:\d+", where, r"valid integer"))
      for label, path, value, where in (
          ("seed_boolean", "seed", True, r"seed"),
          ("seed_text", "seed", "5", r"seed"),
          ("replicas_boolean", "datacenters.0.pools.0.replicas", True, r"replicas"),
          ("replicas_text", "datacenters.0.pools.0.replicas", "2", r"replicas"),
          ("tp_fraction", "datacenters.0.pools.0.tp", 1.5, r"\.tp"),
      )],
    Case("gpu_idle_above_max", {"s.yaml": _yaml(lambda d: d.update(catalog={"gpus": {"g-x": {
        "peak_bf16_tflop_per_s": 100, "memory_gb": 80, "memory_bandwidth_gb_per_s": 2000,
        "interconnect_gb_per_s": 300, "idle_power_w": 900, "max_power_w": 400}}}))},
         (r"catalog\.gpus\.g-x", r"idle_power_w 900 exceeds max_power_w 400")),
    *[Case(f"llm_{label}", {"s.yaml": _yaml(lambda d, change=change: d.update(catalog={"llms": {
        "m-x": {"parameters_billion": 8.0, "layers": 32, "hidden_size": 4096,
                "attention_heads": 32, "kv_heads": 8, "head_dim": 128,
                "intermediate_size": 14336, "vocab_size": 128256,
                "max_context_tokens": 8192, **change}}}))},
           (r"catalog\.llms\.m-x", says))
      for label, change, says in (
          ("active_above_total", {"active_parameters_billion": 50.0},
           r"active_parameters_billion 50 exceeds parameters_billion 8"),
          ("kv_heads_not_dividing", {"kv_heads": 7}, r"kv_heads 7 does not divide"),
      )],
    Case("trace_duplicate_column",
         _trace("arrival_s,arrival_s,prompt_tokens,output_tokens,origin\n"
                + "".join(f"{i * 2.0},{i},{100 + i},{10},a\n" for i in range(400))),
         (r"trace\.csv", r"arrival_s twice")),
    Case("signal_unknown_option", {**_signals(_signal_csv(GOOD_HOURS)), "s.yaml": _yaml(
        lambda d: (_signal_file(d), d["regions"][0]["signals"]["carbon"].update(
            options={"hourlyy": "mean"})))},
         (r"sig\.csv", r"no option 'hourlyy'", r"its options: .*hourly")),
    *[Case(f"optimize_{label}", {"s.yaml": _yaml()}, says,
           argv=("optimize", "{scenario}", "--out", "{out}", *flags))
      for label, flags, says in (
          ("baseline_twice", ("--baselines", "nearest,nearest"), (r"nearest given twice",)),
          ("baseline_plan", ("--baselines", "plan"), (r"unusable policy plan", r"valid: ")),
          ("population_above_budget", ("--pop-size", "500", "--evaluations", "200"),
           (r"--pop-size 500 is larger than --evaluations 200",)),
      )],
    *[Case(f"{command}_of_a_file", {"s.yaml": _yaml()}, (r"is a file, not a result folder",),
           argv=(command, "{scenario}"))
      for command in ("report", "plot")],
    # -- third round: absurd catalog figures, weather files, keys given twice, sizes --------
    *[Case(f"catalog_gpu_{field}_absurd", {"s.yaml": _yaml(lambda d, field=field: d.update(
        catalog={"gpus": {"g-x": {"peak_bf16_tflop_per_s": 100, "memory_gb": 80,
                                  "memory_bandwidth_gb_per_s": 2000, "interconnect_gb_per_s": 300,
                                  "idle_power_w": 50, "max_power_w": 400, field: 1e300}}}))},
           (rf"catalog\.gpus\.g-x\.{field}", r"less than or equal to"))
      for field in ("max_power_w", "memory_gb", "peak_bf16_tflop_per_s",
                    "memory_bandwidth_gb_per_s")],
    Case("catalog_llm_bytes_per_parameter_absurd", {"s.yaml": _yaml(lambda d: d.update(
        catalog={"llms": {"m-x": {"parameters_billion": 8.0, "layers": 32, "hidden_size": 4096,
                                  "attention_heads": 32, "kv_heads": 8, "head_dim": 128,
                                  "bytes_per_parameter": 1e300}}}))},
         (r"catalog\.llms\.m-x\.bytes_per_parameter", r"less than or equal to 8")),
    Case("catalog_llm_parameters_tiny", {"s.yaml": _yaml(lambda d: d.update(catalog={"llms": {
        "m-x": {"parameters_billion": 1e-300, "layers": 32, "hidden_size": 4096,
                "attention_heads": 32, "kv_heads": 8, "head_dim": 128,
                "max_context_tokens": 8192}}}))},
         (r"catalog\.llms\.m-x\.parameters_billion", r"greater than or equal to 0\.001")),
    *[Case(f"weather_{label}", {"w.json": text, "s.yaml": _yaml(lambda d: (
        d["time"].update(horizon_s=3600, epoch_s=900, drain_s=600),
        d["regions"][0].update(signals={"source": "files", "carbon": 300.0, "price": 40.0,
                                        "ewif": 2.0,
                                        "wetbulb": {"path": "w.json", "format": "openmeteo"}})))},
           (r"w\.json", says))
      for label, text, says in (
          ("offset_huge", '{"utc_offset_seconds": 1e12, "hourly": {"time": ["2023-07-15T00:00"],'
           ' "temperature_2m": [20], "relative_humidity_2m": [50]}}', r"utc_offset_seconds"),
          ("offset_nan", '{"utc_offset_seconds": NaN, "hourly": {"time": ["2023-07-15T00:00"],'
           ' "temperature_2m": [20], "relative_humidity_2m": [50]}}', r"utc_offset_seconds"),
          ("lists_of_two_lengths", '{"utc_offset_seconds": 0, "hourly": {"time": '
           '["2023-07-15T00:00", "2023-07-15T01:00"], "temperature_2m": [20],'
           ' "relative_humidity_2m": [50, 50]}}', r"lists of one length"),
          ("key_twice", '{"utc_offset_seconds": 0, "utc_offset_seconds": 3600, "hourly": {}}',
           r"'utc_offset_seconds' appear twice"),
          ("humidity_negative", '{"utc_offset_seconds": 0, "hourly": {"time": '
           '["2023-07-15T00:00"], "temperature_2m": [20], "relative_humidity_2m": [-5]}}',
           r"relative_humidity_2m\[0\] is -5 %, outside 0-100"),
      )],
    *[Case(f"sweep_{label}", {"s.yaml": text}, says,
           argv=("sweep", "{scenario}", "--out", "{out}"))
      for label, text, says in (
          ("seed_in_grid", "base: bundled:default\ngrid: {seed: [5, 6]}\n",
           (r"sweep grid", r"sets seed")),
          ("set_and_grid_one_key", "base: bundled:default\nset: [routing.policy=lowest_cost]\n"
           "grid: {routing.policy: [nearest]}\n", (r"which set: also sets",)),
          ("policy_twice", "base: bundled:default\noptions: {policy: lowest_cost}\n"
           "grid: {routing.policy: [nearest]}\n", (r"routing.policy are both given",)),
      )],
    Case("sweep_address_without_ray", {"s.yaml": "base: bundled:default\n"},
         (r"--address names a Ray cluster",),
         argv=("sweep", "{scenario}", "--out", "{out}", "--address", "auto")),
    Case("seed_given_twice", {"s.yaml": _yaml()}, (r"--seed and --set seed",),
         argv=("run", "{scenario}", "--out", "{out}", "--seed", "5", "--set", "seed=9")),
    Case("replicas_beyond_the_fleet_limit", {"s.yaml": _yaml(
        _with("datacenters.0.pools.0.replicas", 200_000))},
         (r"200,00\d replicas", r"more than the 100,000", r"--force")),
    Case("optimiser_beyond_its_limit", {"s.yaml": _yaml(lambda d: d["time"].update(
        horizon_s=86400, epoch_s=60))},
         (r"1,440 epochs x 10,000,000 evaluations", r"--force"),
         argv=("optimize", "{scenario}", "--out", "{out}", "--evaluations", "10000000")),
    *[Case(f"mooncake_{label}", {"s.yaml": text}, says,
           argv=("traces", "show", "{scenario}", "--format", "mooncake"))
      for label, text, says in (
          ("boolean_length", '{"timestamp": 0, "input_length": true, "output_length": 10,'
           ' "hash_ids": [1]}\n', (r"line 1: input_length is true, not a number",)),
          ("key_twice", '{"timestamp": 0, "input_length": 5, "output_length": 10,'
           ' "output_length": 3, "hash_ids": [1]}\n', (r"line 1 gives output_length twice",)),
      )],
    Case("trace_nothing_left_after_skip", {"s.yaml": _yaml(lambda d: (
        _trace_workload(d), d["workload"].update(skip_s=100000))), "trace.csv": GOOD_TRACE},
         (r"trace\.csv", r"no request is left to replay")),
    Case("traces_option_on_a_zone", {}, (r"--option and --repair apply to a file",),
         argv=("traces", "show", "US-CAL-CISO", "--option", "hourly=mean")),
    Case("traces_repair_unknown_value", {"s.yaml": _yaml()},
         (r"--repair: fill_nan", r"'none', 'ffill' or 'linear'"),
         argv=("traces", "show", "US-CAL-CISO", "--format", "csv", "--repair",
               "fill_nan=quadratic")),
    Case("marginal_intensity_without_a_marginal_signal", {"s.yaml": _yaml(
        _with("carbon", {"intensity": "marginal"}))},
         (r"s\.yaml:\d+: regions\[0\]\.signals", r"region a has no marginal carbon intensity",
          r"region b has no marginal", r"marginal_carbon_g_per_kwh", r"intensity: average")),
    Case("embodied_lifetime_out_of_range", {"s.yaml": _yaml(
        _with("carbon", {"embodied": {"enabled": True, "gpu_lifetime_years": 100}}))},
         (r"s\.yaml:\d+", r"carbon\.embodied\.gpu_lifetime_years",
          r"less than or equal to 20")),
    Case("watttime_two_value_columns", {"s.yaml": _yaml(lambda d: (
        _signal_file(d), d["regions"][0]["signals"].update(
            marginal_carbon={"path": "moer.csv", "format": "watttime"}))),
        "sig.csv": _signal_csv(GOOD_HOURS),
        "moer.csv": "oootime,North,South\n2023-07-15 00:00:00,400,300\n"},
         (r"moer\.csv", r"regions\[0\]\.signals\.marginal_carbon",
          r"one value column", r"'North', 'South'", r"option value_column")),
]  # fmt: skip

"""Request-trace readers: real files, every validation error, repairs and replay transforms."""

from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.errors import RegistryError, TraceError
from slit.traces.requests import (
    check_covers,
    coverage_s,
    read_requests,
    register_request_format,
    request_formats,
    resample,
    scale_rate,
    tile,
    time_shift,
    window,
)
from tests.conftest import require_shared_data

AZURE = "llm_traces/azure_2023/AzureLLMInferenceTrace_{}.csv"
MOONCAKE = "llm_traces/mooncake/{}_trace.jsonl.gz"
BURST_HEADER = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"


def write(path: Path, text: str | bytes) -> Path:
    """Text is written UTF-8 (gzip-compressed for a .gz name); bytes are written as they are."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def own_csv(tmp_path: Path, rows: str, name: str = "trace.csv") -> Path:
    return write(tmp_path / name, "arrival_s,prompt_tokens,output_tokens\n" + rows)


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def mc(t_ms: float, prompt: int = 10, output: int = 5, **more: object) -> dict:
    return {"timestamp": t_ms, "input_length": prompt, "output_length": output, **more}


def check_standard(df: pd.DataFrame) -> None:
    assert df["arrival_s"].dtype == np.float64
    assert df["prompt_tokens"].dtype == np.int64 and df["output_tokens"].dtype == np.int64
    t = df["arrival_s"].to_numpy()
    assert t[0] == 0.0 and np.all(np.diff(t) >= 0)
    assert isinstance(df.index, pd.RangeIndex) and df.index.start == 0


# --------------------------------------------------------------------------------------------
# Real data


@pytest.mark.parametrize(
    ("kind", "rows", "prompt_mean", "output_mean", "start"),
    [
        ("conv", 19_366, 1155, 211, "2023-11-16 18:15:46.68059"),
        ("code", 8_819, 2048, 28, "2023-11-16 18:17:03.97996"),
    ],
)
def test_azure_2023_acceptance(kind, rows, prompt_mean, output_mean, start) -> None:
    path = require_shared_data() / AZURE.format(kind)
    df = read_requests(path, "azure")
    check_standard(df)
    assert len(df) == rows
    assert abs(df["prompt_tokens"].mean() - prompt_mean) <= 1
    assert abs(df["output_tokens"].mean() - output_mean) <= 1
    assert list(df.columns) == ["arrival_s", "prompt_tokens", "output_tokens"]
    assert df.attrs["start_utc"] == pd.Timestamp(start, tz="UTC")
    assert df.attrs["source"] == path.name and df.attrs["format"] == "azure"
    assert df.attrs["repairs"] == [] and df.attrs["transforms"] == []
    assert 3_400 < df["arrival_s"].iloc[-1] < 3_600  # about one hour


def test_mooncake_acceptance() -> None:
    data = require_shared_data()
    df = read_requests(data / MOONCAKE.format("conversation"), "mooncake", prefix_blocks=True)
    check_standard(df)
    assert len(df) == 12_031
    assert df["arrival_s"].iloc[-1] == pytest.approx(3_537, abs=1)
    assert coverage_s(df) == pytest.approx(3_537, abs=1)
    assert df.attrs["start_utc"] is None
    assert abs(df["prompt_tokens"].mean() - 12_035) <= 1
    assert df["prefix_blocks"].dtype == np.int64 and df["prefix_blocks"].min() >= 1
    synthetic = read_requests(data / MOONCAKE.format("synthetic"), "mooncake", label="syn")
    assert len(synthetic) == 3_993 and synthetic.attrs["source"] == "syn"
    assert "prefix_blocks" not in synthetic.columns


def test_real_trace_coverage_message_and_tiling() -> None:
    df = read_requests(require_shared_data() / MOONCAKE.format("conversation"), "mooncake")
    with pytest.raises(TraceError) as err:
        check_covers(df, 86_400, label="workload.path")
    msg = str(err.value)
    assert "workload.path (conversation_trace.jsonl.gz)" in msg
    assert "[0 s, 3,537 s)" in msg and "[0 s, 86,400 s)" in msg
    assert "time.horizon_s" in msg and "'tile'" in msg and "rate_scale" in msg
    day = tile(df, 86_400)
    check_covers(day, 86_400)
    assert len(day) == pytest.approx(86_400 / coverage_s(df) * len(df), rel=0.01)


# --------------------------------------------------------------------------------------------
# Formats on small files


def test_own_csv_with_labels_and_rebase(tmp_path) -> None:
    path = write(
        tmp_path / "t.csv",
        "arrival_s,prompt_tokens,output_tokens,origin,model,extra\n"
        "5.0,100,10,eu,llama,x\n5.0,200.0,0,us,llama,y\n7.5,0,3,1,mistral,z\n",
    )
    df = read_requests(path)
    check_standard(df)
    assert list(df.columns) == ["arrival_s", "prompt_tokens", "output_tokens", "origin", "model"]
    assert df["arrival_s"].tolist() == [0.0, 0.0, 2.5]  # simultaneous arrivals are kept
    assert df["prompt_tokens"].tolist() == [100, 200, 0]
    assert df["origin"].tolist() == ["eu", "us", "1"]
    assert pd.api.types.is_string_dtype(df["model"])
    assert df.attrs["first_arrival_s"] == 5.0 and df.attrs["start_utc"] is None
    assert df.attrs["format"] == "csv" and df.attrs["source"] == "t.csv"


def test_burstgpt(tmp_path) -> None:
    path = write(
        tmp_path / "burst.csv.gz",
        BURST_HEADER + "5,ChatGPT,472,18,490,Conversation log\n"
        "45,ChatGPT,1087,0,1087,Conversation log\n"
        "118,GPT-4,417,276,693,API log\n",
    )
    df = read_requests(path, "burstgpt")
    check_standard(df)
    assert df["arrival_s"].tolist() == [0.0, 40.0, 113.0]
    assert df["model"].tolist() == ["ChatGPT", "ChatGPT", "GPT-4"]
    assert df["output_tokens"].tolist() == [18, 0, 276]  # failures kept by default
    assert df.attrs["start_utc"] is None and df.attrs["first_arrival_s"] == 5.0
    kept = read_requests(path, "burstgpt", drop_failed=True)
    assert len(kept) == 2 and kept["output_tokens"].min() > 0
    assert kept.attrs["repairs"] == [
        "dropped 1 failed requests (Response tokens = 0) at the caller's request (drop_failed=True)"
    ]


def test_azure_small_keeps_100ns_and_reads_offsets_as_utc(tmp_path) -> None:
    path = write(
        tmp_path / "az_1week.csv.gz",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2024-05-10 00:00:00.0000001,10,1\n"
        "2024-05-10 00:00:00.0000002,20,2\n"
        "2024-05-10 02:00:01+02:00,30,3\n",
    )
    df = read_requests(path, "azure")
    assert df.attrs["start_utc"] == pd.Timestamp("2024-05-10 00:00:00.0000001", tz="UTC")
    assert df["arrival_s"].iloc[1] == pytest.approx(1e-7, abs=1e-12)
    assert df["arrival_s"].iloc[2] == pytest.approx(1.0 - 1e-7, abs=1e-9)


def test_mooncake_plain_and_gzip(tmp_path) -> None:
    text = jsonl(mc(1000, hash_ids=[1, 2]), mc(1000), mc(2500.0, 30, 0))
    for name in ("m.jsonl", "m.jsonl.gz"):
        df = read_requests(write(tmp_path / name, text), "mooncake", prefix_blocks=True)
        check_standard(df)
        assert df["arrival_s"].tolist() == [0.0, 0.0, 1.5]
        assert df["prefix_blocks"].tolist() == [2, 0, 0]
        assert df.attrs["first_arrival_s"] == 1.0


def test_sort_repair_is_recorded(tmp_path) -> None:
    path = own_csv(tmp_path, "3,1,1\n1,2,2\n2,3,3\n2,4,4\n5,5,5\n")
    df = read_requests(path, sort=True)
    assert df["prompt_tokens"].tolist() == [2, 3, 4, 1, 5]  # stable: equal times keep order
    assert df["arrival_s"].tolist() == [0.0, 1.0, 1.0, 2.0, 4.0]
    assert df.attrs["repairs"] == [
        "sorted 3 out-of-order rows by arrival time (first at data row 2; "
        "equal times keep file order)"
    ]


def test_registry(tmp_path, monkeypatch) -> None:
    assert {"azure", "burstgpt", "csv", "mooncake"} <= set(request_formats())

    def tsv(path: Path, label: str, *, scale: float = 1.0) -> pd.DataFrame:
        frame = pd.read_csv(path, sep="\t")
        frame["arrival_s"] = frame["arrival_s"] * scale
        return frame

    from slit.plugins import REQUEST_FORMATS

    register_request_format("tsv", tsv)
    try:
        path = write(
            tmp_path / "t.tsv", "arrival_s\tprompt_tokens\toutput_tokens\n1\t2\t3\n2\t-4\t5\n"
        )
        with pytest.raises(TraceError, match=r"t\.tsv: column prompt_tokens, row 2: -4 is neg"):
            read_requests(path, "tsv")  # a custom reader gets the standard checks
        with pytest.raises(RegistryError, match="already registered"):
            register_request_format("tsv", tsv)
        with pytest.raises(RegistryError, match="unknown request-trace format 'jsonl'.*mooncake"):
            read_requests(path, "jsonl")
        with pytest.raises(
            TraceError, match=r"(?s)t\.tsv: format 'tsv' takes no option 'sort_by'.*scale"
        ):
            read_requests(path, "tsv", sort_by="x")
    finally:
        REQUEST_FORMATS.remove("tsv")


# --------------------------------------------------------------------------------------------
# Validation: one test per rule, each message names the file and the column/row


def test_missing_file(tmp_path) -> None:
    with pytest.raises(TraceError, match=r"nope\.csv: file not found"):
        read_requests(tmp_path / "nope.csv")


@pytest.mark.parametrize(("name", "fmt"), [("e.csv", "csv"), ("e.jsonl", "mooncake")])
def test_empty_file(tmp_path, name, fmt) -> None:
    path = write(tmp_path / name, "")
    with pytest.raises(TraceError, match=rf"{re.escape(name)}: is empty"):
        read_requests(path, fmt)


def test_header_only(tmp_path) -> None:
    with pytest.raises(TraceError, match=r"trace\.csv: holds no requests"):
        read_requests(own_csv(tmp_path, ""))


def test_missing_column_lists_found_and_needed(tmp_path) -> None:
    path = write(tmp_path / "az.csv", "TIMESTAMP,ContextTokens\n2023-11-16 18:15:46,3\n")
    with pytest.raises(
        TraceError,
        match=r"az\.csv: missing column GeneratedTokens; the file has columns: TIMESTAMP, "
        r"ContextTokens; the format 'azure' needs: TIMESTAMP, ContextTokens, GeneratedTokens",
    ):
        read_requests(path, "azure")


def test_wrong_format_is_named(tmp_path) -> None:
    path = write(tmp_path / "az.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16,3,4\n")
    with pytest.raises(TraceError, match=r"(?s)missing columns arrival_s.*format='azure'"):
        read_requests(path)  # default format csv


def test_other_separator_is_named(tmp_path) -> None:
    path = write(tmp_path / "semi.csv", "arrival_s;prompt_tokens;output_tokens\n0;1;2\n")
    with pytest.raises(TraceError, match=r"(?s)semi\.csv: missing columns.*separate.*';'"):
        read_requests(path)


def test_mooncake_wrong_keys(tmp_path) -> None:
    path = write(tmp_path / "m.jsonl", jsonl({"ts": 1, "input_length": 2}))
    with pytest.raises(TraceError, match=r"m\.jsonl: the first line has no key timestamp, "):
        read_requests(path, "mooncake")


def test_non_numeric_token_names_row_and_value(tmp_path) -> None:
    path = own_csv(tmp_path, "0,1,1\n1,2,2\n2,abc,3\n")
    with pytest.raises(
        TraceError, match=r"trace\.csv: column prompt_tokens, data row 3: 'abc' is not a number"
    ):
        read_requests(path)


def test_non_numeric_burstgpt_uses_source_column_name(tmp_path) -> None:
    path = write(tmp_path / "b.csv", BURST_HEADER + "0,ChatGPT,12,n/a,1,API log\n")
    with pytest.raises(
        TraceError, match=r"b\.csv: column Response tokens, data row 1: 'n/a' is not a number"
    ):
        read_requests(path, "burstgpt")


def test_bad_timestamp(tmp_path) -> None:
    path = write(
        tmp_path / "az.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,3,4\nyesterday,3,4\n",
    )
    with pytest.raises(
        TraceError, match=r"az\.csv: column TIMESTAMP, data row 2: 'yesterday' is not a date"
    ):
        read_requests(path, "azure")


def test_empty_cell(tmp_path) -> None:
    path = own_csv(tmp_path, "0,1,1\n1,,2\n")
    with pytest.raises(
        TraceError, match=r"trace\.csv: column prompt_tokens, data row 2: the value is missing"
    ):
        read_requests(path)


def test_empty_label(tmp_path) -> None:
    path = write(tmp_path / "o.csv", "arrival_s,prompt_tokens,output_tokens,origin\n0,1,1,\n")
    with pytest.raises(
        TraceError, match=r"o\.csv: column origin, data row 1: the value is missing"
    ):
        read_requests(path)


def test_missing_key_in_jsonl_names_line_after_blank_lines(tmp_path) -> None:
    text = jsonl(mc(0)) + "\n\n" + json.dumps({"timestamp": 5, "input_length": 3}) + "\n"
    path = write(tmp_path / "m.jsonl", text)
    with pytest.raises(
        TraceError, match=r"m\.jsonl: key output_length, line 4: the value is missing"
    ):
        read_requests(path, "mooncake")
    path = write(tmp_path / "lead.jsonl", "\n" + jsonl({"timestamp": 5, "input_length": 3}))
    with pytest.raises(TraceError, match=r"lead\.jsonl: the first line has no key output_length"):
        read_requests(path, "mooncake")
    path = write(tmp_path / "lead2.jsonl", " \n" + jsonl(mc(0), mc(1, output=None)))  # type: ignore[arg-type]
    with pytest.raises(TraceError, match=r"lead2\.jsonl: key output_length, line 3: the value is"):
        read_requests(path, "mooncake")


def test_invalid_json_line(tmp_path) -> None:
    path = write(tmp_path / "m.jsonl", jsonl(mc(0), mc(1)) + '{"timestamp": 2, "input_len\n')
    with pytest.raises(TraceError, match=r"m\.jsonl: line 3 is not valid JSON"):
        read_requests(path, "mooncake")


def test_non_numeric_json_value(tmp_path) -> None:
    path = write(tmp_path / "m.jsonl", jsonl(mc(0), mc(1, prompt="many")))  # type: ignore[arg-type]
    with pytest.raises(
        TraceError, match=r"m\.jsonl: key input_length, line 2: 'many' is not a number"
    ):
        read_requests(path, "mooncake")


def test_negative_tokens(tmp_path) -> None:
    path = own_csv(tmp_path, "0,1,1\n1,2,-2\n")
    with pytest.raises(
        TraceError, match=r"trace\.csv: column output_tokens, data row 2: -2 is negative"
    ):
        read_requests(path)


def test_negative_timestamp(tmp_path) -> None:
    path = write(tmp_path / "m.jsonl", jsonl(mc(-500), mc(0)))
    with pytest.raises(
        TraceError, match=r"m\.jsonl: key timestamp, line 1: arrival time -0\.5 s is negative"
    ):
        read_requests(path, "mooncake")


def test_non_integral_tokens(tmp_path) -> None:
    path = own_csv(tmp_path, "0,1.0,1\n1,2.5,2\n")
    with pytest.raises(
        TraceError,
        match=r"trace\.csv: column prompt_tokens, data row 2: 2\.5 is not a whole number",
    ):
        read_requests(path)


def test_unsorted_names_first_backward_row(tmp_path) -> None:
    path = own_csv(tmp_path, "0,1,1\n2,1,1\n2,1,1\n1.5,1,1\n3,1,1\n")
    with pytest.raises(
        TraceError,
        match=r"(?s)trace\.csv: column arrival_s, data row 4: arrival time 1\.5 s is earlier than "
        r"the previous row's 2 s.*sort=True",
    ):
        read_requests(path)


def test_unsorted_azure_shows_wall_clock(tmp_path) -> None:
    path = write(
        tmp_path / "az.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:00:05,1,1\n2023-11-16 18:00:01,1,1\n",
    )
    with pytest.raises(TraceError, match=r"column TIMESTAMP, data row 2: .*18:00:01.*18:00:05"):
        read_requests(path, "azure")
    df = read_requests(path, "azure", sort=True)
    assert df.attrs["start_utc"] == pd.Timestamp("2023-11-16 18:00:01", tz="UTC")
    assert df["arrival_s"].tolist() == [0.0, 4.0] and len(df.attrs["repairs"]) == 1


@pytest.mark.parametrize(("name", "fmt"), [("latin.csv", "csv"), ("latin.jsonl.gz", "mooncake")])
def test_not_utf8_names_byte_offset(tmp_path, name, fmt) -> None:
    if fmt == "csv":
        data = "arrival_s,prompt_tokens,output_tokens,origin\n0,1,1,Z\u00fcrich\n".encode("latin-1")
    else:
        data = (jsonl(mc(0)) + '{"timestamp": 1, "x": "\u00e9"}\n').encode("latin-1")
    offset, line = next(i for i, b in enumerate(data) if b >= 0x80), 2
    if name.endswith(".gz"):
        data = gzip.compress(data)
    with pytest.raises(
        TraceError, match=rf"{re.escape(name)}: is not UTF-8 text: .* byte offset {offset}.*line"
    ) as err:
        read_requests(write(tmp_path / name, data), fmt)
    assert f"(line {line})" in str(err.value)


@pytest.mark.parametrize(("name", "fmt"), [("t.csv.gz", "csv"), ("t.jsonl.gz", "mooncake")])
def test_truncated_gzip(tmp_path, name, fmt) -> None:
    body = (
        "arrival_s,prompt_tokens,output_tokens\n" + "1,2,3\n" * 5000
        if fmt == "csv"
        else jsonl(*[mc(i) for i in range(2000)])
    )
    packed = gzip.compress(body.encode())
    path = write(tmp_path / name, packed[: len(packed) // 2])
    with pytest.raises(TraceError, match=rf"{re.escape(name)}: .*truncated or corrupt"):
        read_requests(path, fmt)


def test_not_gzip_at_all(tmp_path) -> None:
    path = write(tmp_path / "t.csv.gz", b"arrival_s,prompt_tokens,output_tokens\n1,2,3\n")
    with pytest.raises(TraceError, match=r"t\.csv\.gz: cannot be decompressed.*corrupt"):
        read_requests(path)


# --------------------------------------------------------------------------------------------
# Replay transforms


def regular(n: int = 10, gap: float = 2.0, **attrs: object) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "arrival_s": np.arange(n) * gap,
            "prompt_tokens": np.arange(n, dtype=np.int64) * 10 + 1,
            "output_tokens": np.arange(n, dtype=np.int64),
            "origin": [f"o{i % 3}" for i in range(n)],
        }
    )
    df.attrs = {"source": "reg.csv", "repairs": [], "transforms": [], **attrs}
    return df


def test_coverage() -> None:
    assert coverage_s(regular(0)) == 0.0 and coverage_s(regular(1)) == 0.0
    assert coverage_s(regular(10, 2.0)) == 20.0


def test_scale_rate_halves_span_and_records() -> None:
    df = regular()
    fast = scale_rate(df, 2)
    assert coverage_s(fast) == coverage_s(df) / 2
    assert fast["prompt_tokens"].equals(df["prompt_tokens"])
    assert fast.attrs["transforms"] == ["scale_rate(factor=2)"] and df.attrs["transforms"] == []
    assert fast.attrs["source"] == "reg.csv"
    with pytest.raises(ValueError, match="factor"):
        scale_rate(df, 0)


def test_time_shift() -> None:
    df = regular()
    later = time_shift(df, 100)
    assert later["arrival_s"].iloc[0] == 100 and later.attrs["transforms"] == [
        "time_shift(offset_s=100)"
    ]
    assert time_shift(later, -100)["arrival_s"].equals(df["arrival_s"])
    with pytest.raises(TraceError, match=r"reg\.csv: time_shift by -1 s .* -1 s"):
        time_shift(df, -1)


def test_window() -> None:
    df = regular()  # arrivals 0, 2, ..., 18
    part = window(df, 4, 10)
    assert part["arrival_s"].tolist() == [4.0, 6.0, 8.0]
    assert part.attrs["transforms"] == [
        "window(start_s=4, end_s=10, rebase=False): kept 3 of 10 requests"
    ]
    assert window(df, 3, 10, rebase=True)["arrival_s"].tolist() == [1.0, 3.0, 5.0]
    with pytest.raises(ValueError, match="start_s < end_s"):
        window(df, 5, 5)


def test_resample_is_seeded_and_keeps_rate_and_mix() -> None:
    df = regular(50, 0.5)  # 2 requests per second
    a = resample(df, 20_000, np.random.default_rng(3))
    b = resample(df, 20_000, np.random.default_rng(3))
    c = resample(df, 20_000, np.random.default_rng(4))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert len(a) / 20_000 == pytest.approx(2.0, rel=0.03)
    t = a["arrival_s"].to_numpy()
    assert t.min() >= 0 and t.max() < 20_000 and np.all(np.diff(t) >= 0)
    # Whole rows are drawn: every (prompt, output, origin) triple exists in the trace.
    rows = set(df[["prompt_tokens", "output_tokens", "origin"]].itertuples(index=False))
    assert set(a[["prompt_tokens", "output_tokens", "origin"]].itertuples(index=False)) <= rows
    assert a["prompt_tokens"].dtype == np.int64
    assert a.attrs["transforms"][0].startswith("resample(horizon_s=20000, rate_per_s=2)")
    assert len(resample(df, 1_000, np.random.default_rng(0), rate_per_s=10)) == pytest.approx(
        10_000, rel=0.05
    )
    with pytest.raises(TraceError, match=r"reg\.csv: cannot infer an arrival rate"):
        resample(regular(1), 10, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        resample(df, 10, 7)  # type: ignore[arg-type]


def test_tile_exact() -> None:
    df = regular(3, 1.0)  # arrivals 0, 1, 2; span 3
    out = tile(df, 7.5)
    assert out["arrival_s"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert out["prompt_tokens"].tolist() == [1, 11, 21, 1, 11, 21, 1, 11]
    assert out.attrs["transforms"] == ["tile(horizon_s=7.5): 3 copies of 3 s, 8 requests"]
    with pytest.raises(TraceError, match=r"reg\.csv: cannot tile a trace of 1 request"):
        tile(regular(1), 10)


def test_check_covers_passes_and_fails() -> None:
    check_covers(regular(10, 2.0), 20)
    with pytest.raises(TraceError, match=r"^reg\.csv: the trace covers \[0 s, 20 s\) but the "):
        check_covers(regular(10, 2.0), 21)


def test_declared_coverage_and_row_limit() -> None:
    df = regular(10, 2.0)  # covers [0, 20)
    assert coverage_s(window(df, 4, 10)) == 10 and coverage_s(window(df, 4, 50)) == 20
    assert coverage_s(window(df, 4, 10, rebase=True)) == 6
    assert coverage_s(scale_rate(window(df, 4, 10), 2)) == 5
    assert coverage_s(time_shift(tile(df, 100), 10)) == 110
    tiny = regular(2, 1e-9)
    with pytest.raises(TraceError, match=r"reg\.csv: tiling 2 requests .* more than the limit"):
        tile(tiny, 86_400)
    with pytest.raises(TraceError, match=r"reg\.csv: resampling at .* more than the limit"):
        resample(tiny, 86_400, np.random.default_rng(0))


# Arrival times on a 1 ms grid; horizons a multiple of the span, so the row count stays small.
arrivals = st.lists(st.integers(0, 1_000_000), min_size=2, max_size=40).map(
    lambda ms: sorted(x / 1000 for x in ms)
)


@settings(max_examples=60, deadline=None)
@given(arrivals, st.floats(0.01, 30), st.floats(0.1, 10))
def test_tile_and_scale_invariants(times, spans, factor) -> None:
    df = pd.DataFrame(
        {
            "arrival_s": np.asarray(times, float),
            "prompt_tokens": np.arange(len(times), dtype=np.int64),
            "output_tokens": np.ones(len(times), dtype=np.int64),
        }
    )
    span = coverage_s(df)
    if times[-1] == times[0]:  # no spread: nothing to repeat
        with pytest.raises(TraceError):
            tile(df, 10)
        return
    horizon = spans * span
    out = tile(df, horizon)
    assert coverage_s(out) == horizon
    t = out["arrival_s"].to_numpy()
    assert np.all(np.diff(t) >= 0) and (t.size == 0 or (t.min() >= 0 and t.max() < horizon))
    # Each whole copy contributes n rows; the last, partial copy between 0 and n.
    whole = math.floor(horizon / span)
    assert whole * len(df) <= len(out) <= (whole + 1) * len(df)
    fast = scale_rate(df, factor)
    assert coverage_s(fast) == pytest.approx(span / factor, rel=1e-9)
    assert np.all(fast["arrival_s"].to_numpy() >= 0)

"""Measured latency tables shipped with slit: compact points of the public profiles.

``slit calibrate --from DATA --write-tables slit/data/catalog/latency_tables.csv`` writes, for
every GPU × model × tensor-parallel degree the data cover:

* ``prefill_dense``: the Vidur kernel-time sum of the decoder layers (attention excluded, see
  :mod:`slit.calibration.vidur`) at a grid of prompt-token counts, seconds;
* ``decode_itl``: the median inter-token latency vLLM reached in ML.ENERGY v3 at each measured
  average batch size, seconds.

Pools with ``latency_model: table`` interpolate these (:mod:`slit.models.latency_table`).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

PREFILL_GRID = (1, 16, 64, 128, 256, 512, 1024, 1536, 2048, 3072, 4096)
"""Prompt-token counts kept of the Vidur profiles (a subset of the profiled ones)."""

TABLE_COLUMNS = ("kind", "gpu", "model", "tp", "x", "seconds")


def derive_latency_tables(vidur: pd.DataFrame, mlenergy: pd.DataFrame) -> pd.DataFrame:
    """The long table ``kind, gpu, model, tp, x, seconds`` (x: tokens or batch size)."""
    v = vidur[vidur["num_tokens"].isin(PREFILL_GRID)]
    pre = (
        v.groupby(["gpu", "model", "tp", "num_tokens"], as_index=False)["time_s"]
        .mean()
        .rename(columns={"num_tokens": "x", "time_s": "seconds"})  # type: ignore[call-overload]
        .assign(kind="prefill_dense")
    )
    # Llama-3.1-70B and 3.3-70B share an id (same architecture): average their points
    dec = (
        mlenergy.groupby(["gpu", "model", "tp", "max_num_seqs"], as_index=False)
        .agg(x=("avg_batch_size", "mean"), seconds=("median_itl_s", "mean"))
        .drop(columns="max_num_seqs")
        .assign(kind="decode_itl")
    )
    out = pd.concat([pre, dec], ignore_index=True)[list(TABLE_COLUMNS)]
    out["tp"] = out["tp"].astype(int)
    return out.sort_values(["kind", "gpu", "model", "tp", "x"], ignore_index=True)


def write_commented_csv(table: pd.DataFrame, path: Path | str, header: str) -> Path:
    """Write ``table`` as CSV under ``header`` (``#`` comment lines) with 4 significant digits
    and ``\\n`` line ends, so the file is the same on every machine."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    buf.write(header)
    table.to_csv(buf, index=False, float_format="%.4g", lineterminator="\n")
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_latency_tables(table: pd.DataFrame, path: Path | str) -> Path:
    """Write the table as CSV with 4 significant digits and ``\\n`` line ends (reproducible)."""
    return write_commented_csv(
        table,
        path,
        "# Measured latency points, derived by `slit calibrate --write-tables` from:\n"
        "# prefill_dense = Vidur per-operator kernel profiles (github:microsoft/vidur@7d475133,\n"
        "# MIT), sum of the decoder-layer operator medians x layers + embedding, attention not\n"
        "# profiled; decode_itl = ML.ENERGY Benchmark v3 median inter-token latency of vLLM, LM\n"
        "# Arena chat (github:ml-energy/leaderboard@0cd52dab; dataset card: Apache-2.0).\n"
        "# x: prompt tokens (prefill_dense) or average concurrent requests (decode_itl);\n"
        "# seconds: time of one iteration.\n",
    )

"""Latency from measured tables instead of the roofline (``latency_model: table``).

The shipped table (``slit/data/catalog/latency_tables.csv``, derived from Vidur and ML.ENERGY by
``slit calibrate``) gives, per GPU × model × tensor-parallel degree:

* the dense decoder-layer time of a prefill of ``n`` tokens, interpolated linearly in ``n``
  between the measured counts and extended beyond the largest with the slope of the last
  segment; the causal-attention term and the tensor-parallel all-reduce, which the profiles do
  not contain, come from the roofline, and the calibrated per-iteration overhead is added;
* the decode inter-token latency at a batch size, interpolated linearly between the measured
  average batch sizes (held at the end points outside them); it depends on the batch only,
  since the measurements do not vary the context.

A chunked-prefill iteration takes the decode latency of its batch plus the prefill time of its
chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from slit.models.latency import ReplicaPerf


@cache
def _tables() -> pd.DataFrame:
    path = resources.files("slit").joinpath("data/catalog/latency_tables.csv")
    return pd.read_csv(str(path), comment="#")


def table_coverage() -> pd.DataFrame:
    """Which GPU × model × tp the shipped tables cover, for prefill and for decode."""
    t = _tables()
    return t.groupby(["kind", "gpu", "model", "tp"], as_index=False).size()


def _points(kind: str, gpu: str, model: str, tp: int) -> tuple[np.ndarray, np.ndarray] | None:
    t = _tables()
    rows = t[(t["kind"] == kind) & (t["gpu"] == gpu) & (t["model"] == model) & (t["tp"] == tp)]
    if rows.empty:
        return None
    rows = rows.sort_values("x")
    return rows["x"].to_numpy(float), rows["seconds"].to_numpy(float)


@dataclass(frozen=True)
class TableReplicaPerf(ReplicaPerf):
    """A replica whose prefill and decode times come from measured tables (see module doc).

    ``gpu_id`` and ``model_id`` are the catalog ids the tables use. Construction fails with a
    ValueError naming what the tables cover when they have no prefill and no decode points
    for this GPU × model × tp; a phase without points falls back to the roofline.
    """

    gpu_id: str = ""
    model_id: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        pre = _points("prefill_dense", self.gpu_id, self.model_id, self.tp)
        dec = _points("decode_itl", self.gpu_id, self.model_id, self.tp)
        if pre is None and dec is None:
            cov = table_coverage()
            have = ", ".join(sorted({f"{r.gpu}/{r.model}/tp{r.tp}" for r in cov.itertuples()}))
            raise ValueError(
                f"no measured table for {self.model_id} on {self.gpu_id} at tp {self.tp}; "
                f"tables cover {have}"
            )
        object.__setattr__(self, "_pre", pre)
        object.__setattr__(self, "_dec", dec)

    def _dense_s(self, tokens: float) -> float:
        x, y = self._pre  # type: ignore[attr-defined]
        if tokens <= x[-1]:
            return float(np.interp(tokens, x, y))
        slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        return float(y[-1] + slope * (tokens - x[-1]))

    def _itl_s(self, batch: float) -> float:
        x, y = self._dec  # type: ignore[attr-defined]
        return float(np.interp(batch, x, y))

    def prefill_time_s(self, total_tokens: float, sum_sq_tokens: float) -> float:
        if self._pre is None:  # type: ignore[attr-defined]
            return super().prefill_time_s(total_tokens, sum_sq_tokens)
        attention = 2.0 * self._la * sum_sq_tokens * self._inv_flops  # type: ignore[attr-defined]
        comm = (
            self._ar_fixed + self._ar_per_token * total_tokens  # type: ignore[attr-defined]
            if self.tp > 1
            else 0.0
        )
        return self._dense_s(total_tokens) + attention + comm + self._fixed  # type: ignore[attr-defined]

    def decode_lines(
        self, batch_size: int, context_tokens: float
    ) -> tuple[float, float, float, float, float]:
        if self._dec is None:  # type: ignore[attr-defined]
            return super().decode_lines(batch_size, context_tokens)
        # constant in the context: a flat "memory" line and no compute line
        return 0.0, 0.0, self._itl_s(batch_size), 0.0, 0.0

    def hybrid_time_s(
        self,
        decode_batch: int,
        decode_context_tokens: float,
        chunk_tokens: float,
        chunk_attention_pairs: float,
        chunk_context_tokens: float,
    ) -> tuple[float, float]:
        decode = (
            self.decode_step_time_s(decode_batch, decode_context_tokens) if decode_batch else 0.0
        )
        # the chunks' causal attention is 2 L A pairs, as a prefill's is 2 L A sum(n^2)
        prefill = self.prefill_time_s(chunk_tokens, chunk_attention_pairs) if chunk_tokens else 0.0
        if decode_batch and chunk_tokens:
            prefill -= self._fixed  # type: ignore[attr-defined]  # one iteration: one fixed cost
        share = prefill / (prefill + decode) if prefill + decode > 0 else 0.0
        return decode + prefill, share

"""Compact columns of what happened to each request, filled as requests resolve.

The simulator keeps a Python object only for a request in flight. When a request finishes or
is dropped (and, at the end of the run, for every request still in flight or in transit) its
outcome is appended to two packed arrays, one of doubles and one of 64-bit integers, and the
object can go: 120 bytes a request instead of the object's several hundred, so the memory of a
long replay grows with the requests in flight rather than with the trace.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from slit.sim.engine import Request

FLOAT_FIELDS = (
    "arrive_dc",
    "prefill_start",
    "first_token",
    "finish",
    "load_wait",
    "kv_transfer_s",
    "energy_j",
    "carbon_kg",
    "water_l",
    "cost_usd",
    "embodied_kg",
)
"""The per-request doubles kept (seconds of simulated time, J, kg, L, USD, kg)."""

INT_FIELDS = ("rid", "dc", "preemptions", "drop")
"""The per-request integers kept; ``drop`` is an index into :data:`DROP_REASONS`."""

DROP_REASONS = ("", "no_datacenter_serves_model", "exceeds_kv_capacity")
"""Reasons the engine drops a request for (``""``: not dropped by the engine; a request that
did not finish by the end of the run is ``unfinished`` in the records)."""

_DROP_CODE = {reason: i for i, reason in enumerate(DROP_REASONS)}


class RequestLog:
    """Append-only outcome of resolved requests, in the order they resolve."""

    def __init__(self) -> None:
        self._floats = array("d")
        self._ints = array("q")
        # bound once: the append runs once per request
        self._extend_floats = self._floats.extend
        self._extend_ints = self._ints.extend

    def __len__(self) -> int:
        return len(self._ints) // len(INT_FIELDS)

    def add(self, req: Request) -> None:
        """Append ``req``'s outcome (its fields as they are now)."""
        self._extend_floats(
            (
                req.arrive_dc,
                req.prefill_start,
                req.first_token,
                req.finish,
                req.load_wait,
                req.kv_transfer_s,
                req.energy_j,
                req.carbon_kg,
                req.water_l,
                req.cost_usd,
                req.embodied_kg,
            )
        )
        self._extend_ints((req.rid, req.dc, req.preemptions, _DROP_CODE[req.drop]))

    def columns(self, n_requests: int) -> dict[str, np.ndarray]:
        """Every field as an array in request-id order, for ids ``0 .. n_requests - 1``.

        Raises:
            RuntimeError: if the log does not hold each of those ids exactly once (a request
                was lost or logged twice: a bug in the engine, never in the input).
        """
        floats = np.frombuffer(self._floats, dtype=np.float64).reshape(-1, len(FLOAT_FIELDS))
        ints = np.frombuffer(self._ints, dtype=np.int64).reshape(-1, len(INT_FIELDS))
        rid = ints[:, 0]
        if len(rid) != n_requests or not np.array_equal(
            np.sort(rid), np.arange(n_requests, dtype=np.int64)
        ):
            raise RuntimeError(
                f"request log holds {len(rid)} rows for {n_requests} released requests "
                "(a request was lost or logged twice)"
            )
        order = np.argsort(rid, kind="stable")
        out = {name: floats[order, i] for i, name in enumerate(FLOAT_FIELDS)}
        out.update({name: ints[order, i] for i, name in enumerate(INT_FIELDS)})
        return out

    def clear(self) -> None:
        """Drop the rows (after :meth:`columns`, to free their memory before the records)."""
        del self._floats[:], self._ints[:]

"""JSON that every reader accepts: slit's result files never hold ``NaN`` or ``Infinity``.

Python's ``json`` writes non-finite floats as the bare words ``NaN`` and ``Infinity``, which
are not JSON (RFC 8259) and which many readers (browsers' ``JSON.parse``, ``jq``) reject. A
result value that is not a finite number (a statistic of no requests) is written as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float inside it (dicts, lists, tuples) as ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        return finite(value.item())  # numpy scalars
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`finite` ``(value)``, refusing any non-finite number left."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)


def repeated_keys(pairs: list[tuple[str, Any]]) -> list[str]:
    """The keys given more than once among one JSON object's ``pairs``, sorted (for an
    ``object_pairs_hook``: ``json`` itself keeps the last value without a word)."""
    keys = [k for k, _ in pairs]
    return sorted({k for k in keys if keys.count(k) > 1})

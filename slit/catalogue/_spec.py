"""Shared base of the catalog specs (frozen pydantic models that reject unknown keys)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Frozen; unknown keys rejected, so a typo in a catalog entry is an error, not a default;
    infinite and NaN numbers rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

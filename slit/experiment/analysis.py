"""Helpers for experiment scripts that read sweep results (``results.parquet``) only.

* :func:`common_hypervolume`: the hypervolume of every point's Pareto set on one shared
  normalisation, so fronts of different runs can be compared (each run's own
  ``hypervolume_mean`` is normalised by its own front and is not comparable across runs);
* :func:`one_at_a_time`: which factor a point of a one-factor-at-a-time sweep varies;
* :func:`mean_sd`: mean and standard deviation over seeds, per group;
* :func:`analyse_main`: the read-tabulate-draw body of an experiment's ``analyse.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def common_hypervolume(results: pd.DataFrame, column: str = "pareto_objectives") -> pd.Series:
    """Hypervolume of each row's Pareto set (predicted horizon totals), every objective scaled
    to [0, 1] between the best and the worst value over *all* rows, reference point 1.1 in
    each objective; NaN for rows without a front (failed points)."""
    from pymoo.indicators.hv import HV

    fronts = [np.asarray(json.loads(v), float) if isinstance(v, str) else None
              for v in results[column]]  # fmt: skip
    pts = np.vstack([f for f in fronts if f is not None and len(f)])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    hv = HV(ref_point=np.full(pts.shape[1], 1.1))
    values = [float(hv((f - lo) / span)) if f is not None and len(f) else np.nan for f in fronts]
    return pd.Series(values, index=results.index, name="hypervolume_common")


def one_at_a_time(results: pd.DataFrame) -> pd.DataFrame:
    """Add ``factor`` (the swept key of the row, without ``param.``/``options.``) and
    ``level`` (its value) to a one-factor-at-a-time sweep, where each listed point sets one
    parameter and leaves the others at their defaults."""
    params = [c for c in results.columns if c.startswith("param.")]
    out = results.copy()
    factors, levels = [], []
    for _, row in results.iterrows():
        set_here = [c for c in params if pd.notna(row[c])]
        if len(set_here) != 1:
            raise ValueError(f"row {row.get('run_id')} sets {len(set_here)} parameters; a "
                             "one-at-a-time sweep sets exactly one per point")  # fmt: skip
        key = set_here[0].removeprefix("param.").removeprefix("options.")
        factors.append(key)
        levels.append(row[set_here[0]])
    out["factor"], out["level"] = factors, levels
    return out


def mean_sd(frame: pd.DataFrame, by: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean and sample standard deviation (``<metric>_sd``) over the rows of each group, plus
    ``seeds`` (rows per group); groups keep their first-seen order."""
    g = frame.groupby(by, sort=False)
    mean = g[metrics].mean()
    sd = g[metrics].std(ddof=1).fillna(0.0).add_suffix("_sd")
    return pd.concat([mean, sd, g.size().rename("seeds")], axis=1).reset_index()


def analyse_main(
    here: Path,
    argv: list[str],
    table: Callable[[pd.DataFrame], pd.DataFrame],
    markdown: Callable[[pd.DataFrame], str],
    figure: Callable[[pd.DataFrame], None],
) -> int:
    """The body of an experiment's ``analyse.py``: read ``RESULTS_DIR/results.parquet``
    (``argv[0]``, default ``here/results``), write ``here/table.md``, print it, draw."""
    results_dir = Path(argv[0]) if argv else here / "results"
    stats = table(pd.read_parquet(results_dir / "results.parquet"))
    text = markdown(stats)
    (here / "table.md").write_text(text, encoding="utf-8")
    print(text)
    figure(stats)
    return 0

"""The calibration pipeline: load every public measurement, fit, cross-validate, report.

Used by ``slit calibrate`` and ``benchmarks/fidelity.py``; the data are read from the raw-data
folder (the one holding ``gpu_profiles/``), never bundled.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from slit.calibration.argonne import load_argonne_power, load_argonne_runs, load_argonne_ttft
from slit.calibration.joint import JointCalibration, calibrate, observations, summarize
from slit.calibration.mlenergy import load_mlenergy
from slit.calibration.vidur import load_vidur_prefill
from slit.errors import SlitError

DATA_NOTE = (
    "Vidur per-operator kernel profiles and NCCL all-reduce profiles (github:microsoft/vidur"
    "@7d475133, MIT; A100, H100, A40), LLM-Inference-Bench vLLM runs with power and TTFT "
    "(github:argonne-lcf/LLM-Inference-Bench@4211f5d4, BSD-3-Clause; A100 40GB, H100, TP 1-4), "
    "ML.ENERGY Benchmark v3 (github:ml-energy/leaderboard@0cd52dab; vLLM on H100 and B200; median "
    "and mean inter-token latency, GPU power, energy per token)"
)

#: The four quantities the docs and the acceptance report, and the observables behind each.
HEADLINE: dict[str, tuple[str, ...]] = {
    "prefill time": ("prefill_dense", "ttft"),
    "decode step time": ("decode_step",),
    "average power": ("power",),
    "energy per output token": ("energy_per_token",),
}


def load_observations(data_dir: str | Path) -> pd.DataFrame:
    """Every observation of :func:`slit.calibration.joint.observations` from the raw data."""
    data_dir = Path(data_dir)
    return observations(
        load_vidur_prefill(data_dir),
        load_argonne_runs(data_dir),
        load_argonne_ttft(data_dir),
        load_argonne_power(data_dir),
        load_mlenergy(data_dir),
    )


def run_calibration(
    data_dir: str | Path, hold_outs: tuple[str, ...] = ("tp", "model")
) -> JointCalibration:
    """Load, fit every GPU family and predict every held-out configuration."""
    return calibrate(load_observations(data_dir), hold_outs)


def _quantity(metric: str) -> str | None:
    return next((q for q, ms in HEADLINE.items() if metric in ms), None)


def headline_table(pred: pd.DataFrame, by: tuple[str, ...] = ("gpu", "tp")) -> pd.DataFrame:
    """MAPE, signed bias and n of the four headline quantities per ``by`` group."""
    frame = pred.assign(quantity=pred["metric"].map(_quantity)).dropna(subset=["quantity"])
    return summarize(frame, (*by, "quantity"))


def error_report(cal: JointCalibration) -> pd.DataFrame:
    """Held-out (leave one TP out, leave one model out) and in-sample errors side by side, per
    GPU x TP x model x observable."""
    keys = ("gpu", "tp", "model", "metric")
    table = summarize(cal.in_sample, keys).rename(
        columns={c: f"{c}_in" for c in ("mape_pct", "bias_pct", "max_abs_pct", "n")}
    )
    for name, held in cal.held_out.items():
        if held.empty:
            continue
        h = summarize(held, keys).rename(
            columns={c: f"{c}_{name}_out" for c in ("mape_pct", "bias_pct", "max_abs_pct", "n")}
        )
        table = table.merge(h, on=list(keys), how="left")
    return table.sort_values(list(keys), ignore_index=True)


def markdown_table(frame: pd.DataFrame, digits: int = 1) -> str:
    """A GitHub-flavoured markdown table of ``frame`` (NaN shown as an en dash)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("–" if v != v else f"{v:.{digits}f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _acceptance_rows(held: pd.DataFrame) -> pd.DataFrame:
    """Per GPU x TP x headline quantity: held-out MAPE, bias, n, and whether it meets the
    targets (:data:`TARGET_MAPE_PCT`, |bias| <= :data:`TARGET_BIAS_PCT`)."""
    t = headline_table(held)
    t["target_pct"] = t["quantity"].map(TARGET_MAPE_PCT)
    t["meets"] = (t["mape_pct"] <= t["target_pct"]) & (t["bias_pct"].abs() <= TARGET_BIAS_PCT)
    return t


#: Held-out MAPE targets per headline quantity, %.
TARGET_MAPE_PCT = {
    "prefill time": 10.0,
    "decode step time": 10.0,
    "average power": 15.0,
    "energy per output token": 15.0,
}
#: Largest acceptable |signed bias| of any GPU x TP group, %.
TARGET_BIAS_PCT = 10.0


def acceptance_table(cal: JointCalibration, hold_out: str = "tp") -> pd.DataFrame:
    """The held-out headline table with the targets and a ``meets`` column."""
    return _acceptance_rows(cal.held_out[hold_out])


def markdown_report(cal: JointCalibration) -> str:
    """The error tables of docs/models.md: headline held-out errors per GPU x TP (both
    hold-out kinds, in-sample beside), then per GPU x TP x model x observable."""
    parts = ["<!-- generated by `slit calibrate --report`; do not edit by hand -->", ""]
    head = headline_table(cal.in_sample).rename(
        columns={"mape_pct": "in-sample MAPE %", "bias_pct": "in-sample bias %", "n": "n"}
    )
    head = head.drop(columns=["max_abs_pct"])
    for name, label in (("tp", "TP held out"), ("model", "model held out")):
        held = cal.held_out.get(name)
        if held is None or held.empty:
            continue
        h = (
            headline_table(held)
            .drop(columns=["max_abs_pct", "n"])
            .rename(columns={"mape_pct": f"{label}: MAPE %", "bias_pct": f"{label}: bias %"})
        )
        head = h.merge(head, on=["gpu", "tp", "quantity"], how="outer")
    cols = ["gpu", "tp", "quantity"] + [c for c in head.columns if "held out" in c] + [
        "in-sample MAPE %", "in-sample bias %", "n"]  # fmt: skip
    head = head[cols].sort_values(["gpu", "tp", "quantity"])
    parts += ["### Headline errors per GPU x TP", "", markdown_table(head), ""]
    detail = error_report(cal)
    keep = ["gpu", "tp", "model", "metric"] + [
        c for c in detail.columns if c.startswith(("mape_pct", "bias_pct")) or c == "n_in"
    ]
    parts += ["### Per GPU x TP x model x observable", "", markdown_table(detail[keep]), ""]
    return "\n".join(parts)


REPORT_START = "<!-- calibration-report:start -->"
REPORT_END = "<!-- calibration-report:end -->"


def write_calibration_report(path: str | Path, report: str) -> Path:
    """Write ``report`` to ``path``: between the :data:`REPORT_START` and :data:`REPORT_END`
    markers when the file has them (so the tables live inside docs/models.md), else the whole
    file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if REPORT_START in text and REPORT_END in text:
        head, rest = text.split(REPORT_START, 1)
        _, tail = rest.split(REPORT_END, 1)
        text = f"{head}{REPORT_START}\n{report}\n{REPORT_END}{tail}"
    else:
        text = report + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check_data_dir(data_dir: str | Path) -> Path:
    """The raw-data folder, checked to hold ``gpu_profiles/``.

    Raises:
        SlitError: it does not (the message says which folder to give).
    """
    data_dir = Path(data_dir)
    if not (data_dir / "gpu_profiles").is_dir():
        raise SlitError(
            f"calibrate: {data_dir} has no gpu_profiles/ folder; give the raw-data folder "
            "(see docs/models.md, calibration)"
        )
    return data_dir


def calibrate_folder(
    data_dir: str | Path,
    *,
    write: Path | None = None,
    write_tables: Path | None = None,
    write_collectives: Path | None = None,
    report: Path | None = None,
    note: Callable[[str], None] = lambda _: None,
) -> JointCalibration:
    """``slit calibrate``: fit the latency and power models to the raw data and write what
    was asked for.

    Args:
        data_dir: the raw-data folder (holding ``gpu_profiles/``).
        write: the efficiency catalog to write (``slit/data/catalog/efficiency.yaml``).
        write_tables: the measured latency tables for ``latency_model: table``.
        write_collectives: the all-reduce table derived from the NCCL profiles.
        report: the Markdown error report (between the report markers of a file that has
            them, e.g. docs/models.md).
        note: receives one line per step done (a CLI prints them).

    Returns:
        the calibration (fits, in-sample and held-out predictions).
    """
    data_dir = check_data_dir(data_dir)
    if write_collectives is not None:
        from slit.calibration.collectives import derive_collective_table, write_collective_table

        write_collective_table(derive_collective_table(data_dir), write_collectives)
        note(f"all-reduce table written to {write_collectives}")
    obs = load_observations(data_dir)
    note(f"calibrate: {len(obs)} observations; fitting and cross-validating ...")
    cal = calibrate(obs)
    if write_tables is not None:
        from slit.calibration.tables import derive_latency_tables, write_latency_tables

        tables = derive_latency_tables(load_vidur_prefill(data_dir), load_mlenergy(data_dir))
        write_latency_tables(tables, write_tables)
        note(f"latency tables written to {write_tables}")
    if report is not None:
        write_calibration_report(report, markdown_report(cal))
        note(f"error report written to {report}")
    if write is not None:
        from slit.calibration.catalog import catalog_yaml

        write.parent.mkdir(parents=True, exist_ok=True)
        write.write_text(catalog_yaml(cal, DATA_NOTE), encoding="utf-8")
        note(f"efficiency catalog written to {write}")
    return cal

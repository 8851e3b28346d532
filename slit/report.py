"""``slit report DIR``: one self-contained HTML file of a run, optimize or sweep folder.

The page holds the result tables, every figure of :mod:`slit.plot.folder` (PNG embedded as
base64, so the file opens offline and can be mailed as one attachment), the resolved scenario
and the provenance of ``metadata.json``. It links to nothing outside itself.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from slit.plot.folder import figures, folder_kind

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.8em; }
.failed { color: #b00; } .scroll { overflow-x: auto; }
"""

CAPTIONS = {
    "pareto_grid": "Horizon totals of the plans replayed in the simulator (grey dots: weight "
    "vectors; coloured markers: decision variants) and of the baselines (black), all simulated "
    "with the same seed; small open circles: the evaluator's prediction of the same plans, an "
    "overlay for comparison only.",
    "parallel": "The front in parallel coordinates; each objective scaled from best (0) to "
    "worst (1) on the front.",
    "convergence": "Hypervolume of the population after each generation: median over the "
    "epochs, band the interquartile range.",
    "datacenter_impacts": "Carbon, water and cost of each replayed plan or policy, stacked "
    "by datacenter (simulated).",
    "routing_share": "Share of requests each datacenter served per epoch, with the carbon "
    "intensity, water intensity and electricity price of its region.",
    "when_and_capacity": "Requests released per epoch, interactive and deferrable (a deferred "
    "one counted when it leaves its origin), the replicas each datacenter powered at the "
    "epoch's start, and the carbon intensity of its region.",
}
"""Figure captions by file stem; sweep figures are captioned from their name."""


def _headed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its result columns headed by the metric catalogue (label and unit) and
    its swept parameters by :func:`slit.metrics.parameter_label`; other columns as they are."""
    from slit.metrics import metric, metric_label, parameter_label

    def heading(col: object) -> object:
        name = str(col)
        if name.startswith("param."):
            return parameter_label(name)
        return metric_label(name) if metric(name) is not None else col

    return frame.rename(columns=heading)


def _table(frame: pd.DataFrame) -> str:
    frame = _headed(frame)
    text = frame.to_html(index=False, border=0, escape=True,
                         float_format=lambda v: f"{v:.4g}", na_rep="")  # fmt: skip
    return f"<div class='scroll'>{text}</div>"  # wide tables scroll instead of the page


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _summary_tables(summary: dict[str, Any]) -> str:
    latency = pd.DataFrame(
        [
            {"metric": label, **{s: summary[k][s] for s in ("mean", "p50", "p95", "p99")}}
            for k, label in (("ttft_s", "TTFT [s]"), ("tpot_s", "TPOT [s]"),
                             ("e2e_s", "end-to-end latency [s]"))
        ]  # fmt: skip
    )
    # result keys as columns: _table heads them from the metric catalogue (label and unit)
    totals = pd.DataFrame([{k: summary[k] for k in (
        "requests", "completed", "dropped", "slo_attainment", "energy_kwh", "carbon_kg",
        "water_l", "cost_usd")}])  # fmt: skip
    per_dc = pd.DataFrame([
        {"datacenter": dc, **{k: v[k] for k in ("requests", "energy_kwh", "carbon_kg", "water_l",
                                                 "cost_usd", "gpu_utilization")}}
        for dc, v in summary["per_datacenter"].items()
    ])  # fmt: skip
    html = ("<h3>Totals</h3>" + _table(totals) + "<h3>Latency</h3>" + _table(latency)
            + "<h3>By datacenter</h3>" + _table(per_dc))  # fmt: skip
    classes = summary.get("classes") or {}
    if len(classes) > 1:  # deferrable classes beside the interactive requests
        by_class = pd.DataFrame([
            {"request class": name, "requests": c["requests"], "completed": c["completed"],
             "slo_attainment": c["slo_attainment"], "deadline_misses": c["deadline_misses"],
             "ttft_p95_s": c["ttft_s"]["p95"], "defer_s": c["defer_s"]["mean"]}
            for name, c in classes.items()
        ])  # fmt: skip
        html += "<h3>By request class</h3>" + _table(by_class)
    return html


def _sweep_captions(results: pd.DataFrame) -> dict[str, str]:
    """The caption of each sweep figure, by file stem: the metric against the parameter."""
    from slit.metrics import metric_label, parameter_label
    from slit.plot.folder import OPTIMIZE_FIGURE_METRICS, RUN_FIGURE_METRICS
    from slit.plot.sweep import figure_stem

    out = {}
    for x in (c for c in results.columns if c.startswith("param.")):
        for y in (*RUN_FIGURE_METRICS, *OPTIMIZE_FIGURE_METRICS):
            out[figure_stem(y, x)] = (
                f"{metric_label(y)} against {parameter_label(x)}: the mean over seeds, the band "
                "from the lowest to the highest seed; failed points left out."
            )
    return out


def _sweep_provenance(folder: Path, results: pd.DataFrame, failed: pd.DataFrame) -> str:
    """What a sweep's results came from: its settings, seeds, versions and failures, and a
    copy of its sweep file (``sweep.yaml`` in the folder)."""

    def values(col: str) -> str:
        if col not in results:
            return ""
        return ", ".join(sorted({str(v) for v in results[col].dropna() if str(v)}))

    rows = [
        {"key": "command", "value": values("sweep.command")},
        {"key": "base scenario", "value": values("sweep.base")},
        {"key": "set (every point)", "value": values("sweep.set")},
        {"key": "options (every point)", "value": values("sweep.options")},
        {"key": "swept parameters", "value": ", ".join(
            c.removeprefix("param.") for c in results.columns if c.startswith("param."))},
        {"key": "seeds", "value": values("seed")},
        {"key": "point × seed runs", "value": f"{len(results)} ({len(failed)} failed)"},
        {"key": "slit versions", "value": values("slit_version")},
        {"key": "git commits", "value": values("git_commit") or "(not a git checkout)"},
    ]  # fmt: skip
    if len(failed):
        common = failed["error"].astype(str).str.split(":").str[0].value_counts()
        rows.append({"key": "failures by error",
                     "value": ", ".join(f"{k} ({v})" for k, v in common.items())})  # fmt: skip
    text = "<h2>Provenance</h2>" + _table(pd.DataFrame(rows))
    sweep_file = folder / "sweep.yaml"
    if sweep_file.is_file():
        text += ("<h2>Sweep file (sweep.yaml)</h2><pre>"
                 + html.escape(sweep_file.read_text(encoding="utf-8")) + "</pre>")  # fmt: skip
    return text


def build_report(folder: Path, style: str = "default") -> str:
    """The HTML text of the report of ``folder`` (see the module doc)."""
    kind = folder_kind(folder)
    meta: dict[str, Any] = {}
    if (folder / "metadata.json").is_file():
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    parts = [f"<h1>slit {html.escape(kind)}: {html.escape(folder.resolve().name)}</h1>"]
    if kind == "optimize":
        validated = pd.read_csv(folder / "validated.csv")
        cols = [c for c in ("name", "kind", "ttft_mean_s", "ttft_p95_s", "tpot_p95_s",
                            "carbon_kg", "water_l", "cost_usd", "energy_kwh", "dropped",
                            "slo_attainment") if c in validated]  # fmt: skip
        parts.append("<h2>Plans and baselines replayed in the simulator</h2>")
        parts.append("<p>Units: seconds, kg CO2e, litres, USD, kWh; the same seed for every "
                     "replay.</p>" + _table(validated[cols]))  # fmt: skip
        ind = json.loads((folder / "indicators.json").read_text(encoding="utf-8"))
        rows = [{"indicator": "algorithm", "value": ind.get("algorithm")},
                {"indicator": "epochs", "value": ind.get("epochs")},
                {"indicator": "evaluations per epoch", "value": ind.get("evaluations_per_epoch")},
                {"indicator": "population", "value": ind.get("pop_size")},
                {"indicator": "forecaster", "value": ind.get("forecaster")},
                {"indicator": "hypervolume, mean over epochs",
                 "value": ind.get("hypervolume_mean")}]  # fmt: skip
        for key, err in (ind.get("evaluator_max_abs_error") or {}).items():
            rows.append({"indicator": f"fast evaluator max |error| vs simulator, {key}",
                         "value": "–" if err is None else f"{100 * err:.2f} %"})  # fmt: skip
        parts.append("<h2>Indicators</h2>" + _table(pd.DataFrame(rows)))
        pareto = pd.read_csv(folder / "pareto.csv")
        if "non_dominated" in pareto.columns and "predicted_ttft_s" in pareto.columns:
            n_nd = int(pareto["non_dominated"].sum())
            title = (
                f"Plans replayed in the simulator ({len(pareto)}; {n_nd} non-dominated on "
                "the simulated TTFT p95, carbon, water and cost; predictions beside them)"
            )
        else:  # a folder written before plans were replayed: predicted values only
            title = f"Pareto set ({len(pareto)} plans, predicted)"
        parts.append(f"<h2>{title}</h2>" + _table(pareto))
    if kind in ("optimize", "run") and (folder / "summary.json").is_file():
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        title = "Balanced plan, simulated" if kind == "optimize" else "Summary"
        parts.append(f"<h2>{title}</h2>" + _summary_tables(summary))
    if kind == "sweep":
        results = pd.read_parquet(folder / "results.parquet")
        failed = results[results["status"] != "ok"] if "status" in results else results[:0]
        from slit.plot.folder import OPTIMIZE_FIGURE_METRICS, RUN_FIGURE_METRICS

        main = ("seed", "run_id", "status", *RUN_FIGURE_METRICS, *OPTIMIZE_FIGURE_METRICS,
                "wall_s")  # fmt: skip
        shown = [c for c in results.columns if c.startswith("param.")]
        shown += [c for c in main if c in results]
        parts.append(f"<h2>Sweep results ({len(results)} point × seed runs, "
                     f"{len(failed)} failed)</h2><p>The main metrics; every column is in "
                     "results.parquet.</p>" + _table(results[shown]))  # fmt: skip
        if len(failed):
            parts.append("<h3 class='failed'>Failed points</h3>"
                         + _table(failed[["run_id", "seed", "error"]]))  # fmt: skip
        parts.append(_sweep_provenance(folder, results, failed))
    parts.append("<h2>Figures</h2>")
    import matplotlib.pyplot as plt

    captions = dict(CAPTIONS)
    if kind == "sweep":
        captions.update(_sweep_captions(pd.read_parquet(folder / "results.parquet")))
    for stem, fig in figures(folder, style).items():
        caption = captions.get(stem, stem.replace("_", " "))
        parts.append(
            f"<figure><img alt='{html.escape(stem)}' src='data:image/png;base64,"
            f"{_png(fig)}'><figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        plt.close(fig)
    if (folder / "config.resolved.yaml").is_file():
        text = (folder / "config.resolved.yaml").read_text(encoding="utf-8")
        parts.append("<h2>Resolved scenario</h2><pre>" + html.escape(text) + "</pre>")
    if meta:
        prov = pd.DataFrame([{"key": k, "value": json.dumps(v) if isinstance(v, (list, dict))
                              else v} for k, v in meta.items()])  # fmt: skip
        parts.append("<h2>Provenance</h2>" + _table(prov))
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>slit {html.escape(kind)} report</title><style>{CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n")  # fmt: skip


def write_report(folder: Path, out: Path | None = None, style: str = "default") -> Path:
    """Write the report of ``folder`` to ``out`` (default ``folder/report.html``), atomically."""
    from slit.errors import OutputError
    from slit.experiment.rundir import check_out_file

    folder_kind(folder)  # a missing folder or a file is said as such, before the --out checks
    if out is not None and out.suffix and out.suffix.lower() not in (".html", ".htm"):
        # a name of another file type (rep.png) would hold HTML under a false extension
        from slit.errors import SlitError

        raise SlitError(f"--out {out}: a report is an HTML file; give a name ending in .html "
                        "(or with no extension)")
    target = out or folder / "report.html"
    check_out_file(target, is_report)  # before the work: never over a result or a user's file
    text = build_report(folder, style)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot be written ({exc.strerror}); choose another --out"
        ) from exc
    return target


def is_report(path: Path) -> bool:
    """Whether ``path`` holds a report ``slit report`` wrote (its title says so)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return (
        head.startswith(b"<!DOCTYPE html>")
        and b"<title>slit " in head
        and b" report</title>" in head
    )

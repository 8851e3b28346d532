"""Figure styles: a colourblind-safe palette and a ``paper`` style sized for journal columns.

Every plotting function in :mod:`slit.plot` draws with the active matplotlib style, so the
same function makes a screen figure or a paper figure::

    with figure_style("paper"):
        fig = plot_pareto_grid(pareto)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Okabe-Ito colours: distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")  # fmt: skip

ONE_COLUMN_IN = 3.5
"""Width of one column of a two-column paper (IEEE, ACM), in inches."""

TWO_COLUMNS_IN = 7.0
"""Width of a figure spanning both columns of a two-column paper (``figure*``), in inches."""

SCREEN_WIDTH_IN = {1: 4.5, 2: 7.0}
"""Widths of the ``default`` style by column span, in inches."""

STYLES: dict[str, dict[str, Any]] = {
    "default": {
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 9,
        "axes.grid": True,
        "grid.alpha": 0.3,
    },
    "paper": {
        "figure.dpi": 100,
        "savefig.dpi": 300,
        "font.size": 7,
        "axes.labelsize": 7,
        "axes.titlesize": 7,
        "legend.fontsize": 6,
        "xtick.labelsize": 6,
        "ytick.labelsize": 6,
        "lines.linewidth": 1.0,
        "lines.markersize": 3,
        "axes.linewidth": 0.6,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.4,
        # no "tight" bounding box: a paper figure keeps its exact column width, and the
        # constrained layout already keeps every label on the canvas
    },
}
"""rcParams of each style; both embed TrueType fonts (type 42) so PDFs stay editable text."""


def style_names() -> list[str]:
    """The names :func:`figure_style` accepts."""
    return sorted(STYLES)


def figure_width_in(style: str, span: int) -> float:
    """The width of a figure spanning ``span`` columns (1 or 2), in inches: 3.5 or 7.0 in the
    ``paper`` style (a two-column journal's column and text widths), 4.5 or 7.0 on screen."""
    if span not in (1, 2):
        raise ValueError(f"a figure spans 1 or 2 columns, not {span}")
    if style == "paper":
        return ONE_COLUMN_IN if span == 1 else TWO_COLUMNS_IN
    return SCREEN_WIDTH_IN[span]


def legend_columns(labels: list[str], width_in: float) -> int:
    """How many columns a legend of ``labels`` can have and still fit ``width_in`` inches, at
    the active style's legend font size (an estimate: 0.55 em per character, plus the
    handle and the gaps)."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    size_pt = FontProperties(size=mpl.rcParams["legend.fontsize"]).get_size_in_points()
    widest_in = max((len(t) for t in labels), default=1) * 0.55 * size_pt / 72 + 4 * size_pt / 72
    return max(1, min(len(labels), int(0.95 * width_in // widest_in)))


def figure_mark_metadata(suffix: str) -> dict[str, Any]:
    """The savefig metadata that names slit as a figure's maker (PNG Software, PDF Creator),
    by which ``slit.experiment.rundir.is_slit_figure`` knows the files slit may replace; an
    empty mapping for other formats."""
    from slit.version import __version__

    mark = f"slit {__version__} (matplotlib)"
    key = {".png": "Software", ".pdf": "Creator"}.get(suffix.lower())
    return {key: mark} if key else {}


def save_figure(fig: Any, stem: Path, dpi: float | None = None) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf``; the PDF carries no creation date, so the
    same results give the same bytes, and both name slit as their maker. Returns the two
    paths."""
    paths = []
    for ext in ("png", "pdf"):
        path = stem.with_name(f"{stem.name}.{ext}")
        kwargs = {"dpi": dpi} if dpi else {}
        # the mark lets a later `slit plot` tell its own figures from a user's files
        metadata = figure_mark_metadata(f".{ext}")
        if ext == "pdf":
            metadata["CreationDate"] = None
        fig.savefig(path, metadata=metadata, **kwargs)
        paths.append(path)
    return paths


@contextmanager
def figure_style(name: str = "default") -> Iterator[None]:
    """Apply a style (with the Okabe-Ito colour cycle) inside a ``with`` block."""
    import matplotlib as mpl
    from cycler import cycler

    if name not in STYLES:
        from slit.errors import SlitError

        raise SlitError(f"unknown figure style '{name}'; valid: {', '.join(style_names())}")
    rc = {**STYLES[name], "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
          "pdf.fonttype": 42, "ps.fonttype": 42}  # fmt: skip
    with mpl.rc_context(rc):  # type: ignore[arg-type]  # matplotlib types keys as literals
        yield

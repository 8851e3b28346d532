"""Layout checks of a drawn figure: what a reader would see as a defect.

:func:`layout_problems` draws a figure and reports, in words, every place where

* two pieces of text overlap (tick labels running together, a y-label on a neighbour's ticks),
* a piece of text leaves the canvas (a cut-off label),
* a legend lies over a panel (legends belong outside the data),
* a text of one panel lies over another panel,
* a marker is cut by the edge of its panel, or lies outside it and is not shown.

The extents are matplotlib's own (``Artist.get_window_extent`` after a draw), in pixels of
the figure's canvas; only what the draw actually drew is measured (tick labels outside the
view are not). The tests run every figure kind of :mod:`slit.plot.folder` through it in both
styles; it is public so that a user's own figures can be checked the same way.
"""

from __future__ import annotations

from typing import Any

TOLERANCE_PX = 0.5
"""Overlaps and overhangs smaller than this (in pixels) are anti-aliasing, not defects."""


def _describe(text: Any) -> str:
    words = " ".join(text.get_text().split())
    return repr(words if len(words) <= 40 else words[:37] + "...")


def _overlap(a: Any, b: Any, tol: float = TOLERANCE_PX) -> bool:
    """Whether two boxes overlap by more than ``tol`` pixels in both directions."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def drawn_texts(fig: Any) -> tuple[list[Any], Any]:
    """Draw ``fig`` and return the non-empty texts the draw drew, with the renderer."""
    from matplotlib.text import Text

    drawn: list[Any] = []
    original = Text.draw

    def recording_draw(self: Any, renderer: Any) -> None:
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)

    Text.draw = recording_draw  # type: ignore[method-assign]
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original  # type: ignore[method-assign]
    unique = list(dict.fromkeys(drawn))  # a text drawn twice (e.g. blitting) counts once
    return unique, fig.canvas.get_renderer()


def _legend_of(text: Any, legends: list[Any]) -> Any:
    for legend in legends:
        if text in legend.get_texts() or text is legend.get_title():
            return legend
    return None


def _marker_problems(ax: Any, renderer: Any, name: str) -> list[str]:
    """Markers of scatter plots and marked lines cut by, or beyond, the panel's edge."""
    import numpy as np
    from matplotlib.collections import PathCollection

    box = ax.get_window_extent(renderer)
    px_per_pt = ax.figure.dpi / 72.0
    problems = []
    points: list[tuple[Any, Any, str]] = []  # (display xy, radius px, what)
    for coll in ax.collections:
        if not isinstance(coll, PathCollection) or not coll.get_visible():
            continue
        offsets = np.asarray(coll.get_offsets(), float)
        if not len(offsets):
            continue
        xy = coll.get_offset_transform().transform(offsets)
        sizes = np.asarray(coll.get_sizes(), float)
        radius = np.sqrt(np.resize(sizes if len(sizes) else [36.0], len(xy))) / 2 * px_per_pt
        points.append((xy, radius, f"a marker of {coll.get_label() or 'a scatter'}"))
    for line in ax.get_lines():
        if not line.get_visible() or line.get_marker() in (None, "None", "", " "):
            continue
        data = np.column_stack([line.get_xdata(orig=False), line.get_ydata(orig=False)])
        data = data[np.isfinite(data.astype(float)).all(axis=1)] if len(data) else data
        if not len(data):
            continue
        xy = line.get_transform().transform(data.astype(float))
        radius = np.full(len(xy), line.get_markersize() / 2 * px_per_pt)
        points.append((xy, radius, f"a marker of {line.get_label() or 'a line'}"))
    for xy, radius, what in points:
        finite = np.isfinite(xy).all(axis=1)
        xy, radius = xy[finite], radius[finite]
        beyond = ((xy[:, 0] + radius < box.x0) | (xy[:, 0] - radius > box.x1)
                  | (xy[:, 1] + radius < box.y0) | (xy[:, 1] - radius > box.y1))  # fmt: skip
        cut = ~beyond & ((xy[:, 0] - radius < box.x0 - TOLERANCE_PX)
                         | (xy[:, 0] + radius > box.x1 + TOLERANCE_PX)
                         | (xy[:, 1] - radius < box.y0 - TOLERANCE_PX)
                         | (xy[:, 1] + radius > box.y1 + TOLERANCE_PX))  # fmt: skip
        if beyond.any():
            problems.append(f"{name}: {int(beyond.sum())} {what} outside the panel (not shown)")
        if cut.any():
            problems.append(f"{name}: {int(cut.sum())} {what} cut by the panel's edge")
    return problems


def layout_problems(fig: Any, *, check_markers: bool = True) -> list[str]:
    """Every layout defect of ``fig`` as a sentence; an empty list for a clean figure.

    Args:
        fig: a matplotlib Figure (it is drawn on its own canvas).
        check_markers: also report markers cut by or beyond their panel's edge.

    Returns:
        One sentence per defect, naming the texts or the panel.
    """
    texts, renderer = drawn_texts(fig)
    canvas = fig.bbox
    axes = [ax for ax in fig.axes if ax.get_visible()]
    boxes = {ax: ax.get_window_extent(renderer) for ax in axes}
    names = {ax: f"panel {i + 1} ({ax.get_xlabel() or ax.get_title() or 'no label'})"
             for i, ax in enumerate(axes)}  # fmt: skip
    legends = [leg for leg in fig.findobj(lambda a: type(a).__name__ == "Legend")
               if leg.get_visible()]  # fmt: skip
    problems: list[str] = []

    extents = [(t, t.get_window_extent(renderer)) for t in texts]
    for t, box in extents:
        if (
            box.x0 < canvas.x0 - TOLERANCE_PX
            or box.x1 > canvas.x1 + TOLERANCE_PX
            or box.y0 < canvas.y0 - TOLERANCE_PX
            or box.y1 > canvas.y1 + TOLERANCE_PX
        ):
            problems.append(f"text {_describe(t)} leaves the canvas")  # fmt: skip
    for i, (a, box_a) in enumerate(extents):
        for b, box_b in extents[i + 1 :]:
            if _overlap(box_a, box_b):
                problems.append(f"texts {_describe(a)} and {_describe(b)} overlap")

    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax, ax_box in boxes.items():
            if _overlap(box, ax_box):
                problems.append(f"a legend lies over {names[ax]}")
    for t, box in extents:
        if _legend_of(t, legends) is not None:
            continue
        own = t.axes
        for ax, ax_box in boxes.items():
            if ax is not own and _overlap(box, ax_box):
                problems.append(f"text {_describe(t)} lies over {names[ax]}")

    if check_markers:
        for ax in axes:
            problems += _marker_problems(ax, renderer, names[ax])
    return problems

"""Where the project's bundled folders are: ``traces/`` (the derived signal and request
profiles) and ``scenarios/`` (the default scenario and the examples).

Both live at the top of the source tree, beside ``slit/``; the wheel carries them inside the
package as ``slit/_bundled/traces`` and ``slit/_bundled/scenarios`` (``pyproject.toml``,
``force-include``), so an installed copy finds them without a checkout.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from slit.errors import SlitError

BUNDLED_FOLDERS = ("traces", "scenarios")
"""The project folders the package ships."""


@lru_cache(maxsize=len(BUNDLED_FOLDERS))
def bundled_folder(name: str) -> Path:
    """The bundled folder ``name`` (``traces`` or ``scenarios``): inside an installed wheel,
    else at the top of the source tree (a checkout or an editable install).

    Raises:
        SlitError: an unknown name, or a package without the folder (an incomplete install).
    """
    if name not in BUNDLED_FOLDERS:
        raise SlitError(f"unknown bundled folder {name!r}; valid: {', '.join(BUNDLED_FOLDERS)}")
    # importlib.resources finds the package wherever it is installed; slit is a regular
    # package on disk, so the result is a real path
    packaged = Path(str(files("slit"))) / "_bundled" / name
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / name
    if source.is_dir():
        return source
    raise SlitError(
        f"the bundled folder '{name}' is missing: looked in {packaged} and {source}. "
        "Reinstall slit (pip install slit, or pip install -e . in a checkout)"
    )

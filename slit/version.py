"""The installed version of slit (at the bottom of the package, so that any layer can record
it, e.g. in a run's metadata, without importing the package facade)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("slit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

"""Catalogues at the bottom of slit: what the world holds, read from the package's data, with
no model behind it. Every layer may read them; they import nothing of slit above
:mod:`slit.errors`.

* :mod:`slit.catalogue.regions` - the grid zones (location, time zone, water intensity of
  electricity, ...) of the bundled profiles.

(The GPU and LLM catalogues are read by :func:`slit.models.hardware.bundled_gpus` and
:func:`slit.models.llm.bundled_llms`, whose spec types they validate against.)
"""

from slit.catalogue.regions import REGIONS_FILE, bundled_profiles_dir, load_region_catalog

__all__ = ["REGIONS_FILE", "bundled_profiles_dir", "load_region_catalog"]

"""Catalogues at the bottom of slit: what the world holds, read from the package's data, with
no model behind it. Every layer may read them; they import nothing of slit above
:mod:`slit.errors`.

* :mod:`slit.catalogue.regions` - the grid zones (location, time zone, water intensity of
  electricity, ...) of the bundled profiles;
* :mod:`slit.catalogue.gpus` - GPU types (:class:`~slit.catalogue.gpus.GpuSpec`,
  :func:`~slit.catalogue.gpus.bundled_gpus`);
* :mod:`slit.catalogue.llms` - LLM architectures (:class:`~slit.catalogue.llms.LlmSpec`,
  :func:`~slit.catalogue.llms.bundled_llms`);
* :mod:`slit.catalogue.bundled` - where the bundled ``traces/`` and ``scenarios/`` folders are.
"""

from slit.catalogue.regions import REGIONS_FILE, bundled_profiles_dir, load_region_catalog

__all__ = ["REGIONS_FILE", "bundled_profiles_dir", "load_region_catalog"]

"""Offline builders: derive the tables slit ships from a local copy of the public raw data.

* :mod:`slit.builders.profiles`: the signal and request profiles in ``traces/``
  (``slit traces build``);
* :mod:`slit.builders.cloud_rtt`: the zone-to-zone RTT table among them.

The latency and power calibration (``slit calibrate``) is the other offline package,
:mod:`slit.calibration`. No simulation, optimisation or sweep imports either (the architecture
test checks it); they run when the shipped tables are rebuilt.
"""

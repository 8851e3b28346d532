"""The discrete-event simulator: routing policies, the engine, and :func:`simulate`.

The built-in routing policies (:mod:`slit.sim.policies` and the baselines of
:mod:`slit.sim.baselines`) register themselves in :data:`slit.plugins.POLICIES`, which imports
them the first time it is read.
"""

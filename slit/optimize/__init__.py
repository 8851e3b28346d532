"""Optimisation of where requests go, epoch by epoch (SLIT and pymoo algorithms).

:mod:`slit.optimize.evaluator` is the fast, vectorised model of one epoch that the optimisers
query thousands of times; :mod:`slit.optimize.problem` exposes it as a pymoo ``Problem``.
"""

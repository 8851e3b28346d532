"""Plots of slit's inputs and results: pure functions that draw on matplotlib Axes.

Importing this package imports matplotlib; the simulator never does.
"""

"""The input layer: a validated scenario compiled into the immutable record a run consumes.

:func:`compile_inputs` builds the requests (:mod:`.workload`), the per-epoch signals
(:mod:`.signals`), the fleet with its pools' latency, power and KV models and the network
(:mod:`.fleet`, :mod:`.geography`) and the clock (:mod:`.timeline`), all from the run's seed
(:mod:`.streams`). The simulator and the fast evaluator both consume its :class:`RunInputs`.
"""

from slit.inputs.compile import RunInputs, check_inputs, compile_inputs
from slit.inputs.fleet import DatacenterInputs, Fleet, PoolInputs, compile_fleet
from slit.inputs.geography import region_coordinates, rtt_between_regions, utc_offset_h
from slit.inputs.signals import EpochSignals, epoch_signals, region_signals
from slit.inputs.streams import RandomStreams
from slit.inputs.timeline import Timeline, epoch_count
from slit.inputs.workload import Requests, build_requests, served_models

__all__ = [
    "DatacenterInputs",
    "EpochSignals",
    "Fleet",
    "PoolInputs",
    "RandomStreams",
    "Requests",
    "RunInputs",
    "Timeline",
    "build_requests",
    "check_inputs",
    "compile_fleet",
    "compile_inputs",
    "epoch_count",
    "epoch_signals",
    "region_coordinates",
    "region_signals",
    "rtt_between_regions",
    "served_models",
    "utc_offset_h",
]

"""The biology side of a site: cultures from recordings, raw electrode streams and models, a
streaming spike detector, and stimulation behind a guard that protects the tissue.

- :mod:`ione.culture.spiketrains`: recorded spike trains (HDF5 spike files, NWB, SpikeInterface,
  Neo) and their replay (docs/culture.md).
- :mod:`ione.culture.streams`: raw voltages in blocks on the sample clock; the
  :class:`VoltageSource` protocol a live MEA implements.
- :mod:`ione.culture.detect`: the streaming spike detector (docs/detector.md).
- :mod:`ione.culture.stimulus`, :mod:`ione.culture.guard`, :mod:`ione.culture.stimulator`,
  :mod:`ione.culture.conformance`: stimulation designs and commands, the guard between every
  command and the stimulator, the :class:`Stimulator` protocol with a simulated reference, and
  the checks a real rig's driver must pass (docs/stimulation.md).
"""

from __future__ import annotations

from ione.culture.detect import (
    PEAK_DTYPE,
    DetectorConfig,
    StreamingDetector,
    causal_filter,
    peaks_to_events,
    sample_times_us,
)
from ione.culture.guard import (
    DECISION_DTYPE,
    MEA60,
    REASON_CODES,
    REASONS,
    Decision,
    ElectrodeTable,
    GuardLimits,
    RecordKind,
    StimulationGuard,
    WatchdogError,
    reason_table,
)
from ione.culture.spiketrains import (
    CHANNEL_DTYPE,
    SpikeTrainReplay,
    SpikeTrains,
    load_spike_trains,
    read_spike_trains,
    select_channels,
    write_sjemea_h5,
)
from ione.culture.stimulator import (
    PULSE_DTYPE,
    ChargeCoupling,
    SimulatedStimulator,
    Stimulator,
    pulses_of,
)
from ione.culture.stimulus import (
    DEFAULT_EVENT_DESIGN,
    DEFAULT_PULSE,
    Command,
    EventDesign,
    Waveform,
    command_from_event,
    commands_from_events,
)
from ione.culture.streams import VoltageBlock, VoltageSource, VoltageStream, open_recording

__all__ = [
    "CHANNEL_DTYPE",
    "DECISION_DTYPE",
    "DEFAULT_EVENT_DESIGN",
    "DEFAULT_PULSE",
    "MEA60",
    "PEAK_DTYPE",
    "PULSE_DTYPE",
    "REASONS",
    "REASON_CODES",
    "ChargeCoupling",
    "Command",
    "Decision",
    "DetectorConfig",
    "ElectrodeTable",
    "EventDesign",
    "GuardLimits",
    "RecordKind",
    "SimulatedStimulator",
    "SpikeTrainReplay",
    "SpikeTrains",
    "StimulationGuard",
    "Stimulator",
    "StreamingDetector",
    "VoltageBlock",
    "VoltageSource",
    "VoltageStream",
    "WatchdogError",
    "Waveform",
    "causal_filter",
    "command_from_event",
    "commands_from_events",
    "load_spike_trains",
    "open_recording",
    "peaks_to_events",
    "pulses_of",
    "read_spike_trains",
    "reason_table",
    "sample_times_us",
    "select_channels",
    "write_sjemea_h5",
]

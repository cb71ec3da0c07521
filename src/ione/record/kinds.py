"""The record kinds a site writes into its session log, and their block dtypes.

Every numeric record is a block of one of these structured dtypes; times are integer µs.

==============  ====================  =========================================================
kind            dtype                 one row per
==============  ====================  =========================================================
``spikes``      :data:`SPIKE_DTYPE`   spike or event: source-clock time, local time, address,
                                      value (weight, amplitude or event type)
``clock``       :data:`CLOCK_DTYPE`   clock-offset sample of a link: local time, peer site,
                                      offset (peer clock − local clock) ± uncertainty
``stimulation`` :data:`STIM_DTYPE`    stimulation command and the guard's decision
``pulses``      :data:`PULSE_DTYPE`   memristor programming pulse
``reads``       :data:`READ_DTYPE`    memristor read: resistance and weight
``sent``        :data:`SENT_DTYPE`    event sent to a peer site (what a replay sends again)
``received``    :data:`RECEIVED_DTYPE` event received from a peer site: its time on the sender's
                                      clock and on the local clock, its datagram's arrival, the
                                      peer, address and value (a spike, a weighted request or a
                                      culture's report)
``link``        JSON                  link statistics snapshot (``t_us``, ``peer`` and counters)
``meta``        JSON                  site name and index, the sites of the run, populations,
                                      synapses, configuration, software versions
==============  ====================  =========================================================
"""

from __future__ import annotations

import platform
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ione._version import __version__

__all__ = [
    "CLOCK",
    "CLOCK_DTYPE",
    "LINK",
    "META",
    "PULSES",
    "PULSE_DTYPE",
    "READS",
    "READ_DTYPE",
    "RECEIVED",
    "RECEIVED_DTYPE",
    "SENT",
    "SENT_DTYPE",
    "SPIKES",
    "SPIKE_DTYPE",
    "STIMULATION",
    "STIM_DTYPE",
    "clock_block",
    "pulse_block",
    "read_block",
    "received_block",
    "sent_block",
    "software_versions",
    "spike_block",
    "stim_block",
]

SPIKES: Final = "spikes"
CLOCK: Final = "clock"
STIMULATION: Final = "stimulation"
PULSES: Final = "pulses"
READS: Final = "reads"
SENT: Final = "sent"
RECEIVED: Final = "received"
LINK: Final = "link"
META: Final = "meta"

SPIKE_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("t_local_us", "<i8"), ("key", "<u4"), ("value", "<f4")]
)
CLOCK_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("peer", "<u4"), ("offset_us", "<f8"), ("uncertainty_us", "<f8")]
)
STIM_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("key", "<u4"), ("electrode", "<u4"), ("amplitude", "<f4"),
     ("duration_us", "<i4"), ("allowed", "u1"), ("reason", "u1")]
)  # fmt: skip
PULSE_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("synapse", "<u4"), ("volts", "<f4"), ("width_us", "<i4")]
)
READ_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("synapse", "<u4"), ("r_ohm", "<f8"), ("weight", "<f4")]
)
SENT_DTYPE: Final = np.dtype([("t_us", "<i8"), ("key", "<u4"), ("value", "<f4"), ("peer", "<u4")])
RECEIVED_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("t_local_us", "<i8"), ("arrived_us", "<i8"), ("peer", "<u4"),
     ("key", "<u4"), ("value", "<f4")]
)  # fmt: skip


def _block(dtype: np.dtype, **columns: npt.ArrayLike) -> npt.NDArray[np.void]:
    cols = np.broadcast_arrays(*(np.asarray(c) for c in columns.values()))
    n = cols[0].size if cols else 0
    out = np.zeros(n, dtype=dtype)
    for name, col in zip(columns, cols, strict=True):
        if name not in (dtype.names or ()):
            raise ValueError(f"{name!r} is not a field of {dtype}")
        out[name] = np.ravel(col)
    return out


def spike_block(
    t_us: npt.ArrayLike, key: npt.ArrayLike, value: npt.ArrayLike = 0.0,
    t_local_us: npt.ArrayLike | None = None,
) -> npt.NDArray[np.void]:  # fmt: skip
    """Spikes; ``t_local_us`` defaults to ``t_us`` (events of the recording site itself)."""
    return _block(SPIKE_DTYPE, t_us=t_us, t_local_us=t_us if t_local_us is None else t_local_us,
                  key=key, value=value)  # fmt: skip


def clock_block(
    t_us: npt.ArrayLike, peer: npt.ArrayLike, offset_us: npt.ArrayLike,
    uncertainty_us: npt.ArrayLike,
) -> npt.NDArray[np.void]:  # fmt: skip
    """Clock-offset samples: at local time ``t_us``, ``peer clock = local clock + offset``."""
    return _block(CLOCK_DTYPE, t_us=t_us, peer=peer, offset_us=offset_us,
                  uncertainty_us=uncertainty_us)  # fmt: skip


def stim_block(**columns: npt.ArrayLike) -> npt.NDArray[np.void]:
    """Stimulation commands with the guard's decisions (fields of :data:`STIM_DTYPE`)."""
    return _block(STIM_DTYPE, **columns)


def pulse_block(
    t_us: npt.ArrayLike, synapse: npt.ArrayLike, volts: npt.ArrayLike, width_us: npt.ArrayLike
) -> npt.NDArray[np.void]:
    """Memristor programming pulses."""
    return _block(PULSE_DTYPE, t_us=t_us, synapse=synapse, volts=volts, width_us=width_us)


def read_block(
    t_us: npt.ArrayLike, synapse: npt.ArrayLike, r_ohm: npt.ArrayLike, weight: npt.ArrayLike
) -> npt.NDArray[np.void]:
    """Memristor reads: resistance (Ω) and the weight it maps to."""
    return _block(READ_DTYPE, t_us=t_us, synapse=synapse, r_ohm=r_ohm, weight=weight)


def sent_block(events: npt.NDArray[np.void], peer: int) -> npt.NDArray[np.void]:
    """Events (of :data:`ione.events.EVENT_DTYPE`) sent to site ``peer``."""
    return _block(
        SENT_DTYPE, t_us=events["t_us"], key=events["key"], value=events["value"], peer=peer
    )


def received_block(
    t_us: npt.ArrayLike, t_local_us: npt.ArrayLike, arrived_us: npt.ArrayLike,
    peer: npt.ArrayLike, key: npt.ArrayLike, value: npt.ArrayLike,
) -> npt.NDArray[np.void]:  # fmt: skip
    """Events received from peers: the event's time on the sender's clock, the same time on the
    local clock (never after the arrival) and when its datagram arrived (local clock)."""
    return _block(RECEIVED_DTYPE, t_us=t_us, t_local_us=t_local_us, arrived_us=arrived_us,
                  peer=peer, key=key, value=value)  # fmt: skip


def software_versions() -> dict[str, Any]:
    """Versions of ione and of what it runs on, for the ``meta`` record."""
    import cryptography
    import numba

    return {"ione": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "cryptography": cryptography.__version__,
            "platform": platform.platform()}  # fmt: skip

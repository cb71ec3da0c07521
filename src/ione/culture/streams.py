"""Raw electrode voltages as a live rig delivers them: blocks of samples, in order, on time.

A :class:`VoltageStream` wraps any recording SpikeInterface reads (and, through SpikeInterface,
the formats Neo reads) and hands out consecutive blocks of samples, by default 1 ms each, with the
time of their first sample in integer µs. Block boundaries follow the sample clock exactly: the
block covering ``[t, t + 1 ms)`` holds every sample whose time falls in it, so at a sampling rate
that is not a multiple of 1 kHz blocks differ by one sample and none is lost or repeated. The
streaming detector (:mod:`ione.culture.detect`) turns the blocks into spikes.

:func:`open_recording` opens a recording from a file or folder:

* a SpikeInterface-saved recording (folder, ``.zarr``): ``spikeinterface.core.load``;
* an NWB file's ElectricalSeries: ``read_nwb_recording``;
* any other format by name (``format="maxwell"``, ``"biocam"``, ``"openephys"``, ``"intan"``,
  ``"blackrock"``, ...): ``spikeinterface.extractors.read_<format>``, with extra keyword
  arguments passed on; a flat binary file: ``format="binary"`` with ``sampling_frequency``,
  ``num_channels`` and ``dtype``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = ["VoltageBlock", "VoltageSource", "VoltageStream", "open_recording"]


def open_recording(path: str | os.PathLike[str], format: str | None = None, **kwargs: Any) -> Any:
    """A SpikeInterface recording of ``path`` (see the module docstring for the formats).

    Raises
    ------
    FileNotFoundError
        No such file or folder.
    ValueError
        An unknown format name, or a file that is not a recording.
    """
    import spikeinterface.core as sc
    import spikeinterface.extractors as se

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"recording {p} does not exist")
    if format is None:
        if p.suffix.lower() == ".nwb":
            format = "nwb_recording"
        elif p.is_dir() or p.suffix.lower() == ".zarr":
            format = "spikeinterface"
        else:
            raise ValueError(
                f'{p}: say which format it is (format = "maxwell", "biocam", "openephys", '
                '"binary", ...): any name of a spikeinterface.extractors.read_<format> reader'
            )
    if format == "spikeinterface":
        rec = sc.load(p)
    else:
        reader = getattr(se, f"read_{format}", None)
        if reader is None:
            known = sorted(n[5:] for n in dir(se) if n.startswith("read_"))
            raise ValueError(f"{p}: no reader for format {format!r}; known: {', '.join(known)}")
        try:
            rec = reader(str(p), **kwargs) if format != "binary" else reader([str(p)], **kwargs)
        except TypeError as exc:
            raise ValueError(f"{p}: format {format!r}: {exc}") from None
    if not isinstance(rec, sc.BaseRecording):
        raise ValueError(f"{p} holds a {type(rec).__name__}, not a recording of voltages")
    return rec


@dataclass(frozen=True, slots=True)
class VoltageBlock:
    """``samples`` (n, channels) float32 in µV, whose first sample is sample number ``first``
    of the stream and was taken at ``t_us`` (µs after the stream's start)."""

    first: int
    t_us: int
    samples: npt.NDArray[np.float32]


@runtime_checkable
class VoltageSource(Protocol):
    """What a culture site needs from an electrode array: its sampling rate, channel count and
    positions, and the samples taken up to a time. :class:`VoltageStream` is the reference
    implementation (a recording played back); a live rig implements the same four members over
    its acquisition API (docs/culture.md shows one).

    ``until(t_us)`` returns every sample taken since the previous call and before ``t_us`` (µs
    after the stream's start), gains applied (µV), as one :class:`VoltageBlock`; it is called
    once per tick with increasing times, and must neither drop nor repeat a sample.
    """

    fs: float
    n_channels: int

    def positions_um(self) -> npt.NDArray[np.float64] | None: ...

    def until(self, t_us: int) -> VoltageBlock: ...


@dataclass
class VoltageStream:
    """Consecutive blocks of a recording's samples (one segment), as a rig would deliver them.

    Parameters
    ----------
    recording
        A SpikeInterface ``BaseRecording`` (:func:`open_recording`).
    block_us
        Block length (µs); 1000 by default.
    segment
        Which segment of the recording to stream.
    """

    recording: Any
    block_us: int = 1000
    segment: int = 0
    _next: int = field(default=0, init=False)
    _t_us: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.block_us, int) or self.block_us <= 0:
            raise ValueError(f"block_us must be a positive integer, got {self.block_us!r}")
        n_seg = self.recording.get_num_segments()
        if not 0 <= self.segment < n_seg:
            raise ValueError(f"segment {self.segment} is outside 0 ... {n_seg - 1}")
        self.fs = float(self.recording.get_sampling_frequency())
        self.n_channels = int(self.recording.get_num_channels())
        self.n_samples = int(self.recording.get_num_samples(segment_index=self.segment))
        self.gains = np.asarray(self.recording.get_channel_gains(), np.float32)
        self.offsets = np.asarray(self.recording.get_channel_offsets(), np.float32)

    def positions_um(self) -> npt.NDArray[np.float64] | None:
        """Electrode positions (channels, 2) in µm, or None without a probe."""
        try:
            return np.asarray(self.recording.get_channel_locations(), np.float64)[:, :2]
        except (ValueError, AttributeError):
            return None

    def sample_at(self, t_us: int) -> int:
        """Number of samples taken before ``t_us`` (µs after the stream's start)."""
        return min(-((-t_us * round(self.fs * 1000)) // 1_000_000_000), self.n_samples)

    def until(self, t_us: int) -> VoltageBlock:
        """The samples taken from the end of the last block up to (not including) ``t_us``."""
        if t_us < self._t_us:
            raise ValueError(f"the stream has delivered samples up to {self._t_us} µs already")
        stop = self.sample_at(t_us)
        start = self._next
        self._t_us = t_us
        traces = self.recording.get_traces(
            segment_index=self.segment, start_frame=start, end_frame=stop
        )
        samples = np.array(traces, dtype=np.float32, order="C")  # the block's one copy
        samples *= self.gains
        samples += self.offsets
        self._next = stop
        t_first = (start * 1_000_000_000) // round(self.fs * 1000)
        return VoltageBlock(start, int(t_first), samples)

    @property
    def finished(self) -> bool:
        return self._next >= self.n_samples

    def blocks(self) -> Iterator[VoltageBlock]:
        """Every block from where the stream stands to the end of the recording."""
        while not self.finished:
            yield self.until(self._t_us + self.block_us)

"""The streaming detector's settings (:class:`DetectorConfig`) and the conversions they need;
:mod:`ione.culture.detect` states the rules they set."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["DetectorConfig", "PeakSign"]

PeakSign = Literal["neg", "pos", "both"]
SIGNS: Final = {"neg": -1, "pos": 1, "both": 0}


def _number(name: str, value: object, *, minimum: float, strict: bool, inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"DetectorConfig.{name} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not inf):
        raise ValueError(f"DetectorConfig.{name} must be finite, got {value!r}")
    if v < minimum or (strict and v == minimum):
        op = ">" if strict else ">="
        raise ValueError(f"DetectorConfig.{name} must be {op} {minimum:g}, got {value!r}")
    return v


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """What the detector does; every field is checked when the config is made.

    Attributes
    ----------
    band_hz
        Pass band of the Butterworth filter, Hz, or ``None`` for blocks that are filtered
        already (the rig filters them).
    filter_order
        Butterworth order (each edge rolls off at ``20 · order`` dB/decade; ``order`` biquads).
    threshold
        Threshold in multiples of the noise σ.
    peak_sign
        ``"neg"`` (extracellular spikes are mostly negative), ``"pos"`` or ``"both"``.
    exclude_sweep_ms
        Half-width of the window in which a peak must be the extremum (SpikeInterface's
        ``exclude_sweep_ms``); also the detection latency.
    dead_time_ms
        Shortest interval between two peaks of one channel.
    warmup_s
        Noise warm-up; a whole number of ``noise_chunk_s``.
    noise_chunk_s
        Length of the chunks the noise is estimated on.
    noise_tau_s
        Time constant of the slow noise update (``math.inf``: frozen after the warm-up).
    noise_values
        Samples per chunk that enter the noise estimate (evenly spaced).
    exclusion_radius_um
        Local exclusion radius, µm (``None``: each channel on its own).
    exclusion_ms
        Local exclusion window (peaks up to this far apart compete).
    """

    band_hz: tuple[float, float] | None = (300.0, 3000.0)
    filter_order: int = 1
    threshold: float = 5.0
    peak_sign: PeakSign = "neg"
    exclude_sweep_ms: float = 1.0
    dead_time_ms: float = 1.0
    warmup_s: float = 1.0
    noise_chunk_s: float = 1.0
    noise_tau_s: float = 10.0
    noise_values: int = 512
    exclusion_radius_um: float | None = None
    exclusion_ms: float = 1.0

    def __post_init__(self) -> None:
        if self.band_hz is not None:
            band = self.band_hz
            if not isinstance(band, tuple | list) or len(band) != 2:
                raise ValueError(f"DetectorConfig.band_hz must be (low, high) in Hz, got {band!r}")
            low = _number("band_hz", band[0], minimum=0.0, strict=True)
            high = _number("band_hz", band[1], minimum=0.0, strict=True)
            if not low < high:
                raise ValueError(f"DetectorConfig.band_hz needs low < high, got {band!r}")
            object.__setattr__(self, "band_hz", (low, high))
        order = self.filter_order
        if (
            isinstance(order, bool)
            or not isinstance(order, int | np.integer)
            or not 1 <= order <= 8
        ):
            raise ValueError(
                f"DetectorConfig.filter_order must be an integer 1 ... 8, got {order!r}"
            )
        _number("threshold", self.threshold, minimum=0.0, strict=True)
        if self.peak_sign not in SIGNS:
            raise ValueError(
                f"DetectorConfig.peak_sign must be 'neg', 'pos' or 'both', got {self.peak_sign!r}"
            )
        _number("exclude_sweep_ms", self.exclude_sweep_ms, minimum=0.0, strict=True)
        _number("dead_time_ms", self.dead_time_ms, minimum=0.0, strict=False)
        warm = _number("warmup_s", self.warmup_s, minimum=0.0, strict=True)
        chunk = _number("noise_chunk_s", self.noise_chunk_s, minimum=0.0, strict=True)
        if abs(warm / chunk - round(warm / chunk)) > 1e-9 * max(1.0, warm / chunk):
            raise ValueError(
                f"DetectorConfig.warmup_s must be a whole number of noise_chunk_s "
                f"({chunk:g} s), got {warm:g} s"
            )
        _number("noise_tau_s", self.noise_tau_s, minimum=0.0, strict=True, inf=True)
        nv = self.noise_values
        if isinstance(nv, bool) or not isinstance(nv, int | np.integer) or nv < 16:
            raise ValueError(f"DetectorConfig.noise_values must be an integer >= 16, got {nv!r}")
        if self.exclusion_radius_um is not None:
            _number("exclusion_radius_um", self.exclusion_radius_um, minimum=0.0, strict=True)
        _number("exclusion_ms", self.exclusion_ms, minimum=0.0, strict=False)

    @property
    def warmup_chunks(self) -> int:
        """Chunks in the warm-up."""
        return round(self.warmup_s / self.noise_chunk_s)


def ms_to_samples(ms: float, fs: float) -> int:
    """SpikeInterface's conversion: ``int(ms * fs / 1000)`` (rounds down)."""
    return int(ms * fs / 1000.0)


def positions_by_channel(positions: Any, n_channels: int) -> npt.NDArray[np.float64]:
    """(n_channels, 2) µm from a probeinterface ``Probe`` (contacts wired to channels by its
    ``device_channel_indices`` when set, else in order) or from an (n, 2) array."""
    if hasattr(positions, "contact_positions"):
        pos = np.asarray(positions.contact_positions, dtype=np.float64)[:, :2]
        wiring = getattr(positions, "device_channel_indices", None)
        if pos.shape[0] != n_channels:
            raise ValueError(
                f"positions: the probe has {pos.shape[0]} contacts, the detector {n_channels} "
                "channels"
            )
        if wiring is not None and np.all(np.asarray(wiring) >= 0):
            wiring = np.asarray(wiring, dtype=np.int64)
            if sorted(wiring.tolist()) != list(range(n_channels)):
                raise ValueError("positions: the probe's device_channel_indices are not 0 ... n-1")
            out = np.empty_like(pos)
            out[wiring] = pos
            pos = out
    else:
        pos = np.asarray(positions, dtype=np.float64)
        if pos.shape != (n_channels, 2):
            raise ValueError(
                f"positions must be a probeinterface Probe or an array of shape ({n_channels}, 2) "
                f"in µm, got shape {pos.shape}"
            )
    if not np.all(np.isfinite(pos)):
        raise ValueError("positions must be finite")
    return np.ascontiguousarray(pos)

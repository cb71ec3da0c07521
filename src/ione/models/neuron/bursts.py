"""Analysis of simulated or recorded cultures: firing rates and network bursts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ione.models.neuron.culture import CultureSpikes

__all__ = ["BurstDetection", "NetworkBursts", "detect_network_bursts", "firing_rates_hz"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _finite(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be finite, got {value!r}")
    return float(value)


def _check_neurons(spikes: CultureSpikes, n_neurons: int) -> None:
    if n_neurons <= 0:
        raise ValueError(f"n_neurons must be > 0, got {n_neurons}")
    if len(spikes) and (int(spikes.neuron.min()) < 0 or int(spikes.neuron.max()) >= n_neurons):
        raise ValueError(f"spike neuron indices must lie in 0 ... {n_neurons - 1}")


def firing_rates_hz(spikes: CultureSpikes, n_neurons: int, duration_us: int) -> FloatArray:
    """Mean firing rate of each neuron (Hz) over a span of ``duration_us``."""
    if duration_us <= 0:
        raise ValueError(f"duration_us must be > 0, got {duration_us}")
    _check_neurons(spikes, n_neurons)
    counts = np.bincount(spikes.neuron, minlength=n_neurons)
    out: FloatArray = counts.astype(np.float64) * (1e6 / duration_us)
    return out


@dataclass(frozen=True, slots=True)
class BurstDetection:
    """Parameters of :func:`detect_network_bursts`.

    Attributes
    ----------
    bin_us
        Width of the population-rate bins (µs).
    rate_factor, min_rate_hz
        A bin is active when its rate per neuron reaches ``max(rate_factor × mean rate,
        min_rate_hz)``.
    merge_gap_us
        Active stretches separated by at most this gap are one burst (µs).
    min_participation
        Fraction of the neurons that must fire in a burst for it to count.
    """

    bin_us: int = 5_000
    rate_factor: float = 4.0
    min_rate_hz: float = 2.0
    merge_gap_us: int = 50_000
    min_participation: float = 0.25

    def __post_init__(self) -> None:
        owner = "BurstDetection"
        for name in ("bin_us", "merge_gap_us"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{owner}.{name} must be an integer number of µs, got {value!r}")
        if self.bin_us <= 0:
            raise ValueError(f"{owner}.bin_us must be > 0, got {self.bin_us}")
        if self.merge_gap_us < 0:
            raise ValueError(f"{owner}.merge_gap_us must be >= 0, got {self.merge_gap_us}")
        if _finite(owner, "rate_factor", self.rate_factor) <= 0.0:
            raise ValueError(f"{owner}.rate_factor must be > 0, got {self.rate_factor}")
        if _finite(owner, "min_rate_hz", self.min_rate_hz) < 0.0:
            raise ValueError(f"{owner}.min_rate_hz must be >= 0, got {self.min_rate_hz}")
        if not 0.0 <= _finite(owner, "min_participation", self.min_participation) <= 1.0:
            raise ValueError(
                f"{owner}.min_participation must be in [0, 1], got {self.min_participation}"
            )


@dataclass(frozen=True, slots=True, eq=False)
class NetworkBursts:
    """Detected network bursts, in time order.

    Attributes
    ----------
    start_us, stop_us
        Start and end of each burst (bin edges, µs).
    n_spikes
        CultureSpikes inside each burst.
    participation
        Fraction of the neurons that fired at least once inside each burst.
    """

    start_us: IntArray
    stop_us: IntArray
    n_spikes: IntArray
    participation: FloatArray

    def __len__(self) -> int:
        return int(self.start_us.shape[0])

    @property
    def intervals_us(self) -> IntArray:
        """Inter-burst intervals, start to start (µs)."""
        out: IntArray = np.diff(self.start_us)
        return out

    @property
    def quiet_us(self) -> IntArray:
        """Quiet gaps between consecutive bursts, end to next start (µs)."""
        out: IntArray = self.start_us[1:] - self.stop_us[:-1]
        return out


def detect_network_bursts(
    spikes: CultureSpikes,
    n_neurons: int,
    t_start_us: int,
    t_stop_us: int,
    params: BurstDetection | None = None,
) -> NetworkBursts:
    """Network bursts by population-rate threshold with minimum participation.

    Method: count the spikes of all neurons in bins of ``bin_us`` over ``[t_start, t_stop)``; a
    bin is active when its rate per neuron, ``count / (n · bin)``, reaches
    ``max(rate_factor · mean rate, min_rate_hz)``; active stretches separated by at most
    ``merge_gap_us`` merge into one candidate, which is a burst when at least
    ``min_participation`` of the neurons fire in it. This is the population-rate family of
    network-burst detectors used for MEA recordings of cultures (see Bakkum et al., Front.
    Comput. Neurosci. 7:193, 2013, for a comparison of burst detectors).
    """
    q = params if params is not None else BurstDetection()
    if t_stop_us <= t_start_us:
        raise ValueError(f"t_stop_us ({t_stop_us}) must exceed t_start_us ({t_start_us})")
    _check_neurons(spikes, n_neurons)
    inside = (spikes.t_us >= t_start_us) & (spikes.t_us < t_stop_us)
    t = spikes.t_us[inside]
    j = spikes.neuron[inside]
    n_bins = -(-(t_stop_us - t_start_us) // q.bin_us)
    counts = np.bincount((t - t_start_us) // q.bin_us, minlength=n_bins)
    mean_hz = t.shape[0] * 1e6 / (n_neurons * (t_stop_us - t_start_us))
    threshold = max(q.rate_factor * mean_hz, q.min_rate_hz) * n_neurons * q.bin_us / 1e6
    active = np.concatenate([[False], counts >= threshold, [False]])
    edges = np.diff(active.astype(np.int8))
    run_start = np.flatnonzero(edges == 1)
    run_stop = np.flatnonzero(edges == -1)
    empty = NetworkBursts(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64),
                          np.empty(0, np.float64))  # fmt: skip
    if run_start.size == 0:
        return empty
    gap_bins = q.merge_gap_us // q.bin_us
    new_group = np.concatenate([[True], run_start[1:] - run_stop[:-1] > gap_bins])
    start = t_start_us + run_start[new_group] * np.int64(q.bin_us)
    stop = t_start_us + run_stop[np.concatenate([new_group[1:], [True]])] * np.int64(q.bin_us)
    stop = np.minimum(stop, t_stop_us)
    burst = np.searchsorted(start, t, side="right") - 1
    in_burst = (burst >= 0) & (t < stop[np.maximum(burst, 0)])
    b_in, j_in = burst[in_burst], j[in_burst]
    n_spikes = np.bincount(b_in, minlength=start.shape[0])
    pairs = np.unique(b_in * np.int64(n_neurons) + j_in)
    participation = np.bincount(pairs // n_neurons, minlength=start.shape[0]) / n_neurons
    keep = participation >= q.min_participation
    return NetworkBursts(
        start[keep].astype(np.int64),
        stop[keep].astype(np.int64),
        n_spikes[keep].astype(np.int64),
        participation[keep].astype(np.float64),
    )

"""Streaming spike detection on raw multi-electrode-array (MEA) voltages, block by block.

A live rig delivers blocks of samples × channels (1 ms by default); :class:`StreamingDetector`
turns each into the peaks it has become sure of, carrying every bit of state across blocks, so
that the peaks are **the same for any way of cutting the stream into blocks**. docs/detector.md
explains the method for users; the exact rules are:

Filter
    Butterworth band-pass (``band_hz``, ``filter_order``; scipy's design, second-order sections,
    transposed direct form II in float32), causal, state carried per channel. Each channel
    starts at rest on its first sample (the steady state for a constant input equal to it), so
    a DC offset gives no step transient.
Noise
    σ = median(|y - median(y)|) / 0.6745 (Quiroga et al., Neural Comput. 16:1661, 2004) of the
    filtered signal y, per channel, on fixed chunks of ``noise_chunk_s`` counted from sample 0,
    taking every ``stride``-th sample of a chunk (``noise_values`` of them). The first
    ``warmup_s`` (a whole number K of chunks) are the warm-up: σ = mean of their K chunk
    estimates. After that each chunk updates σ ← (1 - α) σ + α σ_chunk with
    α = 1 - exp(-noise_chunk_s / noise_tau_s) (never, when ``noise_tau_s`` is infinite). A
    chunk's estimate is worked out while the next chunk streams in and takes effect when that
    one ends: chunk j (samples [jN, (j+1)N)) is in effect from sample (j+2)N on.
Warm-up
    No peaks before sample ``detection_start`` = (K+1)N, when the warm-up estimate takes
    effect (1.5 s with the defaults). Given ``noise_levels=``, there is no warm-up: detection
    starts at sample 0 and chunks only update those levels.
Peak (SpikeInterface's ``detect_peaks(method="by_channel")`` rule)
    With w = int(exclude_sweep_ms · fs / 1000) samples (≥ 1) and T = threshold · σ, sample t
    of channel c is a negative peak when y[t] < -T, y[t] < y[t-i] and y[t] <= y[t+i] for
    i = 1 ... w; a positive peak mirrors it (y[t] > T, > before, >= after). The window is cut
    at the start of the stream and, by :meth:`StreamingDetector.flush`, at its end (what
    SpikeInterface's zero padding amounts to). σ is the one in effect when sample t + w, which
    decides the peak, arrives.
Dead time
    A peak closer than ``dead_time_ms`` (int(ms · fs / 1000) samples, ``t - t_last <= dead``)
    after the previous reported peak of the same channel, of either sign, is dropped. The peak
    rule itself already keeps same-sign peaks of a channel more than w samples apart.
Local exclusion (optional, ``exclusion_radius_um`` and positions)
    Among the peaks above, a peak is dropped when another peak within ``exclusion_ms``
    (E = int(ms · fs / 1000) samples, ``|Δt| <= E``) on a channel within the radius (the
    channel itself included) is larger in units of its own threshold (|y| / T), or equally
    large and earlier, or equally large, simultaneous and on a lower channel. Dropped peaks
    still count when others are judged (as in SpikeInterface's ``locally_exclusive``).
Latency
    A peak at sample t is reported by the call that delivers sample t + w (t + w + E with
    exclusion): :attr:`StreamingDetector.report_delay_samples`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ione.culture._detect_config import (
    SIGNS,
    DetectorConfig,
    ms_to_samples,
    positions_by_channel,
)
from ione.culture._detect_kernels import (
    IP_APPLY_AT,
    IP_CHUNK_N,
    IP_DEAD,
    IP_DET_START,
    IP_EXCL,
    IP_M,
    IP_N_CAND,
    IP_N_TOTAL,
    IP_SIGN,
    IP_SIZE,
    IP_STORE_FROM,
    IP_STORE_UNTIL,
    IP_STRIDE,
    IP_W,
    MAD_TO_SIGMA,
    PEAK_DTYPE,
    butterworth_bandpass_sos,
    detect_block,
    first_non_finite,
    neighbour_lists,
    sos_steady_state,
)
from ione.events import EventBlock, make_events

__all__ = [
    "MAD_TO_SIGMA",
    "PEAK_DTYPE",
    "DetectorConfig",
    "StreamingDetector",
    "causal_filter",
    "peaks_to_events",
    "sample_times_us",
]

_NEVER: Final = 1 << 62
_BATCH: Final = 32  # channels whose noise is worked out together (fewer numpy calls)


@dataclass
class _Noise:
    """Bookkeeping of the chunk noise estimates (Python side; the kernel fills ``store``)."""

    chunk_n: int
    values: int
    warmup_chunks: int
    alpha: float
    frozen: bool
    estimate: npt.NDArray[np.float64]
    mad: npt.NDArray[np.float64]
    next_chunk: int | None
    done: int = 0
    updates: int = 0


@dataclass
class _Stats:
    blocks: int = 0
    samples: int = 0
    peaks: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class StreamingDetector:
    """Threshold spike detector for a live stream of raw voltages (see the module docstring).

    Parameters
    ----------
    n_channels
        Channels (columns) of every block.
    sampling_rate_hz
        Samples per second per channel.
    config
        :class:`DetectorConfig`; the defaults when omitted.
    positions
        Electrode positions for local exclusion: a ``probeinterface.Probe`` or an
        ``(n_channels, 2)`` array in µm. Required when ``config.exclusion_radius_um`` is set.
    noise_levels
        Known noise σ per channel (input units): skips the warm-up.

    Examples
    --------
    >>> import numpy as np
    >>> det = StreamingDetector(4, 20_000.0)
    >>> peaks = det.process(np.zeros((20, 4), dtype=np.float32))  # one 1 ms block
    >>> peaks.dtype.names
    ('sample_index', 'channel', 'amplitude')
    """

    def __init__(
        self,
        n_channels: int,
        sampling_rate_hz: float,
        config: DetectorConfig | None = None,
        positions: Any = None,
        noise_levels: npt.ArrayLike | None = None,
    ) -> None:
        cfg = DetectorConfig() if config is None else config
        if not isinstance(cfg, DetectorConfig):
            raise TypeError(f"config must be a DetectorConfig, got {type(cfg).__name__}")
        if isinstance(n_channels, bool) or not isinstance(n_channels, int | np.integer):
            raise TypeError(f"n_channels must be an integer, got {n_channels!r}")
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        if isinstance(sampling_rate_hz, bool) or not isinstance(
            sampling_rate_hz, int | float | np.integer | np.floating
        ):
            raise TypeError(f"sampling_rate_hz must be a number, got {sampling_rate_hz!r}")
        fs = float(sampling_rate_hz)
        if not math.isfinite(fs) or fs <= 0:
            raise ValueError(f"sampling_rate_hz must be finite and > 0, got {sampling_rate_hz!r}")
        n = int(n_channels)
        self._n = n
        self._fs = fs
        self._cfg = cfg
        w = ms_to_samples(cfg.exclude_sweep_ms, fs)
        if w < 1:
            raise ValueError(
                f"DetectorConfig.exclude_sweep_ms = {cfg.exclude_sweep_ms:g} ms is shorter than "
                f"one sample at {fs:g} Hz (need >= {1000.0 / fs:g} ms)"
            )
        if cfg.band_hz is not None and not cfg.band_hz[1] < fs / 2:
            raise ValueError(
                f"DetectorConfig.band_hz upper edge {cfg.band_hz[1]:g} Hz must be below the "
                f"Nyquist frequency {fs / 2:g} Hz"
            )
        chunk_n = round(cfg.noise_chunk_s * fs)
        if chunk_n < 16:
            raise ValueError(
                f"DetectorConfig.noise_chunk_s = {cfg.noise_chunk_s:g} s is only {chunk_n} "
                f"samples at {fs:g} Hz (need >= 16)"
            )
        m = min(chunk_n, int(cfg.noise_values))
        stride = chunk_n // m

        # filter
        if cfg.band_hz is None:
            sos = np.zeros((0, 6))
        else:
            sos = butterworth_bandpass_sos(cfg.filter_order, cfg.band_hz[0], cfg.band_hz[1], fs)
        self._sos = sos
        self._coef = np.ascontiguousarray(sos[:, [0, 1, 2, 4, 5]], dtype=np.float32)
        self._zi = sos_steady_state(sos)  # (sections, 2)
        self._z = np.zeros((2 * sos.shape[0], n), dtype=np.float32)
        self._ring = np.zeros((2 * w + 1, n), dtype=np.float32)

        # noise and thresholds
        self._thr = np.zeros(n)
        self._thr32 = np.zeros(n, dtype=np.float32)
        self._noise = np.full(n, np.nan)
        self._pending = np.zeros(n)
        frozen = math.isinf(cfg.noise_tau_s)
        if noise_levels is None:
            k_warm = cfg.warmup_chunks
            det_start = (k_warm + 1) * chunk_n
            estimate = np.zeros(n)
        else:
            levels = np.asarray(noise_levels, dtype=np.float64)
            if levels.shape != (n,):
                raise ValueError(
                    f"noise_levels must have one value per channel ({n}), got shape {levels.shape}"
                )
            if not np.all(np.isfinite(levels)) or np.any(levels <= 0):
                bad = int(np.flatnonzero(~(np.isfinite(levels) & (levels > 0)))[0])
                raise ValueError(
                    f"noise_levels must be finite and > 0, channel {bad} has {float(levels[bad])}"
                )
            k_warm = 0
            det_start = 0
            estimate = levels.copy()
            self._noise[:] = levels
            self._thr[:] = levels * cfg.threshold
            self._thr32[:] = (self._thr * (1.0 - 2.0**-20)).astype(np.float32)
        uses_chunks = k_warm > 0 or not frozen
        self._nz = _Noise(
            chunk_n=chunk_n,
            values=m,
            warmup_chunks=k_warm,
            alpha=0.0 if frozen else 1.0 - math.exp(-cfg.noise_chunk_s / cfg.noise_tau_s),
            frozen=frozen,
            estimate=estimate,
            mad=np.zeros(n),
            next_chunk=0 if uses_chunks else None,
        )
        self._store = np.zeros((2, m, n) if uses_chunks else (2, 1, 1), dtype=np.float32)
        self._last = np.full(n, -_NEVER, dtype=np.int64)

        # local exclusion
        self._positions: npt.NDArray[np.float64] | None = None
        if positions is not None:
            self._positions = positions_by_channel(positions, n)
        excl = -1
        if cfg.exclusion_radius_um is not None:
            if self._positions is None:
                raise ValueError(
                    "DetectorConfig.exclusion_radius_um is set but no positions were given "
                    "(pass positions=probe or an (n_channels, 2) array in µm)"
                )
            excl = ms_to_samples(cfg.exclusion_ms, fs)
            self._indptr, self._indices = neighbour_lists(self._positions, cfg.exclusion_radius_um)
        else:
            self._indptr = np.zeros(n + 1, dtype=np.int64)
            self._indices = np.zeros(0, dtype=np.int32)

        ip = np.zeros(IP_SIZE, dtype=np.int64)
        ip[IP_W] = w
        ip[IP_SIGN] = SIGNS[cfg.peak_sign]
        ip[IP_DET_START] = det_start
        ip[IP_DEAD] = ms_to_samples(cfg.dead_time_ms, fs)
        ip[IP_CHUNK_N] = chunk_n
        ip[IP_STRIDE] = stride
        ip[IP_M] = m
        ip[IP_STORE_FROM] = 0
        ip[IP_STORE_UNTIL] = 0 if not uses_chunks else (k_warm * chunk_n if frozen else _NEVER)
        ip[IP_APPLY_AT] = -1
        ip[IP_EXCL] = excl
        self._ip = ip
        self._out = np.zeros(4 * n, dtype=PEAK_DTYPE)
        cap = 4 * n if excl >= 0 else 0
        self._cand_t = np.zeros(cap, dtype=np.int64)
        self._cand_c = np.zeros(cap, dtype=np.int32)
        self._cand_a = np.zeros(cap, dtype=np.float32)
        self._cand_s = np.zeros(cap, dtype=np.float64)
        self._no_rows = np.zeros((0, n), dtype=np.float32)
        self._flushed = False
        self._stats = _Stats()

    # ------------------------------------------------------------------ properties
    @property
    def n_channels(self) -> int:
        """Channels of every block."""
        return self._n

    @property
    def sampling_rate_hz(self) -> float:
        """Samples per second per channel."""
        return self._fs

    @property
    def config(self) -> DetectorConfig:
        """The configuration."""
        return self._cfg

    @property
    def sos(self) -> npt.NDArray[np.float64]:
        """The filter's second-order sections (``scipy.signal.sosfilt`` layout), float64."""
        return self._sos.copy()

    @property
    def samples_seen(self) -> int:
        """Samples per channel consumed since the stream started."""
        return int(self._ip[IP_N_TOTAL])

    @property
    def detection_start(self) -> int:
        """First sample index that can be a peak (the end of the warm-up)."""
        return int(self._ip[IP_DET_START])

    @property
    def sweep_samples(self) -> int:
        """w: the half-width of the peak window, in samples."""
        return int(self._ip[IP_W])

    @property
    def report_delay_samples(self) -> int:
        """Samples after a peak until the block that reports it: w, plus E with exclusion."""
        return int(self._ip[IP_W] + max(self._ip[IP_EXCL], 0))

    @property
    def noise_levels(self) -> npt.NDArray[np.float64]:
        """Noise σ per channel in effect now (input units); NaN until the warm-up ends."""
        return self._noise.copy()

    @property
    def thresholds(self) -> npt.NDArray[np.float64]:
        """Detection threshold per channel in effect now (``threshold · σ``)."""
        return self._noise * self._cfg.threshold

    def noise_sample_offsets(self) -> npt.NDArray[np.int64]:
        """Offsets within a chunk of the samples that enter its noise estimate."""
        return np.arange(self._nz.values, dtype=np.int64) * int(self._ip[IP_STRIDE])

    def statistics(self) -> dict[str, int]:
        """Counters: blocks, samples per channel and peaks reported; noise updates applied."""
        return {
            "blocks": self._stats.blocks,
            "samples": self._stats.samples,
            "peaks": self._stats.peaks,
            "noise_updates": self._nz.updates,
        }

    # ------------------------------------------------------------------ streaming
    def process(self, block: npt.NDArray[Any]) -> npt.NDArray[np.void]:
        """Feed one block (samples × channels, float32 or int16); return the peaks it settles.

        Returns
        -------
        numpy.ndarray
            :data:`PEAK_DTYPE` peaks, sorted by (sample_index, channel); those that the samples
            up to this block's last decide (a peak at t needs t + w, see
            :attr:`report_delay_samples`).

        Raises
        ------
        ValueError
            Wrong shape, channel count or dtype, or a NaN/infinite value (named by sample and
            channel; the block is then not consumed and the detector is unchanged).
        RuntimeError
            After :meth:`flush`.
        """
        x = self._check_block(block)
        if self._flushed:
            raise RuntimeError("StreamingDetector.process after flush(): make a new detector")
        self._stats.blocks += 1
        if x.shape[0] == 0:
            return np.zeros(0, dtype=PEAK_DTYPE)
        if self._ip[IP_N_TOTAL] == 0 and self._z.shape[0]:
            first = x[0].astype(np.float64)
            self._z[:] = (self._zi.reshape(-1, 1) * first[None, :]).astype(np.float32)
        return self._run(x, self._no_rows, flush=False)

    def flush(self) -> npt.NDArray[np.void]:
        """End of the stream: decide the last w samples (their window cut at the end) and every
        peak still waiting for local exclusion. The detector accepts no more blocks."""
        if self._flushed:
            return np.zeros(0, dtype=PEAK_DTYPE)
        self._flushed = True
        self._ensure_capacity(extra=2 * self._n)
        x = np.zeros((0, self._n), dtype=np.float32)
        k, _ = self._kernel(x, self._no_rows, flush=True)
        out = self._out[:k].copy()
        self._stats.peaks += k
        return out

    def to_events(
        self, peaks: npt.NDArray[np.void], t0_us: int, key_of_channel: npt.ArrayLike
    ) -> EventBlock:
        """Peaks as an :mod:`ione.events` block; see :func:`peaks_to_events`."""
        return peaks_to_events(peaks, self._fs, t0_us, key_of_channel)

    # ------------------------------------------------------------------ internals
    def _check_block(self, block: object) -> npt.NDArray[Any]:
        if not isinstance(block, np.ndarray):
            raise TypeError(f"block must be a numpy array, got {type(block).__name__}")
        if block.ndim != 2:
            raise ValueError(f"block must be 2-D (samples, channels), got shape {block.shape}")
        if block.shape[1] != self._n:
            raise ValueError(
                f"block has {block.shape[1]} channels (shape {block.shape}), the detector {self._n}"
            )
        if block.dtype != np.float32 and block.dtype != np.int16:
            raise ValueError(
                f"block dtype must be float32 or int16, got {block.dtype} "
                "(convert with block.astype(np.float32))"
            )
        x = block if block.flags.c_contiguous else np.ascontiguousarray(block)
        if x.dtype == np.float32 and x.size:
            bad = first_non_finite(x)
            if bad >= 0:
                row, ch = divmod(bad, self._n)
                raise ValueError(
                    f"block has a non-finite value ({x[row, ch]}) at sample "
                    f"{self.samples_seen + row} (row {row} of the block), channel {ch}; the block "
                    "was not consumed"
                )
        return x

    def _run(
        self, x: npt.NDArray[Any], rows: npt.NDArray[np.float32], *, flush: bool
    ) -> npt.NDArray[np.void]:
        parts: list[npt.NDArray[np.void]] = []
        ns = x.shape[0]
        start = 0
        nz = self._nz
        while start < ns:
            n_total = int(self._ip[IP_N_TOTAL])
            remaining = ns - start
            self._noise_work(n_total + remaining)
            seg = remaining
            if nz.next_chunk is not None:
                done_at = (nz.next_chunk + 1) * nz.chunk_n
                if n_total < done_at and n_total + remaining >= done_at + nz.chunk_n:
                    seg = done_at - n_total  # that chunk's noise is needed within this block
            self._ensure_capacity(extra=self._n)
            k, used = self._kernel(
                x[start : start + seg], rows[start : start + seg] if rows.shape[0] else rows, flush
            )
            if k:
                parts.append(self._out[:k].copy())
            if used < seg:
                self._grow()
            start += used
        self._stats.samples += ns
        if not parts:
            return np.zeros(0, dtype=PEAK_DTYPE)
        out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self._stats.peaks += out.shape[0]
        return out

    def _kernel(
        self, x: npt.NDArray[Any], rows: npt.NDArray[np.float32], flush: bool
    ) -> tuple[int, int]:
        k, used = detect_block(
            x, self._coef, self._z, self._ring, self._thr, self._thr32, self._last,
            self._noise, self._pending, float(self._cfg.threshold), self._store, self._ip,
            self._out, self._cand_t, self._cand_c, self._cand_a, self._cand_s,
            self._indptr, self._indices, rows, flush,
        )  # fmt: skip
        return int(k), int(used)

    def _ensure_capacity(self, extra: int) -> None:
        if self._ip[IP_EXCL] >= 0:
            need = int(self._ip[IP_N_CAND]) + 2 * extra
            while self._cand_t.shape[0] < need:
                self._grow()
        while self._out.shape[0] < 2 * extra:
            self._grow()

    def _grow(self) -> None:
        n_cand = int(self._ip[IP_N_CAND])
        if self._ip[IP_EXCL] >= 0:
            cap = 2 * self._cand_t.shape[0]
            for name in ("_cand_t", "_cand_c", "_cand_a", "_cand_s"):
                old = getattr(self, name)
                new = np.zeros(cap, dtype=old.dtype)
                new[:n_cand] = old[:n_cand]
                setattr(self, name, new)
        cap_out = max(2 * self._out.shape[0], self._cand_t.shape[0])
        self._out = np.zeros(cap_out, dtype=PEAK_DTYPE)

    def _noise_work(self, n_hi: int) -> None:
        """Work out chunk noise estimates that are due, before the kernel runs up to sample
        ``n_hi`` (exclusive): spread over the following chunk, in batches, but always complete
        before the sample at which an estimate takes effect."""
        nz = self._nz
        n_total = int(self._ip[IP_N_TOTAL])
        while nz.next_chunk is not None:
            j = nz.next_chunk
            done_at = (j + 1) * nz.chunk_n
            if n_total < done_at:
                return
            apply_at = done_at + nz.chunk_n
            if n_hi >= apply_at:
                due = self._n
            else:
                due = min(self._n, -(-(n_total - done_at + 1) * self._n // nz.chunk_n))
                if due < self._n and due - nz.done < _BATCH:
                    return
            if due > nz.done:
                nz.mad[nz.done : due] = self._chunk_mad(j % 2, nz.done, due)
                nz.done = due
            if nz.done < self._n:
                return
            if j < nz.warmup_chunks:
                nz.estimate = (nz.estimate * j + nz.mad) / (j + 1)
            else:
                nz.estimate = (1.0 - nz.alpha) * nz.estimate + nz.alpha * nz.mad
            if j + 1 >= nz.warmup_chunks:  # the warm-up's partial means are not used
                if self._ip[IP_APPLY_AT] != -1:  # pragma: no cover - the split rule prevents it
                    raise AssertionError("a noise estimate is still waiting to take effect")
                self._pending[:] = nz.estimate
                self._ip[IP_APPLY_AT] = apply_at
                nz.updates += 1
            nz.done = 0
            more = j + 1 < nz.warmup_chunks or not nz.frozen
            nz.next_chunk = j + 1 if more else None

    def _chunk_mad(self, slot: int, lo: int, hi: int) -> npt.NDArray[np.float64]:
        """σ = MAD / 0.6745 of the stored values of channels [lo, hi), sorted in float32
        (numpy sorts float32 with SIMD, several times faster than float64)."""
        vals = np.ascontiguousarray(self._store[slot, : self._nz.values, lo:hi].T)
        m = vals.shape[1]
        srt = np.sort(vals, axis=1)
        med = 0.5 * (srt[:, (m - 1) // 2].astype(np.float64) + srt[:, m // 2])
        dev = np.sort(np.abs(vals - med.astype(np.float32)[:, None]), axis=1)
        mad = 0.5 * (dev[:, (m - 1) // 2].astype(np.float64) + dev[:, m // 2])
        out: npt.NDArray[np.float64] = mad / MAD_TO_SIGMA
        return out


# ---------------------------------------------------------------------------- helpers
def causal_filter(
    traces: npt.NDArray[Any], sampling_rate_hz: float, config: DetectorConfig | None = None
) -> npt.NDArray[np.float32]:
    """The detector's filter applied to a whole recording (samples × channels): bit for bit the
    signal a :class:`StreamingDetector` with the same config detects peaks on."""
    x = np.asarray(traces)
    if x.ndim != 2:
        raise ValueError(f"traces must be 2-D (samples, channels), got shape {x.shape}")
    det = StreamingDetector(x.shape[1], sampling_rate_hz, config, noise_levels=np.ones(x.shape[1]))
    det._ip[IP_DET_START] = _NEVER  # filter only
    det._ip[IP_STORE_UNTIL] = 0
    det._nz.next_chunk = None
    x = det._check_block(x)
    out = np.empty(x.shape, dtype=np.float32)
    if x.shape[0] and det._z.shape[0]:
        det._z[:] = (det._zi.reshape(-1, 1) * x[0].astype(np.float64)[None, :]).astype(np.float32)
    det._run(x, out, flush=False)
    return out


def sample_times_us(sample_index: npt.ArrayLike, sampling_rate_hz: float) -> npt.NDArray[np.int64]:
    """Sample indices to integer µs since sample 0: nearest µs, halves rounded up.

    Exact integer arithmetic when the rate is a fraction p/q with q <= 1024 (20 kHz, 19531.25
    Hz, ...): the time of sample s is s · q · 10^6 / p; otherwise float64 (exact to well below
    1 µs for any realistic stream).
    """
    s = np.asarray(sample_index, dtype=np.int64)
    frac = Fraction(float(sampling_rate_hz))
    num, den = frac.numerator, frac.denominator
    if den <= 1024 and num <= 2**31:
        q, r = np.divmod(s, num)
        out: npt.NDArray[np.int64] = q * (den * 1_000_000) + (2 * r * den * 1_000_000 + num) // (
            2 * num
        )
        return out
    approx: npt.NDArray[np.int64] = np.floor(s * (1e6 / float(sampling_rate_hz)) + 0.5).astype(
        np.int64
    )
    return approx


def peaks_to_events(
    peaks: npt.NDArray[np.void],
    sampling_rate_hz: float,
    t0_us: int,
    key_of_channel: npt.ArrayLike,
) -> EventBlock:
    """Peaks as an :data:`ione.events.EVENT_DTYPE` block.

    ``t_us = t0_us + sample_times_us(sample_index)`` (t0_us: time of sample 0 on the site's
    clock), ``key = key_of_channel[channel]`` (e.g. ``make_key(site, population,
    np.arange(n_channels))``), ``value = amplitude``.
    """
    if not isinstance(peaks, np.ndarray) or peaks.dtype != PEAK_DTYPE:
        raise TypeError("peaks must be an array of PEAK_DTYPE (what StreamingDetector returns)")
    if isinstance(t0_us, bool) or not isinstance(t0_us, int | np.integer):
        raise TypeError(f"t0_us must be integer microseconds, got {t0_us!r}")
    keys = np.asarray(key_of_channel)
    if keys.ndim != 1 or keys.dtype.kind not in "iu":
        raise ValueError("key_of_channel must be a 1-D integer array, one key per channel")
    ch = peaks["channel"]
    if ch.size and int(ch.max()) >= keys.shape[0]:
        raise ValueError(
            f"key_of_channel has {keys.shape[0]} keys, a peak is on channel {int(ch.max())}"
        )
    t = int(t0_us) + sample_times_us(peaks["sample_index"], sampling_rate_hz)
    return make_events(t, keys[ch], peaks["amplitude"])

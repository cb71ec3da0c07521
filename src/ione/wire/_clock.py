"""Clock offset between two sites, with a guaranteed error bound, from NTP-style exchanges.

A PING leaves at local time ``t1``, reaches the peer at peer time ``t2``; the PONG leaves the
peer at ``t3`` and arrives at local ``t4``. With ``offset = peer clock - local clock``::

    theta = ((t2 - t1) + (t3 - t4)) / 2        delta = (t4 - t1) - (t3 - t2)

and, whatever the split of ``delta`` between the two directions, the true offset at the moment of
the exchange lies in ``[theta - delta/2, theta + delta/2]`` (RFC 5905). Samples with the smallest
round trip are the tightest.

The estimator models ``offset(t) = a + b (t - t_ref)`` (constant drift ``b``, bounded by
``max_drift``) and keeps the set of lines consistent with **every** sample of its window: a convex
polygon in the (a, b) plane, cut from a box by two half-planes per sample. The offset at any time is
then bounded by the extreme lines of that polygon; the estimate is the middle of that range and the
uncertainty its half-width. This is a bound, not a standard
deviation: as long as the drift is constant over the window, the true offset lies inside it, even
on asymmetric paths. If the samples become inconsistent (the drift changed), the oldest are
dropped until they agree again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["ClockEstimate", "ClockEstimator", "ClockSample"]

_Poly = list[tuple[float, float]]
_BIG: Final = 1e10  # µs: far wider than the offset changes within any window


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One PING/PONG exchange: local send, peer receive, peer send, local receive (µs)."""

    t1_us: int
    t2_us: int
    t3_us: int
    t4_us: int

    @property
    def offset_us(self) -> float:
        return ((self.t2_us - self.t1_us) + (self.t3_us - self.t4_us)) / 2

    @property
    def rtt_us(self) -> int:
        return (self.t4_us - self.t1_us) - (self.t3_us - self.t2_us)


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """Offset of the peer's clock relative to the local one, at local time ``at_us``.

    ``peer_time = local_time + offset_us``; the true offset lies within ``± uncertainty_us``.
    """

    at_us: int
    offset_us: float
    uncertainty_us: float
    drift_ppm: float
    drift_uncertainty_ppm: float
    rtt_min_us: int
    samples: int


def _clip(poly: _Poly, x: float, bound: float, upper: bool) -> _Poly:
    """Keep the part of a convex polygon with ``a + b*x <= bound`` (upper) or ``>= bound``."""
    sign = 1.0 if upper else -1.0
    out: _Poly = []
    n = len(poly)
    for i in range(n):
        a0, b0 = poly[i]
        a1, b1 = poly[(i + 1) % n]
        s0 = sign * (a0 + b0 * x - bound)
        s1 = sign * (a1 + b1 * x - bound)
        if s0 <= 0:
            out.append((a0, b0))
        if (s0 < 0 < s1) or (s1 < 0 < s0):
            r = s0 / (s0 - s1)
            out.append((a0 + r * (a1 - a0), b0 + r * (b1 - b0)))
    return out


class ClockEstimator:
    """Bounded estimate of a peer's clock offset and drift from PING/PONG samples.

    Parameters
    ----------
    window
        Number of most recent samples kept.
    anchor_period_us, history_us
        Besides the recent samples, the tightest (smallest round trip) sample of every
        ``anchor_period_us`` is kept for ``history_us``: a long baseline that pins the drift down,
        so that estimates far from the best sample stay tight.
    max_drift_ppm
        Largest drift rate between two clocks that the estimator allows (crystal oscillators stay
        within ±100 ppm; the default leaves margin).
    """

    def __init__(
        self,
        window: int = 64,
        max_drift_ppm: float = 500.0,
        *,
        anchor_period_us: int = 10_000_000,
        history_us: int = 600_000_000,
    ) -> None:
        if window < 1:
            raise ValueError("clock window must hold at least one sample")
        if not max_drift_ppm > 0:
            raise ValueError("max_drift_ppm must be positive")
        if anchor_period_us <= 0 or history_us < anchor_period_us:
            raise ValueError("need 0 < anchor_period_us <= history_us")
        self.window = window
        self.max_drift = max_drift_ppm * 1e-6
        self.anchor_period_us = anchor_period_us
        self.history_us = history_us
        self._samples: deque[ClockSample] = deque(maxlen=window)
        self._anchors: dict[int, ClockSample] = {}
        self._poly: _Poly = []
        self._used: list[ClockSample] = []
        self._t_ref = 0
        self.rejected = 0  # samples with a negative round trip (impossible unless corrupted)
        self.resets = 0  # times the window was trimmed because drift stopped being constant

    @property
    def samples(self) -> int:
        """Number of samples the current estimate rests on."""
        return len(self._used)

    def add(self, sample: ClockSample) -> bool:
        """Add an exchange; returns False (and counts it) for an impossible sample."""
        if sample.rtt_us < 0 or sample.t4_us < sample.t1_us:
            self.rejected += 1
            return False
        self._samples.append(sample)
        bucket = sample.t4_us // self.anchor_period_us
        best = self._anchors.get(bucket)
        if best is None or sample.rtt_us < best.rtt_us:
            self._anchors[bucket] = sample
        oldest = (sample.t4_us - self.history_us) // self.anchor_period_us
        for b in [b for b in self._anchors if b < oldest]:
            del self._anchors[b]
        self._rebuild()
        return True

    def _bounds(self, s: ClockSample) -> tuple[float, float, float]:
        """(x, lo, hi): the sample constrains a + b*x to [lo, hi]."""
        mid = (s.t1_us + s.t4_us) / 2
        # Half the round trip, plus what drift can add during the exchange itself.
        half = s.rtt_us / 2 + self.max_drift * (s.t4_us - s.t1_us) + 1.0
        theta = s.offset_us
        return mid - self._t_ref, theta - half, theta + half

    def _rebuild(self) -> None:
        samples = sorted(set(self._samples) | set(self._anchors.values()), key=lambda s: s.t4_us)
        self._t_ref = samples[-1].t4_us
        b = self.max_drift
        theta = samples[-1].offset_us
        poly: _Poly = [(theta - _BIG, -b), (theta + _BIG, -b), (theta + _BIG, b), (theta - _BIG, b)]
        used: list[ClockSample] = []
        for s in reversed(samples):  # newest first: on inconsistency the older ones are dropped
            x, lo, hi = self._bounds(s)
            cut = _clip(_clip(poly, x, hi, True), x, lo, False)
            if not cut:
                self.resets += 1
                limit = s.t4_us
                self._anchors = {k: v for k, v in self._anchors.items() if v.t4_us > limit}
                kept = [v for v in self._samples if v.t4_us > limit]
                self._samples.clear()
                self._samples.extend(kept)
                break
            poly = cut
            used.append(s)
        self._poly = poly
        self._used = used

    def _range(
        self, t_us: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Midpoint and half-width of the offsets every consistent line allows at ``t_us``."""
        verts = np.array(self._poly, dtype=np.float64)
        values = verts[:, 0:1] + verts[:, 1:2] * (t_us - self._t_ref)[None, :]
        lo, hi = values.min(axis=0), values.max(axis=0)
        return (lo + hi) / 2, (hi - lo) / 2

    def estimate(self, at_us: int) -> ClockEstimate | None:
        """The offset at local time ``at_us``, or None before the first sample."""
        if not self._used:
            return None
        est, unc = self._range(np.array([float(at_us)]))
        bs = [v[1] for v in self._poly]
        return ClockEstimate(
            at_us=at_us,
            offset_us=float(est[0]),
            uncertainty_us=float(unc[0]),
            drift_ppm=(max(bs) + min(bs)) / 2 * 1e6,
            drift_uncertainty_ppm=(max(bs) - min(bs)) / 2 * 1e6,
            rtt_min_us=min(s.rtt_us for s in self._used),
            samples=len(self._used),
        )

    def to_local(
        self, t_peer_us: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Translate peer-clock times into local time: ``(t_local_us, uncertainty_us)``.

        Raises
        ------
        RuntimeError
            Before any sample has been taken (no offset is known yet).
        """
        if not self._used:
            raise RuntimeError("no clock sample yet: the peer's clock offset is unknown")
        tp = np.atleast_1d(np.asarray(t_peer_us, dtype=np.float64))
        # local = peer - offset(local): a fixed point; the offset changes by < 1e-3 µs per µs,
        # so two iterations from the latest offset reach it to well below a microsecond.
        local = tp - self._range(np.array([float(self._t_ref)]))[0][0]
        for _ in range(2):
            local = tp - self._range(local)[0]
        _, unc = self._range(local)
        shape = np.shape(np.asarray(t_peer_us))
        return np.rint(local).astype(np.int64).reshape(shape), unc.reshape(shape)

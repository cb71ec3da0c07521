"""The impairment model: for every datagram, lost or not, how many copies, and its one-way delay.

Pure and seeded: an :class:`Impairment` owns a :class:`numpy.random.Generator` and the two pieces
of state a path has (the Gilbert–Elliott chain's state and the correlated jitter's last value); it
reads no clock and opens no socket. Arrival times are passed in.

Randomness is drawn in blocks (:data:`BLOCK` datagrams at a time, six numbers per datagram: loss,
chain transition, duplication, reordering, trace index, jitter), and both entry points consume the
same stream: :meth:`Impairment.decide` for an array of arrival times (vectorised; used by tests
and offline studies) and :meth:`Impairment.decide_one` for one datagram (what the relay calls per
datagram, a few float operations on pre-drawn numbers). For the same seed and arrival times they
give identical decisions. Two parts are recurrences and therefore loops: the Gilbert–Elliott chain
and the Ornstein–Uhlenbeck jitter (``jitter_tau_us > 0``); both are skipped when not configured.

Correlated jitter: J(t) is a stationary Ornstein–Uhlenbeck process with standard deviation σ =
``jitter_us`` and correlation time τ = ``jitter_tau_us``, sampled exactly at each arrival:
J_0 = σ·z_0 and J_k = a·J_{k-1} + σ·sqrt(1 − a²)·z_k with a = exp(−(t_k − t_{k−1})/τ). Its
marginal is N(0, σ²) like independent jitter, but datagrams close in time see close delays. Such
a path is also **FIFO**, as a chain of router queues is: a datagram never leaves before one that
arrived before it (unless it is held for reordering), so its delay is raised to the previous
datagram's release time when the jitter would make it overtake. The clamp is rarely needed and
small: J drops by more than the spacing Δt only in a 3.6 σ event for σ = 2 ms, τ = 100 ms and
Δt = 1 ms; in back-to-back bursts it moves delays by a few tens of µs. With independent jitter
(``jitter_tau_us = 0``) there is no clamp, and jitter reorders whenever it exceeds the spacing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ione.netem.profiles import Profile

__all__ = ["BLOCK", "Decisions", "Impairment", "ImpairmentStatistics"]

#: Datagrams whose random numbers are drawn at once.
BLOCK = 4096
_COLUMNS = 6  # u_loss, u_state, u_dup, u_reorder, u_trace, z
LOST = -1  # delay_us of a lost datagram in :class:`Decisions`


@dataclass(frozen=True, slots=True)
class Decisions:
    """What happens to a sequence of datagrams (one element per datagram).

    Attributes
    ----------
    copies
        0 lost, 1 forwarded, 2 forwarded and duplicated.
    delay_us
        Delay from arrival to release, including any reordering hold; -1 for a lost datagram.
    held
        Held ``reorder_gap_us`` longer so that later datagrams overtake it.
    bad
        The Gilbert–Elliott chain was in its bad state (all False without a burst model).
    """

    copies: npt.NDArray[np.int8]
    delay_us: npt.NDArray[np.int64]
    held: npt.NDArray[np.bool_]
    bad: npt.NDArray[np.bool_]

    @property
    def lost(self) -> npt.NDArray[np.bool_]:
        """Datagrams the model dropped."""
        lost: npt.NDArray[np.bool_] = self.copies == 0
        return lost


@dataclass(frozen=True, slots=True)
class ImpairmentStatistics:
    """Decisions made so far by one :class:`Impairment`."""

    datagrams: int
    lost: int
    duplicated: int
    held: int


class Impairment:
    """One direction of an emulated path: a profile, a seeded generator and the path's state.

    Parameters
    ----------
    profile
        What to do to datagrams; :meth:`set_profile` changes it at run time.
    rng
        The only source of randomness (seed it for reproducible runs).
    block
        Datagrams whose random numbers are drawn at once.
    """

    def __init__(self, profile: Profile, rng: np.random.Generator, block: int = BLOCK) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise ValueError(f"block must be a positive int, got {block!r}")
        self._rng = rng
        self._block = block
        self._arrays = np.empty((_COLUMNS, 0))
        self._lists: list[list[float]] = [[] for _ in range(_COLUMNS)]
        self._pos = 0
        self._bad = False
        self._j: float | None = None
        self._t_prev = 0
        self._fifo_us = -(1 << 62)  # release time of the last datagram (correlated jitter)
        self._n = self._lost = self._dup = self._held = 0
        self._profile = profile
        self.set_profile(profile)

    # ------------------------------------------------------------------ configuration
    @property
    def profile(self) -> Profile:
        """The profile in force."""
        return self._profile

    def set_profile(self, profile: Profile) -> None:
        """Use ``profile`` for the next datagrams.

        The random stream continues. The burst chain restarts in its good state when the burst
        model changes, and the correlated jitter restarts when its σ or τ changes.
        """
        if not isinstance(profile, Profile):
            raise TypeError(f"profile must be a Profile, got {type(profile).__name__}")
        old = self._profile
        if profile.burst != old.burst:
            self._bad = False
        if (profile.jitter_us, profile.jitter_tau_us) != (old.jitter_us, old.jitter_tau_us):
            self._j = None
        self._profile = profile
        p = profile
        # Flat copies of what the per-datagram path reads (attribute look-ups are not free).
        self._p_loss = p.loss
        self._burst = p.burst
        self._p_dup = p.duplicate
        self._p_reorder = p.reorder
        self._gap = p.reorder_gap_us
        self._base = p.delay_us
        self._sd = float(p.jitter_us)
        self._tau = float(p.jitter_tau_us)
        self._floor = p.min_delay_us
        self._trace = p.delay_trace_us
        self._ntrace = len(p.delay_trace_us)

    # ------------------------------------------------------------------ randomness
    def _refill(self) -> None:
        u = self._rng.random((_COLUMNS, self._block))
        u[_COLUMNS - 1] = self._rng.standard_normal(self._block)
        self._arrays = u
        self._lists = u.tolist()
        self._pos = 0

    def _take(self, n: int) -> npt.NDArray[np.float64]:
        parts = []
        while n > 0:
            if self._pos >= self._arrays.shape[1]:
                self._refill()
            k = min(n, self._arrays.shape[1] - self._pos)
            parts.append(self._arrays[:, self._pos : self._pos + k])
            self._pos += k
            n -= k
        if not parts:
            return np.empty((_COLUMNS, 0))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    # ------------------------------------------------------------------ decisions
    def _chain_step(self, u_state: float) -> bool:
        b = self._burst
        assert b is not None
        if self._bad:
            self._bad = not u_state < b.p_bad_to_good
        else:
            self._bad = u_state < b.p_good_to_bad
        return self._bad

    def _ou_step(self, t_us: int, z: float) -> float:
        j = self._j
        if j is None:
            j = self._sd * z
        else:
            a = math.exp(-max(0, t_us - self._t_prev) / self._tau)
            j = a * j + self._sd * math.sqrt(1.0 - a * a) * z
        self._j = j
        self._t_prev = t_us
        return j

    def _ou_fifo(self, t_us: list[int], z: list[float], lost: list[bool]) -> Iterator[int]:
        """Correlated-jitter delays with the FIFO clamp, exactly as :meth:`decide_one` does."""
        floor = self._floor
        for ti, zi, li in zip(t_us, z, lost, strict=True):
            d = round(self._base + self._ou_step(ti, zi))
            if not li:
                if d < floor:
                    d = floor
                if ti + d < self._fifo_us:
                    d = self._fifo_us - ti
                self._fifo_us = ti + d
            yield d

    def decide_one(self, arrival_us: int) -> tuple[int, int, bool]:
        """Decide the fate of one datagram arriving at ``arrival_us``.

        Returns
        -------
        copies, delay_us, held
            Copies to release (0: lost, 2: duplicated), the delay from arrival to their release
            (µs, -1 when lost), and whether the datagram is held for reordering.
        """
        pos = self._pos
        if pos >= len(self._lists[0]):
            self._refill()
            pos = 0
        self._pos = pos + 1
        cols = self._lists
        self._n += 1
        if self._burst is None:
            lost = cols[0][pos] < self._p_loss
        else:
            b = self._burst
            lost = cols[0][pos] < (b.loss_bad if self._chain_step(cols[1][pos]) else b.loss_good)
        if self._ntrace:
            d = self._base + self._trace[int(cols[4][pos] * self._ntrace)]
        elif self._tau > 0.0:
            d = round(self._base + self._ou_step(arrival_us, cols[5][pos]))
        else:
            d = round(self._base + self._sd * cols[5][pos])
        if lost:
            self._lost += 1
            return 0, LOST, False
        if d < self._floor:
            d = self._floor
        if self._tau > 0.0:  # a path of FIFO queues: never leave before an earlier arrival
            if arrival_us + d < self._fifo_us:
                d = self._fifo_us - arrival_us
            self._fifo_us = arrival_us + d
        copies = 1
        if cols[2][pos] < self._p_dup:
            copies = 2
            self._dup += 1
        held = cols[3][pos] < self._p_reorder
        if held:
            d += self._gap
            self._held += 1
        return copies, d, held

    def decide(self, arrival_us: npt.ArrayLike) -> Decisions:
        """Decide the fate of many datagrams at once (same stream as :meth:`decide_one`).

        Parameters
        ----------
        arrival_us
            Arrival times (µs, non-decreasing), one per datagram.
        """
        t = np.asarray(arrival_us, dtype=np.int64)
        if t.ndim != 1:
            raise ValueError(f"arrival_us must be one-dimensional, got shape {t.shape}")
        n = t.size
        u = self._take(n)
        if self._burst is None:
            bad = np.zeros(n, bool)
            lost = u[0] < self._p_loss
        else:
            b = self._burst
            bad = np.fromiter((self._chain_step(x) for x in u[1].tolist()), bool, n)
            lost = u[0] < np.where(bad, b.loss_bad, b.loss_good)
        if self._ntrace:
            idx = (u[4] * self._ntrace).astype(np.int64)
            d = self._base + np.asarray(self._trace, np.int64)[idx]
        elif self._tau > 0.0:
            d = np.fromiter(self._ou_fifo(t.tolist(), u[5].tolist(), lost.tolist()), np.int64, n)
        else:
            d = np.rint(self._base + self._sd * u[5]).astype(np.int64)
        d = np.maximum(d, self._floor)
        dup = ~lost & (u[2] < self._p_dup)
        held = ~lost & (u[3] < self._p_reorder)
        d = np.where(held, d + self._gap, d)
        d[lost] = LOST
        copies = np.where(lost, 0, np.where(dup, 2, 1)).astype(np.int8)
        self._n += n
        self._lost += int(lost.sum())
        self._dup += int(dup.sum())
        self._held += int(held.sum())
        return Decisions(copies, d, held, bad)

    def statistics(self) -> ImpairmentStatistics:
        """Counts of the decisions made so far."""
        return ImpairmentStatistics(self._n, self._lost, self._dup, self._held)

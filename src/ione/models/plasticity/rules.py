"""Plasticity rules as pulse programmes: they decide *whether* and *which way* to program a device;
the device decides *how much* it changes (SYSTEM.md §1: "the set-up controls whether LTP or LTD is
applied, but the device responses determine the magnitude")."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ione.models.plasticity.history import SpikeHistory

__all__ = [
    "DUT1_PULSES",
    "HUB_GUI_PULSES",
    "TIMING_RULE_PULSES",
    "PairSTDP",
    "PulseProgramme",
    "RateRule",
    "TimingRule",
]

LTP, LTD, NONE = 1, -1, 0
_NEVER = np.iinfo(np.int64).min


def _since(last: npt.NDArray[np.int64], t_us: int) -> npt.NDArray[np.float64]:
    """Microseconds from each last spike to ``t_us``; infinite where there was none."""
    has = last != _NEVER
    return np.where(has, t_us - np.where(has, last, t_us), np.inf).astype(np.float64)


@dataclass(frozen=True, slots=True)
class PulseProgramme:
    """The programming pulse sent for each decision: amplitude (V) and width (µs)."""

    ltp_volts: float
    ltp_width_us: int
    ltd_volts: float
    ltd_width_us: int

    def __post_init__(self) -> None:
        for name in ("ltp_volts", "ltd_volts"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"PulseProgramme.{name} must be finite")
        if self.ltp_volts * self.ltd_volts >= 0:
            raise ValueError("LTP and LTD pulses must have opposite polarity")
        for name in ("ltp_width_us", "ltd_width_us"):
            w = getattr(self, name)
            if not isinstance(w, int) or w <= 0:
                raise ValueError(f"PulseProgramme.{name} must be a positive integer (µs)")

    def volts(self, decisions: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
        return np.where(decisions > 0, self.ltp_volts, np.where(decisions < 0, self.ltd_volts, 0.0))


#: The hub software's defaults, +4 V / -4 V, 100 µs (SYSTEM.md §1.2). They lie outside the fitted
#: range of the data-driven TiOx models: use them only with a device fitted there, or scaled.
HUB_GUI_PULSES = PulseProgramme(4.0, 100, -4.0, 100)
#: The hub's programme scaled into DUT1's fitted range (±2.2 V): +2.0 V SET, -1.5 V RESET, 100 µs
#: — the amplitudes of SYSTEM.md §2.1's regression values [default].
DUT1_PULSES = PulseProgramme(2.0, 100, -1.5, 100)
#: The earlier timing rule's pulses: ±1.5 V, 1 µs (SYSTEM.md §1.2).
TIMING_RULE_PULSES = PulseProgramme(1.5, 1, -1.5, 1)


@dataclass(frozen=True, slots=True)
class RateRule:
    """The hub's spike-rate-dependent rule (SRDP), the one behind the published result.

    On every post-synaptic trigger of neuron ``j`` at time ``t``, for each pre-synaptic neuron
    ``i`` of ``j``::

        n = #{ t_i among i's last 100 spikes : 0 <= t - t_i <= 1 s }
        n > 20  ->  one LTP pulse;   n < 5  ->  one LTD pulse;   otherwise nothing

    and the device is re-read after any pulse (Serb et al., Sci. Rep. 10:2590, 2020; the hub's
    software; SYSTEM.md §1.2). Presynaptic spikes alone never trigger it.
    """

    window_us: int = 1_000_000
    depth: int = 100
    ltp_above: int = 20
    ltd_below: int = 5
    pulses: PulseProgramme = DUT1_PULSES

    def __post_init__(self) -> None:
        if self.window_us <= 0 or self.depth <= 0:
            raise ValueError("RateRule needs a positive window_us and depth")
        if not 0 <= self.ltd_below <= self.ltp_above:
            raise ValueError("RateRule needs 0 <= ltd_below <= ltp_above")

    def decide(self, history: SpikeHistory, pre: npt.ArrayLike, t_us: int) -> npt.NDArray[np.int8]:
        """+1 (LTP), -1 (LTD) or 0 for each presynaptic neuron of a post trigger at ``t_us``."""
        if history.depth != self.depth:
            raise ValueError(
                f"the rule counts the last {self.depth} spikes; the history keeps {history.depth}"
            )
        n = history.count(pre, t_us, self.window_us)
        return np.where(n > self.ltp_above, LTP, np.where(n < self.ltd_below, LTD, NONE)).astype(
            np.int8
        )


@dataclass(frozen=True, slots=True)
class TimingRule:
    """The earlier timing rule of the 2016–17 system (preprint arXiv:1709.04179; SYSTEM.md §1.2).

    ione reads it as nearest-neighbour spike-timing windows: a post-synaptic spike at ``t``
    potentiates every synapse whose presynaptic neuron fired within the LTP window before it
    (``0 <= t - t_pre <= 100 ms``); a presynaptic spike at ``t`` depresses every synapse whose
    postsynaptic neuron fired within the LTD window before it (``0 < t - t_post <= 37.5 ms``).
    Unlike the rate rule, presynaptic spikes do trigger this rule (its depression side).
    """

    ltp_window_us: int = 100_000
    ltd_window_us: int = 37_500
    pulses: PulseProgramme = TIMING_RULE_PULSES

    def on_post(
        self, pre_history: SpikeHistory, pre: npt.ArrayLike, t_us: int
    ) -> npt.NDArray[np.int8]:
        since = _since(pre_history.last_before(pre, t_us), t_us)
        return np.where(since <= self.ltp_window_us, LTP, NONE).astype(np.int8)

    def on_pre(
        self, post_history: SpikeHistory, post: npt.ArrayLike, t_us: int
    ) -> npt.NDArray[np.int8]:
        since = _since(post_history.last_before(post, t_us - 1), t_us)
        return np.where(since <= self.ltd_window_us, LTD, NONE).astype(np.int8)


@dataclass(frozen=True, slots=True)
class PairSTDP:
    """Pair-based STDP (nearest neighbour) turned into pulses of graded width.

    .. math::

        \\Delta w = A_+ e^{-\\Delta t/\\tau_+}\\ (\\text{post after pre by } \\Delta t \\ge 0),
        \\qquad \\Delta w = -A_- e^{-\\Delta t/\\tau_-}\\ (\\text{pre after post by } \\Delta t > 0)

    (Bi & Poo, J. Neurosci. 18:10464, 1998; Song, Miller & Abbott, Nat. Neurosci. 3:919, 2000).
    A memristor cannot take a Δw directly: each pairing becomes one pulse of the programme's
    polarity whose width is ``|Δw| / max(A_+, A_-)`` times the programme's width (rounded to
    whole microseconds; pairings that round to 0 µs give no pulse).
    """

    a_plus: float = 1.0
    a_minus: float = 1.05
    tau_plus_ms: float = 20.0
    tau_minus_ms: float = 20.0
    pulses: PulseProgramme = DUT1_PULSES

    def __post_init__(self) -> None:
        for name in ("a_plus", "a_minus", "tau_plus_ms", "tau_minus_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"PairSTDP.{name} must be a positive number")

    def _width(self, dw: npt.NDArray[np.float64], full_us: int) -> npt.NDArray[np.int64]:
        scale = max(self.a_plus, self.a_minus)
        return np.rint(np.abs(dw) / scale * full_us).astype(np.int64)

    def on_post(
        self, pre_history: SpikeHistory, pre: npt.ArrayLike, t_us: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """(Δw, pulse width µs) for each presynaptic neuron of a post spike at ``t_us``."""
        dt = _since(pre_history.last_before(pre, t_us), t_us)
        dw = self.a_plus * np.exp(-dt / (self.tau_plus_ms * 1000.0))
        return dw, self._width(dw, self.pulses.ltp_width_us)

    def on_pre(
        self, post_history: SpikeHistory, post: npt.ArrayLike, t_us: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """(Δw, pulse width µs) for each postsynaptic target of a pre spike at ``t_us``."""
        dt = _since(post_history.last_before(post, t_us - 1), t_us)
        dw = -self.a_minus * np.exp(-dt / (self.tau_minus_ms * 1000.0))
        return dw, self._width(dw, self.pulses.ltd_width_us)

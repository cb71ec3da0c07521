"""The stimulation guard: every command passes here before it reaches a stimulator.

Commands arrive from the internet (a hub or a controller at another lab) or from local code, and
the stimulator they go to is connected to living tissue. The guard trusts nothing: not the sender,
not the constructor of a :class:`~ione.culture.stimulus.Command` (a command may carry NaN, a
string or a negative duration), not the order of arrival. It is pure: time comes in as
``now_us``, it reads no clock, opens no socket and starts no thread.

:meth:`StimulationGuard.check` returns a :class:`Decision`: ``allowed`` and a short, stable
``reason`` code ("" when allowed). The checks, in the order they are applied (the first one that
fails gives the reason):

==================  =============================================================================
reason              the command is rejected because
==================  =============================================================================
``watchdog``        outputs are disabled: a controlling link went silent beyond the timeout, and
                    nobody has called :meth:`~StimulationGuard.rearm` since
``malformed``       it is not a command: wrong types, phases without durations, no phases,
                    non-integer times
``nan``             a number in it is NaN or ±inf
``absurd``          a value is far outside anything sane: too many phases or pulses, onsets not
                    increasing, a train longer than ``max_train_us``, a start more than
                    ``max_lead_us`` ahead, a time outside ±2**62 µs
``duration``        a phase lasts <= 0 µs or longer than ``max_phase_us``, or the interphase gap
                    is < 0 or longer than ``max_gap_us``
``electrode``       the electrode is not in the electrode table (the allow-list)
``deadline``        it is checked after its deadline (or its deadline is before its start): it is
                    dropped, never executed late
``current``         a phase's |I| exceeds ``max_current_ua``
``charge``          a phase's |charge| exceeds ``max_charge_nc``
``density``         a phase's charge density exceeds the electrode material's limit
``balance``         a pulse's |net charge| exceeds ``balance_tolerance`` × its larger polarity
``shannon``         Shannon's k exceeds ``max_shannon_k`` (only when that limit is set)
``rate_electrode``  the electrode would get more than ``max_pulses_per_electrode`` pulses in some
                    window of ``rate_window_us``, or two pulses closer than ``min_interval_us``
                    (or overlapping)
``rate_array``      the whole array would get more than ``max_pulses_array`` pulses in some window
==================  =============================================================================

Rate caps count the pulses of **allowed** commands only, at the times they will be delivered
(``max(t_us, now_us) + onset``): a sliding window of ``rate_window_us`` (1 s) placed anywhere.

Watchdog: once a controlling link is attached (:meth:`~StimulationGuard.attach`), every authentic
datagram from it is a heartbeat (:meth:`~StimulationGuard.heartbeat`). When any attached link has
been silent for ``watchdog_timeout_us`` (200 ms), the guard trips: every command is rejected
(``watchdog``, local ones too) and the bound stimulator is told to disarm, until
:meth:`~StimulationGuard.rearm` is called explicitly. A heartbeat that comes back after the trip
does not re-enable anything. The guard notices silence when it is called, so a runtime calls
:meth:`~StimulationGuard.poll` at :meth:`~StimulationGuard.next_timer` (like a link's timer).

Every decision, trip, re-arm, attach and detach is kept as a row of :data:`DECISION_DTYPE`;
:meth:`~StimulationGuard.drain_records` hands them to the session log. Limits and their sources
are described in docs/stimulation.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ione._time import T_MAX_US, T_MIN_US
from ione.culture.limits import MEA60, ElectrodeTable, GuardLimits
from ione.culture.stimulus import Command, Waveform

__all__ = [
    "DECISION_DTYPE",
    "MEA60",
    "REASONS",
    "REASON_CODES",
    "Decision",
    "ElectrodeTable",
    "GuardLimits",
    "RecordKind",
    "StimulationGuard",
    "WatchdogError",
    "reason_table",
]

#: Every reason code, in the order of their numeric codes (0 = allowed). Codes never change
#: meaning; new ones are appended.
REASONS: Final = (
    "", "watchdog", "malformed", "nan", "absurd", "duration", "electrode", "deadline", "current",
    "charge", "density", "balance", "shannon", "rate_electrode", "rate_array",
)  # fmt: skip
#: ``{reason: numeric code}`` as stored in the records' ``reason`` column.
REASON_CODES: Final = {name: code for code, name in enumerate(REASONS)}


def reason_table() -> dict[str, str]:
    """``{"code": name}`` of every reason (``"0": "ok"``), for a session's meta record
    (``stimulation_reasons``)."""
    return {str(code): (name or "ok") for code, name in enumerate(REASONS)}


class RecordKind:
    """Values of the ``kind`` column of :data:`DECISION_DTYPE`."""

    DECISION = 0  #: a command was checked
    TRIP = 1  #: the watchdog disabled outputs (``source`` is the silent peer)
    REARM = 2  #: outputs were re-enabled
    ATTACH = 3  #: a controlling link was attached (``source`` is the peer)
    DETACH = 4  #: a controlling link was detached


#: One row per decision or watchdog event. ``t_us`` is when it happened (the ``now_us`` given);
#: ``source`` indexes :attr:`StimulationGuard.sources`; ``start_us`` is when the first pulse
#: starts (allowed commands) or would have; -1 / NaN where a value could not be read.
DECISION_DTYPE: Final = np.dtype(
    [("t_us", "<i8"), ("kind", "u1"), ("command_id", "<i8"), ("electrode", "<i8"),
     ("source", "<u2"), ("start_us", "<i8"), ("deadline_us", "<i8"), ("pulses", "<u4"),
     ("peak_current_ua", "<f4"), ("max_charge_nc", "<f4"), ("max_density_uc_cm2", "<f4"),
     ("shannon_k", "<f4"), ("allowed", "u1"), ("reason", "u1")]
)  # fmt: skip

_REL_TOL: Final = 1e-9  # float round-off allowance on limits (relative)


@dataclass(frozen=True, slots=True)
class Decision:
    """The guard's answer to one command.

    Attributes
    ----------
    allowed
        True when the command may go to the stimulator.
    reason
        "" when allowed, else one of :data:`REASONS`.
    detail
        A sentence for a human (what was wrong, with the numbers).
    command_id, electrode
        As read from the command (-1 when unreadable).
    t_us
        When the decision was made (the ``now_us`` given).
    start_us
        When the first pulse starts: ``max(t_us_command, now_us)`` (-1 when unreadable).
    shannon_k
        Shannon's k of the strongest phase (NaN when not computed).
    """

    allowed: bool
    reason: str
    detail: str
    command_id: int
    electrode: int
    t_us: int
    start_us: int
    shannon_k: float = math.nan

    @property
    def reason_code(self) -> int:
        """The numeric code of :attr:`reason` (0 when allowed)."""
        return REASON_CODES[self.reason]


class WatchdogError(RuntimeError):
    """Outputs cannot be re-armed: a controlling link is still silent."""


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class _Parsed:
    electrode: int
    start_us: int
    deadline_us: int
    t_us: int
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    peak_ua: float = math.nan
    max_q_nc: float = math.nan
    density: float = math.nan
    shannon_k: float = math.nan


_NUMBER = (int, float, np.integer, np.floating)


def _vector(name: str, value: object, max_len: int, too_long: str) -> npt.NDArray[np.float64]:
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "iuf":
            raise _Reject("malformed", f"{name} must be a 1-D numeric array, got {value.dtype}")
        items: Any = value
    elif isinstance(value, tuple | list):
        items = value
    else:
        raise _Reject(
            "malformed", f"{name} must be a sequence of numbers, got {type(value).__name__}"
        )
    if len(items) > max_len:
        raise _Reject(too_long, f"{name} has {len(items)} entries, more than the {max_len} allowed")
    if not isinstance(items, np.ndarray):
        for x in items:
            if isinstance(x, bool) or not isinstance(x, _NUMBER):
                raise _Reject("malformed", f"{name} holds {x!r}, not a number")
    try:
        return np.array(items, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        raise _Reject("absurd", f"{name} holds a number beyond float range") from None


def _scalar(name: str, value: object) -> int | float:
    """An int stays an exact int; a float is kept (checked for NaN and wholeness later)."""
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise _Reject("malformed", f"{name} must be a number, got {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    return float(value)


def _whole(name: str, value: int | float) -> int:
    """A finite, whole number as an exact int."""
    if isinstance(value, int):
        return value
    if value != round(value):
        raise _Reject("malformed", f"{name} must be an integer, got {value}")
    return int(value)


def _integral(name: str, values: npt.NDArray[np.float64]) -> None:
    if np.any(values != np.round(values)):
        raise _Reject("malformed", f"{name} must be whole microseconds, got {values.tolist()}")


class StimulationGuard:
    """Checks every stimulation command against :class:`GuardLimits` and runs the watchdog.

    Parameters
    ----------
    limits
        The limits (defaults: :class:`GuardLimits`).
    stimulator
        Optional: the stimulator behind the guard. It is disarmed when the watchdog trips, armed
        again by :meth:`rearm`, and :meth:`submit` delivers allowed commands to it.

    Examples
    --------
    >>> from ione.culture.guard import GuardLimits, StimulationGuard
    >>> from ione.culture.stimulus import Command, Waveform
    >>> guard = StimulationGuard(GuardLimits())
    >>> pulse = Waveform.biphasic(1.0, 100, gap_us=50)      # 1 µA, 100 µs per phase: 0.1 nC
    >>> guard.check(Command(3, pulse, t_us=1_000, deadline_us=20_000), now_us=1_000).allowed
    True
    >>> guard.check(Command(3, pulse.scaled(5.0), 2_000, 20_000), now_us=2_000).reason
    'current'
    """

    def __init__(self, limits: GuardLimits | None = None, stimulator: Any = None) -> None:
        self.limits = GuardLimits() if limits is None else limits
        if not isinstance(self.limits, GuardLimits):
            raise TypeError(f"limits must be GuardLimits, got {type(self.limits).__name__}")
        #: The stimulator behind the guard (see :class:`ione.culture.stimulator.Stimulator`).
        self.stimulator: Any = stimulator
        self._now: int | None = None
        self._enabled = True
        self._peers: dict[str, int] = {}
        self._sources: list[str] = []
        self._source_index: dict[str, int] = {}
        self._rows: list[tuple[Any, ...]] = []
        self._hist_e: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}
        self._hist_a = np.empty(0, dtype=np.int64)
        self._counts: dict[str, int] = dict.fromkeys(REASONS, 0)
        self._trips = 0
        self._ignored_heartbeats = 0

    # ------------------------------------------------------------------ time and records
    def _advance(self, now_us: int) -> int:
        if isinstance(now_us, bool) or not isinstance(now_us, int | np.integer):
            raise TypeError(f"now_us must be integer microseconds, got {now_us!r}")
        now = int(now_us)
        if not T_MIN_US <= now <= T_MAX_US:
            raise ValueError(f"now_us is outside ±2**62 µs: {now}")
        if self._now is not None and now < self._now:
            raise ValueError(f"now_us went backwards: {now} after {self._now}")
        self._now = now
        return now

    def _source(self, name: object) -> int:
        key = name if isinstance(name, str) else "?"
        idx = self._source_index.get(key)
        if idx is None:
            idx = len(self._sources)
            if idx > 0xFFFF:
                return 0xFFFF
            self._sources.append(key)
            self._source_index[key] = idx
        return idx

    @property
    def sources(self) -> list[str]:
        """Names indexed by the records' ``source`` column (command sources and peers)."""
        return list(self._sources)

    def _record_event(self, now: int, kind: int, peer: str, reason: str = "") -> None:
        self._rows.append(
            (now, kind, -1, -1, self._source(peer), -1, -1, 0, math.nan, math.nan, math.nan,
             math.nan, int(self._enabled), REASON_CODES[reason])
        )  # fmt: skip

    def records(self) -> npt.NDArray[np.void]:
        """Every record not yet drained, as a :data:`DECISION_DTYPE` block (a copy)."""
        return np.array(self._rows, dtype=DECISION_DTYPE)

    def drain_records(self) -> npt.NDArray[np.void]:
        """Every record not yet drained, removed from the guard (for the session log)."""
        out = self.records()
        self._rows.clear()
        return out

    def statistics(self) -> dict[str, Any]:
        """Counts: decisions by reason, trips, heartbeats ignored, and the watchdog's state."""
        return {
            "allowed": self._counts[""],
            "rejected": sum(v for k, v in self._counts.items() if k),
            "rejected_by_reason": {k: v for k, v in self._counts.items() if k and v},
            "enabled": self._enabled,
            "trips": self._trips,
            "peers": sorted(self._peers),
            "ignored_heartbeats": self._ignored_heartbeats,
        }

    # ------------------------------------------------------------------ watchdog
    @property
    def enabled(self) -> bool:
        """False from a watchdog trip until :meth:`rearm`."""
        return self._enabled

    def attach(self, peer: str, now_us: int) -> None:
        """Start watching a controlling link; its silence is counted from ``now_us``."""
        now = self._advance(now_us)
        self._watch(now)
        self._peers[str(peer)] = now
        self._record_event(now, RecordKind.ATTACH, str(peer))

    def detach(self, peer: str, now_us: int) -> None:
        """Stop watching a link (it closed in order, or an operator gave up on it)."""
        now = self._advance(now_us)
        self._watch(now)
        if self._peers.pop(str(peer), None) is not None:
            self._record_event(now, RecordKind.DETACH, str(peer))

    def heartbeat(self, peer: str, now_us: int) -> None:
        """Something authentic arrived from ``peer`` at ``now_us``. A heartbeat of a link not
        attached is ignored (counted); one that arrives after the timeout has already expired
        trips the watchdog first, and does not undo the trip."""
        now = self._advance(now_us)
        self._watch(now)
        name = str(peer)
        if name in self._peers:
            self._peers[name] = now
        else:
            self._ignored_heartbeats += 1

    def next_timer(self) -> int | None:
        """When the watchdog trips if no heartbeat arrives (µs), or None when nothing is
        watched or outputs are already disabled: call :meth:`poll` then."""
        if not self._enabled or not self._peers:
            return None
        return min(self._peers.values()) + self.limits.watchdog_timeout_us

    def poll(self, now_us: int) -> bool:
        """Let time pass: trips the watchdog if a link has been silent too long. Returns
        :attr:`enabled`."""
        self._watch(self._advance(now_us))
        return self._enabled

    def _watch(self, now: int) -> None:
        due = self.next_timer()
        if due is None or now < due:
            return
        peer = min(self._peers, key=self._peers.__getitem__)
        self._enabled = False
        self._trips += 1
        self._record_event(now, RecordKind.TRIP, peer, "watchdog")
        if self.stimulator is not None:
            self.stimulator.disarm(now)

    def rearm(self, now_us: int) -> None:
        """Re-enable outputs (an explicit act: nothing else does it) and arm the stimulator.

        Raises
        ------
        WatchdogError
            If an attached link is still silent beyond the timeout: detach it or wait for it.
        """
        now = self._advance(now_us)
        silent = {
            p: now - t for p, t in self._peers.items() if now - t >= self.limits.watchdog_timeout_us
        }
        if silent:
            raise WatchdogError(
                "cannot re-arm: "
                + ", ".join(f"{p!r} silent for {s / 1000:g} ms" for p, s in sorted(silent.items()))
                + "; detach it or wait for its heartbeat"
            )
        self._enabled = True
        self._record_event(now, RecordKind.REARM, "local")
        if self.stimulator is not None:
            self.stimulator.arm(now)

    # ------------------------------------------------------------------ checks
    def submit(self, command: Command, now_us: int) -> Decision:
        """:meth:`check`, then deliver an allowed command to the bound stimulator."""
        decision = self.check(command, now_us)
        if decision.allowed and self.stimulator is not None:
            self.stimulator.deliver(command, decision.t_us)
        return decision

    def check(self, command: Command, now_us: int) -> Decision:
        """Decide whether ``command`` may be delivered now; record the decision.

        Never raises on anything in ``command`` (hostile input gives a rejection); raises
        ``TypeError`` / ``ValueError`` only for a bad ``now_us`` (local misuse).
        """
        now = self._advance(now_us)
        self._watch(now)
        cid = _readable_int(getattr(command, "command_id", None))
        p: _Parsed | None = None
        try:
            if not self._enabled:
                raise _Reject("watchdog", "outputs are disabled by the watchdog until rearm()")
            p = self._parse(command, now)
            self._timing(p, now)
            self._physics(command.waveform, p)
            self._rates(p, now)
        except _Reject as r:
            reason, detail = r.reason, r.detail
        else:
            reason, detail = "", ""
            self._commit(p, now)
        allowed = not reason
        self._counts[reason] += 1
        e = p.electrode if p is not None else _readable_int(getattr(command, "electrode", None))
        start = p.start_us if p is not None else -1
        self._rows.append(
            (now, RecordKind.DECISION, cid, e, self._source(getattr(command, "source", "?")),
             start, p.deadline_us if p is not None else -1,
             p.starts.shape[0] if p is not None else 0,
             p.peak_ua if p else math.nan, p.max_q_nc if p else math.nan,
             p.density if p else math.nan, p.shannon_k if p else math.nan,
             int(allowed), REASON_CODES[reason])
        )  # fmt: skip
        return Decision(allowed, reason, detail, cid, e, now, start, p.shannon_k if p else math.nan)

    def _parse(self, command: object, now: int) -> _Parsed:
        lim = self.limits
        if not isinstance(command, Command):
            raise _Reject("malformed", f"not a Command: {type(command).__name__}")
        w = command.waveform
        if not isinstance(w, Waveform):
            raise _Reject("malformed", f"waveform is not a Waveform: {type(w).__name__}")
        e = _scalar("electrode", command.electrode)
        t = _scalar("t_us", command.t_us)
        dl = _scalar("deadline_us", command.deadline_us)
        cur = _vector("currents_ua", w.currents_ua, lim.max_phases, "absurd")
        dur = _vector("durations_us", w.durations_us, lim.max_phases, "absurd")
        gap = _scalar("gap_us", w.gap_us)
        ons = _vector("onsets_us", w.onsets_us, lim.max_train_pulses, "absurd")
        if cur.shape[0] == 0:
            raise _Reject("malformed", "the waveform has no phases")
        if dur.shape != cur.shape:
            raise _Reject(
                "malformed", f"{dur.shape[0]} phase durations for {cur.shape[0]} phase currents"
            )
        for name, arr in (("currents_ua", cur), ("durations_us", dur), ("onsets_us", ons)):
            if not np.all(np.isfinite(arr)):
                raise _Reject("nan", f"{name} holds a non-finite value: {arr.tolist()}")
        for name, v in (("electrode", e), ("t_us", t), ("deadline_us", dl), ("gap_us", gap)):
            if isinstance(v, float) and not math.isfinite(v):
                raise _Reject("nan", f"{name} is {v}")
        e, t, dl = _whole("electrode", e), _whole("t_us", t), _whole("deadline_us", dl)
        gap = _whole("gap_us", gap)
        _integral("durations_us", dur)
        _integral("onsets_us", ons)
        for name, v in (("t_us", t), ("deadline_us", dl)):
            if not T_MIN_US <= v <= T_MAX_US:
                raise _Reject("absurd", f"{name} = {v} µs is outside ±2**62 µs")
        if ons.shape[0] and (ons[0] < 0 or np.any(np.diff(ons) <= 0)):
            raise _Reject(
                "absurd", f"onsets_us must be >= 0 and strictly increasing: {ons.tolist()}"
            )
        if ons.shape[0] and ons[-1] > lim.max_train_us:
            raise _Reject("absurd", f"the train lasts beyond {lim.max_train_us} µs")
        bad = (dur <= 0) | (dur > lim.max_phase_us)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _Reject(
                "duration", f"phase {i} lasts {dur[i]:g} µs (allowed 1 ... {lim.max_phase_us})"
            )
        if not 0 <= gap <= lim.max_gap_us:
            raise _Reject("duration", f"gap_us = {gap} (allowed 0 ... {lim.max_gap_us})")
        pulse_us = int(dur.sum()) + gap * (cur.shape[0] - 1)
        if ons.shape[0] and ons[-1] + pulse_us - ons[0] > lim.max_train_us:
            raise _Reject("absurd", f"the train lasts beyond {lim.max_train_us} µs")
        electrode = e if -(1 << 62) < e < 1 << 62 else -1
        if e < 0 or self.limits.electrodes.get(electrode) is None:
            raise _Reject("electrode", f"electrode {e} is not in the electrode table")
        start = max(t, now)
        starts = start + ons.astype(np.int64)
        return _Parsed(electrode, start, dl, t, starts, starts + pulse_us)

    def _timing(self, p: _Parsed, now: int) -> None:
        if p.deadline_us < p.t_us:
            raise _Reject(
                "deadline", f"deadline {p.deadline_us} µs is before the start {p.t_us} µs"
            )
        if now > p.deadline_us:
            raise _Reject("deadline", f"checked {now - p.deadline_us} µs after its deadline")
        if p.start_us - now > self.limits.max_lead_us:
            raise _Reject(
                "absurd", f"scheduled {(p.start_us - now) / 1e6:g} s ahead (> max_lead_us)"
            )

    def _physics(self, w: Waveform, p: _Parsed) -> None:
        lim = self.limits
        cur = np.array(w.currents_ua, dtype=np.float64)
        dur = np.array(w.durations_us, dtype=np.float64)
        q = cur * dur / 1000.0
        area, limit = lim.electrodes.get(p.electrode)  # type: ignore[misc]
        p.peak_ua = float(np.max(np.abs(cur)))
        p.max_q_nc = float(np.max(np.abs(q)))
        p.density = p.max_q_nc * 1e5 / area  # nC/µm² -> µC/cm²
        if p.max_q_nc > 0:
            # k = log10(D) + log10(Q) with D = Q·1e5/A and Q in µC = Q_nC·1e-3, in log space so
            # that a tiny (even subnormal) charge cannot underflow to log10(0)
            lq = math.log10(p.max_q_nc)
            p.shannon_k = (lq + 5.0 - math.log10(area)) + (lq - 3.0)
        top = 1.0 + _REL_TOL
        if p.peak_ua > lim.max_current_ua * top:
            i = int(np.argmax(np.abs(cur)))
            raise _Reject(
                "current", f"phase {i} carries {cur[i]:g} µA (|I| <= {lim.max_current_ua:g})"
            )
        if p.max_q_nc > lim.max_charge_nc * top:
            i = int(np.argmax(np.abs(q)))
            raise _Reject(
                "charge", f"phase {i} carries {q[i]:g} nC (|Q| <= {lim.max_charge_nc:g} nC)"
            )
        if p.density > limit * top:
            raise _Reject(
                "density",
                f"{p.density:.4g} µC/cm² per phase on electrode {p.electrode} "
                f"({area:g} µm², limit {limit:g} µC/cm²)",
            )
        pos, neg = float(q[q > 0].sum()), float(-q[q < 0].sum())
        if abs(pos - neg) > lim.balance_tolerance * max(pos, neg) * top:
            raise _Reject(
                "balance",
                f"net charge {pos - neg:+.4g} nC per pulse is more than "
                f"{100 * lim.balance_tolerance:g} % of {max(pos, neg):.4g} nC",
            )
        if lim.max_shannon_k is not None and p.shannon_k > lim.max_shannon_k:
            raise _Reject("shannon", f"Shannon k = {p.shannon_k:.3g} > {lim.max_shannon_k:g}")

    def _rates(self, p: _Parsed, now: int) -> None:
        lim = self.limits
        if p.starts.shape[0] == 0:
            return
        window = lim.rate_window_us
        old_s, old_e = self._hist_e.get(p.electrode, (p.starts[:0], p.ends[:0]))
        keep = old_s >= now - window
        old_s, old_e = old_s[keep], old_e[keep]
        s = np.concatenate([old_s, p.starts])
        order = np.argsort(s, kind="stable")
        s, e = s[order], np.concatenate([old_e, p.ends])[order]
        self._hist_e[p.electrode] = (old_s, old_e)
        if s.shape[0] > 1:
            gap = np.diff(s)
            if gap.min() < lim.min_interval_us or np.any(s[1:] < e[:-1]):
                raise _Reject(
                    "rate_electrode",
                    f"two pulses on electrode {p.electrode} {int(gap.min())} µs apart "
                    f"(>= {lim.min_interval_us} µs, no overlap)",
                )
        peak = _window_peak(s, window)
        if peak > lim.max_pulses_per_electrode:
            raise _Reject(
                "rate_electrode",
                f"{peak} pulses on electrode {p.electrode} within {window / 1e6:g} s "
                f"(<= {lim.max_pulses_per_electrode})",
            )
        self._hist_a = self._hist_a[self._hist_a >= now - window]
        a = np.sort(np.concatenate([self._hist_a, p.starts]), kind="stable")
        peak = _window_peak(a, window)
        if peak > lim.max_pulses_array:
            raise _Reject(
                "rate_array",
                f"{peak} pulses on the array within {window / 1e6:g} s (<= {lim.max_pulses_array})",
            )

    def _commit(self, p: _Parsed | None, now: int) -> None:
        assert p is not None
        if p.starts.shape[0] == 0:
            return
        old_s, old_e = self._hist_e.get(p.electrode, (p.starts[:0], p.ends[:0]))
        s = np.concatenate([old_s, p.starts])
        order = np.argsort(s, kind="stable")
        self._hist_e[p.electrode] = (s[order], np.concatenate([old_e, p.ends])[order])
        self._hist_a = np.sort(np.concatenate([self._hist_a, p.starts]), kind="stable")


def _window_peak(sorted_starts: npt.NDArray[np.int64], window_us: int) -> int:
    """Most starts in any half-open window ``[x, x + window)`` (it is reached at some start)."""
    if sorted_starts.shape[0] == 0:
        return 0
    ends = np.searchsorted(sorted_starts, sorted_starts + window_us, side="left")
    return int((ends - np.arange(sorted_starts.shape[0])).max())


def _readable_int(value: object) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        v = int(value)
        return v if -(1 << 63) <= v < 1 << 63 else -1
    return -1

"""Stimulation designs and commands: what a culture site is asked to deliver to its electrodes.

Units: current in µA, **signed** (cathodic negative, anodic positive); time in integer µs;
charge in nC, ``q = I · d · 1e-3`` (µA × µs × 1e-3).

A **pulse** is a sequence of phases, each a constant current held for a duration, with the same
interphase gap between consecutive phases::

    monophasic    ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁
                     └──┘                 one phase
    biphasic       ┌──┐    (anodic)
    (cathodic    ──┘  └┐  ┌──          cathodic phase, gap, anodic phase (the default order)
     first)            └──┘
    triphasic      anodic half, cathodic, anodic half: (+a/2, -a, +a/2), balanced

A :class:`Waveform` is a pulse repeated at ``onsets_us`` (relative to the start of the command):
one onset is a single pulse, several make a train. A :class:`Command` sends one waveform to one
electrode at a scheduled time ``t_us``, and may start no later than ``deadline_us``.

Every constructor validates and raises ``ValueError`` naming the field. Commands that arrive from
outside (a decoded wire event, a dict from a JSON or TOML file) may still carry anything, so that
the :class:`~ione.culture.guard.StimulationGuard` can be tested on them and never has to trust a
constructor: :meth:`Waveform.unchecked`, :meth:`Command.unchecked` and ``from_dict(...,
validate=False)`` build them as given.

Remote stimulation (:func:`commands_from_events`): over ione's wire a stimulation request is an
event ``(t_us, key, value)``; the key names the electrode and the value scales a configured
:class:`EventDesign`, either its currents (``scale="amplitude"``) or its number of pulses
(``scale="pulses"``, the way the 2020 system's weight scaled its train of ramps; see
:mod:`ione.models.neuron.stimulation`). The deadline is ``t_us + latency_us``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from ione._time import T_MAX_US, T_MIN_US
from ione.events import EventBlock, as_events, key_neuron

__all__ = [
    "DEFAULT_EVENT_DESIGN",
    "DEFAULT_PULSE",
    "MAX_PHASES",
    "MAX_TRAIN_PULSES",
    "Command",
    "EventDesign",
    "Waveform",
    "command_from_event",
    "commands_from_events",
]

#: Most phases a validated waveform may have (a guard's own limit is usually lower).
MAX_PHASES: Final = 8
#: Most pulses a validated waveform may have (a guard's own limit is usually lower).
MAX_TRAIN_PULSES: Final = 10_000

FloatArray = npt.NDArray[np.float64]
_WAVEFORM_KEYS: Final = ("currents_ua", "durations_us", "gap_us", "onsets_us")
_SHAPE_KEYS: Final = (
    "shape", "amplitude_ua", "phase_us", "gap_us", "cathodic_first", "ratio", "pulses", "rate_hz",
    "period_us",
)  # fmt: skip
_COMMAND_KEYS: Final = ("electrode", "waveform", "t_us", "deadline_us", "source", "command_id")


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _int(owner: str, name: str, value: object, minimum: int | None = None) -> int:
    if not _is_int(value):
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}")
    v: int = int(value)  # type: ignore[call-overload]
    if minimum is not None and v < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {v}")
    return v


def _ints(owner: str, name: str, values: object, minimum: int) -> tuple[int, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise ValueError(f"{owner}.{name} must be a sequence of integers, got {values!r}")
    return tuple(_int(owner, f"{name}[{i}]", v, minimum) for i, v in enumerate(values))


@dataclass(frozen=True, slots=True)
class Waveform:
    """One pulse shape repeated at ``onsets_us``: a single pulse or a train.

    Attributes
    ----------
    currents_ua
        Current of each phase (µA, signed: cathodic negative).
    durations_us
        Duration of each phase (µs, > 0).
    gap_us
        Interphase gap between consecutive phases (µs, >= 0).
    onsets_us
        Start of each pulse relative to the command's start (µs, >= 0, strictly increasing,
        pulses must not overlap). ``(0,)`` is a single pulse; ``()`` delivers nothing.
    """

    currents_ua: tuple[float, ...]
    durations_us: tuple[int, ...]
    gap_us: int = 0
    onsets_us: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        owner = "Waveform"
        cur = self.currents_ua
        if isinstance(cur, str | bytes) or not isinstance(cur, Sequence | np.ndarray):
            raise ValueError(f"{owner}.currents_ua must be a sequence of numbers, got {cur!r}")
        currents = []
        for i, c in enumerate(cur):
            if not _is_number(c) or not math.isfinite(float(c)):
                raise ValueError(f"{owner}.currents_ua[{i}] must be a finite number, got {c!r}")
            currents.append(float(c))
        durations = _ints(owner, "durations_us", self.durations_us, 1)
        if not 1 <= len(currents) <= MAX_PHASES:
            raise ValueError(f"{owner}.currents_ua must have 1 ... {MAX_PHASES} phases, got {cur}")
        if len(durations) != len(currents):
            raise ValueError(
                f"{owner}.durations_us has {len(durations)} phases but currents_ua has "
                f"{len(currents)}"
            )
        gap = _int(owner, "gap_us", self.gap_us, 0)
        onsets = _ints(owner, "onsets_us", self.onsets_us, 0)
        if len(onsets) > MAX_TRAIN_PULSES:
            raise ValueError(
                f"{owner}.onsets_us has {len(onsets)} pulses, at most {MAX_TRAIN_PULSES}"
            )
        pulse = sum(durations) + gap * (len(durations) - 1)
        for i in range(1, len(onsets)):
            if onsets[i] - onsets[i - 1] < pulse:
                raise ValueError(
                    f"{owner}.onsets_us[{i}] = {onsets[i]} starts before the pulse at "
                    f"{onsets[i - 1]} ends ({pulse} µs long); onsets must increase by >= {pulse}"
                )
        object.__setattr__(self, "currents_ua", tuple(currents))
        object.__setattr__(self, "durations_us", durations)
        object.__setattr__(self, "gap_us", gap)
        object.__setattr__(self, "onsets_us", onsets)

    # ------------------------------------------------------------------ construction
    @classmethod
    def unchecked(
        cls,
        currents_ua: Any,
        durations_us: Any,
        gap_us: Any = 0,
        onsets_us: Any = (0,),
    ) -> Waveform:
        """A waveform exactly as given, **without validation** (NaN, negative durations, strings,
        anything): what a hostile or broken sender may produce. Only for feeding a guard."""
        obj = object.__new__(cls)
        for name, value in zip(
            _WAVEFORM_KEYS, (currents_ua, durations_us, gap_us, onsets_us), strict=True
        ):
            object.__setattr__(obj, name, value)
        return obj

    @classmethod
    def monophasic(cls, current_ua: float, duration_us: int) -> Waveform:
        """One phase of ``current_ua`` (signed). Never charge-balanced: a guard with the default
        balance tolerance rejects it."""
        return cls((current_ua,), (duration_us,))

    @classmethod
    def biphasic(
        cls,
        amplitude_ua: float,
        phase_us: int,
        gap_us: int = 0,
        *,
        cathodic_first: bool = True,
        ratio: float = 1.0,
    ) -> Waveform:
        """A charge-balanced biphasic pulse, cathodic phase first by default.

        The first phase carries ``amplitude_ua`` for ``phase_us``; the second phase lasts
        ``round(ratio · phase_us)`` µs with the amplitude that exactly balances the charge
        (``ratio > 1`` gives the long, low second phase of an asymmetric pulse).
        """
        amp = _magnitude("Waveform.biphasic", "amplitude_ua", amplitude_ua)
        if not _is_number(ratio) or not math.isfinite(ratio) or ratio <= 0:
            raise ValueError(f"Waveform.biphasic.ratio must be a finite number > 0, got {ratio!r}")
        d1 = _int("Waveform.biphasic", "phase_us", phase_us, 1)
        d2 = max(1, round(ratio * d1))
        first = -amp if cathodic_first else amp
        return cls((first, -first * d1 / d2), (d1, d2), gap_us)

    @classmethod
    def triphasic(
        cls, amplitude_ua: float, phase_us: int, gap_us: int = 0, *, cathodic_centre: bool = True
    ) -> Waveform:
        """Three equal-length phases ``(+a/2, -a, +a/2)`` (or the opposite signs), balanced."""
        amp = _magnitude("Waveform.triphasic", "amplitude_ua", amplitude_ua)
        s = 1.0 if cathodic_centre else -1.0
        return cls((s * amp / 2, -s * amp, s * amp / 2), (phase_us,) * 3, gap_us)

    def train(
        self, pulses: int, *, rate_hz: float | None = None, period_us: int | None = None
    ) -> Waveform:
        """This pulse repeated ``pulses`` times, every ``period_us`` (or ``1e6 / rate_hz`` µs,
        rounded to the nearest µs) from onset 0."""
        n = _int("Waveform.train", "pulses", pulses, 0)
        if (rate_hz is None) == (period_us is None):
            if n <= 1 and rate_hz is None:
                return self.with_onsets(range(n))
            raise ValueError("Waveform.train needs exactly one of rate_hz and period_us")
        if rate_hz is not None:
            if not _is_number(rate_hz) or not 0 < float(rate_hz) < math.inf:
                raise ValueError(f"Waveform.train.rate_hz must be a number > 0, got {rate_hz!r}")
            period = round(1e6 / float(rate_hz))
        else:
            period = _int("Waveform.train", "period_us", period_us, 1)
        return self.with_onsets(range(0, n * period, period) if n else ())

    def with_onsets(self, onsets_us: Sequence[int] | npt.ArrayLike) -> Waveform:
        """The same pulse at other onsets (validated)."""
        return Waveform(
            self.currents_ua,
            self.durations_us,
            self.gap_us,
            tuple(np.asarray(onsets_us, dtype=np.int64).tolist()),
        )

    def scaled(self, factor: float) -> Waveform:
        """Every phase current multiplied by ``factor`` (validated)."""
        return Waveform(
            tuple(c * factor for c in self.currents_ua),
            self.durations_us,
            self.gap_us,
            self.onsets_us,
        )

    # ------------------------------------------------------------------ quantities
    @property
    def n_phases(self) -> int:
        """Phases per pulse."""
        return len(self.currents_ua)

    @property
    def n_pulses(self) -> int:
        """Pulses in the train."""
        return len(self.onsets_us)

    def charges_nc(self) -> FloatArray:
        """Charge of each phase (nC, signed): ``I · d · 1e-3``."""
        i = np.asarray(self.currents_ua, dtype=np.float64)
        d = np.asarray(self.durations_us, dtype=np.float64)
        out: FloatArray = i * d / 1000.0
        return out

    @property
    def net_charge_nc(self) -> float:
        """Net charge of one pulse (nC); 0 for a balanced pulse."""
        return float(self.charges_nc().sum())

    @property
    def cathodic_charge_nc(self) -> float:
        """Charge of the cathodic (negative) phases of one pulse, as a positive number (nC)."""
        q = self.charges_nc()
        return float(-q[q < 0].sum())

    @property
    def peak_current_ua(self) -> float:
        """Largest |I| of any phase (µA)."""
        return float(np.max(np.abs(np.asarray(self.currents_ua, dtype=np.float64))))

    @property
    def pulse_duration_us(self) -> int:
        """One pulse from its first phase's start to its last phase's end (µs)."""
        return int(sum(self.durations_us)) + int(self.gap_us) * (len(self.durations_us) - 1)

    @property
    def duration_us(self) -> int:
        """The whole train, from the first onset to the end of the last pulse (µs); 0 if empty."""
        if not self.onsets_us:
            return 0
        return int(self.onsets_us[-1]) - int(self.onsets_us[0]) + self.pulse_duration_us

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> dict[str, Any]:
        """The waveform as plain lists and numbers (JSON and TOML friendly)."""
        return {
            "currents_ua": list(self.currents_ua),
            "durations_us": list(self.durations_us),
            "gap_us": self.gap_us,
            "onsets_us": list(self.onsets_us),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, validate: bool = True) -> Waveform:
        """A waveform from a dict: the explicit form of :meth:`to_dict`, or (validated only) a
        shape: ``{"shape": "biphasic", "amplitude_ua": 1, "phase_us": 100, "gap_us": 50,
        "pulses": 5, "rate_hz": 100}`` (``shape`` one of monophasic, biphasic, triphasic).

        With ``validate=False`` the explicit form is taken as given (lists become tuples, nothing
        else is checked): for commands that arrive from outside.
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"a waveform must be a table/dict, got {d!r}")
        if not validate:
            vals = [
                d.get(k, default)
                for k, default in zip(_WAVEFORM_KEYS, ((), (), 0, (0,)), strict=True)
            ]
            return cls.unchecked(*(tuple(v) if isinstance(v, list) else v for v in vals))
        if "shape" in d:
            return _from_shape(d)
        unknown = sorted(set(d) - set(_WAVEFORM_KEYS))
        if unknown:
            raise ValueError(f"unknown waveform key(s) {unknown}; expected {list(_WAVEFORM_KEYS)}")
        for k in ("currents_ua", "durations_us"):
            if k not in d:
                raise ValueError(f"waveform is missing {k!r}")
        return cls(
            tuple(d["currents_ua"]),
            tuple(d["durations_us"]),
            d.get("gap_us", 0),
            tuple(d.get("onsets_us", (0,))),
        )


def _magnitude(owner: str, name: str, value: object) -> float:
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) < 0:  # type: ignore[arg-type]
        raise ValueError(f"{owner}.{name} must be a finite number >= 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _from_shape(d: Mapping[str, Any]) -> Waveform:
    unknown = sorted(set(d) - set(_SHAPE_KEYS))
    if unknown:
        raise ValueError(f"unknown waveform key(s) {unknown}; expected {list(_SHAPE_KEYS)}")
    shape = d["shape"]
    for k in ("amplitude_ua", "phase_us"):
        if k not in d:
            raise ValueError(f"waveform of shape {shape!r} is missing {k!r}")
    a, ph, gap = d["amplitude_ua"], d["phase_us"], d.get("gap_us", 0)
    if shape == "monophasic":
        w = Waveform.monophasic(-_magnitude("waveform", "amplitude_ua", a), ph)
    elif shape == "biphasic":
        w = Waveform.biphasic(
            a, ph, gap, cathodic_first=d.get("cathodic_first", True), ratio=d.get("ratio", 1.0)
        )
    elif shape == "triphasic":
        w = Waveform.triphasic(a, ph, gap)
    else:
        raise ValueError(
            f"waveform.shape must be 'monophasic', 'biphasic' or 'triphasic', got {shape!r}"
        )
    if "pulses" in d:
        return w.train(d["pulses"], rate_hz=d.get("rate_hz"), period_us=d.get("period_us"))
    return w


@dataclass(frozen=True, slots=True)
class Command:
    """One stimulation command: a waveform for one electrode.

    Attributes
    ----------
    electrode
        Electrode index (>= 0); the guard's electrode table gives its area and material limit.
    waveform
        What to deliver.
    t_us
        Scheduled start on the culture site's clock (µs). A command that is checked after this
        time starts as soon as it is allowed (``max(t_us, now_us)``), if that is by the deadline.
    deadline_us
        Latest time the first pulse may start (µs, >= ``t_us``); later, the command is dropped.
    source
        Who sent it: ``"local"`` or the peer site's name.
    command_id
        An identifier for the session log (>= 0).
    """

    electrode: int
    waveform: Waveform
    t_us: int
    deadline_us: int
    source: str = "local"
    command_id: int = 0

    def __post_init__(self) -> None:
        owner = "Command"
        _int(owner, "electrode", self.electrode, 0)
        if not isinstance(self.waveform, Waveform):
            raise ValueError(f"{owner}.waveform must be a Waveform, got {self.waveform!r}")
        for name in ("t_us", "deadline_us"):
            v = _int(owner, name, getattr(self, name))
            if not T_MIN_US <= v <= T_MAX_US:
                raise ValueError(f"{owner}.{name} is outside ±2**62 µs: {v}")
        if self.deadline_us < self.t_us:
            raise ValueError(
                f"{owner}.deadline_us ({self.deadline_us}) is before t_us ({self.t_us})"
            )
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"{owner}.source must be a non-empty string, got {self.source!r}")
        _int(owner, "command_id", self.command_id, 0)
        for name in ("electrode", "t_us", "deadline_us", "command_id"):
            object.__setattr__(self, name, int(getattr(self, name)))

    @classmethod
    def unchecked(
        cls,
        electrode: Any,
        waveform: Any,
        t_us: Any,
        deadline_us: Any,
        source: Any = "local",
        command_id: Any = 0,
    ) -> Command:
        """A command exactly as given, **without validation**: only for feeding a guard."""
        obj = object.__new__(cls)
        for name, value in zip(
            _COMMAND_KEYS, (electrode, waveform, t_us, deadline_us, source, command_id), strict=True
        ):
            object.__setattr__(obj, name, value)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The command as plain values (the waveform as :meth:`Waveform.to_dict`)."""
        return {
            "electrode": self.electrode,
            "waveform": self.waveform.to_dict(),
            "t_us": self.t_us,
            "deadline_us": self.deadline_us,
            "source": self.source,
            "command_id": self.command_id,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, validate: bool = True) -> Command:
        """A command from a dict (see :meth:`to_dict`); ``validate=False`` keeps it as given."""
        if not isinstance(d, Mapping):
            raise ValueError(f"a command must be a table/dict, got {d!r}")
        if not validate:
            w = d.get("waveform")
            wf = Waveform.from_dict(w, validate=False) if isinstance(w, Mapping) else w
            return cls.unchecked(
                d.get("electrode"), wf, d.get("t_us"), d.get("deadline_us"),
                d.get("source", "local"), d.get("command_id", 0),
            )  # fmt: skip
        unknown = sorted(set(d) - set(_COMMAND_KEYS))
        if unknown:
            raise ValueError(f"unknown command key(s) {unknown}; expected {list(_COMMAND_KEYS)}")
        for k in ("electrode", "waveform", "t_us", "deadline_us"):
            if k not in d:
                raise ValueError(f"command is missing {k!r}")
        return cls(
            d["electrode"], Waveform.from_dict(d["waveform"]), d["t_us"], d["deadline_us"],
            d.get("source", "local"), d.get("command_id", 0),
        )  # fmt: skip


# ------------------------------------------------------------------------------------------
# Remote events -> commands
# ------------------------------------------------------------------------------------------

#: A single charge-balanced biphasic pulse, cathodic first: 1 µA for 100 µs, 50 µs gap, 1 µA for
#: 100 µs (0.1 nC per phase, 14 µC/cm² on a 30 µm electrode).
DEFAULT_PULSE: Final = Waveform.biphasic(1.0, 100, 50)


@dataclass(frozen=True, slots=True)
class EventDesign:
    """How a remote stimulation event becomes a command.

    Attributes
    ----------
    waveform
        The stimulus at value 1.
    latency_us
        Allowed latency: a command's deadline is the event's ``t_us + latency_us``.
    scale
        ``"amplitude"``: every phase current is multiplied by the event's value (a negative value
        reverses the polarity; NaN or inf pass through for the guard to reject).
        ``"pulses"``: the first ``round(value · n)`` pulses of the design's ``n``-pulse train are
        delivered, at the design's amplitude (value clipped to [0, 1]; NaN or inf give a command
        with non-finite currents for the guard to reject).
    """

    waveform: Waveform = DEFAULT_PULSE
    latency_us: int = 50_000
    scale: Literal["amplitude", "pulses"] = "amplitude"

    def __post_init__(self) -> None:
        if not isinstance(self.waveform, Waveform):
            raise ValueError(f"EventDesign.waveform must be a Waveform, got {self.waveform!r}")
        _int("EventDesign", "latency_us", self.latency_us, 0)
        if self.scale not in ("amplitude", "pulses"):
            raise ValueError(
                f"EventDesign.scale must be 'amplitude' or 'pulses', got {self.scale!r}"
            )


#: One :data:`DEFAULT_PULSE` per event, amplitude scaled by the event's value, 50 ms latency.
DEFAULT_EVENT_DESIGN: Final = EventDesign()


def _electrodes(
    keys: npt.NDArray[np.uint32], electrode_map: Mapping[int, int] | None
) -> npt.NDArray[np.int64]:
    if electrode_map is None:
        return key_neuron(keys).astype(np.int64)
    if not electrode_map:
        return np.full(keys.shape[0], -1, dtype=np.int64)
    known = np.fromiter(electrode_map.keys(), dtype=np.int64, count=len(electrode_map))
    values = np.fromiter(electrode_map.values(), dtype=np.int64, count=len(electrode_map))
    order = np.argsort(known)
    known, values = known[order], values[order]
    k = keys.astype(np.int64)
    pos = np.clip(np.searchsorted(known, k), 0, known.shape[0] - 1)
    out: npt.NDArray[np.int64] = np.where(known[pos] == k, values[pos], -1)
    return out


def commands_from_events(
    events: EventBlock,
    design: EventDesign = DEFAULT_EVENT_DESIGN,
    *,
    source: str,
    first_command_id: int = 0,
    electrode_map: Mapping[int, int] | None = None,
    offset_us: int = 0,
) -> list[Command]:
    """Turn remote stimulation events into (unvalidated) commands, one per event, for the guard.

    Parameters
    ----------
    events
        Event block (:data:`ione.events.EVENT_DTYPE`): ``t_us``, ``key`` (the electrode's
        address), ``value`` (amplitude scale or weight).
    design
        The stimulus and how the value scales it.
    source
        The sending site's name (kept in each command and in the guard's records).
    first_command_id
        Commands are numbered from here, in event order.
    electrode_map
        ``{key: electrode}``; keys not in it get electrode -1 (the guard rejects them). Without
        it the electrode is the key's neuron field (:func:`ione.events.key_neuron`).
    offset_us
        Added to each ``t_us`` to put it on the culture site's clock (the link's clock offset).

    Returns
    -------
    list of Command
        Built with :meth:`Command.unchecked`: values are passed on as they came, for the guard
        to judge. Everything per event except building the objects is one numpy operation.
    """
    ev = as_events(events, what="stimulation events")
    n = ev.shape[0]
    t = ev["t_us"].astype(np.int64) + np.int64(offset_us)
    deadline = t + np.int64(design.latency_us)
    value = ev["value"].astype(np.float64)
    electrode = _electrodes(ev["key"], electrode_map)
    base = np.asarray(design.waveform.currents_ua, dtype=np.float64)
    wf = design.waveform
    finite = np.isfinite(value)
    if design.scale == "amplitude":
        currents = base[None, :] * value[:, None]
        n_pulses = np.full(n, wf.n_pulses, dtype=np.int64)
    else:
        full = wf.n_pulses
        counts = np.floor(np.clip(np.where(finite, value, 0.0), 0.0, 1.0) * full + 0.5)
        n_pulses = np.where(finite, counts, full).astype(np.int64)
        currents = base[None, :] * np.where(finite, 1.0, value)[:, None]
    durations = wf.durations_us
    onsets = wf.onsets_us
    rows = currents.tolist()
    ids = range(first_command_id, first_command_id + n)
    return [
        Command.unchecked(
            e,
            Waveform.unchecked(tuple(c), durations, wf.gap_us, onsets[:k]),
            ti,
            di,
            source,
            cid,
        )
        for e, c, ti, di, k, cid in zip(
            electrode.tolist(), rows, t.tolist(), deadline.tolist(), n_pulses.tolist(), ids,
            strict=True,
        )
    ]  # fmt: skip


def command_from_event(
    event_row: Any,
    design: EventDesign = DEFAULT_EVENT_DESIGN,
    *,
    source: str,
    command_id: int = 0,
    electrode_map: Mapping[int, int] | None = None,
    offset_us: int = 0,
) -> Command:
    """One event (a row of an event block, or a 1-element block) as a command; see
    :func:`commands_from_events`."""
    block = np.atleast_1d(np.asarray(event_row))
    if block.shape[0] != 1:
        raise ValueError(f"command_from_event takes one event, got {block.shape[0]}")
    return commands_from_events(
        block, design, source=source, first_command_id=command_id,
        electrode_map=electrode_map, offset_us=offset_us,
    )[0]  # fmt: skip

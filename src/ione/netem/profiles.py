"""Link profiles: what an emulated internet path does to datagrams, as frozen, validated values.

A :class:`Profile` holds integer-microsecond delays and plain probabilities; a
:class:`GilbertElliott` describes burst loss. Presets for the links of the published
brain–memristor–silicon network come from SYSTEM.md §4 (one-way 15 ± 2 ms Padova–Southampton,
10 ± 2 ms Southampton–Zurich, 0.1 % loss; marked there as emulation defaults). The floors are
half the fibre round-trip floors of the same section (11.3 ms and 8.1 ms). The jitter correlation
time (100 ms) is ione's own modelling default: with correlated jitter the path is FIFO, as real
paths of router queues are, so the presets reorder nothing unless ``reorder`` asks for it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LAN",
    "MAX_DELAY_US",
    "PADOVA_SOUTHAMPTON",
    "PROFILES",
    "SOUTHAMPTON_ZURICH",
    "GilbertElliott",
    "Profile",
    "load_delay_trace",
    "profile_from_dict",
    "profile_to_dict",
    "resolve_profile",
]

#: Longest delay a profile may ask for (60 s): anything longer is a unit mistake.
MAX_DELAY_US = 60_000_000


def _check_probability(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.{name} must be a probability (a float), got {value!r}")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{owner}.{name} must be a probability in [0, 1], got {value!r}")


def _check_us(owner: str, name: str, value: object, low: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}.{name} must be an integer number of µs, got {value!r}")
    if not low <= value <= MAX_DELAY_US:
        raise ValueError(f"{owner}.{name} must be in [{low}, {MAX_DELAY_US}] µs, got {value}")


@dataclass(frozen=True, slots=True)
class GilbertElliott:
    """Two-state Markov burst loss (Gilbert 1960, Elliott 1963).

    Before each datagram the chain moves: good → bad with probability ``p_good_to_bad``, bad → good
    with ``p_bad_to_good``; then the datagram is lost with probability ``loss_good`` or
    ``loss_bad`` of the state it is in. With the defaults (``loss_good = 0``, ``loss_bad = 1``,
    the "simple Gilbert" model) losses come in bursts of geometric length, mean
    ``1 / p_bad_to_good``.

    Parameters
    ----------
    p_good_to_bad, p_bad_to_good
        Transition probabilities per datagram; their sum must be positive.
    loss_good, loss_bad
        Loss probability in each state.
    """

    p_good_to_bad: float
    p_bad_to_good: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    def __post_init__(self) -> None:
        for f in ("p_good_to_bad", "p_bad_to_good", "loss_good", "loss_bad"):
            _check_probability("GilbertElliott", f, getattr(self, f))
        if self.p_good_to_bad + self.p_bad_to_good == 0:
            raise ValueError(
                "GilbertElliott.p_good_to_bad and p_bad_to_good are both 0: the chain never moves"
            )

    @property
    def stationary_bad(self) -> float:
        """Long-run fraction of datagrams seen in the bad state, p_gb / (p_gb + p_bg)."""
        return self.p_good_to_bad / (self.p_good_to_bad + self.p_bad_to_good)

    @property
    def loss_rate(self) -> float:
        """Long-run loss probability: π_good · loss_good + π_bad · loss_bad."""
        bad = self.stationary_bad
        return (1.0 - bad) * self.loss_good + bad * self.loss_bad

    @property
    def mean_bad_run(self) -> float:
        """Mean number of consecutive datagrams spent in the bad state, 1 / p_bg."""
        return math.inf if self.p_bad_to_good == 0 else 1.0 / self.p_bad_to_good


@dataclass(frozen=True, slots=True)
class Profile:
    """What one direction of an emulated path does to every datagram (times in integer µs).

    Per datagram, in this order (see :class:`ione.netem.model.Impairment`):

    1. **loss**: Bernoulli with probability ``loss``, or the Gilbert–Elliott chain ``burst``;
    2. **duplication**: a datagram that survives is sent twice with probability ``duplicate``
       (the copy leaves right after the original);
    3. **delay**: ``delay_us + J`` where J is normal jitter with standard deviation ``jitter_us``
       (independent per datagram when ``jitter_tau_us == 0``, otherwise a stationary
       Ornstein–Uhlenbeck process of arrival time with that correlation time), or
       ``delay_us + s`` with ``s`` drawn uniformly from ``delay_trace_us``; the result is rounded
       to the µs and raised to ``min_delay_us`` when below it (the physical floor). With
       correlated jitter the path is FIFO: a delay is raised so that the datagram does not
       overtake the one before it;
    4. **reordering**: with probability ``reorder`` a datagram is held ``reorder_gap_us`` longer,
       so that datagrams sent after it overtake it. Independent jitter (``jitter_tau_us == 0``)
       and trace delays reorder too, whenever they differ by more than the spacing of two
       datagrams; the relay counts every reordering, whatever its cause.

    Parameters
    ----------
    delay_us
        Base (mean) one-way delay; with a trace, an offset added to every trace sample.
    jitter_us
        Standard deviation of the normal jitter.
    min_delay_us
        Floor of the delay before the reordering hold; at most ``delay_us`` without a trace.
    jitter_tau_us
        Correlation time of the jitter; 0 draws it independently for every datagram.
    loss, duplicate, reorder
        Probabilities per datagram.
    reorder_gap_us
        Extra hold of a reordered datagram; must be positive when ``reorder > 0``.
    burst
        Gilbert–Elliott burst loss instead of Bernoulli ``loss`` (which must then be 0).
    delay_trace_us
        Measured one-way delays (µs) to resample instead of normal jitter.
    name
        A label shown in statistics.
    """

    delay_us: int = 0
    jitter_us: int = 0
    min_delay_us: int = 0
    jitter_tau_us: int = 0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_gap_us: int = 0
    burst: GilbertElliott | None = None
    delay_trace_us: tuple[int, ...] = ()
    name: str = "custom"

    def __post_init__(self) -> None:
        for f in ("delay_us", "jitter_us", "min_delay_us", "jitter_tau_us", "reorder_gap_us"):
            _check_us("Profile", f, getattr(self, f))
        for f in ("loss", "duplicate", "reorder"):
            _check_probability("Profile", f, getattr(self, f))
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Profile.name must be a non-empty string, got {self.name!r}")
        if self.burst is not None:
            if not isinstance(self.burst, GilbertElliott):
                raise TypeError(f"Profile.burst must be a GilbertElliott, got {self.burst!r}")
            if self.loss != 0:
                raise ValueError(
                    "Profile.loss must be 0 when Profile.burst is set (the Gilbert–Elliott "
                    f"chain decides every loss), got loss={self.loss}"
                )
        if self.reorder > 0 and self.reorder_gap_us == 0:
            raise ValueError(
                f"Profile.reorder_gap_us must be positive when Profile.reorder > 0 "
                f"(reorder={self.reorder}): a hold of 0 µs reorders nothing"
            )
        if not isinstance(self.delay_trace_us, tuple):
            raise TypeError(
                f"Profile.delay_trace_us must be a tuple of ints, got "
                f"{type(self.delay_trace_us).__name__}"
            )
        if self.delay_trace_us:
            for i, v in enumerate(self.delay_trace_us):
                _check_us("Profile", f"delay_trace_us[{i}]", v)
            if self.jitter_us or self.jitter_tau_us:
                raise ValueError(
                    "Profile.jitter_us and Profile.jitter_tau_us must be 0 with a delay trace "
                    "(the trace supplies the variation)"
                )
        elif self.min_delay_us > self.delay_us:
            raise ValueError(
                f"Profile.min_delay_us ({self.min_delay_us}) must not exceed Profile.delay_us "
                f"({self.delay_us})"
            )

    @property
    def loss_rate(self) -> float:
        """Long-run loss probability (Bernoulli or the burst chain's stationary rate)."""
        return self.loss if self.burst is None else self.burst.loss_rate

    def replace(self, **changes: Any) -> Profile:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


#: Padova (biology) – Southampton (hub), SYSTEM.md §4: one-way 15 ± 2 ms, 0.1 % loss; floor
#: half the 11.3 ms fibre round trip.
PADOVA_SOUTHAMPTON = Profile(
    name="padova-southampton",
    delay_us=15_000,
    jitter_us=2_000,
    min_delay_us=5_650,
    jitter_tau_us=100_000,
    loss=0.001,
)
#: Southampton (hub) – Zurich (silicon), SYSTEM.md §4: one-way 10 ± 2 ms, 0.1 % loss; floor half
#: the 8.1 ms fibre round trip.
SOUTHAMPTON_ZURICH = Profile(
    name="southampton-zurich",
    delay_us=10_000,
    jitter_us=2_000,
    min_delay_us=4_050,
    jitter_tau_us=100_000,
    loss=0.001,
)
#: A wired lab network: 0.2 ± 0.05 ms, no loss (of the order LSL reports for a LAN, SYSTEM.md §4);
#: correlated over 10 ms, so FIFO like the switches it stands for.
LAN = Profile(name="lan", delay_us=200, jitter_us=50, min_delay_us=0, jitter_tau_us=10_000)
#: No impairment at all: the relay only forwards (for measuring the relay itself).
NONE = Profile(name="none")

#: Presets by name.
PROFILES: Mapping[str, Profile] = {
    p.name: p for p in (PADOVA_SOUTHAMPTON, SOUTHAMPTON_ZURICH, LAN, NONE)
}

_FIELDS = tuple(f.name for f in dataclasses.fields(Profile))
_BURST_FIELDS = tuple(f.name for f in dataclasses.fields(GilbertElliott))


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """A JSON-ready dict of a profile (inverse of :func:`profile_from_dict`)."""
    out: dict[str, Any] = {f: getattr(profile, f) for f in _FIELDS}
    out["burst"] = (
        None if profile.burst is None else {f: getattr(profile.burst, f) for f in _BURST_FIELDS}
    )
    out["delay_trace_us"] = list(profile.delay_trace_us)
    return out


def profile_from_dict(data: Mapping[str, Any], base: Profile | None = None) -> Profile:
    """Build a profile from a dict (JSON), starting from ``base`` (default: no impairment).

    A ``"preset"`` key names a preset of :data:`PROFILES` to start from instead. Unknown keys are
    errors that name them.

    Raises
    ------
    ValueError, TypeError
        On an unknown key, an unknown preset or an invalid value (the message names the field).
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"a profile must be a JSON object, got {type(data).__name__}")
    data = dict(data)
    if "preset" in data:
        base = resolve_profile(data.pop("preset"))
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown profile field(s) {unknown}; known: {list(_FIELDS)}")
    burst = data.get("burst")
    if isinstance(burst, Mapping):
        extra = sorted(set(burst) - set(_BURST_FIELDS))
        if extra:
            raise ValueError(f"unknown burst field(s) {extra}; known: {list(_BURST_FIELDS)}")
        data["burst"] = GilbertElliott(**burst)
    if "delay_trace_us" in data and isinstance(data["delay_trace_us"], list):
        data["delay_trace_us"] = tuple(data["delay_trace_us"])
    start = base if base is not None else Profile()
    if base is not None and "name" not in data and data:
        data["name"] = f"{base.name}+custom"
    return dataclasses.replace(start, **data)


def resolve_profile(spec: str | Profile | Mapping[str, Any]) -> Profile:
    """A profile from a preset name, a :class:`Profile`, or a dict (see :func:`profile_from_dict`).

    Raises
    ------
    ValueError
        If a name is not one of :data:`PROFILES`.
    """
    if isinstance(spec, Profile):
        return spec
    if isinstance(spec, str):
        try:
            return PROFILES[spec]
        except KeyError:
            raise ValueError(f"unknown profile {spec!r}; presets are {sorted(PROFILES)}") from None
    return profile_from_dict(spec)


def load_delay_trace(path: str | Path) -> tuple[int, ...]:
    """Read a delay trace: one one-way delay per line, in integer microseconds.

    Blank lines and text after ``#`` are ignored.

    Raises
    ------
    ValueError
        Naming the file and line of a value that is not a non-negative integer, or if the file
        holds no delay at all.
    """
    path = Path(path)
    out: list[int] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                value = int(text)
            except ValueError:
                raise ValueError(
                    f"{path}:{lineno}: expected a delay in integer µs, got {text!r}"
                ) from None
            if not 0 <= value <= MAX_DELAY_US:
                raise ValueError(f"{path}:{lineno}: delay {value} µs outside [0, {MAX_DELAY_US}]")
            out.append(value)
    if not out:
        raise ValueError(f"{path}: the delay trace holds no delays")
    return tuple(out)

"""The limits a :class:`~ione.culture.StimulationGuard` enforces, and the electrode table they
are judged against (docs/stimulation.md lists every limit with its default and source)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

import numpy as np

__all__ = ["MEA60", "ElectrodeTable", "GuardLimits"]


def _positive(owner: str, name: str, value: object, *, integer: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    if integer and not isinstance(value, int | np.integer):
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}")
    if not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{owner}.{name} must be finite and > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class ElectrodeTable:
    """The electrodes a guard lets through (the allow-list), with what limits their charge.

    Attributes
    ----------
    indices
        Electrode indices (>= 0, unique).
    area_um2
        Geometric area of each electrode (µm²).
    limit_uc_per_cm2
        Charge-density limit per phase of each electrode's material (µC/cm²).
    """

    indices: tuple[int, ...]
    area_um2: tuple[float, ...]
    limit_uc_per_cm2: tuple[float, ...]
    _lookup: dict[int, tuple[float, float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = "ElectrodeTable"
        n = len(self.indices)
        for name in ("area_um2", "limit_uc_per_cm2"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{owner}.{name} has {len(getattr(self, name))} entries for {n} electrodes"
                )
        lookup: dict[int, tuple[float, float]] = {}
        for i, (e, a, q) in enumerate(
            zip(self.indices, self.area_um2, self.limit_uc_per_cm2, strict=True)
        ):
            if isinstance(e, bool) or not isinstance(e, int | np.integer) or e < 0:
                raise ValueError(f"{owner}.indices[{i}] must be an integer >= 0, got {e!r}")
            if int(e) in lookup:
                raise ValueError(f"{owner}.indices lists electrode {e} twice")
            _positive(owner, f"area_um2[{i}]", a)
            _positive(owner, f"limit_uc_per_cm2[{i}]", q)
            lookup[int(e)] = (float(a), float(q))
        object.__setattr__(self, "indices", tuple(int(e) for e in self.indices))
        object.__setattr__(self, "area_um2", tuple(float(a) for a in self.area_um2))
        object.__setattr__(self, "limit_uc_per_cm2", tuple(float(q) for q in self.limit_uc_per_cm2))
        object.__setattr__(self, "_lookup", lookup)

    @classmethod
    def uniform(
        cls, indices: Iterable[int], area_um2: float, limit_uc_per_cm2: float = 30.0
    ) -> ElectrodeTable:
        """Electrodes of one size and material."""
        idx = tuple(indices)
        return cls(idx, (area_um2,) * len(idx), (limit_uc_per_cm2,) * len(idx))

    def get(self, electrode: int) -> tuple[float, float] | None:
        """``(area_um2, limit_uc_per_cm2)`` of an electrode, or None when it is not listed."""
        return self._lookup.get(electrode)

    def max_charge_nc(self, electrode: int) -> float:
        """Largest charge per phase the electrode's density limit allows (nC)."""
        area, limit = self._lookup[electrode]
        return limit * area * 1e-5  # µC/cm² × µm² × 1e-8 cm²/µm² × 1e3 nC/µC

    def to_dict(self) -> dict[str, Any]:
        """Compact form: a scalar where every electrode has the same value."""

        def compact(values: tuple[float, ...]) -> float | list[float]:
            return values[0] if values and all(v == values[0] for v in values) else list(values)

        return {
            "indices": list(self.indices),
            "area_um2": compact(self.area_um2),
            "limit_uc_per_cm2": compact(self.limit_uc_per_cm2),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ElectrodeTable:
        """From :meth:`to_dict`'s form (``area_um2`` / ``limit_uc_per_cm2`` scalar or list;
        the limit defaults to 30 µC/cm²)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"electrodes must be a table/dict, got {d!r}")
        unknown = sorted(set(d) - {"indices", "area_um2", "limit_uc_per_cm2"})
        if unknown:
            raise ValueError(
                f"unknown key(s) {unknown} in electrodes; expected indices, area_um2, "
                "limit_uc_per_cm2"
            )
        if "indices" not in d or "area_um2" not in d:
            raise ValueError("electrodes needs 'indices' and 'area_um2'")
        idx = d["indices"]
        if not isinstance(idx, list | tuple):
            raise ValueError(f"electrodes.indices must be a list of integers, got {idx!r}")
        n = len(idx)

        def column(name: str, value: Any) -> tuple[Any, ...]:
            if isinstance(value, list | tuple):
                return tuple(value)
            return (value,) * n

        return cls(
            tuple(idx),
            column("area_um2", d["area_um2"]),
            column("limit_uc_per_cm2", d.get("limit_uc_per_cm2", 30.0)),
        )


#: 60 electrodes (0 ... 59) of 30 µm diameter (706.9 µm²), the layout of a standard 60-electrode
#: MEA, with the default density limit of 30 µC/cm² per phase (SYSTEM.md §5): at most 0.21 nC
#: per phase on each. Replace it with your rig's own table.
MEA60: Final = ElectrodeTable.uniform(range(60), math.pi * 15.0**2, 30.0)

_INT_LIMITS: Final = (
    "max_pulses_per_electrode", "max_pulses_array", "rate_window_us", "min_interval_us",
    "watchdog_timeout_us", "max_phases", "max_phase_us", "max_gap_us", "max_train_pulses",
    "max_train_us", "max_lead_us",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GuardLimits:
    """What the guard lets through. Defaults and their sources: docs/stimulation.md.

    Attributes
    ----------
    max_current_ua
        Largest |I| of any phase (µA); 3 µA.
    max_charge_nc
        Largest |charge| of any phase (nC); 3 nC.
    balance_tolerance
        A pulse's |net charge| may be at most this fraction of its larger polarity's charge; 0.01.
    electrodes
        The allow-list with each electrode's area and material density limit; :data:`MEA60`.
    max_pulses_per_electrode
        Pulses one electrode may get in any window of ``rate_window_us``; 100.
    max_pulses_array
        Pulses the whole array may get in any such window; 1000.
    rate_window_us
        The sliding window of the rate caps (µs); 1 s.
    min_interval_us
        Shortest time between the starts of two pulses on one electrode (µs); 5 ms (200 Hz).
    watchdog_timeout_us
        Silence of a controlling link after which outputs are disabled (µs); 200 ms.
    max_phases, max_phase_us, max_gap_us, max_train_pulses, max_train_us
        Sanity bounds on a waveform: 3 phases, 1 ms per phase, 1 ms gap, 100 pulses, 1 s per
        train (first onset to the end of the last pulse).
    max_lead_us
        How far ahead of ``now_us`` a command may be scheduled (µs); 10 s.
    max_shannon_k
        Reject when Shannon's k = log10(D / µC cm⁻²) + log10(Q / µC) exceeds this; None (the
        default) only reports k.
    """

    max_current_ua: float = 3.0
    max_charge_nc: float = 3.0
    balance_tolerance: float = 0.01
    electrodes: ElectrodeTable = MEA60
    max_pulses_per_electrode: int = 100
    max_pulses_array: int = 1_000
    rate_window_us: int = 1_000_000
    min_interval_us: int = 5_000
    watchdog_timeout_us: int = 200_000
    max_phases: int = 3
    max_phase_us: int = 1_000
    max_gap_us: int = 1_000
    max_train_pulses: int = 100
    max_train_us: int = 1_000_000
    max_lead_us: int = 10_000_000
    max_shannon_k: float | None = None

    def __post_init__(self) -> None:
        owner = "GuardLimits"
        _positive(owner, "max_current_ua", self.max_current_ua)
        _positive(owner, "max_charge_nc", self.max_charge_nc)
        b = self.balance_tolerance
        if isinstance(b, bool) or not isinstance(b, int | float) or not 0.0 <= b <= 1.0:
            raise ValueError(f"{owner}.balance_tolerance must be a number in [0, 1], got {b!r}")
        if not isinstance(self.electrodes, ElectrodeTable):
            raise ValueError(
                f"{owner}.electrodes must be an ElectrodeTable, got {self.electrodes!r}"
            )
        for name in _INT_LIMITS:
            _positive(owner, name, getattr(self, name), integer=True)
        k = self.max_shannon_k
        if k is not None and (
            isinstance(k, bool) or not isinstance(k, int | float) or not math.isfinite(k)
        ):
            raise ValueError(f"{owner}.max_shannon_k must be a finite number or None, got {k!r}")
        longest = self.max_phases * self.max_phase_us + (self.max_phases - 1) * self.max_gap_us
        if longest >= self.rate_window_us:
            raise ValueError(
                f"{owner}: the longest pulse the bounds allow ({longest} µs) must be shorter "
                f"than rate_window_us ({self.rate_window_us})"
            )

    def to_dict(self) -> dict[str, Any]:
        """Every limit as plain values (for a config file and for the session's meta record);
        ``max_shannon_k`` is left out when it is None (TOML has no null)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "electrodes":
                out[f.name] = v.to_dict()
            elif v is not None:
                out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GuardLimits:
        """Limits from a config table; missing keys keep their defaults. An unknown key or a
        bad value raises ``ValueError`` naming it."""
        if not isinstance(d, Mapping):
            raise ValueError(f"guard limits must be a table/dict, got {d!r}")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ValueError(f"unknown guard limit(s) {unknown}; expected some of {names}")
        kw = dict(d)
        if "electrodes" in kw:
            kw["electrodes"] = ElectrodeTable.from_dict(kw["electrodes"])
        return cls(**kw)

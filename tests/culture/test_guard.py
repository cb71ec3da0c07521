"""The stimulation guard: nothing beyond a limit reaches the tissue, nothing safe is refused.

The property test drives a guard and a SimulatedStimulator with sequences of commands, many of
them hostile, and an ORACLE written here from the limits' definitions (it imports nothing from
the guard) integrates what the stimulator actually delivered. Not one delivered command may
break a limit.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ione.culture.guard import (
    DECISION_DTYPE,
    MEA60,
    REASON_CODES,
    REASONS,
    ElectrodeTable,
    GuardLimits,
    RecordKind,
    StimulationGuard,
    WatchdogError,
    reason_table,
)
from ione.culture.stimulator import SimulatedStimulator
from ione.culture.stimulus import Command, Waveform
from ione.models.neuron.culture import SINGLE_NEURON, make_culture

# ------------------------------------------------------------------------------------------
# The oracle: limits written out again, from their definitions, and a checker of deliveries
# ------------------------------------------------------------------------------------------

ORACLE_AREA_UM2 = {0: 700.0, 1: 2_000.0, 2: 20_000.0, 3: 5_000.0}
ORACLE_DENSITY_LIMIT = {0: 30.0, 1: 30.0, 2: 30.0, 3: 100.0}  # µC/cm² per phase
ORACLE_MAX_UA = 3.0
ORACLE_MAX_NC = 2.0  # below 3 µA × 1 ms, so that "charge" is a limit of its own
ORACLE_BALANCE = 0.01
ORACLE_PER_ELECTRODE = 10  # pulses in any 1 s window
ORACLE_ARRAY = 20
ORACLE_WINDOW_US = 1_000_000
ORACLE_MIN_INTERVAL_US = 5_000
ORACLE_MAX_PHASE_US = 1_000
ORACLE_MAX_GAP_US = 1_000
ORACLE_MAX_PHASES = 3
ORACLE_WATCHDOG_US = 200_000
ROUNDOFF = 1e-6  # relative float round-off the oracle forgives

LIMITS = GuardLimits(
    max_current_ua=3.0,
    max_charge_nc=2.0,
    balance_tolerance=0.01,
    electrodes=ElectrodeTable((0, 1, 2, 3), (700.0, 2_000.0, 20_000.0, 5_000.0), (30, 30, 30, 100)),
    max_pulses_per_electrode=10,
    max_pulses_array=20,
    rate_window_us=1_000_000,
    min_interval_us=5_000,
    watchdog_timeout_us=200_000,
    max_phases=3,
    max_phase_us=1_000,
    max_gap_us=1_000,
    max_train_pulses=20,
    max_train_us=500_000,
    max_lead_us=2_000_000,
)


def _over(value: float, limit: float) -> bool:
    return not value <= limit * (1.0 + ROUNDOFF)


def max_in_window(starts: np.ndarray, window_us: int) -> int:
    """Largest number of starts in any window [x, x + window) (brute force over x = starts)."""
    s = np.sort(starts)
    return max((int(np.sum((s >= x) & (s < x + window_us))) for x in s), default=0)


def oracle_violations(
    log: np.ndarray, commands: dict[int, Command], submitted_at: dict[int, int], trip_us: int | None
) -> dict[int, list[str]]:
    """Every delivered command that broke a limit, with what it broke."""
    bad: dict[int, list[str]] = {}

    def flag(cid: int, what: str) -> None:
        bad.setdefault(cid, []).append(what)

    ends = np.zeros(log.shape[0], dtype=np.int64)
    for k, row in enumerate(log):
        cid, e, t = int(row["command_id"]), int(row["electrode"]), int(row["t_us"])
        n = int(row["phases"])
        i = row["current_ua"][:n].astype(float)
        d = row["duration_us"][:n].astype(float)
        gap = int(row["gap_us"])
        ends[k] = t + int(d.sum()) + gap * (n - 1)
        if e not in ORACLE_AREA_UM2:
            flag(cid, "electrode")
            continue
        if not (np.all(np.isfinite(i)) and np.all(np.isfinite(d))):
            flag(cid, "nan")
            continue
        if n > ORACLE_MAX_PHASES or np.any(d <= 0) or np.any(d > ORACLE_MAX_PHASE_US):
            flag(cid, "duration")
        if not 0 <= gap <= ORACLE_MAX_GAP_US:
            flag(cid, "gap")
        if _over(np.max(np.abs(i)), ORACLE_MAX_UA):
            flag(cid, "current")
        q_nc = i * d * 1e-3
        if _over(np.max(np.abs(q_nc)), ORACLE_MAX_NC):
            flag(cid, "charge")
        density = np.max(np.abs(q_nc)) * 1e-3 / (ORACLE_AREA_UM2[e] * 1e-8)  # µC / cm²
        if _over(density, ORACLE_DENSITY_LIMIT[e]):
            flag(cid, "density")
        pos, neg = q_nc[q_nc > 0].sum(), -q_nc[q_nc < 0].sum()
        if _over(abs(pos - neg), ORACLE_BALANCE * max(pos, neg)) and abs(pos - neg) > 1e-12:
            flag(cid, "balance")
        if t < submitted_at[cid]:
            flag(cid, "delivered before it was submitted")
        if trip_us is not None and t >= trip_us:
            flag(cid, "after the watchdog's timeout")
    first: dict[int, int] = {}
    for row in log:
        first[int(row["command_id"])] = min(
            first.get(int(row["command_id"]), 1 << 62), int(row["t_us"])
        )
    for cid, t in first.items():
        if t > commands[cid].deadline_us:
            flag(cid, "started after its deadline")
    for e in np.unique(log["electrode"]):
        sel = np.flatnonzero(log["electrode"] == e)
        order = sel[np.argsort(log["t_us"][sel], kind="stable")]
        s = log["t_us"][order]
        for a, b in itertools.pairwise(order):
            if log["t_us"][b] - log["t_us"][a] < ORACLE_MIN_INTERVAL_US or log["t_us"][b] < ends[a]:
                flag(int(log["command_id"][b]), "pulses too close")
        if max_in_window(s, ORACLE_WINDOW_US) > ORACLE_PER_ELECTRODE:
            for k in order:  # blame every command in an overfull window
                w = (s >= log["t_us"][k] - ORACLE_WINDOW_US + 1) & (s <= log["t_us"][k])
                if w.sum() > ORACLE_PER_ELECTRODE:
                    flag(int(log["command_id"][k]), "electrode rate")
    t_all = np.sort(log["t_us"])
    if max_in_window(t_all, ORACLE_WINDOW_US) > ORACLE_ARRAY:
        flag(-1, "array rate")
    return bad


def oracle_trip_time(attach_us: int | None, heartbeats: list[int], end_us: int) -> int | None:
    """When silence first exceeded the watchdog timeout (heartbeats sorted), or None."""
    if attach_us is None:
        return None
    last = attach_us
    for h in [*heartbeats, end_us]:
        if h - last >= ORACLE_WATCHDOG_US:
            return last + ORACLE_WATCHDOG_US
        last = max(last, h)
    return None


# ------------------------------------------------------------------------------------------
# Hostile command generation
# ------------------------------------------------------------------------------------------

HOSTILE_NUMBERS = [math.nan, math.inf, -math.inf, 1e300, -1e300, 0.0, -0.0, 1e-300, 2.5]
finite_current = st.floats(-4.0, 4.0, allow_nan=False)
any_current = st.one_of(finite_current, finite_current, st.sampled_from(HOSTILE_NUMBERS))
any_duration = st.one_of(
    st.integers(1, 1_100), st.integers(-5, 1_100),
    st.sampled_from([0, -1, 10**9, math.nan, math.inf, 50.5, "100", None]),
)  # fmt: skip
HOSTILE = {
    "electrode": st.sampled_from([-1, 4, 59, 2**40, math.nan, "3", 2.0, 2.5, None, True]),
    "gap": st.sampled_from([-1, -5, 1_001, 10**6, math.nan, 2**70, 0.5, None]),
    "onsets": st.sampled_from([
        (0, 0), (5, 2), (math.nan,), (-10,), tuple(range(0, 30 * 6_000, 6_000)), (0, 600_000),
        (0, 10.5), ("0",), 7, None,
    ]),
    "t_offset": st.sampled_from([math.nan, math.inf, 2**70, -(2**70), 1.5, 3_000_000, "now"]),
    "latency": st.sampled_from([math.inf, -math.inf, -(2**70), -1, math.nan]),
}  # fmt: skip


# Strategies are built once (building them inside a composite costs a validation per draw).
KINDS = ("biphasic", "biphasic", "triphasic", "tweaked", "mono", "strong")
kind_s = st.integers(0, len(KINDS) - 1)
amp_na_s = st.integers(0, 3_500)  # amplitudes in nA: integer draws are cheap
strong_na_s = st.integers(1_500, 3_000)
strong_us_s = st.integers(600, 1_000)
dur_s = st.one_of(st.integers(1, 150), st.integers(1, 1_050))
ratio_s = st.sampled_from([1, 1, 2, 4])
tweak_s = st.integers(970, 1_030)
bool_s = st.booleans()
n_s = st.integers(1, 4)
train_n_s = st.integers(0, 8)
period_s = st.sampled_from([1_000, 3_000, 5_000, 5_000, 8_000, 50_000, 250_000])
electrode_s = st.integers(0, 3)
gap_s = st.integers(0, 200)
offset_s = st.one_of(st.integers(-5_000, 40_000), st.integers(-60_000, 40_000))
latency_s = st.one_of(st.integers(0, 60_000), st.integers(-2_000, 60_000))
hostile_any_s = st.integers(0, 2)
hostile_fields_s = st.lists(st.sampled_from([*HOSTILE, "shape"]), min_size=1, max_size=2)
dt_s = st.one_of(
    st.just(0), st.integers(0, 6_000), st.integers(0, 60_000), st.integers(0, 60_000),
    st.integers(0, 300_000),
)  # fmt: skip
heartbeat_s = st.integers(0, 9)
junk_shape_s = st.sampled_from([
    ((), ()), ((1.0,), ()), ("ab", (1,)), ((1.0, -1.0), (100, 100, 100)), (None, None),
    ((-1.0, 1.0), [100, 100]), (np.array([-1.0, 1.0]), np.array([100, 100])),
    ((-1e300, 1e300), (1, 1)), ((-1.0, 1.0), (100, 2**70)),
])  # fmt: skip


def clean_shape(draw: Any) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Near the limits but well formed: balanced or nearly so, phases 1 ... 1050 µs."""
    kind = KINDS[draw(kind_s)]
    a = draw(amp_na_s) / 1000
    d = draw(dur_s)
    if kind == "strong":  # near the charge limit of the large electrodes
        a, d, kind = draw(strong_na_s) / 1000, draw(strong_us_s), "biphasic"
    if kind == "mono":
        return (-a,), (d,)
    if kind == "triphasic":
        return (a / 2, -a, a / 2), (d, d, d)
    ratio = draw(ratio_s)
    d = min(d, 1_050 // ratio)
    cur = [-a, a / ratio]
    if kind == "tweaked":
        cur[1] *= draw(tweak_s) / 1000
    if draw(bool_s):
        cur = [-c for c in cur]
    return tuple(cur), (d, d * ratio)


def hostile_shape(draw: Any) -> tuple[Any, Any]:
    if draw(bool_s):
        n = draw(n_s)
        return (
            tuple(draw(any_current) for _ in range(n)),
            tuple(draw(any_duration) for _ in range(n)),
        )
    return draw(junk_shape_s)  # type: ignore[no-any-return]


def clean_onsets(draw: Any) -> tuple[int, ...]:
    if draw(bool_s):
        return (0,)
    n, period = draw(train_n_s), draw(period_s)
    return tuple(range(0, n * period, period))


@dataclass
class Step:
    dt_us: int
    heartbeat: bool
    electrode: Any
    currents: Any
    durations: Any
    gap: Any
    onsets: Any
    t_offset: Any
    latency: Any


@st.composite
def steps(draw: Any) -> Step:
    """About two thirds clean commands near the limits, the rest with 1-2 hostile fields."""
    cur, dur = clean_shape(draw)
    f: dict[str, Any] = {
        "electrode": draw(electrode_s),
        "gap": draw(gap_s),
        "onsets": clean_onsets(draw),
        "t_offset": draw(offset_s),
        "latency": draw(latency_s),
    }
    if draw(hostile_any_s) == 0:
        for name in draw(hostile_fields_s):
            if name == "shape":
                cur, dur = hostile_shape(draw)
            else:
                f[name] = draw(HOSTILE[name])
    return Step(draw(dt_s), draw(heartbeat_s) > 0, currents=cur, durations=dur, **f)


def _add(a: Any, b: Any) -> Any:
    try:
        return a + b
    except TypeError:
        return a


def run_sequence(seq: list[Step], with_link: bool, seed: int) -> tuple[dict[str, Any], Counter]:
    rng = np.random.default_rng(seed)
    stim = SimulatedStimulator(make_culture(SINGLE_NEURON, rng), rng)
    guard = StimulationGuard(LIMITS, stimulator=stim)
    now = 1_000_000
    stim.arm(now)
    attach = None
    heartbeats: list[int] = []
    if with_link:
        guard.attach("controller", now)
        attach = now
    commands: dict[int, Command] = {}
    submitted: dict[int, int] = {}
    reasons: Counter = Counter()
    for cid, step in enumerate(seq):
        now += step.dt_us
        guard.poll(now)
        stim.advance(now)
        if with_link and step.heartbeat:
            guard.heartbeat("controller", now)
            heartbeats.append(now)
        t = _add(now, step.t_offset)
        wf = Waveform.unchecked(step.currents, step.durations, step.gap, step.onsets)
        source = "controller" if with_link else "local"
        cmd = Command.unchecked(step.electrode, wf, t, _add(t, step.latency), source, cid)
        commands[cid] = cmd
        submitted[cid] = now
        d = guard.submit(cmd, now)
        reasons[d.reason] += 1
    end = now + 3_000_000
    guard.poll(end)
    stim.advance(end)
    trip = oracle_trip_time(attach, heartbeats, end)
    log = stim.delivered()
    bad = oracle_violations(log, commands, submitted, trip)
    return {"bad": bad, "delivered": len(set(log["command_id"].tolist())), "trip": trip}, reasons


def test_nothing_beyond_a_limit_is_ever_delivered() -> None:
    """≥ 10^4 generated commands, hostile ones among them: 0 delivered commands beyond a limit."""
    total = Counter()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        seq=st.lists(steps(), min_size=68, max_size=80),
        with_link=st.booleans(),
        seed=st.integers(0, 2**16),
    )
    def run(seq: list[Step], with_link: bool, seed: int) -> None:
        result, reasons = run_sequence(seq, with_link, seed)
        assert result["bad"] == {}, f"delivered beyond a limit: {result['bad']}"
        total["commands"] += len(seq)
        total["delivered"] += result["delivered"]
        total.update({f"reason:{k}": v for k, v in reasons.items()})

    run()
    print(f"\nguard property test: {dict(sorted(total.items()))}")
    assert total["commands"] >= 10_000
    assert total["delivered"] >= 500  # not vacuous: typically 1000-1250 commands go through
    seen = {k.split(":", 1)[1] for k in total if k.startswith("reason:")}
    expected = set(REASONS) - {"shannon"}
    assert seen >= expected, f"reasons never produced: {expected - seen}"


def test_oracle_catches_what_a_guard_would_let_through() -> None:
    """The oracle is not blind: deliveries straight to the stimulator (no guard) are caught."""
    rng = np.random.default_rng(0)
    stim = SimulatedStimulator(make_culture(SINGLE_NEURON, rng), rng)
    stim.arm(0)
    cases = {
        0: Command(0, Waveform.biphasic(3.5, 10), 1_000, 2_000),  # current
        1: Command(2, Waveform.biphasic(2.0, 1_000), 10_000, 20_000),  # 2 nC ok, density ok
        2: Command(1, Waveform.biphasic(1.0, 1_000), 20_000, 30_000),  # density 50 µC/cm²
        3: Command(3, Waveform.monophasic(-1.0, 100), 30_000, 40_000),  # balance
        5: Command(9, Waveform.biphasic(1.0, 100), 70_000, 80_000),  # electrode
        6: Command(2, Waveform.biphasic(1.0, 100).train(12, period_us=6_000), 100_000, 200_000),
        7: Command(3, Waveform.biphasic(2.5, 1_000), 90_000, 95_000),  # charge
    }
    cases[4] = Command.unchecked(3, Waveform.biphasic(1.0, 100), 60_000, 59_000, "x", 4)  # late
    cases = {
        k: Command.unchecked(c.electrode, c.waveform, c.t_us, c.deadline_us, "x", k)
        for k, c in cases.items()
    }
    for c in cases.values():
        stim.deliver(c, 0)
    stim.advance(1_000_000)
    bad = oracle_violations(stim.delivered(), cases, dict.fromkeys(cases, 0), None)
    assert set(bad) == {0, 2, 3, 4, 5, 6, 7}
    assert bad[0] == ["current"] and bad[2] == ["density"] and bad[3] == ["balance"]
    assert bad[4] == ["started after its deadline"] and bad[5] == ["electrode"]
    assert "electrode rate" in bad[6] and bad[7] == ["charge"]
    assert oracle_violations(stim.delivered(), cases, dict.fromkeys(cases, 0), 55_000)[4] == [
        "after the watchdog's timeout", "started after its deadline",
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------
# Safe commands are never refused
# ------------------------------------------------------------------------------------------


def safe_grid(max_charge_nc: float) -> list[Waveform]:
    """Balanced pulses within 3 µA and ``max_charge_nc`` per phase, 1 ... 1000 µs phases."""
    out = []
    for amp in (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        for d in (1, 10, 50, 100, 200, 500, 1_000):
            for gap in (0, 20, 100, 1_000):
                q = amp * d / 1000
                if q > max_charge_nc:
                    continue
                out.append(Waveform.biphasic(amp, d, gap))
                out.append(Waveform.biphasic(amp, d, gap, cathodic_first=False))
                if d <= 250 and q / 4 <= max_charge_nc:
                    out.append(Waveform.biphasic(amp, d, gap, ratio=4.0))
                out.append(Waveform.triphasic(amp, d, gap))
    return out


@pytest.mark.parametrize(
    ("limits", "max_nc", "trains"),
    [
        (GuardLimits(), math.pi * 15**2 * 30 * 1e-5, False),  # default MEA60: 0.212 nC per phase
        (GuardLimits(electrodes=ElectrodeTable.uniform(range(16), 10_000.0)), 3.0, True),
    ],
    ids=["default-limits", "large-electrodes"],
)
def test_safe_grid_has_no_false_rejections(
    limits: GuardLimits, max_nc: float, trains: bool
) -> None:
    guard = StimulationGuard(limits)
    electrodes = limits.electrodes.indices
    shapes = safe_grid(max_nc)
    if trains:
        shapes += [w.train(n, rate_hz=r) for w in shapes[::7] for n, r in ((5, 200), (20, 100))]
    # space commands within both rate caps: every pulse of the array at least 1/cap apart
    per_pulse_us = math.ceil(limits.rate_window_us / limits.max_pulses_array) + 1
    now = 10_000_000
    rejected = []
    for k, w in enumerate(shapes):
        e = electrodes[k % len(electrodes)]
        d = guard.check(Command(e, w, now, now + 10_000, "local", k), now)
        if not d.allowed:
            rejected.append((w, e, d.reason, d.detail))
        now += w.n_pulses * per_pulse_us + w.duration_us
    assert len(shapes) > 200
    assert rejected == [], f"{len(rejected)} false rejections, first: {rejected[:3]}"


def test_fresh_guard_allows_a_safe_command() -> None:
    cmd = Command(0, Waveform.biphasic(1.0, 100, 50), 5_000, 10_000)
    d = StimulationGuard(GuardLimits()).check(cmd, 5_000)
    assert d.allowed and d.reason == "" and d.reason_code == 0 and d.start_us == 5_000


# ------------------------------------------------------------------------------------------
# One test per reason code
# ------------------------------------------------------------------------------------------

SAFE = Waveform.biphasic(1.0, 100, 50)
NOW = 1_000_000


def check(cmd: Any, guard: StimulationGuard | None = None, now: int = NOW) -> str:
    guard = guard or StimulationGuard(GuardLimits())
    d = guard.check(cmd, now)
    assert d.allowed == (d.reason == "")
    return d.reason


def raw(
    electrode: Any = 0, waveform: Any = SAFE, t: Any = NOW, deadline: Any = NOW + 10_000
) -> Command:
    return Command.unchecked(electrode, waveform, t, deadline, "test", 1)


def test_reason_ok() -> None:
    assert check(raw()) == ""


def test_reason_watchdog() -> None:
    guard = StimulationGuard()
    guard.attach("hub", NOW)
    assert check(raw(t=NOW + 199_999, deadline=NOW + 300_000), guard, NOW + 199_999) == ""
    assert check(raw(t=NOW + 200_000, deadline=NOW + 300_000), guard, NOW + 200_000) == "watchdog"


@pytest.mark.parametrize(
    "cmd",
    [
        "not a command",
        raw(waveform={"currents_ua": [1.0]}),
        raw(electrode="3"),
        raw(electrode=None),
        raw(electrode=True),
        raw(waveform=Waveform.unchecked((), ())),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100,))),
        raw(waveform=Waveform.unchecked((-1.0, "1"), (100, 100))),
        raw(waveform=Waveform.unchecked("ab", (100, 100))),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, 100.5))),
        raw(t=NOW + 0.5),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, 100), 0, (0, 7_000.5))),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, 100), 0, 7)),
    ],
)
def test_reason_malformed(cmd: Any) -> None:
    assert check(cmd) == "malformed"


@pytest.mark.parametrize(
    "cmd",
    [
        raw(waveform=Waveform.unchecked((math.nan, 1.0), (100, 100))),
        raw(waveform=Waveform.unchecked((-1.0, math.inf), (100, 100))),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, -math.inf))),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, 100), math.nan)),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, 100), 0, (0, math.nan))),
        raw(electrode=math.nan),
        raw(t=math.nan),
        raw(deadline=math.inf),
    ],
)
def test_reason_nan(cmd: Command) -> None:
    assert check(cmd) == "nan"


@pytest.mark.parametrize(
    "cmd",
    [
        raw(waveform=Waveform.unchecked((0.5, -1.0, 0.5, 0.0), (100,) * 4)),  # 4 phases > 3
        raw(waveform=SAFE.train(101, period_us=6_000)),  # > 100 pulses
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, 100), 0, (6_000, 0))),
        raw(waveform=Waveform.unchecked((-1.0, 1.0), (100, 100), 0, (-6_000, 0))),
        raw(waveform=SAFE.train(2, period_us=1_000_000)),  # a 1 s + train
        raw(t=NOW + 11_000_000, deadline=NOW + 12_000_000),  # 11 s ahead
        raw(t=2**70, deadline=2**71),
        raw(t=1e300, deadline=1e300),
        raw(t=10**400, deadline=10**400),
    ],
)
def test_reason_absurd(cmd: Command) -> None:
    assert check(cmd) == "absurd"


@pytest.mark.parametrize(
    "waveform",
    [
        Waveform.unchecked((-1.0, 1.0), (0, 100)),
        Waveform.unchecked((-1.0, 1.0), (-100, 100)),
        Waveform.unchecked((-0.1, 0.1), (1_001, 1_001)),
        Waveform.unchecked((-1.0, 1.0), (100, 100), -1),
        Waveform.unchecked((-1.0, 1.0), (100, 100), 1_001),
    ],
)
def test_reason_duration(waveform: Waveform) -> None:
    assert check(raw(waveform=waveform)) == "duration"


@pytest.mark.parametrize("electrode", [-1, 60, 2**40, 10**30, 3.5e9])
def test_reason_electrode(electrode: Any) -> None:
    assert check(raw(electrode=electrode)) == "electrode"


def test_reason_deadline() -> None:
    assert check(raw(t=NOW - 20_000, deadline=NOW - 1)) == "deadline"  # checked too late
    assert check(raw(t=NOW + 5_000, deadline=NOW + 4_000)) == "deadline"  # inconsistent
    assert check(raw(t=NOW - 20_000, deadline=NOW)) == ""  # just in time: starts now
    d = StimulationGuard().check(raw(t=NOW - 20_000, deadline=NOW), NOW)
    assert d.start_us == NOW


def test_reason_current() -> None:
    assert check(raw(waveform=Waveform.biphasic(3.01, 10))) == "current"
    assert check(raw(waveform=Waveform.unchecked((-1e300, 1e300), (1, 1)))) == "current"


def test_reason_charge() -> None:
    big = GuardLimits(electrodes=ElectrodeTable.uniform([0], 1e6))
    assert check(raw(waveform=Waveform.biphasic(3.0, 1_000)), StimulationGuard(big)) == ""
    small = GuardLimits(max_charge_nc=1.0, electrodes=ElectrodeTable.uniform([0], 1e6))
    assert check(raw(waveform=Waveform.biphasic(2.0, 600)), StimulationGuard(small)) == "charge"


def test_reason_density() -> None:
    # MEA60: 706.9 µm², 30 µC/cm² -> 0.212 nC per phase
    assert check(raw(waveform=Waveform.biphasic(1.0, 212))) == ""
    assert check(raw(waveform=Waveform.biphasic(1.0, 213))) == "density"
    table = ElectrodeTable((0, 1), (706.9, 706.9), (30.0, 100.0))  # a better material on 1
    g = StimulationGuard(GuardLimits(electrodes=table))
    assert check(raw(electrode=1, waveform=Waveform.biphasic(1.0, 500)), g) == ""
    assert check(raw(electrode=0, waveform=Waveform.biphasic(1.0, 500)), g, NOW + 10) == "density"


def test_reason_balance() -> None:
    assert check(raw(waveform=Waveform.monophasic(-1.0, 100))) == "balance"
    assert check(raw(waveform=Waveform((-1.0, 0.98), (100, 100)))) == "balance"  # 2 %
    assert check(raw(waveform=Waveform((-1.0, 0.995), (100, 100)))) == ""  # 0.5 %


def test_reason_shannon() -> None:
    lim = GuardLimits(max_shannon_k=-2.0, electrodes=ElectrodeTable.uniform([0], 10_000.0))
    weak = StimulationGuard(lim).check(raw(waveform=Waveform.biphasic(0.5, 100)), NOW)
    assert weak.allowed and weak.shannon_k < -2.0
    strong = StimulationGuard(lim).check(raw(waveform=Waveform.biphasic(3.0, 1_000)), NOW)
    # k = log10(30 µC/cm²) + log10(0.003 µC) = -1.05
    assert strong.reason == "shannon" and strong.shannon_k == pytest.approx(-1.0458, abs=1e-3)
    assert StimulationGuard().check(raw(waveform=Waveform.biphasic(1.0, 200)), NOW).allowed
    # a subnormal current (found by the property test) must not break the computation of k
    tiny = StimulationGuard(lim).check(raw(waveform=Waveform.biphasic(5e-324, 1_000)), NOW)
    assert tiny.allowed and tiny.shannon_k < -300


def test_reason_rate_electrode() -> None:
    g = StimulationGuard()
    assert check(raw(t=NOW), g) == ""
    assert check(raw(t=NOW + 4_999, deadline=NOW + 9_000), g) == "rate_electrode"  # < 5 ms
    assert check(raw(t=NOW + 5_000, deadline=NOW + 9_000), g) == ""
    overlapping = Waveform.unchecked(SAFE.currents_ua, SAFE.durations_us, 50, (0, 200))
    assert check(raw(waveform=overlapping)) == "rate_electrode"  # within one train
    g = StimulationGuard()
    assert check(raw(waveform=SAFE.train(100, period_us=5_000)), g) == ""  # 100 in 0.5 s
    t = NOW + 999_000
    assert check(raw(t=t, deadline=t + 1), g, t) == "rate_electrode"  # the 101st within 1 s
    t = NOW + 1_000_000
    assert check(raw(t=t, deadline=t + 1), g, t) == ""  # the first pulse left the window


def test_reason_rate_array() -> None:
    g = StimulationGuard()
    burst = SAFE.train(100, period_us=9_000)  # 100 pulses per electrode, under 1 s
    for e in range(10):
        assert check(raw(electrode=e, waveform=burst, t=NOW + e), g, NOW + e) == ""
    assert check(raw(electrode=10, t=NOW + 10), g, NOW + 10) == "rate_array"


def test_every_reason_has_a_test_and_a_stable_code() -> None:
    tested = {name[len("test_reason_") :] for name in globals() if name.startswith("test_reason_")}
    assert tested == {r or "ok" for r in REASONS}
    assert REASONS[:3] == ("", "watchdog", "malformed") and REASON_CODES["rate_array"] == 14
    assert reason_table()["0"] == "ok" and reason_table()["10"] == "density"


# ------------------------------------------------------------------------------------------
# Rates, deadlines and records
# ------------------------------------------------------------------------------------------


def test_rate_caps_count_only_allowed_commands() -> None:
    g = StimulationGuard()
    hot = Waveform.biphasic(3.0, 1_000)  # density violation: rejected
    for k in range(500):
        t = NOW + 6_000 * k
        assert check(raw(waveform=hot, t=t, deadline=t + 1), g, t) == "density"
    t = NOW + 6_000 * 500
    assert check(raw(waveform=SAFE.train(100, period_us=5_000), t=t, deadline=t + 1), g, t) == ""


def test_late_command_starts_now_and_counts_at_its_real_time() -> None:
    g = StimulationGuard()
    d = g.check(raw(t=NOW - 30_000, deadline=NOW + 1_000), NOW)
    assert d.allowed and d.start_us == NOW
    # the pulse counts at NOW, not at NOW - 30 ms: a pulse 5 ms later is fine, 4 ms is not
    assert check(raw(t=NOW + 4_000, deadline=NOW + 9_000), g, NOW + 1) == "rate_electrode"
    assert check(raw(t=NOW + 5_000, deadline=NOW + 9_000), g, NOW + 2) == ""


def test_every_decision_is_recorded_and_drained() -> None:
    g = StimulationGuard()
    g.check(raw(), NOW)
    g.check(raw(electrode=99), NOW + 1)
    g.check("junk", NOW + 2)  # type: ignore[arg-type]
    rec = g.drain_records()
    assert rec.dtype == DECISION_DTYPE and rec.shape == (3,)
    assert rec["t_us"].tolist() == [NOW, NOW + 1, NOW + 2]
    assert rec["allowed"].tolist() == [1, 0, 0]
    assert rec["reason"].tolist() == [0, REASON_CODES["electrode"], REASON_CODES["malformed"]]
    assert rec["electrode"].tolist() == [0, 99, -1] and rec["command_id"].tolist() == [1, 1, -1]
    assert [g.sources[s] for s in rec["source"]] == ["test", "test", "?"]
    assert rec["peak_current_ua"][0] == 1.0 and rec["max_charge_nc"][0] == pytest.approx(0.1)
    assert g.drain_records().shape == (0,)
    assert g.statistics()["rejected_by_reason"] == {"electrode": 1, "malformed": 1}


def test_check_never_raises_on_hostile_input_but_time_must_be_sane() -> None:
    g = StimulationGuard()
    for junk in (None, 3, raw(waveform=None), raw(electrode=object()), raw(t=[1]), Command):
        assert g.check(junk, NOW).allowed is False  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="now_us"):
        g.check(raw(), 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backwards"):
        g.check(raw(), NOW - 1)


# ------------------------------------------------------------------------------------------
# Limits: defaults, config round trip, errors
# ------------------------------------------------------------------------------------------


def test_default_limits() -> None:
    lim = GuardLimits()
    assert (lim.max_current_ua, lim.max_charge_nc, lim.balance_tolerance) == (3.0, 3.0, 0.01)
    assert lim.watchdog_timeout_us == 200_000 and lim.rate_window_us == 1_000_000
    assert lim.min_interval_us == 5_000  # 200 Hz bursts
    assert lim.electrodes is MEA60 and len(MEA60.indices) == 60
    assert MEA60.max_charge_nc(0) == pytest.approx(0.2121, abs=1e-4)


def _toml(d: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v) if not isinstance(v, bool) else str(v).lower()

    lines = [f"{k} = {value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines)


def test_limits_round_trip_through_toml() -> None:
    lim = GuardLimits(
        max_current_ua=2.0,
        electrodes=ElectrodeTable((3, 5), (700.0, 900.0), (30.0, 30.0)),
        max_shannon_k=1.85,
    )
    d = lim.to_dict()
    assert d["electrodes"] == {
        "indices": [3, 5],
        "area_um2": [700.0, 900.0],
        "limit_uc_per_cm2": 30.0,
    }
    assert GuardLimits.from_dict(tomllib.loads(_toml(d))) == lim
    assert GuardLimits.from_dict(tomllib.loads(_toml(GuardLimits().to_dict()))) == GuardLimits()
    assert "max_shannon_k" not in GuardLimits().to_dict()


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ({"max_curent_ua": 1}, "unknown guard limit"),
        ({"max_current_ua": -1}, "max_current_ua"),
        ({"max_current_ua": math.nan}, "max_current_ua"),
        ({"max_charge_nc": "3"}, "max_charge_nc"),
        ({"balance_tolerance": 1.5}, "balance_tolerance"),
        ({"watchdog_timeout_us": 0}, "watchdog_timeout_us"),
        ({"min_interval_us": 2.5}, "min_interval_us"),
        ({"max_shannon_k": math.inf}, "max_shannon_k"),
        ({"electrodes": {"indices": [0, 0], "area_um2": 100}}, "twice"),
        ({"electrodes": {"indices": [0], "area_um2": -1}}, r"area_um2\[0\]"),
        ({"electrodes": {"indices": [0, 1], "area_um2": [1.0]}}, "area_um2 has 1 entries"),
        ({"electrodes": {"indices": [0], "area": 1}}, "unknown key"),
        ({"electrodes": {"indices": [-2], "area_um2": 1}}, r"indices\[0\]"),
        ({"max_phase_us": 600_000}, "longest pulse"),
        ("nope", "table"),
    ],
)
def test_limit_errors_name_the_key(d: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GuardLimits.from_dict(d)


# ------------------------------------------------------------------------------------------
# Watchdog
# ------------------------------------------------------------------------------------------


class FakeStimulator:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def arm(self, now_us: int) -> None:
        self.calls.append(("arm", now_us))

    def disarm(self, now_us: int) -> None:
        self.calls.append(("disarm", now_us))

    def deliver(self, command: Command, now_us: int) -> bool:
        self.calls.append(("deliver", now_us))
        return True


def local(t: int) -> Command:
    return Command(0, SAFE, t, t + 10_000, "local", t)


def test_no_watchdog_without_an_attached_link() -> None:
    g = StimulationGuard()
    assert g.next_timer() is None
    assert g.poll(NOW + 10**9) is True
    assert g.check(local(NOW + 10**9), NOW + 10**9).allowed


def test_heartbeats_keep_outputs_enabled() -> None:
    g = StimulationGuard()
    g.attach("hub", NOW)
    for k in range(1, 50):
        g.heartbeat("hub", NOW + 150_000 * k)
        assert g.next_timer() == NOW + 150_000 * k + 200_000
    t = NOW + 150_000 * 49 + 199_999
    assert g.check(local(t), t).allowed


def test_silence_disables_everything_and_disarms_until_rearm() -> None:
    stim = FakeStimulator()
    g = StimulationGuard(stimulator=stim)
    g.attach("hub", NOW)
    g.heartbeat("hub", NOW + 100_000)
    assert g.poll(NOW + 299_999) is True
    assert g.poll(NOW + 300_000) is False  # 200 ms after the last heartbeat
    assert stim.calls == [("disarm", NOW + 300_000)]
    assert g.next_timer() is None
    # late heartbeats, local commands, new attachments: nothing re-enables outputs
    g.heartbeat("hub", NOW + 310_000)
    assert g.submit(local(NOW + 320_000), NOW + 320_000).reason == "watchdog"
    g.attach("other", NOW + 330_000)
    assert g.check(local(NOW + 340_000), NOW + 340_000).reason == "watchdog"
    assert ("deliver", NOW + 320_000) not in stim.calls
    g.rearm(NOW + 350_000)
    assert g.enabled and stim.calls[-1] == ("arm", NOW + 350_000)
    assert g.submit(local(NOW + 360_000), NOW + 360_000).allowed
    assert stim.calls[-1] == ("deliver", NOW + 360_000)
    rec = g.drain_records()
    kinds = rec["kind"].tolist()
    assert kinds.count(RecordKind.TRIP) == 1 and kinds.count(RecordKind.REARM) == 1
    trip = rec[rec["kind"] == RecordKind.TRIP][0]
    assert trip["t_us"] == NOW + 300_000 and g.sources[trip["source"]] == "hub"
    assert g.statistics()["trips"] == 1


def test_a_heartbeat_after_the_timeout_trips_first() -> None:
    g = StimulationGuard()
    g.attach("hub", NOW)
    g.heartbeat("hub", NOW + 250_000)  # the guard was not polled in between
    assert not g.enabled
    assert g.check(local(NOW + 250_001), NOW + 250_001).reason == "watchdog"


def test_rearm_refuses_while_a_link_is_silent() -> None:
    g = StimulationGuard()
    g.attach("hub", NOW)
    g.poll(NOW + 200_000)
    with pytest.raises(WatchdogError, match="'hub' silent for 300 ms"):
        g.rearm(NOW + 300_000)
    assert not g.enabled
    g.detach("hub", NOW + 310_000)
    g.rearm(NOW + 320_000)
    assert g.enabled and g.check(local(NOW + 330_000), NOW + 330_000).allowed


def test_a_returning_link_can_be_rearmed_after_its_heartbeat() -> None:
    g = StimulationGuard()
    g.attach("hub", NOW)
    g.poll(NOW + 250_000)
    g.heartbeat("hub", NOW + 400_000)
    assert not g.enabled
    g.rearm(NOW + 450_000)
    assert g.enabled


def test_every_watched_link_counts() -> None:
    g = StimulationGuard()
    g.attach("hub", NOW)
    g.attach("zurich", NOW)
    for k in range(1, 10):
        g.heartbeat("hub", NOW + 50_000 * k)  # zurich says nothing
    assert not g.enabled
    trip = g.records()[g.records()["kind"] == RecordKind.TRIP][0]
    assert g.sources[trip["source"]] == "zurich" and trip["t_us"] == NOW + 200_000


def test_heartbeats_of_unknown_links_are_ignored() -> None:
    g = StimulationGuard()
    g.heartbeat("stranger", NOW)
    assert g.statistics()["ignored_heartbeats"] == 1 and g.next_timer() is None


def test_decision_dtype_has_the_fields_a_session_log_needs() -> None:
    names = set(DECISION_DTYPE.names or ())
    assert {"t_us", "command_id", "electrode", "allowed", "reason", "source"} <= names

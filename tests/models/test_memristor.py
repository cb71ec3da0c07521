"""Memristive device models: published regression values, physics, variability, interface."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ione.models.memristor import (
    DATA_DRIVEN_DUT1,
    DATA_DRIVEN_DUT2,
    DataDriven,
    DataDrivenParams,
    Diffusive,
    DiffusiveParams,
    MemristorModel,
    Vteam,
    VteamParams,
    Yakopcic,
    data_driven_pulse,
)


def pulses(r0: float, volts: float, params: DataDrivenParams, n: int) -> list[float]:
    r, out = np.float64(r0), []
    for i in range(1, n + 1):
        r = data_driven_pulse(r, volts, 100, params)
        if i in (1, 10, 100):
            out.append(float(r))
    return out


# SYSTEM.md §2.1: values computed from the closed form, 100 µs pulses.
REGRESSION = [
    (DATA_DRIVEN_DUT1, 4800.0, 2.0, (4957, 5205, 5485)),
    (DATA_DRIVEN_DUT1, 5600.0, -1.5, (5449, 5230, 4991)),
    (DATA_DRIVEN_DUT2, 11000.0, 0.8, (11224, 12519, 15460)),
    (DATA_DRIVEN_DUT2, 15000.0, -0.8, (14639, 13441, 11691)),
]


@pytest.mark.parametrize(("params", "r0", "volts", "expected"), REGRESSION)
def test_data_driven_regression_values(
    params: DataDrivenParams, r0: float, volts: float, expected: tuple[int, ...]
) -> None:
    got = pulses(r0, volts, params, 100)
    for g, e in zip(got, expected, strict=True):
        assert abs(g - e) / e < 0.005, (got, expected)


def test_data_driven_boundaries_and_saturation() -> None:
    # DUT1 at +2.0 V saturates toward r_p(2.0) = 3085 + 1862*2 = 6809 Ω; at -1.5 V toward 4626 Ω.
    r = np.full(1, 4800.0)
    steps = []
    for _ in range(2000):
        r1 = data_driven_pulse(r, 2.0, 100, DATA_DRIVEN_DUT1)
        steps.append(float(r1[0] - r[0]))
        r = r1
    assert all(s >= 0 for s in steps)  # monotonic
    assert steps[0] > steps[10] > steps[100] > steps[-1] > 0  # saturating
    # n pulses of width t are one pulse of width n t (the closed form composes exactly)
    assert data_driven_pulse(4800.0, 2.0, 2000 * 100, DATA_DRIVEN_DUT1) == pytest.approx(r[0])
    up = data_driven_pulse(4800.0, 2.0, 10**12, DATA_DRIVEN_DUT1)
    assert 6790 < up <= 6809
    down = data_driven_pulse(np.full(1, 5600.0), -1.5, 10**7, DATA_DRIVEN_DUT1)
    assert 4626 <= down[0] < 4630
    # beyond the boundary a pulse does nothing
    assert data_driven_pulse(7000.0, 2.0, 100, DATA_DRIVEN_DUT1) == 7000.0


def test_polarity_positive_raises_resistance() -> None:
    for params, r0, v in ((DATA_DRIVEN_DUT1, 5000.0, 1.5), (DATA_DRIVEN_DUT2, 13000.0, 0.8)):
        assert data_driven_pulse(r0, v, 100, params) > r0
        assert data_driven_pulse(r0, -v, 100, params) < r0
        assert data_driven_pulse(r0, 0.0, 100, params) == r0


def test_state_dependence_same_pulse_different_change() -> None:
    r0 = np.array([4700.0, 5200.0, 5800.0, 6500.0])
    dr = data_driven_pulse(r0, 2.0, 100, DATA_DRIVEN_DUT1) - r0
    assert np.all(np.diff(dr) < 0)  # the closer to the boundary, the smaller the change


def test_out_of_range_pulse_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match=r"\+4 V pulse is outside the range.*allow_extrapolation"):
        data_driven_pulse(5000.0, 4.0, 100, DATA_DRIVEN_DUT1)
    assert data_driven_pulse(5000.0, 4.0, 100, DATA_DRIVEN_DUT1, allow_extrapolation=True) > 5000
    model = DataDriven(DATA_DRIVEN_DUT1)
    with pytest.raises(ValueError, match="-4 V"):
        model.apply_pulses(model.initial_state(3), -4.0, 100)
    with pytest.raises(ValueError, match="finite"):
        data_driven_pulse(5000.0, np.nan, 100, DATA_DRIVEN_DUT1)
    with pytest.raises(ValueError, match="widths"):
        data_driven_pulse(5000.0, 1.0, -5, DATA_DRIVEN_DUT1)


def test_broadcasting_and_a_million_devices_in_one_call() -> None:
    r = data_driven_pulse(np.array([[4800.0], [5000.0]]), np.array([2.0, -1.5, 0.0]), 100,
                          DATA_DRIVEN_DUT1)  # fmt: skip
    assert r.shape == (2, 3)
    model = DataDriven(DATA_DRIVEN_DUT1, c2c_sigma=0.2, d2d_rate_sigma=0.1)
    rng = np.random.default_rng(0)
    state = model.initial_state(1_000_000, rng)
    after = model.apply_pulses(state, 2.0, 100, rng=rng)
    assert after.r_ohm.shape == (1_000_000,) and np.all(after.r_ohm > state.r_ohm)


def test_read_current_follows_the_sinh_iv() -> None:
    model = DataDriven(DATA_DRIVEN_DUT1)
    state = model.initial_state(2, r_ohm=[4000.0, 8000.0])
    i = model.read(state, 0.5)
    assert np.allclose(i, 0.24 / np.array([4000.0, 8000.0]) * np.sinh(2.81 * 0.5))
    assert np.allclose(model.resistance(state), [4000.0, 8000.0])


def test_cycle_to_cycle_noise_is_seeded_bounded_and_spread() -> None:
    model = DataDriven(DATA_DRIVEN_DUT1, c2c_sigma=0.3)
    state = model.initial_state(20_000, r_ohm=5000.0)
    a = model.apply_pulses(state, 2.0, 100, rng=np.random.default_rng(1))
    b = model.apply_pulses(state, 2.0, 100, rng=np.random.default_rng(1))
    c = model.apply_pulses(state, 2.0, 100, rng=np.random.default_rng(2))
    assert np.array_equal(a.r_ohm, b.r_ohm) and not np.array_equal(a.r_ohm, c.r_ohm)
    nominal = data_driven_pulse(5000.0, 2.0, 100, DATA_DRIVEN_DUT1) - 5000.0
    dr = a.r_ohm - 5000.0
    assert np.all(dr > 0) and np.all(a.r_ohm <= 6809.0)
    assert abs(np.median(dr) / nominal - 1) < 0.02  # median-1 log-normal factor
    assert 0.25 < np.std(np.log(dr / nominal)) < 0.35
    with pytest.raises(ValueError, match="rng"):
        model.apply_pulses(state, 2.0, 100)


def test_device_to_device_variability() -> None:
    model = DataDriven(DATA_DRIVEN_DUT1, d2d_rate_sigma=0.2, d2d_boundary_sigma_ohm=100.0)
    state = model.initial_state(5000, np.random.default_rng(3), r_ohm=5000.0)
    after = model.apply_pulses(state, 2.0, 100)  # no c2c noise: deterministic per device
    again = model.apply_pulses(state, 2.0, 100)
    assert np.array_equal(after.r_ohm, again.r_ohm)
    assert np.std(after.r_ohm) > 1.0  # devices differ
    with pytest.raises(ValueError, match="rng"):
        model.initial_state(5)


def test_mask_selects_devices() -> None:
    model = DataDriven(DATA_DRIVEN_DUT1)
    state = model.initial_state(4, r_ohm=5000.0)
    after = model.apply_pulses(state, 2.0, 100, mask=np.array([True, False, True, False]))
    assert after.r_ohm[1] == after.r_ohm[3] == 5000.0 and after.r_ohm[0] > 5000.0
    assert state.r_ohm[0] == 5000.0  # pure: the input state is untouched


def test_vteam_thresholds_polarity_and_bounds() -> None:
    m = Vteam(VteamParams())
    s = m.initial_state(4, x=0.5)
    after = m.apply_pulses(s, [0.01, -0.1, 1.0, -1.0], 100)
    assert after.x[0] == after.x[1] == 0.5  # below threshold: no change
    assert after.x[2] > 0.5 and after.x[3] < 0.5  # positive raises R, negative lowers it
    r = m.resistance(after)
    assert r[2] > r[0] > r[3]
    assert np.all(m.apply_pulses(s, -5.0, 10**7).x == 0.0)  # clipped at the bound
    rate = m.rate_per_s(np.array([1.0, -1.0]))
    assert rate[0] == pytest.approx(5e-4 * (1.0 / 0.02 - 1))
    assert rate[1] == pytest.approx(-10 * (-1.0 / -0.2 - 1) ** 3)
    with pytest.raises(ValueError, match="v_on < 0 < v_off"):
        VteamParams(v_on=0.1)


def test_yakopcic_window_kernel_equals_reference_and_saturates() -> None:
    m = Yakopcic()
    s = m.initial_state(5, x=[0.05, 0.3, 0.6, 0.9, 0.5])
    volts = [1.0, 1.0, -1.0, -1.0, 0.1]
    fast = m.apply_pulses(s, volts, 200)
    ref = m.apply_pulses_reference(s, volts, 200, substeps=4000)
    assert np.allclose(fast.x, ref.x, atol=1e-6)
    assert fast.x[0] > 0.05 and fast.x[2] < 0.6 and fast.x[4] == 0.5
    assert np.all((fast.x >= 0) & (fast.x <= 1))
    long = m.apply_pulses(s, 1.5, 10**6)
    assert np.all(long.x > 0.95)  # saturates toward 1, never beyond
    i = m.read(s, 0.1)
    assert np.allclose(i, 0.17 * s.x * np.sinh(0.05 * 0.1))


def test_diffusive_switches_on_then_relaxes_to_off() -> None:
    rng = np.random.default_rng(5)
    m = Diffusive()
    s = m.initial_state(50)
    assert np.allclose(m.resistance(s), m.params.r_off_ohm)
    on = m.apply_pulses(s, 1.0, 5000, rng=rng)
    assert np.all(m.resistance(on) < 1e5)  # near R_on (17 kΩ)
    relaxed = m.idle(on, 300_000, rng)
    assert np.all(m.resistance(relaxed) > 0.5 * m.params.r_off_ohm)  # volatile: back off
    mid = m.idle(on, 20_000, rng)
    r_on, r_mid, r_off = m.resistance(on), m.resistance(mid), m.resistance(relaxed)
    assert np.all((r_on < r_mid) & (r_mid < r_off))


def test_diffusive_stochastic_rupture_is_seeded() -> None:
    m = Diffusive(DiffusiveParams(kappa_per_s=2000.0, eta=0.2))
    s = m.initial_state(200)
    a = m.apply_pulses(s, 0.3, 2000, rng=np.random.default_rng(1))
    b = m.apply_pulses(s, 0.3, 2000, rng=np.random.default_rng(1))
    c = m.apply_pulses(s, 0.3, 2000, rng=np.random.default_rng(2))
    assert np.array_equal(a.f, b.f) and not np.array_equal(a.f, c.f)
    assert np.std(a.f) > 0  # devices differ through their ruptures
    with pytest.raises(ValueError, match="rng"):
        m.apply_pulses(s, 0.3, 10)


def test_diffusive_without_rupture_matches_exact_relaxation() -> None:
    p = DiffusiveParams(kappa_per_s=0.0)
    m = Diffusive(p)
    s = m.apply_pulses(m.initial_state(1), 1.0, 3000)
    f0, r0 = float(s.f[0]), float(s.r[0])
    after = m.idle(s, 10_000)
    a = p.gamma1_per_s + p.beta_per_s
    t = 0.01
    f_exact = f0 * np.exp(-a * t)
    r_exact = r0 * np.exp(-p.gamma2_per_s * t) + p.beta_per_s * f0 * (
        np.exp(-a * t) - np.exp(-p.gamma2_per_s * t)) / (p.gamma2_per_s - a)  # fmt: skip
    assert after.f[0] == pytest.approx(f_exact, rel=1e-9)
    assert after.r[0] == pytest.approx(r_exact, rel=1e-9)


@pytest.mark.parametrize("model", [DataDriven(), Vteam(), Yakopcic(), Diffusive()])
def test_every_model_offers_the_interface(model: MemristorModel) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(0)
    s = model.initial_state(8, rng)
    s2 = model.apply_pulses(s, np.linspace(-0.9, 0.9, 8), 50, np.ones(8, bool), rng)
    s3 = model.idle(s2, 1000, rng)
    assert model.read(s3, 0.1).shape == (8,) and model.resistance(s3).shape == (8,)
    with pytest.raises(ValueError, match="finite"):
        model.apply_pulses(s, np.nan, 10, None, rng)
    with pytest.raises(ValueError, match="width_us"):
        model.apply_pulses(s, 0.5, -1, None, rng)
    with pytest.raises(ValueError, match="do not fit"):
        model.apply_pulses(s, np.zeros(3), 10, None, rng)


@settings(max_examples=200, deadline=None)
@given(r0=st.floats(3000, 20000), v=st.floats(-2.2, 2.2), w=st.integers(0, 10**5))
@example(r0=12248.912979428342, v=-2.178658892757639e-266, w=1)  # rounding once moved R up
def test_data_driven_moves_monotonically_toward_its_boundary(r0: float, v: float, w: int) -> None:
    r1 = float(data_driven_pulse(r0, v, w, DATA_DRIVEN_DUT1))
    if v > 0:
        bound = 3085 + 1862 * v
        assert r0 <= r1 <= max(r0, bound) + 1e-6
    elif v < 0:
        bound = 5193 + 378 * v
        assert min(r0, bound) - 1e-6 <= r1 <= r0
    else:
        assert r1 == r0

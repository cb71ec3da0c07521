"""COBA network: connectivity, compiled run against the numpy reference, rate, reproducibility."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ione.models.neuron.coba import (
    COBA_4000,
    COBANetwork,
    COBAParams,
    coba_build,
    coba_run,
    coba_step,
)
from ione.models.neuron.coba import _exp_nonpositive_checked as exp_kernel
from ione.models.neuron.lif import BRETTE_2007_COBA, LIFCondState, lif_cond_step


@pytest.fixture(scope="module")
def coba() -> tuple[COBANetwork, LIFCondState]:
    return coba_build(COBA_4000, np.random.default_rng(1))


def test_connectivity_is_bernoulli_without_autapses(coba: tuple[COBANetwork, LIFCondState]) -> None:
    net, _ = coba
    n, p = COBA_4000.n, COBA_4000.p_connect
    expected = p * n * (n - 1)
    assert abs(net.n_synapses - expected) < 5 * np.sqrt(expected * (1 - p))
    src = np.repeat(np.arange(n), net.out_degree)
    assert not np.any(src == net.indices)  # no autapses
    rows_sorted = np.all((np.diff(net.indices) > 0) | (np.diff(src) > 0))
    assert rows_sorted  # targets sorted and unique within each row
    deg = net.out_degree
    assert deg.mean() == pytest.approx(p * (n - 1), rel=0.02)
    assert deg.var() == pytest.approx(p * (1 - p) * (n - 1), rel=0.15)  # binomial out-degrees
    in_deg = np.bincount(net.indices, minlength=n)
    assert in_deg.mean() == pytest.approx(p * (n - 1), rel=0.02)


def test_initial_state_follows_the_benchmark_distributions(
    coba: tuple[COBANetwork, LIFCondState],
) -> None:
    _, s = coba
    assert s.v_mv.mean() == pytest.approx(-65.0, abs=0.3) and s.v_mv.std() == pytest.approx(
        5.0, rel=0.05
    )
    assert s.g_e_us.min() >= 0 and s.g_e_us.mean() == pytest.approx(0.040, rel=0.03)
    assert s.g_i_us.min() >= 0 and np.median(s.g_i_us) == pytest.approx(0.200, rel=0.05)
    assert not s.refrac_left_us.any()


def test_compiled_run_equals_the_numpy_reference(coba: tuple[COBANetwork, LIFCondState]) -> None:
    net, state0 = coba
    n_steps = 1500  # 150 ms, across the initial transient into sustained activity
    state, times, cells, events = state0, [], [], 0
    for k in range(n_steps):
        state, spiked, ev = coba_step(net, state)
        idx = np.flatnonzero(spiked)
        times.append(np.full(idx.size, (k + 1) * COBA_4000.dt_us))
        cells.append(idx)
        events += ev
    final, record = coba_run(net, state0, n_steps)
    assert record.n_spikes > 5000
    np.testing.assert_array_equal(record.t_us, np.concatenate(times))
    np.testing.assert_array_equal(record.neuron, np.concatenate(cells))
    assert record.n_synaptic_events == events
    np.testing.assert_allclose(final.v_mv, state.v_mv, rtol=0, atol=1e-9)
    np.testing.assert_allclose(final.g_e_us, state.g_e_us, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(final.g_i_us, state.g_i_us, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(final.refrac_left_us, state.refrac_left_us)


def test_reference_step_is_the_lif_cell_plus_propagation(
    coba: tuple[COBANetwork, LIFCondState],
) -> None:
    net, state = coba
    for _ in range(40):  # reach a step with spikes
        state, spiked, events = coba_step(net, state)
    cell, cell_spiked = lif_cond_step(state, None, COBA_4000.neuron, COBA_4000.dt_us)
    new, spiked, events = coba_step(net, state)
    np.testing.assert_array_equal(spiked, cell_spiked)
    np.testing.assert_array_equal(new.v_mv, cell.v_mv)
    assert spiked.any()
    src = np.flatnonzero(spiked)
    assert events == net.out_degree[src].sum()
    exc = src[src < COBA_4000.n_exc]
    gain = np.zeros(COBA_4000.n)
    for j in exc:
        gain[net.indices[net.indptr[j] : net.indptr[j + 1]]] += COBA_4000.w_exc_us
    np.testing.assert_allclose(new.g_e_us - cell.g_e_us, gain, atol=1e-15)


def test_sustained_activity_at_about_twenty_hertz(coba: tuple[COBANetwork, LIFCondState]) -> None:
    net, state = coba
    _, record = coba_run(net, state, 20_000)  # 2 s
    late = record.t_us > 1_000_000
    rate_hz = late.sum() / (COBA_4000.n * 1.0)
    # Brette et al. (2007) report self-sustained irregular activity around 20 Hz.
    assert 12.0 < rate_hz < 30.0, rate_hz
    per_cell = np.bincount(record.neuron[late], minlength=COBA_4000.n)
    assert (per_cell > 0).mean() > 0.9  # asynchronous: nearly every cell takes part
    counts = np.bincount(record.neuron, minlength=COBA_4000.n)
    assert record.n_synaptic_events == int(counts @ net.out_degree)
    assert record.mean_rate_hz(COBA_4000.n) == pytest.approx(record.n_spikes / (COBA_4000.n * 2.0))


def test_a_seed_reproduces_the_run_and_runs_compose(coba: tuple[COBANetwork, LIFCondState]) -> None:
    net, state = coba
    net2, state2 = coba_build(COBA_4000, np.random.default_rng(1))
    np.testing.assert_array_equal(net.indices, net2.indices)
    np.testing.assert_array_equal(state.v_mv, state2.v_mv)
    _, a = coba_run(net, state, 3000)
    _, b = coba_run(net2, state2, 3000)
    np.testing.assert_array_equal(a.t_us, b.t_us)
    np.testing.assert_array_equal(a.neuron, b.neuron)
    mid, first = coba_run(net, state, 1700)
    _, second = coba_run(net, mid, 1300)
    np.testing.assert_array_equal(np.concatenate([first.t_us, second.t_us + 170_000]), a.t_us)
    np.testing.assert_array_equal(np.concatenate([first.neuron, second.neuron]), a.neuron)
    other, _ = coba_build(COBA_4000, np.random.default_rng(2))
    assert other.n_synapses != net.n_synapses or not np.array_equal(other.indices, net.indices)


def test_run_leaves_its_input_state_untouched(coba: tuple[COBANetwork, LIFCondState]) -> None:
    net, state = coba
    v = state.v_mv.copy()
    coba_run(net, state, 50)
    np.testing.assert_array_equal(state.v_mv, v)


def test_the_kernel_exponential_is_within_two_ulp_of_numpy() -> None:
    rng = np.random.default_rng(0)
    x = -np.concatenate([rng.uniform(0, 1, 200_000), rng.uniform(0, 700, 200_000),
                         np.arange(0, 50, 0.125), [0.0, 5e-324, 1e-300]])  # fmt: skip
    got, ref = exp_kernel(x), np.exp(x)
    assert np.max(np.abs(got - ref) / np.spacing(ref)) <= 2.0
    assert exp_kernel(np.array([0.0]))[0] == 1.0
    assert exp_kernel(np.array([-800.0]))[0] == pytest.approx(np.exp(-700.0))
    with pytest.raises(ValueError, match="x must be finite and <= 0"):
        exp_kernel(np.array([0.5]))


def test_small_and_empty_networks() -> None:
    small = replace(COBA_4000, n_exc=80, n_inh=20, p_connect=0.2)
    net, state = coba_build(small, np.random.default_rng(1))
    _, record = coba_run(net, state, 100)
    assert record.n_steps == 100 and np.all(np.diff(record.t_us) >= 0)
    none = replace(COBA_4000, n_exc=5, n_inh=0, p_connect=0.0)
    net0, _ = coba_build(none, np.random.default_rng(1))
    assert net0.n_synapses == 0
    full = replace(COBA_4000, n_exc=4, n_inh=2, p_connect=1.0)
    net1, _ = coba_build(full, np.random.default_rng(1))
    assert net1.n_synapses == 6 * 5


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"p_connect": 1.5}, r"p_connect must lie in \[0, 1\]"),
        ({"p_connect": float("nan")}, "p_connect must be a finite number"),
        ({"w_exc_us": -0.006}, "w_exc_us must be >= 0"),
        ({"n_exc": -1}, "n_exc must be a non-negative integer"),
        ({"dt_us": 0}, "dt_us must be > 0"),
        ({"dt_us": 300}, "refractory period .* must be a multiple of dt_us"),
        ({"neuron": replace(BRETTE_2007_COBA, tau_refrac_ms=5.05)}, "multiple of dt_us"),
    ],
)
def test_bad_parameters_name_the_field(changes: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        replace(COBA_4000, **changes)


def test_bad_networks_and_calls_are_rejected(coba: tuple[COBANetwork, LIFCondState]) -> None:
    net, state = coba
    small = COBAParams(n_exc=3, n_inh=1)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\)"):
        COBANetwork(small, np.array([0, 1, 1, 1, 1]), np.array([7]))
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        COBANetwork(small, np.array([0, 1, 0, 1, 1]), np.array([1]))
    with pytest.raises(ValueError, match="state has 4 neurons, the network 4000"):
        coba_run(net, LIFCondState(np.zeros(4), np.zeros(4), np.zeros(4), np.zeros(4, np.int64)), 1)
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator"):
        coba_build(COBA_4000, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_steps must be a non-negative integer"):
        coba_run(net, state, -5)

"""The impairment model's statistics over 10^5 datagrams, and its seeded reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ione.netem import (
    PADOVA_SOUTHAMPTON,
    Decisions,
    GilbertElliott,
    Impairment,
    Profile,
)

N = 100_000
SPACING_US = 1_000  # 1000 datagrams per second


def times(n: int = N, spacing_us: int = SPACING_US) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * spacing_us


def decide(profile: Profile, seed: int = 0, n: int = N, spacing_us: int = SPACING_US) -> Decisions:
    return Impairment(profile, np.random.default_rng(seed)).decide(times(n, spacing_us))


def within_binomial(count: int, n: int, p: float, k: float = 5.0) -> bool:
    """count is within k standard deviations of Binomial(n, p)'s mean."""
    return abs(count - n * p) <= k * math.sqrt(n * p * (1 - p))


def run_lengths(flags: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a boolean array."""
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return edges[1::2] - edges[::2]


# ---------------------------------------------------------------------- loss
@pytest.mark.parametrize("p", [0.001, 0.02, 0.3])
def test_bernoulli_loss_rate_is_binomial(p: float) -> None:
    d = decide(Profile(loss=p))
    assert within_binomial(int(d.lost.sum()), N, p)
    assert (d.delay_us[d.lost] == -1).all() and (d.copies[d.lost] == 0).all()


def test_bernoulli_losses_are_not_bursty() -> None:
    d = decide(Profile(loss=0.2))
    runs = run_lengths(d.lost)
    assert runs.mean() == pytest.approx(1 / 0.8, rel=0.03)  # geometric with success 1 - p


def test_gilbert_elliott_bursts_and_stationary_loss() -> None:
    ge = GilbertElliott(p_good_to_bad=0.01, p_bad_to_good=0.25)
    d = decide(Profile(burst=ge))
    # every datagram in the bad state is lost, none in the good state
    assert (d.lost == d.bad).all()
    assert within_binomial(int(d.lost.sum()), N, ge.loss_rate, k=12)  # correlated: wider
    runs = run_lengths(d.lost)
    assert runs.mean() == pytest.approx(ge.mean_bad_run, rel=0.08)
    # burst lengths are geometric: P(length = 1) = p_bad_to_good
    assert np.mean(runs == 1) == pytest.approx(0.25, abs=0.04)
    # far burstier than Bernoulli loss at the same rate
    bern = decide(Profile(loss=ge.loss_rate))
    assert runs.mean() > 3 * run_lengths(bern.lost).mean()


def test_gilbert_elliott_with_loss_in_both_states() -> None:
    ge = GilbertElliott(0.05, 0.2, loss_good=0.01, loss_bad=0.6)
    d = decide(Profile(burst=ge), seed=3)
    assert d.bad.mean() == pytest.approx(ge.stationary_bad, abs=0.02)
    assert d.lost.mean() == pytest.approx(ge.loss_rate, abs=0.01)
    assert d.lost[~d.bad].mean() == pytest.approx(0.01, abs=0.003)
    assert d.lost[d.bad].mean() == pytest.approx(0.6, abs=0.015)


# ---------------------------------------------------------------------- delay
def test_independent_jitter_has_the_configured_mean_and_sd() -> None:
    p = Profile(delay_us=15_000, jitter_us=2_000, min_delay_us=5_000)
    delay = decide(p).delay_us
    assert abs(delay.mean() - 15_000) < 5 * 2_000 / math.sqrt(N)
    assert delay.std() == pytest.approx(2_000, rel=0.02)
    assert delay.dtype == np.int64 and delay.min() >= 5_000


def test_the_floor_clips_jitter() -> None:
    p = Profile(delay_us=1_000, jitter_us=1_000, min_delay_us=500)
    delay = decide(p).delay_us
    assert delay.min() == 500
    # P(1000 + 1000 z < 500) = Phi(-0.5) = 0.3085
    assert within_binomial(int((delay == 500).sum()), N, 0.3085)
    assert delay[delay > 500].min() >= 501


def test_correlated_jitter_keeps_its_marginal_and_never_reorders() -> None:
    p = Profile(delay_us=15_000, jitter_us=2_000, jitter_tau_us=100_000)
    t = times()
    delay = Impairment(p, np.random.default_rng(0)).decide(t).delay_us
    # 100 s of an OU process with tau = 100 ms: about 500 independent samples
    assert abs(delay.mean() - 15_000) < 5 * 2_000 / math.sqrt(500)
    assert delay.std() == pytest.approx(2_000, rel=0.15)
    j = delay - delay.mean()
    lag1 = float(np.dot(j[:-1], j[1:]) / np.dot(j, j))
    assert lag1 == pytest.approx(math.exp(-SPACING_US / 100_000), abs=0.01)
    arrive = t + delay
    assert (np.diff(arrive) >= 0).all()  # a FIFO path
    iid = Impairment(p.replace(jitter_tau_us=0), np.random.default_rng(0)).decide(t).delay_us
    assert np.mean((t + iid)[:-1] > (t + iid)[1:]) > 0.3  # independent jitter reorders a third


def test_correlated_jitter_keeps_bursts_in_order_with_small_clamps() -> None:
    p = Profile(delay_us=15_000, jitter_us=2_000, jitter_tau_us=100_000)
    # bursts of 100 datagrams 10 µs apart, one burst every 20 ms
    i = np.arange(N)
    t = (i // 100) * 20_000 + (i % 100) * 10
    delay = Impairment(p, np.random.default_rng(2)).decide(t).delay_us
    assert (np.diff(t + delay) >= 0).all()  # FIFO, even back to back
    # inside a burst, delays move by the jitter's tiny increments (σ·sqrt(2·10 µs/τ) ≈ 28 µs)
    # plus at most the 10 µs spacing from the clamp
    within = np.diff(delay)[(i[1:] % 100) != 0]
    assert np.percentile(np.abs(within), 99) < 150
    # 1000 bursts of an OU process with tau = 100 ms: about 100 independent samples
    assert abs(delay.mean() - 15_000) < 5 * 2_000 / math.sqrt(100)
    assert delay.std() == pytest.approx(2_000, rel=0.3)


def test_presets_draw_their_documented_figures() -> None:
    d = decide(PADOVA_SOUTHAMPTON, seed=11)
    assert within_binomial(int(d.lost.sum()), N, 0.001)
    kept = d.delay_us[~d.lost]
    assert abs(kept.mean() - 15_000) < 500 and kept.std() == pytest.approx(2_000, rel=0.15)
    assert kept.min() >= 5_650


def test_delays_resample_a_trace() -> None:
    trace = (10_000, 12_000, 30_000)
    p = Profile(delay_us=100, delay_trace_us=trace)
    delay = decide(p).delay_us
    values, counts = np.unique(delay, return_counts=True)
    assert values.tolist() == [10_100, 12_100, 30_100]
    for c in counts:
        assert within_binomial(int(c), N, 1 / 3)


# ---------------------------------------------------------------------- duplication, reordering
def test_duplication_rate_is_binomial_and_only_survivors_are_duplicated() -> None:
    d = decide(Profile(loss=0.1, duplicate=0.05), seed=5)
    dup = d.copies == 2
    assert within_binomial(int(dup.sum()), int((~d.lost).sum()), 0.05)
    assert not (dup & d.lost).any()


def test_reorder_fraction_and_hold() -> None:
    p = Profile(delay_us=2_000, reorder=0.03, reorder_gap_us=5_000)
    d = decide(p, seed=7)
    assert within_binomial(int(d.held.sum()), N, 0.03)
    assert (d.delay_us[d.held] == 7_000).all() and (d.delay_us[~d.held] == 2_000).all()
    # every held datagram is overtaken by the next one unless that one is held too
    arrive = times() + d.delay_us
    k = np.flatnonzero(d.held[:-1] & ~d.held[1:])
    assert k.size > 0 and (arrive[k] > arrive[k + 1]).all()


# ---------------------------------------------------------------------- reproducibility
PROFILES_UNDER_TEST = [
    Profile(
        delay_us=5_000,
        jitter_us=700,
        min_delay_us=3_000,
        loss=0.05,
        duplicate=0.05,
        reorder=0.05,
        reorder_gap_us=2_000,
    ),
    Profile(delay_us=5_000, jitter_us=700, jitter_tau_us=20_000, burst=GilbertElliott(0.02, 0.3)),
    Profile(delay_trace_us=(1, 5, 9, 1000), duplicate=0.1),
    PADOVA_SOUTHAMPTON,
]


@pytest.mark.parametrize("profile", PROFILES_UNDER_TEST, ids=lambda p: p.name)
def test_one_at_a_time_equals_vectorised(profile: Profile) -> None:
    n = 10_000  # crosses two block boundaries
    rng_t = np.random.default_rng(1)
    t = np.cumsum(rng_t.integers(0, 2_000, n))
    whole = Impairment(profile, np.random.default_rng(9)).decide(t)
    one = Impairment(profile, np.random.default_rng(9))
    got = [one.decide_one(int(x)) for x in t]
    assert [c for c, _, _ in got] == whole.copies.tolist()
    assert [d for _, d, _ in got] == whole.delay_us.tolist()
    assert [h for _, _, h in got] == whole.held.tolist()
    chunks = Impairment(profile, np.random.default_rng(9))
    parts = [chunks.decide(t[a : a + 777]) for a in range(0, n, 777)]
    assert np.concatenate([p.delay_us for p in parts]).tolist() == whole.delay_us.tolist()
    assert one.statistics() == chunks.statistics()


def test_seeds_reproduce_and_differ() -> None:
    p = PROFILES_UNDER_TEST[0]
    a, b, c = (decide(p, seed=s, n=5_000) for s in (1, 1, 2))
    assert (a.delay_us == b.delay_us).all() and (a.copies == b.copies).all()
    assert (a.delay_us != c.delay_us).any()


def test_statistics_count_every_decision() -> None:
    imp = Impairment(PROFILES_UNDER_TEST[0], np.random.default_rng(0))
    d = imp.decide(times(20_000))
    st = imp.statistics()
    assert st.datagrams == 20_000
    assert st.lost == int(d.lost.sum())
    assert st.duplicated == int((d.copies == 2).sum())
    assert st.held == int(d.held.sum())


def test_set_profile_takes_effect_and_the_stream_continues() -> None:
    imp = Impairment(Profile(), np.random.default_rng(0))
    assert imp.decide(times(1_000)).copies.tolist() == [1] * 1_000
    imp.set_profile(Profile(loss=1.0))
    assert imp.decide(times(1_000)).lost.all()
    imp.set_profile(Profile(loss=0.02))
    assert within_binomial(int(imp.decide(times(N)).lost.sum()), N, 0.02)
    assert imp.profile.loss == 0.02
    # the same sequence of profiles and arrivals gives the same decisions
    again = Impairment(Profile(), np.random.default_rng(0))
    again.decide(times(1_000))
    again.set_profile(Profile(loss=1.0))
    again.decide(times(1_000))
    again.set_profile(Profile(loss=0.02))
    again.decide(times(N))
    assert again.statistics() == imp.statistics()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        Impairment(Profile(), 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="block"):
        Impairment(Profile(), np.random.default_rng(0), block=0)
    with pytest.raises(TypeError, match="Profile"):
        Impairment(Profile(), np.random.default_rng(0)).set_profile("lan")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one-dimensional"):
        Impairment(Profile(), np.random.default_rng(0)).decide(np.zeros((2, 2)))

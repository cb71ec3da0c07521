"""Clock estimator: offset within its reported bound for offset and drifting clocks."""

from __future__ import annotations

import numpy as np
import pytest

from ione.wire import ClockEstimator, ClockSample


def exchange(
    rng: np.random.Generator,
    t: float,
    offset0: float,
    drift: float,
    d_out: float,
    d_back: float,
    jitter: float,
) -> ClockSample:
    """One PING/PONG in true time t (µs); the peer's clock reads offset0 + (1 + drift) * t."""
    peer = lambda x: offset0 + (1 + drift) * x  # noqa: E731
    t1 = t
    t2 = t1 + d_out + abs(rng.normal(0, jitter))
    t3 = t2 + rng.uniform(10, 200)  # peer's turnaround
    t4 = t3 + d_back + abs(rng.normal(0, jitter))
    return ClockSample(round(t1), round(peer(t2)), round(peer(t3)), round(t4))


@pytest.mark.parametrize("offset0", [-250_000.0, 250_000.0])
@pytest.mark.parametrize("drift", [-100e-6, 100e-6])
@pytest.mark.parametrize(("d_out", "d_back", "jitter"), [(200, 200, 50), (15_000, 9_000, 2_000)])
def test_offset_within_reported_uncertainty_in_all_samples(
    offset0: float, drift: float, d_out: float, d_back: float, jitter: float
) -> None:
    rng = np.random.default_rng(1)
    est = ClockEstimator()
    worst = 0.0
    for k in range(1500):  # 0.25 s apart: over 6 minutes
        t = 1e6 + k * 250_000.0
        s = exchange(rng, t, offset0, drift, d_out, d_back, jitter)
        assert est.add(s)
        e = est.estimate(s.t4_us)
        assert e is not None
        true = offset0 + drift * s.t4_us
        err = abs(e.offset_us - true)
        assert err <= e.uncertainty_us, (k, err, e)
        worst = max(worst, err / e.uncertainty_us)
        # and a time translated back from the peer's clock lands within its bound
        local, unc = est.to_local(np.array([round(offset0 + (1 + drift) * t)]))
        assert abs(local[0] - t) <= unc[0] + 1
    assert e.uncertainty_us <= (d_out + d_back) / 2 + 5 * jitter + 200
    assert abs(e.drift_ppm - drift * 1e6) <= e.drift_uncertainty_ppm


def test_drift_change_is_survived_by_dropping_old_samples() -> None:
    """The oscillator's drift steps from +50 to -80 ppm: the estimator notices the samples no
    longer fit one line, drops the old ones, and is within its bound again shortly after."""
    rng = np.random.default_rng(2)
    est = ClockEstimator(window=32)
    t_change = 150e6

    def theta(x: float) -> float:
        return 50e-6 * x if x < t_change else 50e-6 * t_change - 80e-6 * (x - t_change)

    misses_after_recovery = 0
    for k in range(1200):
        t1 = k * 250_000.0
        t2 = t1 + 300 + abs(rng.normal(0, 20))
        t3 = t2 + 50
        t4 = t3 + 300 + abs(rng.normal(0, 20))
        est.add(ClockSample(round(t1), round(t2 + theta(t2)), round(t3 + theta(t3)), round(t4)))
        e = est.estimate(round(t4))
        assert e is not None
        if t1 > t_change + 30e6 and abs(e.offset_us - theta(t4)) > e.uncertainty_us:
            misses_after_recovery += 1
    assert est.resets >= 1
    assert misses_after_recovery == 0
    assert abs(e.drift_ppm + 80) <= e.drift_uncertainty_ppm


def test_impossible_sample_is_rejected_and_no_estimate_before_samples() -> None:
    est = ClockEstimator()
    assert est.estimate(0) is None
    with pytest.raises(RuntimeError, match="no clock sample"):
        est.to_local([1])
    assert not est.add(ClockSample(100, 0, 500, 200))  # negative round trip
    assert est.rejected == 1

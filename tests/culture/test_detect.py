"""The streaming spike detector: block-size invariance, the exact rules (filter, noise, peak, dead
time, local exclusion, warm-up), agreement with SpikeInterface, ground-truth recall, bad input."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
import pytest

from ione.culture.detect import (
    MAD_TO_SIGMA,
    PEAK_DTYPE,
    DetectorConfig,
    StreamingDetector,
    causal_filter,
    peaks_to_events,
    sample_times_us,
)
from ione.events import EVENT_DTYPE, make_key

FS = 20_000.0


def spiky_noise(
    n_samples: int, n_channels: int, seed: int, n_spikes: int = 200, sigma: float = 10.0
) -> npt.NDArray[np.float64]:
    """White noise with biphasic spikes (a trough, then a smaller bump), each on a channel and,
    at 60 %, on its neighbours."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, n_channels)) * sigma
    trough = np.hanning(8)
    bump = np.hanning(12)
    for _ in range(n_spikes):
        t = int(rng.integers(50, n_samples - 50))
        c = int(rng.integers(0, n_channels))
        size = 8 * sigma + 12 * sigma * rng.random()
        for cc in range(max(0, c - 1), min(n_channels, c + 2)):
            gain = 1.0 if cc == c else 0.6
            x[t : t + 8, cc] -= size * gain * trough
            x[t + 8 : t + 20, cc] += 0.3 * size * gain * bump
    return x


def run(det: StreamingDetector, data: npt.NDArray[np.generic], sizes: list[int]) -> np.ndarray:
    """Feed ``data`` in blocks of the given sizes, then flush; all peaks in order."""
    out = []
    i = 0
    for s in sizes:
        out.append(det.process(data[i : i + s]))
        i += s
    assert i >= data.shape[0]
    out.append(det.flush())
    return np.concatenate(out)


def blocks_of(n: int, size: int) -> list[int]:
    return [size] * (-(-n // size))


def matched(a: np.ndarray, b: np.ndarray, a_ch: str, b_ch: str, tol: int) -> float:
    """Fraction of peaks of ``a`` with a peak of ``b`` on the same channel within ``tol``
    samples."""
    if a.size == 0:
        return 1.0
    hit = np.zeros(a.size, dtype=bool)
    for c in np.unique(a[a_ch]):
        ta = a["sample_index"][a[a_ch] == c]
        tb = np.sort(b["sample_index"][b[b_ch] == c])
        if tb.size == 0:
            continue
        i = np.searchsorted(tb, ta - tol)
        ok = (i < tb.size) & (tb[np.minimum(i, tb.size - 1)] <= ta + tol)
        hit[np.flatnonzero(a[a_ch] == c)] = ok
    return float(hit.mean())


# --------------------------------------------------------------------------------------------
# Block-size invariance
# --------------------------------------------------------------------------------------------

# every feature on: both signs, dead time, noise chunks updating many times, local exclusion
BUSY = DetectorConfig(
    peak_sign="both",
    dead_time_ms=0.3,
    exclude_sweep_ms=0.5,
    warmup_s=0.1,
    noise_chunk_s=0.05,
    noise_tau_s=0.2,
    noise_values=64,
    exclusion_radius_um=40.0,
    exclusion_ms=0.6,
)


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_peaks_are_bit_identical_for_any_block_size(dtype: type) -> None:
    n_ch = 12
    data = np.round(spiky_noise(int(FS * 1.2), n_ch, seed=3, n_spikes=300)).astype(dtype)
    pos = np.c_[np.arange(n_ch) * 30.0, np.zeros(n_ch)]

    def detector() -> StreamingDetector:
        return StreamingDetector(n_ch, FS, BUSY, positions=pos)

    ref_det = detector()
    ref = run(ref_det, data, [data.shape[0]])
    assert ref.size > 100 and ref_det.statistics()["noise_updates"] > 20
    assert set(np.sign(ref["amplitude"]).tolist()) == {-1.0, 1.0}
    for size in (1, 7, 18, 20, 1000):
        det = detector()
        peaks = run(det, data, blocks_of(data.shape[0], size))
        assert np.array_equal(peaks, ref), size
        assert np.array_equal(det.noise_levels, ref_det.noise_levels), size
    rng = np.random.default_rng(0)
    for _ in range(3):
        sizes: list[int] = []
        while sum(sizes) < data.shape[0]:
            sizes.append(int(rng.integers(0, 300)))  # empty blocks too
        assert np.array_equal(run(detector(), data, sizes), ref)


def test_defaults_are_block_size_invariant_too() -> None:
    data = spiky_noise(int(FS * 2.6), 6, seed=4).astype(np.float32)
    ref = run(StreamingDetector(6, FS), data, [data.shape[0]])
    assert ref.size > 20
    for size in (20, 333):
        assert np.array_equal(
            run(StreamingDetector(6, FS), data, blocks_of(data.shape[0], size)), ref
        )


def test_int16_blocks_give_the_peaks_of_the_same_values_as_float32() -> None:
    data = np.round(spiky_noise(int(FS * 2.5), 4, seed=5)).astype(np.int16)
    a = run(StreamingDetector(4, FS), data, blocks_of(data.shape[0], 20))
    b = run(StreamingDetector(4, FS), data.astype(np.float32), blocks_of(data.shape[0], 20))
    assert a.size > 10 and np.array_equal(a, b)


# --------------------------------------------------------------------------------------------
# Filter
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize(
    ("fs", "band"), [(20_000.0, (300.0, 3000.0)), (19_531.25, (100.0, 6000.0))]
)
def test_filter_is_scipys_butterworth(order: int, fs: float, band: tuple[float, float]) -> None:
    signal = pytest.importorskip("scipy.signal")
    cfg = DetectorConfig(band_hz=band, filter_order=order)
    det = StreamingDetector(3, fs, cfg)
    ref = signal.butter(order, band, btype="bandpass", fs=fs, output="sos")
    _, h_ours = signal.sosfreqz(det.sos, 2048, fs=fs)
    _, h_ref = signal.sosfreqz(ref, 2048, fs=fs)
    np.testing.assert_allclose(h_ours, h_ref, atol=1e-9)
    # the float32 cascade, started at rest on the first sample, follows scipy's float64 sosfilt
    x = spiky_noise(4000, 3, seed=1) + 500.0  # a DC offset: no step transient
    y = causal_filter(x.astype(np.float32), fs, cfg)
    zi = signal.sosfilt_zi(det.sos)[:, :, None] * x[0][None, None, :]
    want, _ = signal.sosfilt(det.sos, x.astype(np.float32).astype(np.float64), axis=0, zi=zi)
    assert np.max(np.abs(y - want)) < (2e-5 if order == 1 else 5e-4) * np.std(want)
    assert np.max(np.abs(y[:50])) < 8 * np.std(want)  # no 500-unit step at the start


def test_causal_filter_is_what_the_detector_sees() -> None:
    """A detector on the filtered signal with band_hz=None finds exactly the same peaks."""
    data = spiky_noise(int(FS * 2.5), 5, seed=6).astype(np.float32)
    cfg = DetectorConfig()
    a = run(StreamingDetector(5, FS, cfg), data, blocks_of(data.shape[0], 20))
    pre = causal_filter(data, FS, cfg)
    b = run(
        StreamingDetector(5, FS, dataclasses.replace(cfg, band_hz=None)),
        pre,
        blocks_of(data.shape[0], 20),
    )
    assert a.size > 10 and np.array_equal(a, b)


# --------------------------------------------------------------------------------------------
# Noise and warm-up
# --------------------------------------------------------------------------------------------


def mad_sigma(v: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    v = np.asarray(v, dtype=np.float64)
    med = np.median(v, axis=0)
    out: npt.NDArray[np.float64] = np.median(np.abs(v - med), axis=0) / MAD_TO_SIGMA
    return out


def test_noise_is_the_mad_of_the_documented_samples_then_updates_slowly() -> None:
    cfg = DetectorConfig(warmup_s=0.2, noise_chunk_s=0.1, noise_tau_s=0.5, noise_values=64)
    n_ch = 4
    chunk = 2000  # 0.1 s at 20 kHz
    rng = np.random.default_rng(2)
    scale = np.array([5.0, 10.0, 20.0, 40.0])
    data = (rng.standard_normal((6 * chunk, n_ch)) * scale).astype(np.float32)
    data[4 * chunk :] *= 2.0  # the noise doubles in chunk 4
    det = StreamingDetector(n_ch, FS, cfg)
    assert det.detection_start == 3 * chunk  # K = 2 warm-up chunks, worked out during the 3rd
    offsets = det.noise_sample_offsets()
    assert offsets.size == 64 and offsets[1] == chunk // 64
    y = causal_filter(data, FS, cfg)
    chunk_sigma = [mad_sigma(y[j * chunk + offsets]) for j in range(5)]

    det.process(data[: 3 * chunk - 1])
    assert np.all(np.isnan(det.noise_levels))
    det.process(data[3 * chunk - 1 : 3 * chunk])
    warm = (chunk_sigma[0] + chunk_sigma[1]) / 2
    np.testing.assert_allclose(det.noise_levels, warm, rtol=1e-5)
    np.testing.assert_allclose(det.thresholds, 5.0 * warm, rtol=1e-5)
    alpha = 1 - math.exp(-0.1 / 0.5)
    det.process(data[3 * chunk : 4 * chunk])
    est = (1 - alpha) * warm + alpha * chunk_sigma[2]
    np.testing.assert_allclose(det.noise_levels, est, rtol=1e-5)
    det.process(data[4 * chunk : 6 * chunk])
    for j in (3, 4):
        est = (1 - alpha) * est + alpha * chunk_sigma[j]
    np.testing.assert_allclose(det.noise_levels, est, rtol=1e-5)
    assert np.all(det.noise_levels > 1.15 * warm)  # following the doubled noise, slowly
    assert det.statistics()["noise_updates"] == 4  # the warm-up's, then chunks 2, 3 and 4


def test_frozen_noise_stops_after_the_warm_up() -> None:
    cfg = DetectorConfig(warmup_s=0.2, noise_chunk_s=0.1, noise_tau_s=math.inf)
    data = (np.random.default_rng(3).standard_normal((12_000, 2)) * 10).astype(np.float32)
    det = StreamingDetector(2, FS, cfg)
    det.process(data[:6000])
    level = det.noise_levels
    det.process(data[6000:] * 3)
    assert np.array_equal(det.noise_levels, level)
    assert det.statistics()["noise_updates"] == 1


def test_nothing_is_detected_during_the_warm_up() -> None:
    n = int(FS * 3)
    data = (np.random.default_rng(4).standard_normal((n, 1)) * 10).astype(np.float32)
    spikes = [5_000, 20_000, 39_900, 40_500, 50_000]  # detection starts at sample 40_000 (2 s)
    for t in spikes:
        data[t : t + 8, 0] -= 300 * np.hanning(8).astype(np.float32)
    det = StreamingDetector(1, FS)
    assert det.detection_start == 40_000
    peaks = run(det, data, blocks_of(n, 20))
    assert peaks.size == 2
    assert np.all(np.abs(peaks["sample_index"] - np.array([40_500, 50_000]) - 4) <= 3)


def test_given_noise_levels_skip_the_warm_up() -> None:
    data = np.zeros((200, 2), dtype=np.float32)
    data[10, 0] = -60.0
    det = StreamingDetector(
        2, FS, DetectorConfig(band_hz=None, noise_tau_s=math.inf), noise_levels=[10.0, 10.0]
    )
    assert det.detection_start == 0
    peaks = run(det, data, [200])
    assert peaks.tolist() == [(10, 0, -60.0)]


# --------------------------------------------------------------------------------------------
# The peak rule, dead time, flush
# --------------------------------------------------------------------------------------------


def prefiltered(
    n_ch: int, sweep_ms: float = 0.2, dead_ms: float = 0.0, sign: str = "neg"
) -> StreamingDetector:
    """Detector on already-filtered input with σ = 10 (threshold 50), w = 4 samples."""
    cfg = DetectorConfig(
        band_hz=None,
        exclude_sweep_ms=sweep_ms,
        dead_time_ms=dead_ms,
        peak_sign=sign,  # type: ignore[arg-type]
        noise_tau_s=math.inf,
    )
    return StreamingDetector(n_ch, FS, cfg, noise_levels=np.full(n_ch, 10.0))


def test_peak_rule_is_spikeinterfaces_by_channel_rule() -> None:
    x = np.zeros((100, 1), dtype=np.float32)
    x[10:14, 0] = [-60, -70, -70, -60]  # flat trough: the first of the equal samples
    x[30:33, 0] = [-55, -50, -55]  # two troughs 2 samples apart: the later (<=) is not a peak...
    x[50, 0] = -50  # exactly at the threshold: not beyond it
    x[70:80, 0] = [-60, 0, 0, 0, 0, -61, 0, 0, 0, 0]  # 5 samples apart (> w = 4): both
    peaks = run(prefiltered(1), x, [100])
    assert peaks["sample_index"].tolist() == [11, 30, 70, 75]
    assert peaks["amplitude"].tolist() == [-70.0, -55.0, -60.0, -61.0]
    # ... because 32 is not strictly below 30; with a deeper second trough the second wins
    x[30:33, 0] = [-55, -50, -56]
    assert run(prefiltered(1), x, [100])["sample_index"].tolist() == [11, 32, 70, 75]


def test_positive_and_both_signs() -> None:
    x = np.zeros((60, 1), dtype=np.float32)
    x[10, 0] = -80
    x[20, 0] = 90
    x[22, 0] = -70  # 2 samples after a positive peak
    pos = run(prefiltered(1, sign="pos"), x, [60])
    assert pos["sample_index"].tolist() == [20]
    both = run(prefiltered(1, sign="both"), x, [60])
    assert both["sample_index"].tolist() == [10, 20, 22]
    both_dead = run(prefiltered(1, sign="both", dead_ms=0.25), x, [60])  # 5 samples
    assert both_dead["sample_index"].tolist() == [10, 20]


def test_dead_time_drops_a_second_peak_of_the_same_channel_only() -> None:
    x = np.zeros((100, 2), dtype=np.float32)
    x[10, :] = -60
    x[25, 0] = -80  # 15 samples (0.75 ms) later, past the 4-sample sweep window
    x[26, 1] = -80  # 16 samples later
    assert run(prefiltered(2, dead_ms=0.0), x, [100]).size == 4
    p = run(prefiltered(2, dead_ms=0.75), x, [100])  # 15 samples: t - t_last <= 15 is dropped
    assert p[["sample_index", "channel"]].tolist() == [(10, 0), (10, 1), (26, 1)]
    p = run(prefiltered(2, dead_ms=1.0), x, [100])
    assert p[["sample_index", "channel"]].tolist() == [(10, 0), (10, 1)]


def test_flush_decides_the_last_samples_with_the_window_cut() -> None:
    x = np.zeros((50, 1), dtype=np.float32)
    x[48, 0] = -90  # w = 4: needs samples up to 52 to be decided
    det = prefiltered(1)
    assert det.process(x).size == 0
    assert det.flush()["sample_index"].tolist() == [48]
    assert det.flush().size == 0
    with pytest.raises(RuntimeError, match="after flush"):
        det.process(x)


def test_a_peak_is_reported_w_samples_later() -> None:
    x = np.zeros((40, 1), dtype=np.float32)
    x[10, 0] = -90
    det = prefiltered(1)
    assert det.report_delay_samples == det.sweep_samples == 4
    assert det.process(x[:14]).size == 0
    assert det.process(x[14:15])["sample_index"].tolist() == [10]


# --------------------------------------------------------------------------------------------
# Local exclusion
# --------------------------------------------------------------------------------------------


def test_local_exclusion_keeps_one_peak_among_neighbours_with_a_probe() -> None:
    probeinterface = pytest.importorskip("probeinterface")
    probe = probeinterface.generate_multi_columns_probe(
        num_columns=1, num_contact_per_column=4, ypitch=20.0
    )  # contacts at y = 0, 20, 40, 60 µm
    probe.set_device_channel_indices([3, 2, 1, 0])  # wired in reverse: channel 0 is at y = 60
    cfg = DetectorConfig(
        band_hz=None, exclusion_radius_um=30.0, exclusion_ms=0.5, noise_tau_s=math.inf
    )
    x = np.zeros((200, 4), dtype=np.float32)
    x[20, 0] = -70  # channels 0 and 1 are 20 µm apart: one spike, the larger peak stays
    x[21, 1] = -90
    x[100, 0] = -70  # channels 0 and 3 are 60 µm apart: two spikes
    x[100, 3] = -90
    det = StreamingDetector(4, FS, cfg, positions=probe, noise_levels=np.full(4, 10.0))
    assert det.report_delay_samples == 20 + 10
    peaks = run(det, x, blocks_of(200, 7))
    assert peaks[["sample_index", "channel"]].tolist() == [(21, 1), (100, 0), (100, 3)]
    no_excl = dataclasses.replace(cfg, exclusion_radius_um=None)
    det = StreamingDetector(4, FS, no_excl, positions=probe, noise_levels=np.full(4, 10.0))
    assert run(det, x, [200]).size == 4


def test_exclusion_compares_in_threshold_units_and_breaks_ties_by_time_then_channel() -> None:
    pos = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]])
    cfg = DetectorConfig(
        band_hz=None, exclusion_radius_um=15.0, exclusion_ms=1.0, noise_tau_s=math.inf
    )
    x = np.zeros((300, 3), dtype=np.float32)
    x[20, 0] = -70  # 7 thresholds of channel 0 (σ 1) ...
    x[22, 1] = -300  # ... beat 6 thresholds of channel 1 (σ 5), although smaller in volts
    x[100, 1] = -70  # a tie in threshold units: the earlier peak wins
    x[103, 2] = -70
    x[200, 1] = -70  # a tie at the same sample: the lower channel wins
    x[200, 2] = -70
    det = StreamingDetector(3, FS, cfg, positions=pos, noise_levels=[1.0, 5.0, 5.0])
    peaks = run(det, x, [300])
    assert peaks[["sample_index", "channel"]].tolist() == [(20, 0), (100, 1), (200, 1)]


def exclusion_reference(
    peaks: np.ndarray, thr: np.ndarray, pos: np.ndarray, radius: float, e: int
) -> np.ndarray:
    """The documented rule, by brute force over all pairs."""
    t = peaks["sample_index"]
    c = peaks["channel"]
    score = np.abs(peaks["amplitude"].astype(np.float64)) / thr[c]
    dist = np.linalg.norm(pos[c][:, None, :] - pos[c][None, :, :], axis=2)
    near = (np.abs(t[:, None] - t[None, :]) <= e) & (dist <= radius)
    np.fill_diagonal(near, False)
    better = (score[None, :] > score[:, None]) | (
        (score[None, :] == score[:, None])
        & ((t[None, :] < t[:, None]) | ((t[None, :] == t[:, None]) & (c[None, :] < c[:, None])))
    )
    return peaks[~np.any(near & better, axis=1)]


def test_local_exclusion_is_the_documented_rule_on_busy_data() -> None:
    n_ch = 16
    data = spiky_noise(int(FS * 2.5), n_ch, seed=8, n_spikes=600).astype(np.float32)
    rng = np.random.default_rng(8)
    pos = rng.uniform(0, 100, size=(n_ch, 2))
    cfg = DetectorConfig(peak_sign="both", dead_time_ms=0.0, noise_tau_s=math.inf)
    excl = dataclasses.replace(cfg, exclusion_radius_um=35.0, exclusion_ms=0.7)
    plain_det = StreamingDetector(n_ch, FS, cfg)
    plain = run(plain_det, data, [data.shape[0]])
    want = exclusion_reference(plain, plain_det.thresholds, pos, 35.0, 14)
    assert plain.size > 500 and 0.2 * plain.size < want.size < 0.9 * plain.size
    for size in (1, 20, 4096):
        det = StreamingDetector(n_ch, FS, excl, positions=pos)
        assert np.array_equal(run(det, data, blocks_of(data.shape[0], size)), want), size


# --------------------------------------------------------------------------------------------
# SpikeInterface and ground truth
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ground_truth() -> tuple[object, object, np.ndarray]:
    """32 channels (two columns, 20 µm pitch), 16 units at 5 Hz, 20 s at 20 kHz."""
    core = pytest.importorskip("spikeinterface.core")
    rec, sorting = core.generate_ground_truth_recording(
        durations=[20.0],
        sampling_frequency=FS,
        num_channels=32,
        num_units=16,
        generate_sorting_kwargs={"firing_rates": 5.0, "refractory_period_ms": 4.0},
        seed=7,
    )
    return rec, sorting, rec.get_traces().astype(np.float32)


@pytest.mark.parametrize(("sign", "dead_ms"), [("neg", 1.0), ("pos", 1.0), ("both", 0.0)])
def test_agrees_with_spikeinterface_by_channel(
    ground_truth: tuple[object, object, np.ndarray], sign: str, dead_ms: float
) -> None:
    core = pytest.importorskip("spikeinterface.core")
    peak_detection = pytest.importorskip("spikeinterface.sortingcomponents.peak_detection")
    _, _, x = ground_truth
    cfg = DetectorConfig(peak_sign=sign, dead_time_ms=dead_ms, noise_tau_s=math.inf)  # type: ignore[arg-type]
    det = StreamingDetector(x.shape[1], FS, cfg)
    ours = run(det, x, blocks_of(x.shape[0], 20))
    filtered = core.NumpyRecording(causal_filter(x, FS, cfg), FS)
    theirs = peak_detection.detect_peaks(
        filtered,
        method="by_channel",
        method_kwargs={
            "peak_sign": sign,
            "detect_threshold": cfg.threshold,
            "exclude_sweep_ms": cfg.exclude_sweep_ms,
            "noise_levels": det.noise_levels,
        },
        job_kwargs={"n_jobs": 1, "chunk_duration": "1s", "progress_bar": False},
    )
    theirs = theirs[theirs["sample_index"] >= det.detection_start]
    tol = int(0.1e-3 * FS)
    ours_matched = matched(ours, theirs, "channel", "channel_index", tol)
    theirs_matched = matched(theirs, ours, "channel_index", "channel", tol)
    same = set(zip(ours["sample_index"].tolist(), ours["channel"].tolist(), strict=True))
    exact = same & set(
        zip(theirs["sample_index"].tolist(), theirs["channel_index"].tolist(), strict=True)
    )
    print(
        f"\n{sign}: ione {ours.size} peaks, SpikeInterface {theirs.size}; within 0.1 ms: "
        f"{ours_matched:.2%} of ione's, {theirs_matched:.2%} of SpikeInterface's; "
        f"same sample and channel: {len(exact)}"
    )
    assert ours.size > 1000
    assert ours_matched >= 0.99 and theirs_matched >= 0.99


def test_ground_truth_recall_and_false_positives(
    ground_truth: tuple[object, object, np.ndarray],
) -> None:
    """Recall of each ground-truth spike on any channel where its unit's (filtered) template
    crosses the threshold, within 0.4 ms of the template's trough there; a false positive is a
    detection not within 0.4 ms of the trough of a spike of a unit whose template reaches half
    the threshold on that channel."""
    rec, sorting, x = ground_truth
    cfg = DetectorConfig()
    det = StreamingDetector(x.shape[1], FS, cfg, positions=rec.get_probe())  # type: ignore[attr-defined]
    peaks = run(det, x, blocks_of(x.shape[0], 20))
    spikes = sorting.to_spike_vector()  # type: ignore[attr-defined]
    templates = rec.templates  # type: ignore[attr-defined]  # (units, samples, channels), raw
    n_units, _, n_ch = templates.shape
    nbefore = int(1.0e-3 * FS)  # the generator's ms_before: the spike time is this sample
    pad = np.zeros((400, n_ch), dtype=np.float32)
    lag = np.zeros((n_units, n_ch), dtype=np.int64)
    snr = np.zeros((n_units, n_ch))
    for u in range(n_units):
        f = causal_filter(np.concatenate([pad, templates[u].astype(np.float32), pad]), FS, cfg)
        lag[u] = np.argmin(f, axis=0) - pad.shape[0] - nbefore
        snr[u] = -f.min(axis=0) / det.noise_levels
    win = int(0.4e-3 * FS)
    lo, hi = det.detection_start + 2 * win, x.shape[0] - 2 * win
    counts: dict[float, list[int]] = {1.5: [0, 0], 2.0: [0, 0]}
    for u in range(n_units):
        t = spikes["sample_index"][(spikes["unit_index"] == u)]
        t = t[(t >= lo) & (t < hi)]
        hit = np.zeros(t.size, dtype=bool)
        for c in np.flatnonzero(snr[u] >= cfg.threshold):
            d = peaks["sample_index"][peaks["channel"] == c]
            i = np.searchsorted(d, t + lag[u, c] - win)
            hit |= (i < d.size) & (d[np.minimum(i, d.size - 1)] <= t + lag[u, c] + win)
        for margin, tally in counts.items():
            if snr[u].max() >= margin * cfg.threshold:
                tally[0] += t.size
                tally[1] += int(hit.sum())
    false = 0
    inside = (peaks["sample_index"] >= lo) & (peaks["sample_index"] < hi)
    for c in range(n_ch):
        d = peaks["sample_index"][inside & (peaks["channel"] == c)]
        units = np.flatnonzero(snr[:, c] >= cfg.threshold / 2)
        expect = np.sort(
            np.concatenate(
                [spikes["sample_index"][spikes["unit_index"] == u] + lag[u, c] for u in units]
                + [np.zeros(0, dtype=np.int64)]
            )
        )
        i = np.searchsorted(expect, d - win)
        ok = (i < expect.size) & (expect[np.minimum(i, expect.size - 1)] <= d + win)
        false += int(np.sum(~ok))
    seconds = (hi - lo) / FS
    recall = {m: hit / n for m, (n, hit) in counts.items()}
    fp_fraction = false / int(inside.sum())
    print(
        f"\nrecall: {recall[1.5]:.2%} of {counts[1.5][0]} spikes of units with SNR >= 1.5 x "
        f"threshold, {recall[2.0]:.2%} of {counts[2.0][0]} with SNR >= 2 x threshold; "
        f"false positives: {false} of {int(inside.sum())} detections ({fp_fraction:.2%}, "
        f"{false / n_ch / seconds:.3f} per channel per s)"
    )
    assert counts[2.0][0] > 800
    assert recall[2.0] >= 0.99
    assert fp_fraction < 0.02


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


def test_sample_times_round_to_the_nearest_microsecond_halves_up() -> None:
    s = np.array([0, 1, 2, 3, 10**10])
    assert sample_times_us(s, 20_000.0).tolist() == [0, 50, 100, 150, 500_000_000_000]
    assert sample_times_us(s, 30_000.0).tolist() == [0, 33, 67, 100, 333_333_333_333]
    assert sample_times_us(s, 32_000.0).tolist() == [0, 31, 63, 94, 312_500_000_000]
    assert sample_times_us(s, 19_531.25).tolist() == [0, 51, 102, 154, 512_000_000_000]
    odd = 1e5 / 3  # not a small fraction: float64 arithmetic
    assert sample_times_us(s, odd).tolist() == [0, 30, 60, 90, 300_000_000_000]


def test_to_events_gives_an_event_block() -> None:
    det = prefiltered(3)
    peaks = np.array([(4, 2, -55.5), (40, 0, -70.0)], dtype=PEAK_DTYPE)
    keys = make_key(1, 2, np.arange(3))
    ev = det.to_events(peaks, 1_000_000, keys)
    assert ev.dtype == EVENT_DTYPE
    assert ev["t_us"].tolist() == [1_000_200, 1_002_000]
    assert ev["key"].tolist() == [int(keys[2]), int(keys[0])]
    assert ev["value"].tolist() == [-55.5, -70.0]
    assert peaks_to_events(peaks[:0], FS, 0, keys).size == 0
    with pytest.raises(ValueError, match="key_of_channel has 2 keys"):
        det.to_events(peaks, 0, keys[:2])
    with pytest.raises(TypeError, match="t0_us"):
        det.to_events(peaks, 0.5, keys)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PEAK_DTYPE"):
        det.to_events(np.zeros(2), 0, keys)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"band_hz": (3000.0, 300.0)}, "band_hz"),
        ({"band_hz": (0.0, 300.0)}, "band_hz"),
        ({"band_hz": (300.0,)}, "band_hz"),
        ({"filter_order": 0}, "filter_order"),
        ({"filter_order": 2.0}, "filter_order"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": math.nan}, "threshold"),
        ({"peak_sign": "negative"}, "peak_sign"),
        ({"exclude_sweep_ms": -1.0}, "exclude_sweep_ms"),
        ({"dead_time_ms": -0.1}, "dead_time_ms"),
        ({"warmup_s": 1.5}, "warmup_s"),
        ({"noise_chunk_s": 0.0}, "noise_chunk_s"),
        ({"noise_tau_s": 0.0}, "noise_tau_s"),
        ({"noise_values": 8}, "noise_values"),
        ({"exclusion_radius_um": -5.0}, "exclusion_radius_um"),
        ({"exclusion_ms": math.inf}, "exclusion_ms"),
    ],
)
def test_bad_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"DetectorConfig.{field}"):
        DetectorConfig(**kwargs)  # type: ignore[arg-type]


def test_config_that_does_not_fit_the_sampling_rate() -> None:
    with pytest.raises(ValueError, match="band_hz upper edge 3000 Hz must be below the Nyquist"):
        StreamingDetector(2, 5000.0)
    with pytest.raises(ValueError, match=r"exclude_sweep_ms = 0\.01 ms is shorter than one sample"):
        StreamingDetector(2, FS, DetectorConfig(exclude_sweep_ms=0.01))
    with pytest.raises(ValueError, match="exclusion_radius_um is set but no positions"):
        StreamingDetector(2, FS, DetectorConfig(exclusion_radius_um=50.0))
    with pytest.raises(ValueError, match=r"positions must be .* shape \(2, 2\)"):
        StreamingDetector(2, FS, positions=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="noise_levels must have one value per channel"):
        StreamingDetector(2, FS, noise_levels=[1.0])
    with pytest.raises(ValueError, match=r"channel 1 has 0\.0"):
        StreamingDetector(2, FS, noise_levels=[1.0, 0.0])
    with pytest.raises(ValueError, match="sampling_rate_hz must be finite and > 0"):
        StreamingDetector(2, 0.0)
    with pytest.raises(ValueError, match="n_channels must be >= 1"):
        StreamingDetector(0, FS)


def test_bad_blocks_are_rejected_with_what_was_wrong() -> None:
    det = StreamingDetector(4, FS)
    with pytest.raises(ValueError, match=r"2-D \(samples, channels\)"):
        det.process(np.zeros(4, dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"block has 3 channels \(shape \(20, 3\)\), the detector 4"
    ):
        det.process(np.zeros((20, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="dtype must be float32 or int16, got float64"):
        det.process(np.zeros((20, 4)))
    with pytest.raises(TypeError, match="numpy array"):
        det.process([[0.0] * 4])  # type: ignore[arg-type]
    assert det.samples_seen == 0 and det.statistics()["blocks"] == 0


def test_a_nan_is_named_and_leaves_the_detector_unchanged() -> None:
    data = spiky_noise(int(FS * 2.5), 4, seed=9).astype(np.float32)
    want = run(StreamingDetector(4, FS), data, blocks_of(data.shape[0], 20))
    det = StreamingDetector(4, FS)
    out = [det.process(data[:41_000])]
    bad = data[41_000:41_020].copy()
    bad[7, 2] = np.nan
    with pytest.raises(
        ValueError,
        match=r"non-finite value \(nan\) at sample 41007 \(row 7 of the block\), channel 2",
    ):
        det.process(bad)
    bad[7, 2] = np.inf
    bad[3, 1] = -np.inf
    with pytest.raises(ValueError, match=r"at sample 41003 .* channel 1"):
        det.process(bad)
    assert det.samples_seen == 41_000
    out += [det.process(data[41_000:]), det.flush()]
    assert np.array_equal(np.concatenate(out), want)


def test_non_contiguous_blocks_are_accepted() -> None:
    data = spiky_noise(int(FS * 2.5), 4, seed=10).astype(np.float32)
    want = run(StreamingDetector(4, FS), data, [data.shape[0]])
    fortran = np.asfortranarray(data)
    assert np.array_equal(run(StreamingDetector(4, FS), fortran, [data.shape[0]]), want)

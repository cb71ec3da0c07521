"""Streaming spike detection: ione's detector against SpikeInterface's ``detect_peaks``, on one
core, side by side in one run.

Workloads (``--quick``: 64 channels, 0.3 s): 1024 channels at 20 kHz and 4096 channels at 18 kHz,
float32, on a square grid of electrodes 42 µm apart; white noise (σ = 10) plus spikes at 5 Hz per
channel (a 0.4 ms trough of 60 to 150, then a smaller bump), each also seen at half size on the 4
nearest electrodes. The data are generated before timing.

Rows (every "ione" row feeds 1 ms blocks to ``StreamingDetector.process`` one after the other):

- **ione: filter + detection**: raw blocks in, the detector as deployed: causal band-pass,
  thresholds from given noise levels (no warm-up) that keep updating every 1 s chunk, peaks.
- **ione: detection only**: blocks already filtered by ione's filter (``band_hz=None``) and the
  same noise levels, frozen: exactly what SpikeInterface is given, so detection is compared with
  detection. Its peaks are checked equal to SpikeInterface ``by_channel``'s (same sample and
  channel), or the benchmark fails.
- **ione: ... + exclusion**: the same with local exclusion (50 µm, 1 ms).
- **SpikeInterface by_channel / locally_exclusive, detect_peaks**: ``detect_peaks`` on the whole
  pre-filtered recording (``NumpyRecording``) with the same noise levels, threshold 5,
  ``exclude_sweep_ms=1``, ``radius_um=50``; job: ``n_jobs=1``, ``chunk_duration="1s"``. Its
  throughput is that call's; its latency columns time ``detect_peaks`` called on a 1 ms
  ``frame_slice`` (a sample of calls: the job machinery, and for ``locally_exclusive`` the channel
  distance matrix, are rebuilt on every call).
- **SpikeInterface ..., node per 1 ms block**: SpikeInterface's detector node built once and its
  ``compute`` called on every 1 ms block with its margins: the cheapest way to stream with it.

Timing: ``time.perf_counter_ns`` around each call; throughput = seconds of signal / seconds of
wall time of all calls (× real time). numba's JIT is warmed on a short stretch first (excluded).
The process is pinned to one core; ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``
and ``OPENBLAS_NUM_THREADS`` are 1 and threadpoolctl limits numpy's BLAS to one thread.
ione's rows: median of 5 runs (latencies of that run); SpikeInterface's: one run.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

from _common import cpu_model  # noqa: E402
from ione.culture.detect import (  # noqa: E402
    MAD_TO_SIGMA,
    DetectorConfig,
    StreamingDetector,
    causal_filter,
)

try:
    import spikeinterface
    import spikeinterface.core as si_core
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks
except ImportError:  # the test extra installs it; without it only ione's rows are printed
    spikeinterface = None

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

SIGMA = 10.0
PITCH_UM = 42.0
RADIUS_UM = 50.0
RATE_HZ = 5.0
THRESHOLD = 5.0
SWEEP_MS = 1.0

ROW_FILTER = "ione: filter + detection"
ROW_DETECT = "ione: detection only"
ROW_FILTER_X = "ione: filter + detection + exclusion"
ROW_DETECT_X = "ione: detection + exclusion"
ROW_SI_BC = "SpikeInterface by_channel, detect_peaks"
ROW_SI_BC_NODE = "SpikeInterface by_channel, node per 1 ms block"
ROW_SI_LE = "SpikeInterface locally_exclusive, detect_peaks"
ROW_SI_LE_NODE = "SpikeInterface locally_exclusive, node per 1 ms block"
PEER_OF = {  # the ione row each SpikeInterface row is compared with
    ROW_SI_BC: ROW_DETECT,
    ROW_SI_BC_NODE: ROW_DETECT,
    ROW_SI_LE: ROW_DETECT_X,
    ROW_SI_LE_NODE: ROW_DETECT_X,
}


@dataclass
class Row:
    name: str
    workload: str
    input: str
    x_real_time: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    latency_calls: int
    peaks: int


# ---------------------------------------------------------------------------- workload
def grid(n_channels: int) -> np.ndarray:
    side = math.isqrt(n_channels)
    if side * side != n_channels:
        raise ValueError(f"{n_channels} channels do not make a square grid")
    gx, gy = np.meshgrid(np.arange(side) * PITCH_UM, np.arange(side) * PITCH_UM)
    return np.c_[gx.ravel(), gy.ravel()]


def make_signal(n_channels: int, fs: float, seconds: float, seed: int) -> np.ndarray:
    """White noise plus spikes at RATE_HZ per channel, each at half size on the 4 nearest
    electrodes of the grid."""
    rng = np.random.default_rng(seed)
    n = round(fs * seconds)
    x = rng.standard_normal((n, n_channels), dtype=np.float32)
    x *= np.float32(SIGMA)
    length = round(1.2e-3 * fs)
    t_axis = np.arange(length) / fs
    shape = -np.exp(-(((t_axis - 0.2e-3) / 0.1e-3) ** 2)) + 0.3 * np.exp(
        -(((t_axis - 0.6e-3) / 0.25e-3) ** 2)
    )
    n_spikes = rng.poisson(RATE_HZ * seconds * n_channels)
    t0 = rng.integers(0, n - length, n_spikes)
    ch = rng.integers(0, n_channels, n_spikes)
    amp = rng.uniform(60.0, 150.0, n_spikes)
    side = math.isqrt(n_channels)
    row, col = np.divmod(ch, side)
    for dr, dc, gain in ((0, 0, 1.0), (-1, 0, 0.5), (1, 0, 0.5), (0, -1, 0.5), (0, 1, 0.5)):
        r2, c2 = row + dr, col + dc
        ok = (r2 >= 0) & (r2 < side) & (c2 >= 0) & (c2 < side)
        idx = ((t0[ok, None] + np.arange(length)) * n_channels + (r2 * side + c2)[ok, None]).ravel()
        np.add.at(x.reshape(-1), idx, (gain * amp[ok, None] * shape).ravel().astype(np.float32))
    return x


def noise_levels(filtered: np.ndarray, fs: float) -> np.ndarray:
    """MAD noise of the first second (every 4th sample), the levels every row is given."""
    v = filtered[: int(fs) : 4].astype(np.float64)
    med = np.median(v, axis=0)
    out: np.ndarray = np.median(np.abs(v - med), axis=0) / MAD_TO_SIGMA
    return out


# ---------------------------------------------------------------------------- ione
def run_ione(
    data: np.ndarray, fs: float, cfg: DetectorConfig, levels: np.ndarray, pos: np.ndarray | None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Feed 1 ms blocks; (wall seconds of all calls, per-call ns, all peaks)."""
    bs = round(fs / 1000)
    det = StreamingDetector(data.shape[1], fs, cfg, positions=pos, noise_levels=levels)
    n_blocks = data.shape[0] // bs
    lat = np.empty(n_blocks, dtype=np.int64)
    parts = []
    clock = time.perf_counter_ns
    for i in range(n_blocks):
        block = data[i * bs : (i + 1) * bs]
        t0 = clock()
        peaks = det.process(block)
        lat[i] = clock() - t0
        if peaks.size:
            parts.append(peaks)
    parts.append(det.flush())
    return lat.sum() / 1e9, lat, np.concatenate(parts)


def ione_row(
    name: str,
    workload: str,
    what: str,
    data: np.ndarray,
    fs: float,
    cfg: DetectorConfig,
    levels: np.ndarray,
    pos: np.ndarray | None,
    reps: int,
) -> tuple[Row, np.ndarray]:
    runs = [run_ione(data, fs, cfg, levels, pos) for _ in range(reps)]
    seconds, lat, peaks = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    bs = round(fs / 1000)
    signal_s = (data.shape[0] // bs) * bs / fs
    p50, p99, top = np.percentile(lat, [50, 99, 100]) / 1e6
    row = Row(name, workload, what, signal_s / seconds, p50, p99, top, lat.size, int(peaks.size))
    return row, peaks


# ---------------------------------------------------------------------------- SpikeInterface
def si_recording(filtered: np.ndarray, fs: float, pos: np.ndarray) -> Any:
    rec = si_core.NumpyRecording(filtered, fs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec.set_channel_locations(pos)
    return rec


def si_kwargs(method: str, levels: np.ndarray) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "peak_sign": "neg",
        "detect_threshold": THRESHOLD,
        "exclude_sweep_ms": SWEEP_MS,
        "noise_levels": levels,
    }
    if method == "locally_exclusive":
        kw["radius_um"] = RADIUS_UM
    return kw


JOB = {"n_jobs": 1, "chunk_duration": "1s", "progress_bar": False}


def si_rows(
    method: str,
    workload: str,
    rec: Any,
    filtered: np.ndarray,
    fs: float,
    levels: np.ndarray,
    n_calls: int,
) -> tuple[list[Row], np.ndarray]:
    kw = si_kwargs(method, levels)
    bs = round(fs / 1000)
    n_blocks = filtered.shape[0] // bs
    signal_s = n_blocks * bs / fs
    detect_peaks(rec.frame_slice(0, 4 * bs), method=method, method_kwargs=kw, job_kwargs=JOB)
    t0 = time.perf_counter()
    peaks = detect_peaks(rec, method=method, method_kwargs=kw, job_kwargs=JOB)
    whole_s = time.perf_counter() - t0
    # detect_peaks on 1 ms slices, spread over the recording
    starts = np.linspace(bs, (n_blocks - 2) * bs, n_calls).astype(np.int64) // bs * bs
    lat = []
    for s in starts:
        sl = rec.frame_slice(int(s), int(s) + bs)
        t0 = time.perf_counter_ns()
        detect_peaks(sl, method=method, method_kwargs=kw, job_kwargs=JOB)
        lat.append(time.perf_counter_ns() - t0)
    lat_ms = np.array(lat) / 1e6
    name = ROW_SI_BC if method == "by_channel" else ROW_SI_LE
    what = "pre-filtered, one call on all"
    rows = [
        Row(
            name,
            workload,
            what,
            signal_s / whole_s,
            *np.percentile(lat_ms, [50, 99, 100]).tolist(),
            len(lat),
            int(peaks.size),
        )
    ]
    node_row = si_node_row(method, workload, rec, filtered, fs, kw)
    if node_row is not None:
        rows.append(node_row)
    return rows, peaks


def si_node_row(
    method: str, workload: str, rec: Any, filtered: np.ndarray, fs: float, kw: dict[str, Any]
) -> Row | None:
    """The detector node built once, ``compute`` on each 1 ms block with its margins (internal
    API of SpikeInterface 0.10x: skipped if it moved)."""
    try:
        if method == "by_channel":
            from spikeinterface.sortingcomponents.peak_detection.by_channel import (
                ByChannelPeakDetector as Node,
            )
        else:
            from spikeinterface.sortingcomponents.peak_detection.locally_exclusive import (
                LocallyExclusivePeakDetector as Node,
            )
        node = Node(rec, **kw)
    except (ImportError, TypeError) as exc:  # pragma: no cover - depends on the version
        print(f"SpikeInterface {method} node not available ({exc}); its row is left out.\n")
        return None
    margin = node.get_margin()
    bs = round(fs / 1000)
    n_blocks = filtered.shape[0] // bs
    padded = np.zeros((filtered.shape[0] + 2 * margin, filtered.shape[1]), dtype=np.float32)
    padded[margin : margin + filtered.shape[0]] = filtered
    node.compute(padded[: bs + 2 * margin], 0, bs, 0, margin)  # numba warm-up
    lat = np.empty(n_blocks, dtype=np.int64)
    found = 0
    clock = time.perf_counter_ns
    for i in range(n_blocks):
        chunk = padded[i * bs : (i + 1) * bs + 2 * margin]
        t0 = clock()
        (peaks,) = node.compute(chunk, i * bs, (i + 1) * bs, 0, margin)
        lat[i] = clock() - t0
        found += peaks.size
    name = ROW_SI_BC_NODE if method == "by_channel" else ROW_SI_LE_NODE
    p50, p99, top = np.percentile(lat, [50, 99, 100]) / 1e6
    signal_s = n_blocks * bs / fs
    return Row(name, workload, "pre-filtered, 1 ms blocks", signal_s / (lat.sum() / 1e9), p50,
               p99, top, lat.size, found)  # fmt: skip


# ---------------------------------------------------------------------------- report
def machine() -> str:
    model = cpu_model()
    si = f"SpikeInterface {spikeinterface.__version__}" if spikeinterface else "no SpikeInterface"
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
        f"{np.__version__}, numba {numba.__version__}, {si}"
    )


def fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def measure(
    n_ch: int, fs: float, seconds: float, reps: int, si_calls: tuple[int, int]
) -> list[Row]:
    workload = f"{n_ch} ch × {fs / 1000:g} kHz"
    raw = make_signal(n_ch, fs, seconds, seed=n_ch)
    pos = grid(n_ch)
    filtered = causal_filter(raw, fs)
    levels = noise_levels(filtered, fs)
    deployed = DetectorConfig()
    frozen = DetectorConfig(band_hz=None, noise_tau_s=math.inf)
    excl = {"exclusion_radius_um": RADIUS_UM, "exclusion_ms": SWEEP_MS}
    short = int(0.1 * fs)
    for cfg, data in ((deployed, raw), (frozen, filtered)):  # numba JIT warm-up, not timed
        for c in (cfg, DetectorConfig(**{**asdict(cfg), **excl})):
            run_ione(data[:short], fs, c, levels, pos)
    rows = []
    plan = [
        (ROW_FILTER, "raw", deployed, raw),
        (ROW_DETECT, "pre-filtered", frozen, filtered),
        (ROW_FILTER_X, "raw", DetectorConfig(**{**asdict(deployed), **excl}), raw),
        (ROW_DETECT_X, "pre-filtered", DetectorConfig(**{**asdict(frozen), **excl}), filtered),
    ]
    ione_peaks = {}
    for name, what, cfg, data in plan:
        row, peaks = ione_row(name, workload, what + ", 1 ms blocks", data, fs, cfg, levels, pos,
                              reps)  # fmt: skip
        rows.append(row)
        ione_peaks[name] = peaks
    if spikeinterface is not None:
        rec = si_recording(filtered, fs, pos)
        for method, calls in zip(("by_channel", "locally_exclusive"), si_calls, strict=True):
            si, peaks = si_rows(method, workload, rec, filtered, fs, levels, calls)
            rows += si
            if method == "by_channel":
                check_equal(ione_peaks[ROW_DETECT], peaks, workload)
    return rows


def check_equal(ours: np.ndarray, theirs: np.ndarray, workload: str) -> None:
    """ione's detection-only peaks must be SpikeInterface by_channel's, sample and channel."""
    a = set(zip(ours["sample_index"].tolist(), ours["channel"].tolist(), strict=True))
    b = set(zip(theirs["sample_index"].tolist(), theirs["channel_index"].tolist(), strict=True))
    if a != b:
        raise AssertionError(
            f"{workload}: ione detection-only found {len(a)} peaks, SpikeInterface by_channel "
            f"{len(b)}, {len(a & b)} in common"
        )
    print(f"Check ({workload}): ione detection-only = SpikeInterface by_channel, {len(a)} peaks.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (smoke)")
    parser.add_argument("--seconds", type=float, help="signal per workload (default 3; quick 0.3)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    if args.quick:
        workloads = [(64, 20_000.0), (64, 18_000.0)]
        reps, si_calls = 1, (5, 3)
    else:
        workloads = [(1024, 20_000.0), (4096, 18_000.0)]
        reps, si_calls = 5, (100, 5)
    pinned = "not pinned"
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        pinned = f"pinned to core {core}"
    limits = threadpool_limits(1) if threadpool_limits is not None else None
    print(f"## Streaming spike detection, one core ({pinned})\n")
    print(f"Machine: {machine()}\n")
    print(f"Command: {shlex.join([sys.executable, *sys.argv])}\n")
    print(
        f"Workload: float32, σ = {SIGMA:g} noise + spikes at {RATE_HZ:g} Hz per channel on a "
        f"{PITCH_UM:g} µm grid, {seconds:g} s per workload; threshold {THRESHOLD:g} × MAD noise, "
        f"exclude sweep {SWEEP_MS:g} ms, exclusion radius {RADIUS_UM:g} µm; NUMBA_NUM_THREADS=1, "
        f"BLAS threads 1{' (threadpoolctl)' if limits is not None else ''}; JIT warm-up "
        f"excluded; ione rows median of {reps} run(s).\n"
    )
    if spikeinterface is None:
        print(
            "SpikeInterface is not installed (pip install -e '.[test]'): its rows are left out.\n"
        )
    rows: list[Row] = []
    for n_ch, fs in workloads:
        rows += measure(n_ch, fs, seconds, reps, si_calls)
    print(
        "| row | workload | input | × real time | p50 ms/block | p99 ms/block | max ms/block "
        "| calls timed | peaks | ione ÷ this |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    by_key = {(r.name, r.workload): r for r in rows}
    for r in rows:
        peer = PEER_OF.get(r.name)
        ratio = "—"
        if peer is not None:
            ratio = f"{by_key[(peer, r.workload)].x_real_time / r.x_real_time:.1f}×"
        print(
            f"| {r.name} | {r.workload} | {r.input} | {r.x_real_time:.2f} | {fmt(r.p50_ms)} | "
            f"{fmt(r.p99_ms)} | {fmt(r.max_ms)} | {r.latency_calls} | {r.peaks} | {ratio} |"
        )
    print()
    print("ione ÷ this: ione's × real time over this row's (by_channel rows against ione's")
    print("detection only, locally_exclusive rows against ione's detection + exclusion).")
    print("SpikeInterface detect_peaks latency: a sample of calls on 1 ms frame slices.\n")
    if args.quick:
        print("Quick run: tiny sizes, not the workloads the goals are about.\n")
    goals(rows, workloads)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


def goals(rows: list[Row], workloads: list[tuple[int, float]]) -> None:
    def get(name: str, wl: str) -> Row | None:
        return next((r for r in rows if r.name == name and r.workload == wl), None)

    names = [f"{n} ch × {fs / 1000:g} kHz" for n, fs in workloads]
    big, small = names[-1], names[0]
    ione_big = get(ROW_FILTER, big)
    assert ione_big is not None
    ok = "met" if ione_big.x_real_time >= 10 else "NOT met"
    print(f"Goal 1: ≥ 10× real time at {big} (ione, filter + detection, 1 ms blocks): {ok} "
          f"({ione_big.x_real_time:.1f}×).")  # fmt: skip
    parts = []
    for wl in names:
        si = [r for r in rows if r.workload == wl and r.name.startswith("SpikeInterface")]
        if not si:
            continue
        fastest = max(si, key=lambda r: r.x_real_time)
        det = get(ROW_DETECT, wl)
        filt = get(ROW_FILTER, wl)
        assert det is not None and filt is not None
        parts.append((wl, det.x_real_time / fastest.x_real_time,
                      filt.x_real_time / fastest.x_real_time, fastest.name))  # fmt: skip
    if parts:
        ok = "met" if all(p[1] >= 2 for p in parts) else "NOT met"
        detail = "; ".join(
            f"{wl}: {d:.1f}× {n} (ione's filter included: {f:.1f}×)" for wl, d, f, n in parts
        )
        print(
            "Goal 2: ione's detection ≥ 2× the fastest SpikeInterface method, both given the same "
            f"pre-filtered data: {ok} ({detail})."
        )
    small_row = get(ROW_FILTER, small)
    assert small_row is not None and small_row.p99_ms is not None
    ok = "met" if small_row.p99_ms <= 0.5 else "NOT met"
    print(f"Goal 3: p99 ≤ 0.5 ms per 1 ms block at {small} (ione, filter + detection): {ok} "
          f"({small_row.p99_ms:.3f} ms).")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())

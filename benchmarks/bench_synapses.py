"""Memristive synapse bank benchmark: the hub's work, per row and at scale, on one core.

1. **Row update**: µs per post-synaptic trigger of the rate rule on a row of 1024 data-driven
   TiOx devices (DUT1, cycle-to-cycle σ 0.2, device-to-device σ 0.1), with presynaptic neurons
   firing 10 Hz Poisson: count each presynaptic neuron's spikes in the last second, decide, program
   with noise, re-read. Measured for triggers batched by tick (as a hub processes a tick) and for
   one trigger per call.
2. **Real time**: the whole hub loop for banks of growing size, all-to-all between ``n_pre`` and
   ``n_post`` neurons firing 10 Hz Poisson, in 1 ms ticks: record the tick's presynaptic spikes,
   read every synapse of each presynaptic spike (the weighted events the hub sends), and apply the
   rule to every row of each postsynaptic spike. Reported: seconds of computation per second of
   activity; a bank keeps up in real time when this is below 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from ione.models.memristor import DATA_DRIVEN_DUT1, DataDriven
from ione.models.plasticity import RateRule, SpikeHistory
from ione.models.synapses import SynapseBank

S = 1_000_000
TICK = 1_000


def poisson_ticks(rng: np.random.Generator, n: int, rate_hz: float, ticks: int) -> list[np.ndarray]:
    """Neuron indices spiking in each 1 ms tick."""
    counts = rng.poisson(n * rate_hz * TICK / S, ticks)
    return [rng.integers(0, n, c) for c in counts]


def make_bank(n_pre: int, n_post: int, rng: np.random.Generator) -> SynapseBank:
    pre = np.tile(np.arange(n_pre), n_post)
    post = np.repeat(np.arange(n_post), n_pre)
    model = DataDriven(DATA_DRIVEN_DUT1, c2c_sigma=0.2, d2d_rate_sigma=0.1)
    state = model.initial_state(pre.size, rng, r_ohm=rng.uniform(4700, 6500, pre.size))
    return SynapseBank(pre, post, model, state, n_pre=n_pre, n_post=n_post)


def warm_history(n_pre: int, rng: np.random.Generator, seconds: int = 2) -> SpikeHistory:
    h = SpikeHistory(n_pre)
    for k, idx in enumerate(poisson_ticks(rng, n_pre, 10.0, seconds * 1000)):
        h.record(np.unique(idx), k * TICK)
    return h


def row_update(reps: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """(µs per row batched, µs per row single call, pulses per row)."""
    n_pre, n_post = 1024, 256
    bank = make_bank(n_pre, n_post, rng)
    h = warm_history(n_pre, rng)
    rule = RateRule()
    t0 = 2 * S
    posts = rng.integers(0, n_post, reps)
    times = t0 + np.arange(reps)  # in time order, at the end of the recorded history
    bank.on_post_spikes(posts[:10], times[:10], rule, h, rng)  # compile and warm
    start = time.perf_counter()
    u = bank.on_post_spikes(posts, times, rule, h, rng)
    batched = (time.perf_counter() - start) / reps
    t1 = int(times[-1]) + 1
    start = time.perf_counter()
    for k in range(reps // 10):
        bank.on_post_spike(int(posts[k]), t1 + k, rule, h, rng)
    single = (time.perf_counter() - start) / (reps // 10)
    return batched * 1e6, single * 1e6, (u.ltp + u.ltd) / reps


def real_time(n_pre: int, n_post: int, seconds: float, rng: np.random.Generator) -> float:
    """Seconds of computation per second of activity for the whole hub loop."""
    bank = make_bank(n_pre, n_post, rng)
    h = warm_history(n_pre, rng)
    rule = RateRule()
    ticks = int(seconds * 1000)
    pre_ticks = poisson_ticks(rng, n_pre, 10.0, ticks)
    post_ticks = poisson_ticks(rng, n_post, 10.0, ticks)
    t0 = 2 * S
    start = time.perf_counter()
    for k in range(ticks):
        t = t0 + k * TICK
        pres = np.unique(pre_ticks[k])
        if pres.size:
            h.record(pres, t)
            bank.read_pres(pres)
        posts = post_ticks[k]
        if posts.size:
            bank.on_post_spikes(posts, t, rule, h, rng)
    return (time.perf_counter() - start) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args(argv)
    pinned = "not pinned"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = f"pinned to core {min(os.sched_getaffinity(0))}"
    rng = np.random.default_rng(1)
    print(f"## Memristive synapse bank ({pinned}; Python {platform.python_version()}, "
          f"numpy {np.__version__})\n")  # fmt: skip
    reps = 500 if args.quick else 20_000
    rounds = [row_update(reps, rng) for _ in range(1 if args.quick else 5)]
    batched, single, pulses = (float(np.median([r[i] for r in rounds])) for i in range(3))
    print("| row update, 1024 data-driven devices with noise | µs per row | pulses per row |")
    print("|---|---:|---:|")
    print(f"| triggers of a tick in one call | {batched:.2f} | {pulses:.1f} |")
    print(f"| one trigger per call | {single:.2f} | {pulses:.1f} |")
    print("\nGoal (issue 3): ≤ 5 µs per 1024-synapse row update.\n")
    sizes = [(256, 64)] if args.quick else [(1024, 128), (1024, 256), (1024, 512), (1024, 1024),
                                            (2048, 1024)]  # fmt: skip
    seconds = 0.5 if args.quick else 5.0
    print("| synapses (pre × post) | compute s per activity s | real time? |")
    print("|---|---:|---|")
    largest = 0
    for n_pre, n_post in sizes:
        load = real_time(n_pre, n_post, seconds, rng)
        ok = load < 1.0
        if ok:
            largest = max(largest, n_pre * n_post)
        print(f"| {n_pre * n_post:,} ({n_pre} × {n_post}) | {load:.3f} | {'yes' if ok else 'no'} |")
    print(f"\nLargest bank in real time here: {largest:,} synapses "
          "(10 Hz Poisson pre and post, all-to-all). Goal (issue 3): ≥ 10^6 synapses.")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

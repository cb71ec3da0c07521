"""COBA-4000 benchmark: ione's compiled network against Brian2 and NEST, side by side.

The workload is BENCHMARKS.md's COBA-4000 (Brette et al., J. Comput. Neurosci. 23:349, 2007,
benchmark 1; Vogels & Abbott 2005): 3200 excitatory + 800 inhibitory conductance-based LIF cells,
p = 0.02, dt = 0.1 ms, self-sustained activity from random initial conditions. ione draws one
network and one initial state from a fixed seed and every simulator integrates exactly that
network from exactly that state, in one run, on one pinned core, one thread each:

- **ione** ``coba_run`` (numba), in this process;
- **Brian2 cpp_standalone** (C++ generated into a temporary directory, ``openmp_threads = 0``),
  with the same exponential Euler scheme as ione, and once more with forward Euler, which skips
  the exponential per neuron and step (cheaper, less accurate; Brian2's usual COBA figures);
- **Brian2 runtime** (Cython code generation, Brian2's default);
- **NEST** ``iaf_cond_exp`` (``local_num_threads = 1``, GSL RKF45 inside each step).

Each peer runs in its own subprocess (``benchmarks/peers/``), so that imports, compiled code and
memory do not interfere. Reported per simulator: build time (construction plus code generation
and compilation, apart from simulation), seconds of wall time per second of biological time
(median over repeats), speed relative to real time, mean firing rate (a sanity check: the models
are the same, the rates should agree to a few percent; refractory bookkeeping and NEST's one-step
minimum delay shift them slightly), synaptic events per second, and ione's speed-up over each.

Usage: ``python benchmarks/bench_coba.py [--quick] [--core N] [--peers a,b,...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from ione.models.neuron.coba import COBA_4000, COBANetwork, coba_build, coba_run
from ione.models.neuron.lif import LIFCondState

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
SEED = 20070101  # a seed whose network sustains its activity (about 1 in 20 do not)
PEER_NAMES = ("standalone", "standalone-euler", "runtime", "nest")


@dataclass
class Result:
    name: str
    build_s: float
    run_s: list[float]
    spikes: int
    events: int
    note: str = ""

    @property
    def per_bio_s(self) -> float:
        return statistics.median(self.run_s)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def versions() -> str:
    out = [
        f"Python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"numba {numba.__version__}",
    ]
    for module in ("brian2", "nest"):
        code = (
            "import os, sys; os.environ['PYNEST_QUIET'] = '1'; "
            f"import {module}; sys.stdout.write({module}.__version__)"
        )
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        out.append(
            f"{module} {r.stdout.strip()}" if r.returncode == 0 else f"{module} (not importable)"
        )
    try:
        gcc = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True).stdout
        out.append(f"gcc {gcc.strip()}")
    except OSError:
        out.append("gcc (absent)")
    return ", ".join(out)


def save_network(path: Path) -> tuple[float, COBANetwork, LIFCondState]:
    """Build the seeded network, write it for the peers; returns build time, network, state."""
    t0 = time.perf_counter()
    net, state = coba_build(COBA_4000, np.random.default_rng(SEED))
    build_s = time.perf_counter() - t0
    c = COBA_4000.neuron
    pre = np.repeat(np.arange(COBA_4000.n, dtype=np.int32), net.out_degree)
    np.savez(
        path,
        pre=pre,
        post=net.indices,
        v_mv=state.v_mv,
        g_e_ns=state.g_e_us * 1e3,
        g_i_ns=state.g_i_us * 1e3,
        n_exc=COBA_4000.n_exc,
        dt_ms=COBA_4000.dt_us / 1e3,
        c_m_pf=c.c_m_nf * 1e3,
        g_l_ns=c.g_leak_us * 1e3,
        e_l_mv=c.v_rest_mv,
        v_th_mv=c.v_thresh_mv,
        v_reset_mv=c.v_reset_mv,
        t_ref_ms=c.tau_refrac_ms,
        tau_e_ms=c.tau_syn_e_ms,
        tau_i_ms=c.tau_syn_i_ms,
        e_e_mv=c.e_rev_e_mv,
        e_i_mv=c.e_rev_i_mv,
        w_e_ns=COBA_4000.w_exc_us * 1e3,
        w_i_ns=COBA_4000.w_inh_us * 1e3,
    )
    return build_s, net, state


def run_ione(
    net: COBANetwork, state: LIFCondState, build_s: float, bio_s: float, repeats: int
) -> Result:
    n_steps = round(bio_s * 1e6 / COBA_4000.dt_us)
    t0 = time.perf_counter()
    coba_run(net, state, 1)  # JIT compile, or load numba's cache
    compile_s = time.perf_counter() - t0
    times, record = [], None
    for _ in range(repeats):
        t1 = time.perf_counter()
        _, record = coba_run(net, state, n_steps)
        times.append((time.perf_counter() - t1) / bio_s)
    assert record is not None
    note = f"construction {build_s * 1e3:.0f} ms + JIT/cache {compile_s:.1f} s"
    return Result("ione coba_run (numba)", build_s + compile_s, times, record.n_spikes,
                  record.n_synaptic_events, note)  # fmt: skip


def run_peer(name: str, argv: list[str], bio_s: float, timeout_s: float) -> Result | str:
    """Run a peer script; its JSON line as a Result, or the reason it could not run."""
    try:
        r = subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"{name}: timed out after {timeout_s:.0f} s"
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{name}: failed ({tail})"
    d = json.loads(lines[-1])
    runs = d["run_s"] if isinstance(d["run_s"], list) else [d["run_s"]]
    note = d["simulator"] + (
        f", Cython cache {d['cache']}" if d.get("cache", "n/a") != "n/a" else ""
    )
    return Result(
        name, d["build_s"], [t / bio_s for t in runs], d["spikes"], d["synaptic_events"], note
    )


def importable(module: str) -> bool:
    code = f"import os; os.environ['PYNEST_QUIET'] = '1'; import {module}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def table(results: list[Result], bio_s: float, n: int) -> str:
    ione = results[0]
    rows = [
        "| simulator | build (s) | s per bio-s (median) | × real time | rate (Hz) "
        "| synaptic events/s | ione speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r.spikes / (n * bio_s)
        events_per_s = r.events / (r.per_bio_s * bio_s)
        speedup = r.per_bio_s / ione.per_bio_s
        rows.append(
            f"| {r.name} | {r.build_s:.2f} | {r.per_bio_s:.4f} (n={len(r.run_s)}) "
            f"| {1 / r.per_bio_s:.1f} | {rate:.2f} | {events_per_s / 1e6:.1f} M "
            f"| {'1 (reference)' if r is ione else f'{speedup:.2f}×'} |"
        )
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="0.2 s of biological time, one repeat")
    ap.add_argument(
        "--core", type=int, default=None, help="CPU core to pin (default: last allowed)"
    )
    ap.add_argument(
        "--peers",
        default=",".join(PEER_NAMES),
        help=f"comma-separated subset of {','.join(PEER_NAMES)} (default: all)",
    )
    args = ap.parse_args()

    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[-1] if args.core is None else args.core
    os.sched_setaffinity(0, {core})  # inherited by every peer subprocess
    bio_s = 0.2 if args.quick else 10.0
    wanted = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = set(wanted) - set(PEER_NAMES)
    if unknown:
        ap.error(f"unknown peers {sorted(unknown)}; choose from {','.join(PEER_NAMES)}")
    reps = dict.fromkeys(("ione", *PEER_NAMES), 1)
    if not args.quick:  # NEST needs ~10 s per biological second: one repeat only
        reps.update({"ione": 5, "standalone": 3, "standalone-euler": 3, "runtime": 3})
    print(f"## COBA-4000, {bio_s:g} s of biological time, dt = 0.1 ms, one thread (core {core})\n")
    print(f"Machine: {machine()}; {versions()}")
    print(f"Command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")

    skipped: list[str] = []
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="ione-coba-") as tmp:
        path = Path(tmp) / "network.npz"
        build_s, net, state = save_network(path)
        results.append(run_ione(net, state, build_s, bio_s, reps["ione"]))
        common = ["--network", str(path), "--duration-ms", str(bio_s * 1e3)]
        brian2 = [str(PEERS / "coba_brian2.py"), *common]
        peers = {
            "standalone": ("Brian2 cpp_standalone", "brian2", [*brian2, "--device",
                           "cpp_standalone"], 600.0),
            "standalone-euler": ("Brian2 cpp_standalone, forward Euler", "brian2", [*brian2,
                                 "--device", "cpp_standalone", "--method", "euler"], 600.0),
            "runtime": ("Brian2 runtime (Cython)", "brian2", [*brian2, "--device", "runtime"],
                        900.0),
            "nest": ("NEST iaf_cond_exp", "nest", [str(PEERS / "coba_nest.py"), *common], 1800.0),
        }  # fmt: skip
        for key in PEER_NAMES:
            if key not in wanted:
                continue
            name, module, argv, timeout_s = peers[key]
            argv = [*argv, "--repeats", str(reps[key])]
            if not importable(module):
                skipped.append(
                    f"{name}: skipped, `{module}` is not importable (pip install -e '.[bench]')"
                )
                continue
            out = run_peer(name, argv, bio_s, timeout_s)
            if isinstance(out, str):
                skipped.append(out)
            else:
                results.append(out)

    print(table(results, bio_s, COBA_4000.n))
    print()
    for r in results:
        print(f"- {r.name}: {r.note}")
    for reason in skipped:
        print(f"- {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

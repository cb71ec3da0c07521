"""COBA-4000 in Brian2, for ``benchmarks/bench_coba.py`` (run in its own subprocess).

Reads the network ione built (``--network``, an ``.npz`` with the synapses ``pre``/``post`` and
the initial ``v_mv``, ``g_e_ns``, ``g_i_ns``), so all simulators integrate the same network from
the same state, and prints one JSON line: build and run times, spike and synaptic-event counts.

The model is the one of Brette et al. (2007), benchmark 1, as Brian2 writes it: exponential Euler
for the membrane (exact for frozen conductances; Brian2's default for these equations, and
ione's scheme), exact decay of the conductances, threshold, reset and a 5 ms refractory period
that clamps ``v``; spikes reach their targets at the next step. ``--method euler`` integrates
with forward Euler instead: cheaper (no exponential per neuron and step), less accurate.

``--device cpp_standalone`` generates and compiles a C++ project in a temporary directory (one
thread: ``openmp_threads = 0``) and runs the binary ``--repeats`` times; the run time is the one
the binary measures around its network loop. ``--device runtime`` uses Brian2's default Cython
code generation (and its cache of compiled code objects: ``cache`` reports whether this run had
to compile them); a short warm-up run, undone with ``store``/``restore``, compiles every code
object before the timed runs, each of which restarts from the stored initial state.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--network", required=True)
    ap.add_argument("--duration-ms", type=float, required=True)
    ap.add_argument("--device", choices=["cpp_standalone", "runtime"], required=True)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--method", choices=["exponential_euler", "euler"], default="exponential_euler")
    args = ap.parse_args()

    import brian2 as b2
    from brian2 import ms, mV, nS, pF

    net = np.load(args.network)
    p = {k: float(net[k]) for k in net.files if net[k].ndim == 0}
    n = net["v_mv"].size
    n_exc = int(p["n_exc"])
    b2.prefs.codegen.target = "cython" if args.device == "runtime" else "numpy"
    b2.defaultclock.dt = p["dt_ms"] * ms
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ione-coba-brian2-") as build_dir:
        cache = "n/a"
        if args.device == "cpp_standalone":
            b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
            b2.prefs.devices.cpp_standalone.openmp_threads = 0
        else:
            cached_before = _cython_cache_size()
        ns = {
            "g_l": p["g_l_ns"] * nS,
            "c_m": p["c_m_pf"] * pF,
            "e_l": p["e_l_mv"] * mV,
            "e_e": p["e_e_mv"] * mV,
            "e_i": p["e_i_mv"] * mV,
            "tau_e": p["tau_e_ms"] * ms,
            "tau_i": p["tau_i_ms"] * ms,
            "v_th": p["v_th_mv"] * mV,
            "v_reset": p["v_reset_mv"] * mV,
            "w_e": p["w_e_ns"] * nS,
            "w_i": p["w_i_ns"] * nS,
        }
        eqs = """
        dv/dt = (g_l*(e_l - v) + g_e*(e_e - v) + g_i*(e_i - v))/c_m : volt (unless refractory)
        dg_e/dt = -g_e/tau_e : siemens
        dg_i/dt = -g_i/tau_i : siemens
        """
        group = b2.NeuronGroup(
            n,
            eqs,
            threshold="v > v_th",
            reset="v = v_reset",
            refractory=p["t_ref_ms"] * ms,
            method=args.method,
            namespace=ns,
        )
        group.v = net["v_mv"] * mV
        group.g_e = net["g_e_ns"] * nS
        group.g_i = net["g_i_ns"] * nS
        pre, post = net["pre"], net["post"]
        exc = pre < n_exc
        s_e = b2.Synapses(group, group, on_pre="g_e_post += w_e", namespace=ns)
        s_e.connect(i=pre[exc], j=post[exc])
        s_i = b2.Synapses(group, group, on_pre="g_i_post += w_i", namespace=ns)
        s_i.connect(i=pre[~exc], j=post[~exc])
        spikes = b2.SpikeMonitor(group, record=False)  # counts only, as ione does
        network = b2.Network(group, s_e, s_i, spikes)
        duration = args.duration_ms * ms
        run_s: list[float] = []
        if args.device == "cpp_standalone":
            network.run(duration)
            b2.device.build(directory=build_dir, compile=True, run=False, with_output=False)
            build_s = time.perf_counter() - t0
            for _ in range(args.repeats):
                b2.device.run(directory=build_dir, with_output=False)
                run_s.append(float(b2.device._last_run_time))
        else:
            network.store()
            network.run(p["dt_ms"] * ms)  # compiles every code object
            build_s = time.perf_counter() - t0
            cache = "warm" if _cython_cache_size() == cached_before else "cold"
            for _ in range(args.repeats):
                network.restore()
                t1 = time.perf_counter()
                network.run(duration)
                run_s.append(time.perf_counter() - t1)
        counts = np.asarray(spikes.count[:], dtype=np.int64)
    out_degree = np.bincount(pre, minlength=n)
    print(
        json.dumps(
            {
                "simulator": f"Brian2 {b2.__version__} {args.device}, {args.method}",
                "build_s": build_s,
                "run_s": run_s,
                "cache": cache,
                "spikes": int(counts.sum()),
                "synaptic_events": int(counts @ out_degree),
            }
        )
    )


def _cython_cache_size() -> int:
    """Number of files in Brian2's Cython cache (to tell a cold compile from a warm one)."""
    from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

    root = get_cython_cache_dir()
    return sum(len(files) for _, _, files in os.walk(root)) if os.path.isdir(root) else 0


if __name__ == "__main__":
    main()

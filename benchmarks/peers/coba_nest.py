"""COBA-4000 in NEST 3 with ``iaf_cond_exp``, for ``benchmarks/bench_coba.py`` (own subprocess).

Reads the network ione built (``--network``: synapses ``pre``/``post``, initial ``v_mv``,
``g_e_ns``, ``g_i_ns``), connects it one-to-one from those arrays, and prints one JSON line:
build time (kernel set-up, nodes, connections), the time of each ``Simulate`` call, spike and
synaptic-event counts. One thread (``local_num_threads = 1``), warnings only.

``iaf_cond_exp`` integrates the same equations with GSL's adaptive Runge-Kutta-Fehlberg 4(5)
solver inside each 0.1 ms step. NEST's smallest delay is one step: a spike reaches its targets'
conductances one step later than in ione and Brian2. Repeats continue the same simulation
(its activity is stationary), so only the first run's spikes are counted.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--network", required=True)
    ap.add_argument("--duration-ms", type=float, required=True)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()

    os.environ.setdefault("PYNEST_QUIET", "1")  # no start-up banner
    import nest

    net = np.load(args.network)
    p = {k: float(net[k]) for k in net.files if net[k].ndim == 0}
    n = net["v_mv"].size
    n_exc = int(p["n_exc"])
    t0 = time.perf_counter()
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.WARNING
    else:  # NEST < 3.10
        nest.set_verbosity("M_WARNING")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": p["dt_ms"], "local_num_threads": 1, "print_time": False})
    cells = nest.Create(
        "iaf_cond_exp",
        n,
        params={
            "C_m": p["c_m_pf"],
            "g_L": p["g_l_ns"],
            "E_L": p["e_l_mv"],
            "V_th": p["v_th_mv"],
            "V_reset": p["v_reset_mv"],
            "t_ref": p["t_ref_ms"],
            "tau_syn_ex": p["tau_e_ms"],
            "tau_syn_in": p["tau_i_ms"],
            "E_ex": p["e_e_mv"],
            "E_in": p["e_i_mv"],
            "I_e": 0.0,
        },
    )
    cells.set(V_m=net["v_mv"].tolist(), g_ex=net["g_e_ns"].tolist(), g_in=net["g_i_ns"].tolist())
    first = cells[0].global_id
    pre, post = net["pre"].astype(np.int64), net["post"].astype(np.int64)
    # iaf_cond_exp routes negative weights to the inhibitory conductance.
    weight = np.where(pre < n_exc, p["w_e_ns"], -p["w_i_ns"])
    nest.Connect(
        pre + first,
        post + first,
        conn_spec="one_to_one",
        syn_spec={
            "synapse_model": "static_synapse",
            "weight": weight,
            "delay": np.full(pre.size, p["dt_ms"]),
        },
    )
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    build_s = time.perf_counter() - t0
    run_s = []
    counts = np.zeros(n, np.int64)
    for r in range(args.repeats):
        t1 = time.perf_counter()
        nest.Simulate(args.duration_ms)
        run_s.append(time.perf_counter() - t1)
        if r == 0:
            senders = np.asarray(recorder.get("events")["senders"], np.int64)
            counts = np.bincount(senders - first, minlength=n)
    out_degree = np.bincount(pre, minlength=n)
    print(
        json.dumps(
            {
                "simulator": f"NEST {nest.__version__} iaf_cond_exp",
                "build_s": build_s,
                "run_s": run_s,
                "spikes": int(counts.sum()),
                "synaptic_events": int(counts @ out_degree),
            }
        )
    )


if __name__ == "__main__":
    main()

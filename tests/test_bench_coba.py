"""The COBA benchmark keeps running: a quick pass prints its table (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_coba.py"
ROWS = {
    "standalone": ("| Brian2 cpp_standalone |", "brian2"),
    "standalone-euler": ("| Brian2 cpp_standalone, forward Euler |", "brian2"),
    "runtime": ("| Brian2 runtime (Cython) |", "brian2"),
    "nest": ("| NEST iaf_cond_exp |", "nest"),
}


def run_quick(*extra: str) -> str:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", *extra],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr
    assert "Machine: " in out.stdout and "numba " in out.stdout
    assert "| ione coba_run (numba) |" in out.stdout
    return out.stdout


def check_row(stdout: str, key: str) -> None:
    prefix, module = ROWS[key]
    if find_spec(module) is None:
        pytest.skip(f"`{module}` is not installed: pip install -e '.[bench]' to compare with it")
    rows = [ln for ln in stdout.splitlines() if ln.startswith(prefix)]
    assert len(rows) == 1, stdout
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert len(cells) == 7, rows[0]
    rate_hz = float(cells[4])
    assert 5.0 < rate_hz < 40.0, rows[0]  # the same network, so roughly the same activity
    assert cells[6].endswith("×")


def test_quick_pass_with_nest() -> None:
    stdout = run_quick("--peers", "nest")
    check_row(stdout, "nest")
    assert "Brian2" not in stdout.split("| simulator |", 1)[1]


@pytest.mark.slow
def test_quick_pass_prints_every_row() -> None:
    # Slow: Brian2 compiles a C++ project twice and, on a cold cache, its Cython code objects.
    stdout = run_quick()
    for key in ROWS:
        check_row(stdout, key)


def test_unknown_peer_is_refused() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--peers", "neuron"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "unknown peers ['neuron']" in out.stderr

"""Run every benchmark of ione and print its tables (Markdown), as ``make bench`` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["bench_wire.py", "bench_synapses.py", "bench_coba.py", "bench_record.py"]
BENCHMARKS += ["bench_netem.py", "bench_detect.py"]


def main() -> int:
    print(f"Command: make bench   ({' '.join(sys.argv)})\n")
    failed = 0
    for name in BENCHMARKS:
        result = subprocess.run([sys.executable, str(HERE / name), *sys.argv[1:]])
        failed += result.returncode != 0
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

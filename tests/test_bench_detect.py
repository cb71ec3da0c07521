"""The detection benchmark keeps running: a quick pass prints every row (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_detect.py"
IONE_ROWS = (
    "ione: filter + detection",
    "ione: detection only",
    "ione: filter + detection + exclusion",
    "ione: detection + exclusion",
)
SI_ROWS = (
    "SpikeInterface by_channel, detect_peaks",
    "SpikeInterface by_channel, node per 1 ms block",
    "SpikeInterface locally_exclusive, detect_peaks",
    "SpikeInterface locally_exclusive, node per 1 ms block",
)


def test_quick_pass_prints_every_row(tmp_path: Path) -> None:
    if find_spec("spikeinterface") is None:
        pytest.skip("`spikeinterface` is not installed: pip install -e '.[test]' to compare")
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(tmp_path / "rows.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "Machine: " in out.stdout and "SpikeInterface " in out.stdout
    assert "Command: " in out.stdout and "NUMBA_NUM_THREADS=1" in out.stdout
    # ione's detection-only peaks were checked equal to SpikeInterface by_channel's
    assert out.stdout.count("ione detection-only = SpikeInterface by_channel") == 2
    for name in IONE_ROWS + SI_ROWS:
        rows = [ln for ln in out.stdout.splitlines() if ln.startswith(f"| {name} |")]
        assert len(rows) == 2, (name, out.stdout)  # two workloads
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            assert len(cells) == 10, row
            assert float(cells[3]) > 0 and float(cells[5]) > 0 and int(cells[8]) > 0, row
            assert cells[9].endswith("×") == (name in SI_ROWS), row
    for goal in ("Goal 1: ", "Goal 2: ", "Goal 3: "):
        assert goal in out.stdout
    assert (tmp_path / "rows.json").read_text().count('"x_real_time"') == 16

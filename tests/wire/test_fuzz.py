"""A short coverage-guided fuzz run of the decoders (atheris), or many hypothesis examples."""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ione.wire import BadFrame, FrameCodec, Link, LinkConfig, ramp8

HARNESS = Path(__file__).resolve().parents[1] / "fuzz" / "fuzz_wire.py"
HAVE_ATHERIS = importlib.util.find_spec("atheris") is not None


def run_atheris(tmp_path: Path, runs: int) -> subprocess.CompletedProcess[str]:
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, str(HARNESS), "--write-seeds", str(corpus)], check=True)
    return subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            f"-runs={runs}",
            "-max_len=700",
            "-timeout=20",
            "-seed=1234",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.skipif(
    not HAVE_ATHERIS, reason="atheris not installed; the hypothesis fuzz runs instead"
)
def test_atheris_short_run(tmp_path: Path) -> None:
    result = run_atheris(tmp_path, 300_000)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 300000 runs" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_ATHERIS, reason="atheris not installed")
def test_atheris_long_run(tmp_path: Path) -> None:
    result = run_atheris(tmp_path, 20_000_000)
    assert result.returncode == 0, result.stderr[-3000:]


KEY = bytes(range(32))
CODEC = FrameCodec(KEY, key_id=0, link_id=7, direction=0)
LINK = Link(LinkConfig("b", 7, False), KEY)


@pytest.mark.skipif(HAVE_ATHERIS, reason="atheris runs the coverage-guided fuzz instead")
@settings(max_examples=20_000, deadline=None)
@given(st.binary(max_size=700))
def test_hypothesis_fuzz_fallback(data: bytes) -> None:
    for decode in (CODEC.open, ramp8.decode):
        with contextlib.suppress(BadFrame):
            decode(data)
    LINK.receive_datagram(data, 0)

"""Raw voltage streams: every sample delivered once, in blocks on the sample clock, from the
formats SpikeInterface reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spikeinterface.core as sc

from ione.culture.streams import VoltageSource, VoltageStream, open_recording

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def recording(fs: float, seconds: float = 0.2, channels: int = 3) -> sc.BaseRecording:
    rng = np.random.default_rng(int(fs))
    traces = rng.normal(0, 10, (round(fs * seconds), channels)).astype(np.float32)
    rec = sc.NumpyRecording([traces], sampling_frequency=fs)
    rec.set_channel_gains(0.5)
    rec.set_channel_offsets(1.0)
    return rec


@pytest.mark.parametrize("fs", [18_000.0, 20_000.0, 30_000.0, 44_100.0, 1_234.5])
def test_blocks_deliver_every_sample_once_on_the_sample_clock(fs: float) -> None:
    rec = recording(fs)
    stream = VoltageStream(rec)
    assert isinstance(stream, VoltageSource)
    blocks = list(stream.blocks())
    whole = rec.get_traces(return_in_uV=True)
    np.testing.assert_allclose(np.concatenate([b.samples for b in blocks]), whole, rtol=1e-6)
    firsts = np.array([b.first for b in blocks])
    sizes = np.array([b.samples.shape[0] for b in blocks])
    np.testing.assert_array_equal(firsts[1:], np.cumsum(sizes)[:-1])
    for k, b in enumerate(blocks):  # block k holds the samples taken in [k ms, k + 1 ms)
        t = (b.first + np.arange(b.samples.shape[0])) * 1e6 / fs
        assert np.all(t >= k * 1000 - 1e-6) and np.all(t < (k + 1) * 1000)
        assert b.t_us == int(b.first * 1e6 // fs)
    assert stream.finished


def test_until_follows_the_callers_ticks() -> None:
    stream = VoltageStream(recording(20_000.0))
    a = stream.until(2_500)  # 50 samples: 0 ... 49
    b = stream.until(2_500)  # none
    c = stream.until(3_001)  # 10 more (samples at 2500.0 ... 2950 µs, and 3000 µs)
    assert (a.samples.shape[0], b.samples.shape[0], c.samples.shape[0]) == (50, 0, 11)
    assert c.first == 50
    with pytest.raises(ValueError, match="up to 3001 µs already"):
        stream.until(2_000)
    with pytest.raises(ValueError, match="block_us"):
        VoltageStream(recording(20_000.0), block_us=0)


def test_open_recording_formats(tmp_path: Path) -> None:
    rec = recording(20_000.0)
    rec.save(folder=tmp_path / "saved")
    got = open_recording(tmp_path / "saved")
    np.testing.assert_array_equal(got.get_traces(), rec.get_traces())
    raw = rec.get_traces().astype(np.int16)
    raw.tofile(tmp_path / "data.bin")
    got = open_recording(
        tmp_path / "data.bin", "binary", sampling_frequency=20_000.0, num_channels=3, dtype="int16"
    )
    np.testing.assert_array_equal(got.get_traces(), raw)


def test_open_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        open_recording(tmp_path / "nope.raw")
    (tmp_path / "x.raw").write_bytes(b"\0" * 64)
    with pytest.raises(ValueError, match="say which format"):
        open_recording(tmp_path / "x.raw")
    with pytest.raises(ValueError, match="no reader for format 'nosuch'"):
        open_recording(tmp_path / "x.raw", "nosuch")

"""A culture seen through its electrodes: a recording of raw voltages streams in 1 ms blocks
through the detector at the culture site, and the hub receives the detected spikes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import spikeinterface.core as sc

from ione.culture.detect import DetectorConfig, StreamingDetector, sample_times_us
from ione.network import load_experiment
from ione.node.build import SiteError, check_sources, site_processors
from ione.node.processors import ElectrodeCultureProcessor
from ione.node.virtual import run_virtual
from ione.record import kinds as K

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "serb2020_recorded.toml"


def voltages(folder: Path, seconds: float = 14.0) -> sc.BaseRecording:
    rec, _ = sc.generate_ground_truth_recording(
        durations=[seconds], sampling_frequency=20_000.0, num_channels=1, num_units=2,
        generate_sorting_kwargs={"firing_rates": 8.0, "refractory_period_ms": 4.0},
        noise_kwargs={"noise_levels": 5.0, "strategy": "on_the_fly"}, seed=11,
    )  # fmt: skip
    return rec.save(folder=folder)


def config(tmp_path: Path, params: str) -> Path:
    text = EXAMPLE.read_text().replace('duration = "20 s"', 'duration = "3 s"')
    text = re.sub(r"params = \{ file = [^\n]*", f"params = {{ {params} }}", text)
    text = text.replace('model = "recording"', 'model = "electrodes"')
    path = tmp_path / "el.toml"
    path.write_text(text)
    return path


def test_the_site_detects_what_the_detector_detects_offline(tmp_path: Path) -> None:
    rec = voltages(tmp_path / "voltages")
    exp = load_experiment(config(tmp_path, f'file = "{tmp_path / "voltages"}"'))
    (proc,) = [p for p in site_processors(exp, "padova", 0) if p.status()["kind"] == "electrodes"]
    assert isinstance(proc, ElectrodeCultureProcessor)
    t0 = 2_000_000
    recs = run_virtual(exp, tmp_path / "run", t0_us=t0)
    spikes = np.concatenate([b for k, b in recs["padova"] if k == K.SPIKES])
    # the same recording through one detector in one block
    offline = StreamingDetector(1, 20_000.0, DetectorConfig(noise_chunk_s=1.0))
    peaks = offline.process(rec.get_traces(return_in_uV=True).astype(np.float32))
    times = t0 + sample_times_us(peaks["sample_index"], 20_000.0)
    decided = peaks["sample_index"] + offline.report_delay_samples < 12 * 20_000
    assert spikes.size == int(decided.sum()) > 50
    np.testing.assert_array_equal(spikes["t_us"], times[decided])
    np.testing.assert_array_equal(spikes["value"], peaks["amplitude"][decided])
    # the hub received them as spontaneous APs of BN (all but those still under way at the end)
    got = np.concatenate([b for k, b in recs["southampton"] if k == K.RECEIVED])
    bn = got[got["key"] == exp.address("BN")]
    assert np.all(bn["value"] == 2) and np.isin(bn["t_us"], spikes["t_us"]).all()
    early = spikes["t_us"] < t0 + 12_000_000 - 100_000
    assert np.isin(spikes["t_us"][early], bn["t_us"]).all()


def test_bad_electrode_cultures_are_named(tmp_path: Path) -> None:
    voltages(tmp_path / "voltages", seconds=1.0)
    exp = load_experiment(config(tmp_path, 'file = "nope"'))
    with pytest.raises(SiteError, match=r"population BN \(params.file = 'nope'\).*does not exist"):
        check_sources(exp)
    exp = load_experiment(config(tmp_path, f'file = "{tmp_path / "voltages"}", warmup_s = 1.5'))
    with pytest.raises(SiteError, match=r"population BN: detector: .*warmup_s"):
        check_sources(exp)

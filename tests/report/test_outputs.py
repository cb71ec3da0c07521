"""What ``write_report`` and ``ione report`` write: summary.json, report.html, figures, errors."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from ione.cli import main
from ione.report import FIGURES, HTML_FILE, SUMMARY_FILE, write_report

from .synthetic import write_run

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = write_run(tmp_path_factory.mktemp("report") / "run")
    return write_report(run)


def test_files_are_written_into_the_run_folder(report: Path) -> None:
    run = report.parent
    assert report == run / HTML_FILE
    for name in FIGURES:
        data = (run / "figures" / name).read_bytes()
        assert data.startswith(PNG), name
        assert len(data) > 5_000, name  # something was drawn


def test_summary_json_is_strict_json(report: Path) -> None:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in summary.json")

    summary = json.loads((report.parent / SUMMARY_FILE).read_text(), parse_constant=refuse)
    assert summary["phases"]["baseline"]["neurons"]["BN"]["ap_probability"] == 0.1
    assert summary["phases"]["depression"]["neurons"]["BN"]["ap_probability"] is None


def test_html_is_self_contained_with_tables_and_figures(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    for table in ("synapses", "neurons", "populations", "links", "sites"):
        assert f'<table id="{table}">' in page
    assert "<td>MR1</td>" in page and "4,710 → 5,400" in page
    assert "How to read this" in page and "SYSTEM.md §6" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(FIGURES)
    assert all(base64.b64decode(i).startswith(PNG) for i in images)
    assert 'src="http' not in page and "<link" not in page  # nothing fetched from elsewhere


def test_html_escapes_the_description(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; friends" in page


def test_report_into_another_folder(tmp_path: Path, report: Path) -> None:
    page = write_report(report.parent, tmp_path / "out")
    assert page == tmp_path / "out" / HTML_FILE
    assert (tmp_path / "out" / SUMMARY_FILE).is_file()
    assert (tmp_path / "out" / "figures" / "raster.png").is_file()


def test_a_run_without_culture_synapses_or_links_still_draws(tmp_path: Path) -> None:
    # a single site: no links, no stimuli, no memristors; every figure says what is missing
    from ione.record import LogWriter
    from ione.record import kinds as K

    run = tmp_path / "solo"
    run.mkdir()
    (run / "config.toml").write_text(
        '[experiment]\nname = "solo"\nduration = "2 s"\n'
        '[[sites]]\nname = "zurich"\nindex = 3\nport = 47393\n'
        '[[populations]]\nname = "G"\nsite = "zurich"\nkind = "generator"\nsize = 40\n'
        'model = "regular"\nrate = "5 Hz"\n'
    )
    with LogWriter(run / "zurich.ionelog") as log:
        log.append(
            K.META,
            {
                "site": "zurich",
                "site_index": 3,
                "populations": [{"name": "G", "kind": "generator", "size": 40, "address": 3 << 28}],
            },
        )
        log.append("run", {"t0_us": 1_000, "tick_us": 1000, "duration_us": 2_000_000})
        log.append(K.SPIKES, K.spike_block([1_000 + 10_000 * k for k in range(50)], 3 << 28))
    page = write_report(run)
    summary = json.loads((run / SUMMARY_FILE).read_text())
    assert list(summary["phases"]) == ["run"]
    assert summary["phases"]["run"]["populations"]["G"]["spikes"] == 50
    assert summary["phases"]["run"]["rates_hz"] == {"G": 5.0}
    assert summary["links"] == {}
    assert "none in this run" in page.read_text()


def test_cli_report_prints_the_tables(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(report.parent)]) == 0
    out = capsys.readouterr().out
    assert "Plasticity per phase" in out and "padova-southampton" in out
    assert out.strip().endswith(str(report))


def test_cli_report_on_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ione report: ") and "nowhere" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_report_on_a_folder_without_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ione report: ") and "no site logs" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[experiment\n", "not valid TOML"), ('[experiment]\nname = "x"\n', "duration")],
)
def test_cli_report_names_a_broken_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    run = write_run(tmp_path / "run")
    (run / "config.toml").write_text(text)
    assert main(["report", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ione report: {run / 'config.toml'}: ")
    assert expected in err and err.count("\n") == 1

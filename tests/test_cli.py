"""The command line: version, key generation, argument errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ione
from ione.cli import main
from ione.wire.keys import read_key_file


def test_version_from_a_real_process() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ione", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"ione {ione.__version__}"


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "link.key"
    assert main(["keygen", str(path)]) == 0
    assert len(read_key_file(path)) == 32
    assert main(["keygen", str(path)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["keygen", str(path), "--force"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "wire-peer",
                "--site",
                "a",
                "--role",
                "initiator",
                "--bind",
                "127.0.0.1",
                "--key",
                "k",
            ],
            "expected HOST:PORT",
        ),
        (["demo", "--drop", "1.5"], "fraction"),
        (["demo", "--duration", "-1"], "positive"),
    ],
)
def test_bad_arguments_are_explained(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_key_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "wire-peer",
            "--site",
            "a",
            "--role",
            "responder",
            "--bind",
            "127.0.0.1:0",
            "--key",
            str(tmp_path / "none.key"),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "none.key" in err and "not found" in err


def test_initiator_needs_a_peer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "wire-peer",
            "--site",
            "a",
            "--role",
            "initiator",
            "--bind",
            "127.0.0.1:0",
            "--key",
            str(tmp_path / "k"),
        ]
    )
    assert code == 2 and "--peer" in capsys.readouterr().err

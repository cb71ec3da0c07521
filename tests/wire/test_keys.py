"""Key files: created private, read back, and every malformed file named with its problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ione.wire.keys import KeyFileError, Keyring, generate_key, read_key_file, write_key_file


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "padova-soton.key"
    key = write_key_file(path)
    assert len(key) == 32 and (path.stat().st_mode & 0o777) == 0o600
    assert read_key_file(path) == key
    assert key.hex() in path.read_text()


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k"
    write_key_file(path)
    with pytest.raises(KeyFileError, match="exists"):
        write_key_file(path)
    new = write_key_file(path, generate_key(), overwrite=True)
    assert read_key_file(path) == new


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "exactly one key line, found 0"),
        ("# only a comment\n", "exactly one key line, found 0"),
        ("ab" * 32 + "\n" + "cd" * 32 + "\n", "exactly one key line, found 2"),
        ("ab" * 31 + "\n", "64 hex digits, found 62"),
        ("zz" * 32 + "\n", "not hexadecimal"),
    ],
)
def test_malformed_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=message) as info:
        read_key_file(path)
    assert str(path) in str(info.value)


def test_missing_and_too_open_files(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"not found.*ione keygen"):
        read_key_file(tmp_path / "nope.key")
    path = tmp_path / "open.key"
    key = write_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        read_key_file(path)
    assert read_key_file(path, allow_insecure=True) == key


def test_keyring(tmp_path: Path) -> None:
    k0 = write_key_file(tmp_path / "a.key")
    k5 = write_key_file(tmp_path / "b.key")
    ring = Keyring.from_files({0: tmp_path / "a.key", 5: tmp_path / "b.key"})
    assert ring[0] == k0 and ring[5] == k5 and len(ring) == 2 and sorted(ring) == [0, 5]
    assert k0.hex() not in repr(ring)
    with pytest.raises(KeyError, match="no key with id 3"):
        ring[3]
    with pytest.raises(ValueError, match="32 bytes"):
        ring.add(1, b"short")

"""Pre-shared link keys and the files that hold them.

A link is authenticated with a 32-byte pre-shared key. Keys live in **key files**, never in
configuration text: a configuration names the file and the key id. A key file is text: comment
lines starting with ``#`` and one line of 64 hexadecimal digits::

    # ione link key: keep secret
    4f1c...e2 (64 hex digits)

:func:`write_key_file` creates one with permissions 0600 (``ione keygen FILE`` does the same from
the shell). :func:`read_key_file` refuses a file that other users can read, as ssh does, unless told
otherwise. This module reads and writes files but never touches a socket or a clock.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

__all__ = [
    "KEY_BYTES",
    "KeyFileError",
    "Keyring",
    "generate_key",
    "read_key_file",
    "write_key_file",
]

KEY_BYTES: Final = 32
_HEADER: Final = (
    "# ione link key (32 bytes, hex): keep it secret, share it only with the peer site\n"
)


class KeyFileError(ValueError):
    """A key file is missing, unreadable, malformed or too widely readable."""


def generate_key() -> bytes:
    """A fresh random 32-byte key from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


def write_key_file(
    path: str | os.PathLike[str], key: bytes | None = None, *, overwrite: bool = False
) -> bytes:
    """Write ``key`` (or a new random key) to ``path`` with mode 0600; returns the key.

    Raises
    ------
    KeyFileError
        If the file exists and ``overwrite`` is false, or the key is not 32 bytes.
    """
    key = generate_key() if key is None else bytes(key)
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"a link key must be {KEY_BYTES} bytes, got {len(key)}")
    p = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(p, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{p}: key file exists; refusing to overwrite it") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(_HEADER + key.hex() + "\n")
    os.chmod(p, 0o600)
    return key


def read_key_file(path: str | os.PathLike[str], *, allow_insecure: bool = False) -> bytes:
    """Read a 32-byte key from a key file.

    Raises
    ------
    KeyFileError
        Naming the file and what is wrong: missing, readable by group or others (unless
        ``allow_insecure``), no key line, more than one, or not 64 hexadecimal digits.
    """
    p = Path(path)
    try:
        st = p.stat()
        text = p.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(f"{p}: key file not found (create one with `ione keygen {p}`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{p}: cannot read key file: {exc}") from None
    if not allow_insecure and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{p}: key file is accessible by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run `chmod 600 {p}`"
        )
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if len(lines) != 1:
        raise KeyFileError(f"{p}: expected exactly one key line, found {len(lines)}")
    hexkey = lines[0]
    if len(hexkey) != 2 * KEY_BYTES:
        raise KeyFileError(
            f"{p}: key must be {2 * KEY_BYTES} hex digits, found {len(hexkey)} characters"
        )
    try:
        return bytes.fromhex(hexkey)
    except ValueError:
        raise KeyFileError(f"{p}: key line is not hexadecimal") from None


class Keyring(Mapping[int, bytes]):
    """Keys by key id (0–255), e.g. loaded from the key files a configuration names."""

    def __init__(self, keys: Mapping[int, bytes] | None = None) -> None:
        self._keys: dict[int, bytes] = {}
        for key_id, key in (keys or {}).items():
            self.add(key_id, key)

    def add(self, key_id: int, key: bytes) -> None:
        if not 0 <= key_id <= 0xFF:
            raise ValueError(f"key id must be 0 ... 255, got {key_id}")
        if len(key) != KEY_BYTES:
            raise ValueError(f"key {key_id} must be {KEY_BYTES} bytes, got {len(key)}")
        self._keys[key_id] = bytes(key)

    @classmethod
    def from_files(
        cls, files: Mapping[int, str | os.PathLike[str]], *, allow_insecure: bool = False
    ) -> Keyring:
        """Load ``{key_id: path}``."""
        return cls(
            {kid: read_key_file(path, allow_insecure=allow_insecure) for kid, path in files.items()}
        )

    def __getitem__(self, key_id: int) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyError(f"no key with id {key_id} in the keyring") from None

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(ids={sorted(self._keys)})"

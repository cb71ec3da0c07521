"""The session-log file format: a file header, then framed records (see docs/record-format.md).

File header (16 bytes)::

    0  8  magic    b"IONELOG\\x00"
    8  2  version  u16 = 1
   10  2  flags    u16 = 0
   12  4  reserved

Record (little-endian)::

    0  4  sync     0xA5 'R' 'E' 'C'   lets a reader find the next record after damage
    4  4  length   u32: bytes of the body
    8  4  crc      u32: CRC32C (Castagnoli) of the length field and the body
   12  -  body     u8 type, then
                   SCHEMA: u16 schema id, u8 kind length, kind (UTF-8), dtype (JSON of
                           numpy's descr)
                   BLOCK:  u16 schema id, rows of that dtype (raw, C order)
                   JSON:   u8 kind length, kind (UTF-8), JSON text (UTF-8)
"""

from __future__ import annotations

import json
import struct
from typing import Final

import crc32c
import numpy as np

__all__ = [
    "FILE_HEADER",
    "MAGIC",
    "MAX_RECORD_BYTES",
    "PREFIX",
    "SYNC",
    "VERSION",
    "block_body",
    "crc_of",
    "frame",
    "json_body",
    "schema_body",
]

MAGIC: Final = b"IONELOG\x00"
VERSION: Final = 1
FILE_HEADER: Final = struct.Struct("<8sHHI")
SYNC: Final = b"\xa5REC"
PREFIX: Final = struct.Struct("<4sII")  # sync, length, crc
MAX_RECORD_BYTES: Final = 1 << 30  # 1 GiB: a larger length field is damage, not data
SCHEMA, BLOCK, JSON = 1, 2, 3
_LEN: Final = struct.Struct("<I")
_SCHEMA_HEAD: Final = struct.Struct("<BHB")
_BLOCK_HEAD: Final = struct.Struct("<BH")
_JSON_HEAD: Final = struct.Struct("<BB")


def crc_of(length: int, body: bytes | memoryview) -> int:
    """CRC32C over the length field and the body."""
    return int(crc32c.crc32c(body, crc32c.crc32c(_LEN.pack(length))))


def frame(body: bytes) -> bytes:
    """A complete record: prefix (sync, length, CRC) and body."""
    n = len(body)
    if n > MAX_RECORD_BYTES:
        raise ValueError(f"a record of {n} bytes exceeds the {MAX_RECORD_BYTES}-byte limit")
    return PREFIX.pack(SYNC, n, crc_of(n, body)) + body


def _kind(kind: str) -> bytes:
    raw = kind.encode("utf-8")
    if not 1 <= len(raw) <= 255:
        raise ValueError(f"record kind must be 1 ... 255 UTF-8 bytes, got {kind!r}")
    return raw


def schema_body(schema_id: int, kind: str, dtype: np.dtype) -> bytes:
    raw = _kind(kind)
    descr = json.dumps(np.lib.format.dtype_to_descr(dtype)).encode("utf-8")  # type: ignore[no-untyped-call]
    return _SCHEMA_HEAD.pack(SCHEMA, schema_id, len(raw)) + raw + descr


def block_body(schema_id: int, data: bytes) -> bytes:
    return _BLOCK_HEAD.pack(BLOCK, schema_id) + data


def json_body(kind: str, text: str) -> bytes:
    raw = _kind(kind)
    return _JSON_HEAD.pack(JSON, len(raw)) + raw + text.encode("utf-8")


def parse_schema(body: bytes) -> tuple[int, str, np.dtype]:
    _, schema_id, klen = _SCHEMA_HEAD.unpack_from(body)
    start = _SCHEMA_HEAD.size
    kind = body[start : start + klen].decode("utf-8")
    descr = json.loads(body[start + klen :].decode("utf-8"))
    dtype: np.dtype = np.lib.format.descr_to_dtype(_tuples(descr))  # type: ignore[no-untyped-call]
    return schema_id, kind, dtype


def _tuples(descr: object) -> object:
    """JSON turns numpy's descr tuples into lists; turn them back."""
    if isinstance(descr, list):
        return [tuple(_tuples(x) for x in item) if isinstance(item, list) else item
                for item in descr]  # fmt: skip
    return descr


def parse_json(body: bytes) -> tuple[str, object]:
    _, klen = _JSON_HEAD.unpack_from(body)
    start = _JSON_HEAD.size
    return body[start : start + klen].decode("utf-8"), json.loads(body[start + klen :])

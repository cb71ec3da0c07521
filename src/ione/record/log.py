"""Append-only, crash-safe session logs: :class:`LogWriter` and :class:`LogReader`.

A site appends records (numpy blocks or JSON) as it runs; the writer frames each with a CRC32C
and makes them durable in **group commits**: one write and one ``fdatasync`` for everything
appended since the last commit, done by a background flusher once the oldest waiting record is
``commit_interval_us`` old (100 ms by default), while the appending thread goes on. A process
killed at any moment leaves a log whose every committed record reads back intact; what was
appended but not yet committed may be lost, and a record cut short by the kill is a *torn tail*
that the reader skips and reports. Damage anywhere else is reported as an error, never returned
as data.
"""

from __future__ import annotations

import json
import mmap
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from ione.record import _format as fmt

__all__ = ["CorruptLogError", "LogReader", "LogWriter", "Record"]

Record = tuple[str, Any]  # (kind, numpy block or JSON value)


class CorruptLogError(ValueError):
    """A log holds a damaged record that is followed by intact ones (not a torn tail)."""

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        super().__init__(f"{path}: corrupted record at byte {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


def _dtype_key(dtype: np.dtype) -> str:
    return json.dumps(np.lib.format.dtype_to_descr(dtype))  # type: ignore[no-untyped-call]


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise TypeError("record blocks cannot hold Python objects")
    if dtype.names is not None:
        for name in dtype.names:
            sub = dtype[name]
            if sub.shape or sub.names is not None or sub.hasobject:
                raise TypeError(f"record block field {name!r} must be a plain scalar type")
    elif dtype.shape:
        raise TypeError("record blocks must be 1-D arrays of a scalar or flat structured dtype")


class LogWriter:
    """Append records to a session log, durable in group commits.

    Parameters
    ----------
    path
        The log file; created (with its directory), or appended to if it is already a log.
    commit_interval_us
        Longest time appended data waits before it is committed (default 100 ms).
    on_commit
        Called after each commit with the number of records durable so far (from the thread
        that committed).
    max_buffer_bytes
        Bytes that may wait for a commit before an append commits them itself.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        commit_interval_us: int = 100_000,
        on_commit: Callable[[int], None] | None = None,
        max_buffer_bytes: int = 256 << 20,
    ) -> None:
        if commit_interval_us <= 0:
            raise ValueError(f"commit_interval_us must be > 0, got {commit_interval_us}")
        self.path = Path(path)
        self.commit_interval_us = int(commit_interval_us)
        self.max_buffer_bytes = int(max_buffer_bytes)
        self._on_commit = on_commit
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = self.path.exists() and self.path.stat().st_size > 0
        self._schemas: dict[tuple[str, str], int] = {}
        self._records_committed = 0
        self._records_buffered = 0
        if existing:
            # Continue an existing log: learn its schemas so new blocks reuse their ids, and cut
            # off a torn tail so new records follow the last intact one.
            reader = LogReader(self.path)
            for _ in reader:
                pass
            self._schemas = {(k, _dtype_key(d)): i for i, (k, d) in reader.schemas.items()}
            self._records_committed = reader.records
            end = reader.end_offset
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if existing:
            os.ftruncate(self._fd, end)
            os.lseek(self._fd, end, os.SEEK_SET)
        else:
            os.write(self._fd, fmt.FILE_HEADER.pack(fmt.MAGIC, fmt.VERSION, 0, 0))
            os.fsync(self._fd)
        self._buffer = bytearray()
        self._lock = threading.Lock()  # the buffer and the counters
        self._commit_lock = threading.Lock()  # one commit at a time, in order
        self._pending = threading.Condition(self._lock)  # the flusher waits here for data
        self._oldest: float | None = None  # monotonic time of the oldest uncommitted append
        self._closed = False
        self._error: BaseException | None = None
        self._closing = threading.Event()
        self._dtype_keys: dict[np.dtype, str] = {}
        self.bytes_written = 0
        self.commits = 0
        self._flusher = threading.Thread(target=self._flush_loop, name=f"ione-log {self.path.name}",
                                         daemon=True)  # fmt: skip
        self._flusher.start()

    # ------------------------------------------------------------------ appending
    def append(self, kind: str, block: npt.ArrayLike | dict[str, Any] | list[Any]) -> None:
        """Append one record: a numpy block (1-D, scalar or flat structured dtype) or a JSON
        value (a dict or list: configuration, statistics, versions).

        Appending never waits for the disk, except when more than ``max_buffer_bytes`` are
        waiting for a commit (then it commits them first: back-pressure instead of unbounded
        memory)."""
        if isinstance(block, dict | list):
            try:
                text = json.dumps(block, allow_nan=False, separators=(",", ":"))
            except ValueError as exc:
                raise ValueError(
                    f"record {kind!r}: JSON cannot hold NaN or infinity ({exc})"
                ) from None
            bodies = [fmt.json_body(kind, text)]
        else:
            arr = np.ascontiguousarray(block)
            if arr.ndim != 1:
                raise TypeError(f"record {kind!r}: blocks must be 1-D, got shape {arr.shape}")
            dkey = self._dtype_keys.get(arr.dtype)
            if dkey is None:
                _check_dtype(arr.dtype)
                dkey = self._dtype_keys[arr.dtype] = _dtype_key(arr.dtype)
            key = (kind, dkey)
            bodies = []
            schema_id = self._schemas.get(key)
            if schema_id is None:
                schema_id = len(self._schemas)
                if schema_id > 0xFFFF:
                    raise ValueError("a log holds at most 65536 (kind, dtype) schemas")
                self._schemas[key] = schema_id
                bodies.append(fmt.schema_body(schema_id, kind, arr.dtype))
            bodies.append(fmt.block_body(schema_id, arr.tobytes()))
        framed = b"".join([fmt.frame(b) for b in bodies])
        with self._lock:
            self._raise_if_failed()
            if self._closed:
                raise RuntimeError(f"{self.path}: append to a closed log")
            self._buffer += framed
            self._records_buffered += 1
            if self._oldest is None:
                self._oldest = time.monotonic()
                self._pending.notify()
            overfull = len(self._buffer) > self.max_buffer_bytes
        if overfull:
            self._commit_pending()

    def append_all(self, records: list[Record]) -> None:
        """Append several records in order."""
        for kind, block in records:
            self.append(kind, block)

    # ------------------------------------------------------------------ committing
    def commit(self) -> None:
        """Write and ``fdatasync`` everything appended so far; returns once it is durable."""
        with self._lock:
            self._raise_if_failed()
        self._commit_pending()

    def _commit_pending(self) -> None:
        """One group commit. The buffer is swapped under the lock and written outside it, so
        appends go on while the disk works."""
        with self._commit_lock:
            with self._lock:
                data, n = self._buffer, self._records_buffered
                self._buffer, self._records_buffered, self._oldest = bytearray(), 0, None
            if not data:
                return
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fdatasync(self._fd)
            with self._lock:
                self._records_committed += n
                self.bytes_written += len(data)
                self.commits += 1
                committed = self._records_committed
            if self._on_commit is not None:
                self._on_commit(committed)

    def _flush_loop(self) -> None:
        interval = self.commit_interval_us / 1e6
        while True:
            with self._lock:
                while self._oldest is None and not self._closed:
                    self._pending.wait()
                if self._closed:
                    return
                assert self._oldest is not None
                delay = self._oldest + interval - time.monotonic()
            if delay > 0 and self._closing.wait(delay):  # the longest data may wait
                return
            try:
                self._commit_pending()
            except BaseException as exc:  # kept for the appending thread to raise
                with self._lock:
                    self._error = exc
                return

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise OSError(f"{self.path}: background commit failed: {self._error}") from self._error

    @property
    def records_committed(self) -> int:
        """Records durable on disk."""
        return self._records_committed

    def statistics(self) -> dict[str, int]:
        with self._lock:
            return {"records_committed": self._records_committed,
                    "records_buffered": self._records_buffered, "commits": self.commits,
                    "bytes_written": self.bytes_written}  # fmt: skip

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Commit what is left and close the file."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            self._pending.notify()
        self._flusher.join()
        try:
            self._commit_pending()
        finally:
            os.close(self._fd)
        self._raise_if_failed()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()


class LogReader:
    """Read a session log: iterate ``(kind, block)`` records in the order they were appended.

    A torn tail (the last record cut short by a crash, or garbage after it with nothing intact
    following) ends the iteration cleanly; :attr:`dropped_bytes` then says how many bytes were
    ignored. A damaged record with intact records after it raises :class:`CorruptLogError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self._data: bytes | mmap.mmap = (
                    mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
                )
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path}: no such session log") from None
        head = fmt.FILE_HEADER.size
        if len(self._data) < head or self._data[:8] != fmt.MAGIC:
            raise ValueError(f"{self.path}: not an ione session log (bad header)")
        _, version, _, _ = fmt.FILE_HEADER.unpack_from(self._data)
        if version != fmt.VERSION:
            raise ValueError(
                f"{self.path}: log format version {version}; this ione reads {fmt.VERSION}"
            )
        self.schemas: dict[int, tuple[str, np.dtype]] = {}
        self.dropped_bytes = 0
        self.records = 0
        self.end_offset = head  # just past the last intact record

    def _valid_at(self, pos: int) -> int | None:
        """Length of the intact record starting at ``pos``, or None."""
        data = self._data
        if pos + fmt.PREFIX.size > len(data):
            return None
        sync, length, crc = fmt.PREFIX.unpack_from(data, pos)
        if sync != fmt.SYNC or length > fmt.MAX_RECORD_BYTES:
            return None
        end = pos + fmt.PREFIX.size + length
        if end > len(data):
            return None
        body = memoryview(data)[pos + fmt.PREFIX.size : end]
        return length if fmt.crc_of(length, body) == crc else None

    def _next_valid(self, start: int) -> int | None:
        pos = self._data.find(fmt.SYNC, start)
        while pos != -1:
            if self._valid_at(pos) is not None:
                return pos
            pos = self._data.find(fmt.SYNC, pos + 1)
        return None

    def __iter__(self) -> Iterator[Record]:
        data = self._data
        pos = fmt.FILE_HEADER.size
        while pos < len(data):
            length = self._valid_at(pos)
            if length is None:
                later = self._next_valid(pos + 1)
                if later is not None:
                    why = f"damaged record; intact records follow at byte {later}"
                    raise CorruptLogError(self.path, pos, why)
                self.dropped_bytes = len(data) - pos  # torn tail
                return
            body = bytes(data[pos + fmt.PREFIX.size : pos + fmt.PREFIX.size + length])
            record = self._decode(body, pos)
            pos += fmt.PREFIX.size + length
            self.end_offset = pos
            if record is not None:
                self.records += 1
                yield record

    def _decode(self, body: bytes, pos: int) -> Record | None:
        rtype = body[0] if body else 0
        if rtype == fmt.SCHEMA:
            schema_id, kind, dtype = fmt.parse_schema(body)
            self.schemas[schema_id] = (kind, dtype)
            return None
        if rtype == fmt.BLOCK:
            schema_id = int.from_bytes(body[1:3], "little")
            if schema_id not in self.schemas:
                raise CorruptLogError(self.path, pos, f"block of unknown schema {schema_id}")
            kind, dtype = self.schemas[schema_id]
            raw = body[3:]
            if len(raw) % dtype.itemsize:
                raise CorruptLogError(self.path, pos, "block length is not a whole number of rows")
            return kind, np.frombuffer(raw, dtype=dtype).copy()
        if rtype == fmt.JSON:
            return fmt.parse_json(body)
        raise CorruptLogError(self.path, pos, f"unknown record type {rtype}")

    def read_all(self) -> dict[str, list[Any]]:
        """Every record, grouped by kind (blocks of one kind keep their order)."""
        out: dict[str, list[Any]] = {}
        for kind, block in self:
            out.setdefault(kind, []).append(block)
        return out

"""Session logs: round trip, group commit, kill -9 under load, torn tails, mid-file corruption."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ione.events import EVENT_DTYPE, make_events
from ione.record import CorruptLogError, LogReader, LogWriter
from ione.record import _format as fmt

from .writer_child import block

CHILD = Path(__file__).with_name("writer_child.py")


def expected_records() -> Iterator[tuple[str, object]]:
    """The exact sequence writer_child.py appends."""
    i = 0
    while True:
        yield "spikes", block(i, 64)
        if i % 50 == 0:
            yield "meta", {"i": i, "note": "x" * (i % 300)}
        i += 1


def same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return a == b


def test_round_trip_blocks_and_json(tmp_path: Path) -> None:
    path = tmp_path / "site.ionelog"
    ev = make_events(np.arange(5), [1, 2, 3, 4, 5], 0.5)
    other = np.zeros(3, [("t_us", "<i8"), ("r_ohm", "<f8")])
    other["r_ohm"] = [1.5, 2.5, np.nan]
    with LogWriter(path) as w:
        w.append("spikes", ev)
        w.append("meta", {"site": "padova", "versions": {"ione": "0.1"}})
        w.append("reads", other)
        w.append("spikes", ev[:2])
        w.append("counts", np.arange(4, dtype=np.int16))
    got = list(LogReader(path))
    assert [k for k, _ in got] == ["spikes", "meta", "reads", "spikes", "counts"]
    assert same(got[0][1], ev) and same(got[3][1], ev[:2]) and same(got[2][1], other)
    assert got[1][1] == {"site": "padova", "versions": {"ione": "0.1"}}
    assert got[4][1].dtype == np.int16
    reader = LogReader(path)
    assert len(reader.read_all()["spikes"]) == 2 and reader.dropped_bytes == 0


def test_reopening_continues_the_log(tmp_path: Path) -> None:
    path = tmp_path / "a.ionelog"
    with LogWriter(path) as w:
        w.append("spikes", make_events([1], [1]))
    with LogWriter(path) as w:
        w.append("spikes", make_events([2], [2]))
        w.append("other", np.zeros(2))
    got = list(LogReader(path))
    assert [int(b["t_us"][0]) for k, b in got if k == "spikes"] == [1, 2]
    assert len(got) == 3


def test_commit_makes_everything_durable_and_counts(tmp_path: Path) -> None:
    seen: list[int] = []
    path = tmp_path / "c.ionelog"
    w = LogWriter(path, commit_interval_us=10_000_000, on_commit=seen.append)
    for i in range(10):
        w.append("spikes", make_events([i], [i]))
    assert w.records_committed == 0
    w.commit()
    assert seen == [10] and w.records_committed == 10
    # what commit() returned on is on disk for another reader, before close
    assert len(list(LogReader(path))) == 10
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.append("spikes", make_events([1], [1]))


def test_idle_writer_commits_within_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "idle.ionelog"
    committed: list[int] = []
    import threading

    done = threading.Event()

    def note(n: int) -> None:
        committed.append(n)
        done.set()

    with LogWriter(path, commit_interval_us=20_000, on_commit=note) as w:
        w.append("spikes", make_events([1], [1]))
        assert done.wait(5.0)  # the background flusher commits without another append
        assert committed == [1]


def test_bad_input_is_refused_with_a_reason(tmp_path: Path) -> None:
    with LogWriter(tmp_path / "b.ionelog") as w:
        with pytest.raises(TypeError, match="1-D"):
            w.append("x", np.zeros((2, 2)))
        with pytest.raises(TypeError, match="objects"):
            w.append("x", np.array([object()]))
        with pytest.raises(ValueError, match="NaN"):
            w.append("x", {"v": float("nan")})
        with pytest.raises(ValueError, match="kind"):
            w.append("", np.zeros(1))
    with pytest.raises(FileNotFoundError, match="no such session log"):
        LogReader(tmp_path / "missing.ionelog")
    (tmp_path / "not.ionelog").write_bytes(b"hello world, not a log")
    with pytest.raises(ValueError, match="not an ione session log"):
        LogReader(tmp_path / "not.ionelog")


def write_reference(path: Path, n: int = 40) -> list[int]:
    """A log of ``n`` records; returns each record's end offset."""
    with LogWriter(path) as w:
        for i in range(n):
            w.append("spikes", block(i, 8 + i % 5))
    ends = []
    data = path.read_bytes()
    pos = fmt.FILE_HEADER.size
    while pos < len(data):
        _, length, _ = fmt.PREFIX.unpack_from(data, pos)
        pos += fmt.PREFIX.size + length
        ends.append(pos)
    return ends


def test_torn_tail_at_every_byte_of_the_last_record(tmp_path: Path) -> None:
    path = tmp_path / "t.ionelog"
    ends = write_reference(path)
    data = path.read_bytes()
    last_start = ends[-2]
    for cut in range(last_start, len(data)):
        path.write_bytes(data[:cut])
        reader = LogReader(path)
        got = list(reader)
        assert len(got) == 39  # the schema record plus 39 blocks precede the last block
        assert reader.dropped_bytes == cut - last_start


def test_torn_tail_of_garbage_and_zeros(tmp_path: Path) -> None:
    path = tmp_path / "g.ionelog"
    write_reference(path)
    data = path.read_bytes()
    for tail in (bytes(4096), os.urandom(777), fmt.SYNC + bytes(20)):
        path.write_bytes(data + tail)
        reader = LogReader(path)
        assert len(list(reader)) == 40
        assert reader.dropped_bytes == len(tail)


@pytest.mark.parametrize("where", ["body", "length", "crc", "sync", "schema"])
def test_corruption_in_the_middle_is_an_error_never_data(tmp_path: Path, where: str) -> None:
    path = tmp_path / "m.ionelog"
    ends = write_reference(path)
    data = bytearray(path.read_bytes())
    start = ends[19]  # the 21st record (a block)
    offset = {"body": start + 20, "length": start + 5, "crc": start + 9, "sync": start + 1,
              "schema": fmt.FILE_HEADER.size + 14}[where]  # fmt: skip
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))
    reader = LogReader(path)
    good = []

    def read_all() -> None:
        for rec in reader:
            good.append(rec)

    with pytest.raises(CorruptLogError, match="corrupted record at byte") as info:
        read_all()
    expected_start = fmt.FILE_HEADER.size if where == "schema" else start
    assert info.value.offset == expected_start
    for i, (kind, b) in enumerate(good):  # everything returned before the damage is intact
        assert kind == "spikes" and same(b, block(i, 8 + i % 5))


def test_kill_under_load_twenty_times(tmp_path: Path) -> None:
    """SIGKILL a writer process at 20 random moments: every log reads back, no corrupted record
    is returned, and every record up to the last completed group commit is there."""
    rng = np.random.default_rng(2024)
    for trial in range(20):
        path = tmp_path / f"kill{trial}.ionelog"
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(path), "64", "5000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        assert proc.stdout is not None
        committed = 0
        kill_after = rng.uniform(0.05, 0.6)  # seconds after the first commit
        deadline = None
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            timeout = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            if ready:
                line = proc.stdout.readline()
                if line.startswith("committed "):
                    committed = int(line.split()[1])
                    if deadline is None:
                        deadline = time.monotonic() + kill_after
            if deadline is not None and time.monotonic() >= deadline:
                break
        os.kill(proc.pid, signal.SIGKILL)
        # commits reported before the kill took effect still count
        rest, err = proc.communicate(timeout=30)
        for line in rest.splitlines():
            if line.startswith("committed "):
                committed = int(line.split()[1])
        assert proc.returncode == -signal.SIGKILL, err
        assert committed > 0, err
        reader = LogReader(path)
        n = 0
        for (kind, got), (want_kind, want) in zip(reader, expected_records(), strict=False):
            assert kind == want_kind and same(got, want), (trial, n)
            n += 1
        assert n >= committed, (trial, n, committed)
        assert reader.dropped_bytes >= 0


def test_a_huge_block_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "big.ionelog"
    ev = np.zeros(2_000_000, EVENT_DTYPE)
    ev["t_us"] = np.arange(ev.size)
    with LogWriter(path) as w:
        w.append("spikes", ev)
    ((kind, got),) = list(LogReader(path))
    assert kind == "spikes" and same(got, ev)


def test_the_documented_example_bytes(tmp_path: Path) -> None:
    """docs/record-format.md shows these bytes; they must stay true."""
    path = tmp_path / "ex.ionelog"
    with LogWriter(path) as w:
        w.append("spikes", make_events([1000, 1010], [7, 9]))
    data = path.read_bytes()
    assert data[:16] == bytes.fromhex("494f4e454c4f4700 0100 0000 00000000")
    assert data[16:28] == bytes.fromhex("a5524543 3d000000 95275f0b")
    assert data[28:38] == bytes.fromhex("01 0000 06 7370696b6573")
    block = data[16 + 12 + 61 :]
    assert block == bytes.fromhex(
        "a5524543 23000000 fc66aebc 02 0000"
        "e803000000000000 07000000 00000000 f203000000000000 09000000 00000000"
    )


def test_a_record_appended_after_a_commit_is_committed_without_another_append(
    tmp_path: Path,
) -> None:
    import threading

    commits = threading.Semaphore(0)
    with LogWriter(tmp_path / "r.ionelog", commit_interval_us=200,
                   on_commit=lambda n: commits.release()) as w:  # fmt: skip
        for i in range(300):
            w.append("spikes", make_events([i], [i]))
            w.commit()
            assert commits.acquire(timeout=5)
            w.append("spikes", make_events([i], [i]))
            assert commits.acquire(timeout=5), i  # the flusher picks it up on its own
            assert w.statistics()["records_buffered"] == 0

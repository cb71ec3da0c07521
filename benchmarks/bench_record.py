"""Recording benchmark: sustained events/s of ione's session log with group commit, against the
storage a lab would otherwise reach for.

A site's tick loop appends one block of ``n`` events (:data:`ione.events.EVENT_DTYPE`, 16 bytes
per event) per 1 ms tick, as fast as the writer accepts them, until a fixed number of events is
recorded; every writer makes what it has been given durable at most every commit interval
(100 ms; 10 ms with ``--quick``, whose runs are short) while the blocks keep coming, and
everything at the end. Side by side, in one process
pinned to one core, for blocks of 64 and 1024 events:

- **ione LogWriter**: ``LogWriter.append("events", block)`` per tick; the writer frames each block
  (length + CRC32C) and commits in groups (one ``write`` and one ``fdatasync`` per commit, from
  the appending thread or from its background flusher), then ``close``.
- **h5py, one write per block**: a chunked, resizable dataset (``maxshape=(None,)``, chunks of
  65536 events = 1 MiB) of the same structured dtype, resized and written once per block;
  every commit interval ``File.flush()`` and an ``os.fsync`` of the file (HDF5's flush does not
  fsync).
- **floor: h5py, one slab per commit**: the same dataset, but the blocks of a commit interval are
  kept in a Python list and written as one slab just before the flush and fsync: no per-block
  work at all, so close to the cost of writing the bytes once. A reference, not one of the peers
  of the goal: a loop this cheap never runs a commit interval long, so it writes everything in
  one slab when it closes.
- **SQLite WAL, synchronous=NORMAL** and **synchronous=FULL**: a table ``(t_us, key, value)``;
  each block is one ``executemany`` of its rows inside a transaction that is committed every
  commit interval. In WAL mode, NORMAL does not sync at commit (only at checkpoints), so its
  commits survive a crash of the process but not of the machine; FULL syncs the WAL at every
  commit, the durability ione's and the h5py rows' commits give.

A writer commits when a block arrives and the oldest uncommitted block is at least one commit
interval old (the rule ``LogWriter.append`` follows; its background flusher also commits when
appends pause, which never happens here). The clock runs from creating the file to closing it
(everything durable). Reported, per writer and block size: the median events/s over the
repetitions (repetitions interleave the writers so that drift on a shared machine hits them
alike); of the median run, bytes on disk per event (every file of the writer after closing),
commits, the fsync/fdatasync calls made from Python (counted by wrapping ``os.fsync`` and
``os.fdatasync``; SQLite syncs in C, where they cannot be counted), and the longest single append
(including any commit it ran or waited for): what a 1 ms tick loop would see as a stall; and the
ratio of ione's events/s to each row's.

Nothing is measured that is not recorded: after every run (untimed) the file is read back
(``LogReader``, the HDF5 dataset, ``SELECT ... ORDER BY rowid``) and its event count and SHA-256
of the events in order must equal those of the blocks written, or the benchmark fails.

Files go to a fresh temporary directory under the system's temporary directory (``--dir`` to
choose another), whose filesystem is printed, and are deleted after each run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import shlex
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from _common import cpu_model
from ione.events import EVENT_DTYPE, make_events, make_key
from ione.record import LogReader, LogWriter

try:
    import h5py
except ImportError:  # the bench extra installs it; without it the h5py rows are left out
    h5py = None

BLOCK_SIZES = (64, 1024)
TICK_US = 1_000
H5_CHUNK = 65_536  # events per HDF5 chunk (1 MiB)
GOAL_EPS = 1e6

ROW_IONE = "ione LogWriter"
ROW_H5_BLOCK = "h5py, one write per block"
ROW_H5_COMMIT = "floor: h5py, one slab per commit"
ROW_SQL_NORMAL = "SQLite WAL, synchronous=NORMAL"
ROW_SQL_FULL = "SQLite WAL, synchronous=FULL"
PEERS = (ROW_H5_BLOCK, ROW_SQL_NORMAL, ROW_SQL_FULL)  # the goal's peers; the floor is a reference


# ---------------------------------------------------------------------- workload
def make_blocks(n: int, total: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``total // n`` blocks of ``n`` events of 1024 neurons, one per 1 ms tick, time-sorted."""
    keys = make_key(1, 0, np.arange(1024))
    blocks = []
    for i in range(total // n):
        t0 = 1_000_000 + i * TICK_US
        t = np.sort(rng.integers(t0, t0 + TICK_US, n))
        blocks.append(make_events(t, rng.choice(keys, n), rng.random(n, dtype=np.float32)))
    return blocks


@dataclass
class Workload:
    blocks: list[np.ndarray]
    interval_s: float  # commit interval
    expected: tuple[int, str]  # event count and SHA-256 of the blocks, in order


def digest(blocks: Iterator[np.ndarray]) -> tuple[int, str]:
    """Event count and SHA-256 of the events' bytes, in order."""
    h = hashlib.sha256()
    count = 0
    for b in blocks:
        b = np.ascontiguousarray(b, dtype=EVENT_DTYPE)
        h.update(b.tobytes())
        count += b.size
    return count, h.hexdigest()


class SyncCounter:
    """Count ``os.fsync`` and ``os.fdatasync`` calls made from Python while active."""

    def __init__(self) -> None:
        self.calls = 0

    @contextlib.contextmanager
    def active(self) -> Iterator[SyncCounter]:
        fsync, fdatasync = os.fsync, os.fdatasync

        def counted(fn: Callable[[Any], None]) -> Callable[[Any], None]:
            def wrapper(fd: Any) -> None:
                self.calls += 1
                fn(fd)

            return wrapper

        os.fsync, os.fdatasync = counted(fsync), counted(fdatasync)  # type: ignore[assignment]
        try:
            yield self
        finally:
            os.fsync, os.fdatasync = fsync, fdatasync


# ---------------------------------------------------------------------- writers
@dataclass
class Run:
    seconds: float
    commits: int
    fsyncs: int | None
    bytes_on_disk: int
    worst_append_s: float


class Committer:
    """The group-commit rule: commit when a block arrives and the oldest uncommitted block is at
    least one interval old."""

    def __init__(self, interval_s: float, commit: Callable[[], None]) -> None:
        self.interval_s = interval_s
        self._commit = commit
        self._oldest: float | None = None
        self.commits = 0

    def appended(self) -> None:
        now = time.monotonic()
        if self._oldest is None:
            self._oldest = now
        elif now - self._oldest >= self.interval_s:
            self.commit()

    def commit(self) -> None:
        if self._oldest is not None:
            self._commit()
            self.commits += 1
            self._oldest = None


def timed_appends(blocks: list[np.ndarray], append: Callable[[np.ndarray], None]) -> float:
    """Append every block; returns the longest single append, in seconds."""
    worst = 0.0
    clock = time.perf_counter
    for b in blocks:
        t0 = clock()
        append(b)
        dt = clock() - t0
        if dt > worst:
            worst = dt
    return worst


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def run_ione(folder: Path, work: Workload) -> Run:
    path = folder / "session.ionelog"
    with SyncCounter().active() as syncs:
        t0 = time.perf_counter()
        w = LogWriter(path, commit_interval_us=round(work.interval_s * 1e6))
        worst = timed_appends(work.blocks, lambda b: w.append("events", b))
        w.close()
        seconds = time.perf_counter() - t0
    reader = LogReader(path)
    check(ROW_IONE, work, (block for kind, block in reader if kind == "events"))
    if reader.dropped_bytes:
        raise AssertionError(f"{ROW_IONE}: {reader.dropped_bytes} bytes of torn tail")
    return Run(seconds, w.commits, syncs.calls, disk_bytes(folder), worst)


def run_h5py(folder: Path, work: Workload, per_commit: bool) -> Run:
    assert h5py is not None
    name = ROW_H5_COMMIT if per_commit else ROW_H5_BLOCK
    path = folder / "session.h5"
    pending: list[np.ndarray] = []
    with SyncCounter().active() as syncs:
        t0 = time.perf_counter()
        f = h5py.File(path, "w")
        ds = f.create_dataset(
            "events", shape=(0,), maxshape=(None,), dtype=EVENT_DTYPE, chunks=(H5_CHUNK,)
        )
        fd = f.id.get_vfd_handle()

        def write(b: np.ndarray) -> None:
            n = ds.shape[0]
            ds.resize((n + b.size,))
            ds[n:] = b

        def commit() -> None:
            if pending:
                write(np.concatenate(pending))
                pending.clear()
            f.flush()
            os.fsync(fd)

        group = Committer(work.interval_s, commit)

        def append(b: np.ndarray) -> None:
            if per_commit:
                pending.append(b)
            else:
                write(b)
            group.appended()

        worst = timed_appends(work.blocks, append)
        group.commit()
        f.close()
        seconds = time.perf_counter() - t0
    with h5py.File(path, "r") as f:
        ds = f["events"]
        check(name, work, (ds[i : i + H5_CHUNK] for i in range(0, ds.shape[0], H5_CHUNK)))
    return Run(seconds, group.commits, syncs.calls, disk_bytes(folder), worst)


def run_sqlite(folder: Path, work: Workload, sync: str) -> Run:
    name = ROW_SQL_FULL if sync == "FULL" else ROW_SQL_NORMAL
    path = folder / "session.sqlite"
    t0 = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)  # transactions are explicit below
    mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise RuntimeError(f"SQLite refused WAL mode ({mode})")
    con.execute(f"PRAGMA synchronous={sync}")
    con.execute(
        "CREATE TABLE events (t_us INTEGER NOT NULL, key INTEGER NOT NULL, value REAL NOT NULL)"
    )
    con.execute("BEGIN")

    def commit() -> None:
        con.execute("COMMIT")
        con.execute("BEGIN")

    group = Committer(work.interval_s, commit)
    insert = "INSERT INTO events VALUES (?, ?, ?)"

    def append(b: np.ndarray) -> None:
        con.executemany(insert, b.tolist())
        group.appended()

    worst = timed_appends(work.blocks, append)
    group.commit()
    con.execute("COMMIT")
    con.close()
    seconds = time.perf_counter() - t0
    on_disk = disk_bytes(folder)
    con = sqlite3.connect(path)
    try:
        cur = con.execute("SELECT t_us, key, value FROM events ORDER BY rowid")

        def batches() -> Iterator[np.ndarray]:
            while rows := cur.fetchmany(65_536):
                yield np.array(rows, dtype=EVENT_DTYPE)

        check(name, work, batches())
    finally:
        con.close()
    return Run(seconds, group.commits, None, on_disk, worst)


def check(name: str, work: Workload, read_back: Iterator[np.ndarray]) -> None:
    """Fail unless the events read back are the events written (count and SHA-256, in order)."""
    count, sha = digest(read_back)
    want_count, want_sha = work.expected
    if (count, sha) != (want_count, want_sha):
        raise AssertionError(
            f"{name}: read back {count} events (sha256 {sha[:16]}…), "
            f"wrote {want_count} (sha256 {want_sha[:16]}…)"
        )


# ---------------------------------------------------------------------- report
def machine() -> str:
    model = cpu_model()
    h5 = f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version})" if h5py else "no h5py"
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
        f"{np.__version__}, {h5}, SQLite {sqlite3.sqlite_version}"
    )


def filesystem(path: Path) -> str:
    """``fstype device mounted on mountpoint`` of the filesystem holding ``path``."""
    best = ("?", "?", "")
    real = str(path.resolve())
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            for line in f:
                dev, mnt, fstype = line.split()[:3]
                mnt = mnt.replace("\\040", " ")
                inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
                if inside and len(mnt) >= len(best[2]):
                    best = (fstype, dev, mnt)
    except OSError:
        return "filesystem unknown"
    return f"{best[0]} on {best[1]}, mounted on {best[2]}"


@dataclass
class Row:
    name: str
    block: int
    eps: float
    run: Run
    events: int


def measure(folder: Path, block: int, total: int, reps: int, interval_s: float) -> list[Row]:
    blocks = make_blocks(block, total, np.random.default_rng(block))
    work = Workload(blocks, interval_s, digest(iter(blocks)))
    events = work.expected[0]
    writers: list[tuple[str, Callable[[Path], Run]]] = [(ROW_IONE, lambda d: run_ione(d, work))]
    if h5py is not None:
        writers += [
            (ROW_H5_BLOCK, lambda d: run_h5py(d, work, per_commit=False)),
            (ROW_H5_COMMIT, lambda d: run_h5py(d, work, per_commit=True)),
        ]
    writers += [
        (ROW_SQL_NORMAL, lambda d: run_sqlite(d, work, "NORMAL")),
        (ROW_SQL_FULL, lambda d: run_sqlite(d, work, "FULL")),
    ]
    runs: dict[str, list[Run]] = {name: [] for name, _ in writers}
    for _ in range(reps):
        for name, fn in writers:
            d = Path(tempfile.mkdtemp(dir=folder))
            try:
                runs[name].append(fn(d))
            finally:
                shutil.rmtree(d, ignore_errors=True)
    rows = []
    for name, rs in runs.items():
        median = sorted(rs, key=lambda r: r.seconds)[len(rs) // 2]
        rows.append(Row(name, block, events / median.seconds, median, events))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (smoke)")
    parser.add_argument("--events", type=int, help="events per run (default 16777216; quick 32768)")
    parser.add_argument("--reps", type=int, help="repetitions (default 3; quick 1)")
    parser.add_argument("--dir", type=Path, help="where to write (default: the temporary dir)")
    args = parser.parse_args(argv)
    total = args.events or (32_768 if args.quick else 16_777_216)
    reps = args.reps or (1 if args.quick else 3)
    interval_ms = 10 if args.quick else 100  # quick runs are short: a shorter interval commits
    if total < max(BLOCK_SIZES) or reps < 1:
        parser.error(f"--events must be ≥ {max(BLOCK_SIZES)} and --reps ≥ 1")
    pinned = "not pinned"
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        pinned = f"pinned to core {core}"
    base = args.dir or Path(tempfile.gettempdir())
    folder = Path(tempfile.mkdtemp(prefix="ione-bench-record-", dir=base))
    print(f"## Recording: sustained events/s with group commit every {interval_ms} ms ({pinned})\n")
    print(f"Machine: {machine()}\n")
    print(f"Command: {shlex.join([sys.executable, *sys.argv])}\n")
    print(f"Files: {folder} ({filesystem(folder)}), deleted after each run\n")
    print(
        f"Workload: {total:,} events of 16 bytes per run, one block per 1 ms tick, commit "
        f"interval {interval_ms} ms for every writer, median of {reps} repetition(s); every run "
        "read back and checked (count + SHA-256).\n"
    )
    if h5py is None:
        print("h5py is not installed (pip install -e '.[bench]'): its rows are left out.\n")
    all_rows: list[Row] = []
    try:
        for block in BLOCK_SIZES:
            all_rows += measure(folder, block, total, reps, interval_ms / 1000)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        "| writer | events/block | M events/s | B/event on disk | commits | fsyncs | "
        "longest append ms | ione vs this | read back |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for block in BLOCK_SIZES:
        rows = [r for r in all_rows if r.block == block]
        ione = next(r for r in rows if r.name == ROW_IONE)
        for r in rows:
            fsyncs = "n/a¹" if r.run.fsyncs is None else str(r.run.fsyncs)
            print(
                f"| {r.name} | {block} | {r.eps / 1e6:.2f} | "
                f"{r.run.bytes_on_disk / r.events:.2f} | {r.run.commits} | {fsyncs} | "
                f"{r.run.worst_append_s * 1e3:.1f} | {ione.eps / r.eps:.2f}× | "
                f"✓ {r.events:,} events, SHA-256 |"
            )
    print(
        "\n¹ SQLite syncs inside its C library, out of Python's sight: in WAL mode FULL syncs "
        "the WAL at every commit and at each checkpoint (by default every 1000 pages of WAL), "
        "NORMAL only at checkpoints."
    )
    print(
        "fsyncs: os.fsync/os.fdatasync calls from Python (ione: one fdatasync per commit plus one "
        "fsync of the new file's header; h5py: one fsync per commit)."
    )
    ione_rows = [r for r in all_rows if r.name == ROW_IONE]
    lowest = min(ione_rows, key=lambda r: r.eps)
    met_rate = lowest.eps >= GOAL_EPS
    print(
        f"\nGoal 1: ione ≥ 1 M events/s recorded with group commit: "
        f"{'met' if met_rate else 'NOT met'} (lowest {lowest.eps / 1e6:.2f} M events/s, "
        f"at {lowest.block} events/block)."
    )
    ratios = []
    for r in ione_rows:
        peers = [p for p in all_rows if p.block == r.block and p.name in PEERS]
        best = max(peers, key=lambda p: p.eps)
        ratios.append((r.eps / best.eps, r.block, best.name))
    parts = "; ".join(f"{b} events/block: {x:.2f}× {name}" for x, b, name in ratios)
    print(
        f"Goal 2: ione ≥ 1× the best of h5py and SQLite at every block size: "
        f"{'met' if min(ratios)[0] >= 1.0 else 'NOT met'} ({parts})"
        f"{'' if h5py is not None else '; h5py not measured'}."
    )
    floors = [
        (r, next(p for p in all_rows if p.block == r.block and p.name == ROW_H5_COMMIT))
        for r in ione_rows
        if h5py is not None
    ]
    if floors:
        parts = "; ".join(f"{r.block} events/block: {r.eps / f.eps:.2f}×" for r, f in floors)
        print(f"Reference: ione vs the floor (h5py, one slab per commit): {parts}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

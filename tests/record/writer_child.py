"""A writer under load, for the kill test: appends numbered blocks as fast as it can and prints
``committed N`` each time a group commit completes (N records durable)."""

from __future__ import annotations

import sys

import numpy as np

from ione.events import EVENT_DTYPE
from ione.record import LogWriter


def block(i: int, n: int) -> np.ndarray:
    b = np.zeros(n, EVENT_DTYPE)
    b["t_us"] = i * n + np.arange(n)
    b["key"] = i
    b["value"] = np.float32(i % 1000)
    return b


def main(path: str, rows: int, interval_us: int) -> None:
    def report(n: int) -> None:
        sys.stdout.write(f"committed {n}\n")
        sys.stdout.flush()

    with LogWriter(path, commit_interval_us=interval_us, on_commit=report) as w:
        i = 0
        while True:
            w.append("spikes", block(i, rows))
            if i % 50 == 0:
                w.append("meta", {"i": i, "note": "x" * (i % 300)})
            i += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

"""Helpers for the integration tests of whole runs: configs on free loopback ports, reading
site logs."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import numpy as np

from ione.record import LogReader

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "serb2020.toml"
SITES = ("padova", "southampton", "zurich")


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` UDP ports free on ``host`` right now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def serb_config(
    tmp_path: Path,
    *,
    phase: str = "8 s",
    rates: tuple[str, ...] = ("10 Hz", "30 Hz", "10 Hz", "2 Hz"),
    link_keys: str = "",
    hosts: tuple[str, str, str] = ("127.0.0.1", "127.0.0.1", "127.0.0.1"),
    name: str = "serb.toml",
    watchdog_us: int | None = 1_000_000,
) -> Path:
    """examples/serb2020.toml on free ports, with phases of ``phase`` (as many as ``rates``),
    extra keys for each [[links]] table, and its key files under ``tmp_path``.

    ``watchdog_us`` sets Padova's guard watchdog timeout (None: the example's, SYSTEM.md §5's
    200 ms). Tests of plasticity and links use 1 s, so that a process held up for a moment on a
    busy 2-core test machine cannot disable BN's stimulation mid-run; the watchdog itself is
    tested at 200 ms (test_a_killed_hub_leaves_the_culture_unstimulated)."""
    text = EXAMPLE.read_text()
    if watchdog_us is not None:
        text, n = re.subn(r"guard = \{ ", f"guard = {{ watchdog_timeout_us = {watchdog_us}, ", text)
        assert n == 1
    ports = [free_ports(1, h)[0] for h in hosts]
    for site, port, host in zip(SITES, ports, hosts, strict=True):
        text, n = re.subn(
            rf'(name = "{site}"[^\n]*\nindex = \d+\n)host = "[^"]*"\nport = \d+',
            lambda m, p=port, h=host: f'{m.group(1)}host = "{h}"\nport = {p}',
            text,
            count=1,
        )
        assert n == 1, site
    head = text[: text.index("\n[[phases]]\n") + 1]
    phases = "".join(
        f'[[phases]]\nname = "p{i + 1}"\nduration = "{phase}"\nrates = {{ SN_pre = "{r}" }}\n\n'
        for i, r in enumerate(rates)
    )
    _, _, record = text.rpartition("[record]")
    for profile in ("padova-southampton", "southampton-zurich"):
        head = head.replace(f'profile = "{profile}"', f'profile = "{profile}"\n{link_keys}')
    path = tmp_path / name
    path.write_text(head + phases + "[record]" + record)
    return path


def records(run: Path, site: str) -> dict[str, list[Any]]:
    return LogReader(run / f"{site}.ionelog").read_all()


def table(recs: dict[str, list[Any]], kind: str) -> np.ndarray:
    blocks = [b for b in recs.get(kind, []) if isinstance(b, np.ndarray)]
    assert blocks, f"no {kind!r} records"
    return np.concatenate(blocks)

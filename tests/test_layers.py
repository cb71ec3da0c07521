"""Architecture guard: imports go downward only, and the pure layers stay pure.

Layers (docs/design.md): ``_time, events`` <- ``wire, models`` <- ``culture, network, record,
netem`` <- ``node`` <- ``report, cli``. A module may import from its own package and from lower
layers only. Inside ``wire/`` and ``models/`` no socket, asyncio or threading import and no clock
read is allowed: time is passed in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ione"

RANK = {
    "_version": 0,
    "_time": 0,
    "events": 1,  # events may use _time's units, not the reverse
    "wire": 2,
    "models": 2,
    "culture": 3,
    "network": 3,
    "record": 3,
    "netem": 3,
    "node": 4,
    "report": 5,
    "cli": 6,  # argument parsing; it calls into node, record and report
    "__main__": 7,  # `python -m ione` only calls the cli
}
PURE = {"wire", "models"}
FORBIDDEN_MODULES = {
    "socket",
    "asyncio",
    "threading",
    "selectors",
    "multiprocessing",
    "subprocess",
    "concurrent",
}
CLOCK_FUNCS = {
    "time",
    "time_ns",
    "monotonic",
    "monotonic_ns",
    "perf_counter",
    "perf_counter_ns",
    "process_time",
    "process_time_ns",
    "sleep",
    "clock_gettime",
    "clock_gettime_ns",
}
DATETIME_CLOCKS = {"now", "utcnow", "today"}


def unit_of(module: str) -> str | None:
    """'ione.wire._link' -> 'wire'; 'ione' -> None (the root curates the public API)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "ione" else None


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def check_source(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every layer violation in one module's source, as readable messages."""
    tree = ast.parse(source)
    me = unit_of(module)
    problems: list[str] = []
    time_aliases: set[str] = set()
    datetime_aliases: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
            for a in node.names:
                if a.name == "time":
                    time_aliases.add(a.asname or "time")
                if a.name == "datetime":
                    datetime_aliases.add(a.asname or "datetime")
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, is_package, node)
            targets = [target]
            if target == "ione":  # `from ione import x`: x is a layer, or a name from the root
                targets = [f"ione.{a.name}" if a.name in RANK else "ione" for a in node.names]
            if target == "time" and me in PURE:
                for a in node.names:
                    if a.name in CLOCK_FUNCS:
                        problems.append(f"{module}: imports clock function time.{a.name}")
            if target == "datetime":
                datetime_aliases.update(
                    a.asname or a.name for a in node.names if a.name == "datetime"
                )
        for target in targets:
            top = target.split(".")[0]
            if me in PURE and top in FORBIDDEN_MODULES:
                problems.append(f"{module}: imports {target} (I/O or threads in a pure layer)")
            if top == "ione" and me is not None:
                other = unit_of(target)
                if other is None:
                    problems.append(
                        f"{module}: imports the package root 'ione' (import the submodule)"
                    )
                elif other not in RANK:
                    problems.append(f"{module}: imports unknown layer ione.{other}")
                elif other != me and RANK[other] >= RANK[me]:
                    problems.append(
                        f"{module}: imports ione.{other} (layer {RANK[other]}) "
                        f"from layer {RANK[me]}"
                    )
        if me in PURE and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in time_aliases and node.attr in CLOCK_FUNCS:
                problems.append(f"{module}: reads the clock ({node.value.id}.{node.attr})")
            if node.value.id in datetime_aliases and node.attr in DATETIME_CLOCKS:
                problems.append(f"{module}: reads the clock ({node.value.id}.{node.attr})")
        if me in PURE and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner = node.value
            if (
                isinstance(inner.value, ast.Name)
                and inner.value.id in datetime_aliases
                and node.attr in DATETIME_CLOCKS
            ):
                problems.append(f"{module}: reads the clock (datetime.{inner.attr}.{node.attr})")
    return problems


def modules() -> list[tuple[str, Path, bool]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out.append((".".join(parts), path, is_package))
    return out


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = {unit_of(m) for m, _, _ in modules()} - set(RANK) - {None}
    assert not unknown, f"add these to the layer map in docs/design.md and here: {unknown}"


def test_the_source_tree_obeys_the_layers() -> None:
    problems = [p for m, path, pkg in modules() for p in check_source(path.read_text(), m, pkg)]
    assert problems == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("ione.wire._x", "from ione.node import runtime", "imports ione.node"),
        ("ione._time", "from ione.events import EVENT_DTYPE", "imports ione.events"),
        ("ione.wire._x", "import ione.models.neuron", "imports ione.models"),
        ("ione.events", "from ione.wire import Link", "imports ione.wire"),
        ("ione.wire._x", "from .. import node", "imports ione.node"),
        ("ione.record.log", "from ione import Link", "package root"),
        ("ione.wire._x", "import socket", "socket"),
        ("ione.models.neuron", "import asyncio", "asyncio"),
        ("ione.wire._x", "from threading import Thread", "threading"),
        ("ione.wire._x", "import time\nt = time.monotonic()", "time.monotonic"),
        (
            "ione.models.x",
            "import time as clock\nt = clock.perf_counter_ns()",
            "clock.perf_counter_ns",
        ),
        ("ione.wire._x", "from time import time", "time.time"),
        ("ione.wire._x", "import datetime\nd = datetime.datetime.now()", "datetime.datetime.now"),
        ("ione.wire._x", "from ione.gadgets import x", "unknown layer"),
    ],
)
def test_the_checker_catches_violations(module: str, source: str, expected: str) -> None:
    problems = check_source(source, module)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (
            "ione.node.site",
            "import asyncio\nimport time\nt = time.monotonic()\nfrom ione.wire import Link",
        ),
        (
            "ione.wire._link",
            "from ione.wire._frame import FrameCodec\nfrom ione.events import as_events",
        ),
        ("ione.wire._link", "from ._frame import FrameCodec\nimport numpy"),
        ("ione.cli", "from ione.node import demo\nfrom ione.wire import keys"),
    ],
)
def test_the_checker_allows_downward_imports(module: str, source: str) -> None:
    assert check_source(source, module) == []

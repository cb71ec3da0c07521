"""What a processor is and what one tick of it produces (:mod:`ione.node.processors`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ione.events import EventBlock

__all__ = ["Processor", "TickResult"]


@dataclass
class TickResult:
    """What one tick produced: events to send (by destination site), records to log, and the
    site's own spikes (for the :class:`StaticRoutes` of static projections)."""

    outbound: dict[str, list[EventBlock]] = field(default_factory=dict)
    records: list[tuple[str, Any]] = field(default_factory=list)
    spikes: list[EventBlock] = field(default_factory=list)

    def send(self, site: str, events: EventBlock) -> None:
        if events.size:
            self.outbound.setdefault(site, []).append(events)

    def log(self, kind: str, block: Any) -> None:
        if not isinstance(block, np.ndarray) or block.size:
            self.records.append((kind, block))

    def merge(self, other: TickResult) -> None:
        for site, blocks in other.outbound.items():
            self.outbound.setdefault(site, []).extend(blocks)
        self.records.extend(other.records)
        self.spikes.extend(other.spikes)


class Processor:
    """One population's (or the hub's) work per tick."""

    def tick(self, t_us: int, dt_us: int, inbound: EventBlock) -> TickResult:
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        """A few numbers for the live display (JSON-ready)."""
        return {"kind": type(self).__name__}

    def links_heard(self, t_us: int, heard: dict[str, int | None]) -> None:
        """Before each tick: when each peer's link last delivered an authentic frame (local µs;
        None before the first). A culture's guard watches its controlling links with it."""

    def rearm(self, t_us: int) -> bool:
        """An operator re-arms the site's stimulation outputs; True if nothing is disabled."""
        return True

"""Receive window: anti-replay, loss by window and by timeout, exact accounting, seq expansion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ione.wire import ReceiveWindow


def test_in_order_duplicates_and_too_old() -> None:
    w = ReceiveWindow(64)
    for s in range(100):
        assert w.check(s) == "new"
        w.accept(s, 1, 0)
    assert w.check(99) == "duplicate" and w.check(36) == "duplicate"
    assert w.check(35) == "too_old"
    assert (w.received, w.lost, w.in_flight, w.known_sent) == (100, 0, 0, 100)


def test_reordering_inside_the_window_is_accepted_once() -> None:
    w = ReceiveWindow(64)
    for s in (0, 1, 3, 4, 2):
        assert w.check(s) == "new"
        w.accept(s, 1, 0)
    assert w.reordered == 1 and w.check(2) == "duplicate" and w.in_flight == 0


def test_gap_is_lost_when_it_leaves_the_window() -> None:
    w = ReceiveWindow(64)
    w.accept(0, 5, 0)
    w.accept(10, 5, 0)
    assert (w.in_flight, w.lost) == (9, 0)
    w.accept(200, 5, 0)  # jumps far ahead: 1..9 slide out, 11..136 never had a slot
    assert w.lost == 9 + (200 - 64 - 10)
    assert w.received + w.lost + w.in_flight == w.known_sent == 201
    assert w.check(5) == "too_old"


def test_gap_is_lost_after_the_reorder_timeout_and_late_copy_is_refused() -> None:
    w = ReceiveWindow(1024, reorder_timeout_us=100)
    w.accept(0, 1, 0)
    w.accept(3, 1, 10)
    assert w.next_expiry() == 110
    assert w.expire(109) == 0
    assert w.expire(110) == 2
    assert w.check(1) == "too_old" and w.lost == 2 and w.in_flight == 0


def test_events_lost_become_exact_at_a_resolved_heartbeat() -> None:
    w = ReceiveWindow(1024, reorder_timeout_us=100)
    w.accept(0, 10, 0)  # frame 0: 10 events
    # frame 1 (7 events) is lost; frame 2 is a heartbeat saying 17 events were sent before it
    w.note_heartbeat(2, 17)
    w.accept(2, 0, 5)
    assert w.events_lost == 0  # frame 1 could still arrive
    w.expire(200)
    assert (w.events_lost, w.events_known_sent) == (7, 17)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3000), max_size=400), st.integers(64, 1024))
def test_accounting_identity_holds_for_any_arrival_order(arrivals: list[int], size: int) -> None:
    w = ReceiveWindow(size, reorder_timeout_us=50)
    accepted: set[int] = set()
    for i, s in enumerate(arrivals):
        verdict = w.check(s)
        if verdict == "new":
            assert s not in accepted
            accepted.add(s)
            w.accept(s, 1, i)
        else:
            w.reject(verdict)
        if i % 7 == 0:
            w.expire(i)
        assert w.received + w.lost + w.in_flight == w.known_sent
    assert w.received == len(accepted)
    assert w.received + w.duplicates + w.too_old == len(arrivals)


@pytest.mark.parametrize("top", [0, 1000, (1 << 48) - 5, (1 << 48) + 3, 5 * (1 << 48) + 17])
def test_sequence_expansion_from_48_bits(top: int) -> None:
    w = ReceiveWindow(64)
    w.top = top
    for true in (top + 1, top + 1000, max(top - 1000, 0), top + (1 << 20)):
        assert w.expand(true & ((1 << 48) - 1)) == true


def test_window_rejects_tiny_size() -> None:
    with pytest.raises(ValueError, match="at least 64"):
        ReceiveWindow(10)


def test_close_turns_in_flight_into_lost() -> None:
    w = ReceiveWindow(64)
    for s in np.arange(0, 20, 2):
        w.accept(int(s), 1, 0)
    w.close()
    assert w.in_flight == 0 and w.lost == 9 and w.received + w.lost == w.known_sent

"""ione.netem: a seeded, user-space internet emulator for links between ione sites.

``tc netem`` needs root and a kernel module; ione's sites talk UDP, so the emulator is a UDP
relay placed between two sites, one relay per link (:class:`Relay`, or ``python -m ione.netem``).
Each direction applies its own seeded :class:`Impairment` to every datagram:

- **loss**: Bernoulli with probability ``loss``, or Gilbert–Elliott burst loss (a two-state Markov
  chain, good ↔ bad, with a loss probability per state; :class:`GilbertElliott`);
- **duplication**: a surviving datagram is sent twice with probability ``duplicate``;
- **delay**: ``delay_us`` plus normal jitter of standard deviation ``jitter_us``, independent per
  datagram or, with ``jitter_tau_us > 0``, an Ornstein–Uhlenbeck process of arrival time (same
  normal marginal, but datagrams close in time see close delays, and the path is FIFO as a chain
  of router queues is: no datagram overtakes an earlier one); or ``delay_us`` plus a delay
  resampled from a measured trace. Delays are rounded to the µs and raised to ``min_delay_us``
  (the propagation floor) when the jitter would go below it;
- **reordering**: with probability ``reorder`` a datagram is held ``reorder_gap_us`` longer so
  that later ones overtake it. Independent jitter and trace delays reorder as well whenever they
  differ by more than the spacing of two datagrams. The relay counts every reordering it causes,
  whatever the cause.

Defaults come from SYSTEM.md §4 (marked there as emulation defaults): Padova–Southampton one way
15 ± 2 ms, Southampton–Zurich 10 ± 2 ms, both with 0.1 % loss (:data:`PADOVA_SOUTHAMPTON`,
:data:`SOUTHAMPTON_ZURICH`). Their floors are half the fibre round-trip floors given there
(11.3 ms and 8.1 ms → 5.65 ms and 4.05 ms); :data:`LAN` is 0.2 ± 0.05 ms without loss. The jitter
correlation times (100 ms for the internet presets, 10 ms for the LAN) are ione's own defaults,
not published figures; they make the presets FIFO paths, so they reorder nothing unless
``reorder`` is set.

The relay keeps exact counters per direction (received, forwarded, duplicated, dropped by cause,
reordered, queued, delay and release-lateness statistics), can be paused (link down: everything is
dropped and counted) and resumed, and takes a new profile at run time. See docs/netem.md.
"""

from ione.netem.control import ControlError, RelayClient
from ione.netem.model import Decisions, Impairment, ImpairmentStatistics
from ione.netem.process import RelayOptions, run_relay
from ione.netem.profiles import (
    LAN,
    PADOVA_SOUTHAMPTON,
    PROFILES,
    SOUTHAMPTON_ZURICH,
    GilbertElliott,
    Profile,
    load_delay_trace,
    profile_from_dict,
    profile_to_dict,
    resolve_profile,
)
from ione.netem.relay import DirectionStatistics, Relay, RelayStatistics

__all__ = [
    "LAN",
    "PADOVA_SOUTHAMPTON",
    "PROFILES",
    "SOUTHAMPTON_ZURICH",
    "ControlError",
    "Decisions",
    "DirectionStatistics",
    "GilbertElliott",
    "Impairment",
    "ImpairmentStatistics",
    "Profile",
    "Relay",
    "RelayClient",
    "RelayOptions",
    "RelayStatistics",
    "load_delay_trace",
    "profile_from_dict",
    "profile_to_dict",
    "resolve_profile",
    "run_relay",
]

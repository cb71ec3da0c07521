"""The wire's error types.

Input from the network is hostile (DESIGN.md principle 5): every way a datagram can be wrong ends
in exactly one exception type, :class:`BadFrame`, whose ``reason`` is a short stable code and whose
message says what was wrong. Local misuse (a bad argument from the calling program) raises
``ValueError`` or ``TypeError`` instead, so the two never mix.
"""

from __future__ import annotations

from typing import Final

__all__ = ["REASONS", "BadFrame"]

#: Every reason code :class:`BadFrame` can carry, with what it means.
REASONS: Final[dict[str, str]] = {
    "truncated": "shorter than a header and authentication tag",
    "magic": "does not start with the ione magic bytes",
    "version": "speaks another wire protocol version",
    "type": "unknown frame type",
    "flags": "reserved flag or layout bits set, or wrong direction",
    "layout": "invalid event layout",
    "length": "length does not match the header",
    "link": "addressed to another link",
    "key": "sealed with a key id this site does not hold",
    "auth": "authentication failed (wrong key, forged or corrupted)",
    "body": "authentic but its content is invalid",
    "ramp8": "not a valid legacy ramp8 packet",
}


class BadFrame(Exception):
    """A datagram that cannot be decoded or is not authentic.

    Attributes
    ----------
    reason
        One of the keys of :data:`REASONS`.
    """

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown BadFrame reason {reason!r}")
        super().__init__(f"{reason}: {message}")
        self.reason = reason

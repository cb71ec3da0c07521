"""Client of a relay's control channel: JSON requests over UDP on the loopback interface.

Each request is one datagram holding a JSON object with ``"cmd"`` and an ``"id"``; the relay
answers with one datagram holding ``"ok"``, the same ``"id"`` and the command's result (see
:meth:`ione.netem.relay.Relay.command` and docs/netem.md).
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from typing import TYPE_CHECKING, Any

from ione.netem.profiles import Profile, profile_to_dict

if TYPE_CHECKING:
    from ione.netem.relay import Relay

__all__ = ["ControlError", "RelayClient", "answer", "handle_request"]


class ControlError(RuntimeError):
    """The relay answered a control request with an error."""


class RelayClient:
    """Send control commands to a running relay (for supervisors, tests and people).

    Parameters
    ----------
    address
        The relay's control address, ``(host, port)`` as announced on its start line.
    timeout_s
        How long to wait for each reply.
    """

    def __init__(self, address: tuple[str, int], timeout_s: float = 5.0) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._ids = itertools.count(1)

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send one command and return the relay's reply.

        Raises
        ------
        TimeoutError
            If no reply comes within ``timeout_s``.
        ControlError
            If the relay answers ``"ok": false``.
        """
        ident = next(self._ids)
        self._sock.sendto(json.dumps({"cmd": cmd, "id": ident, **fields}).encode(), self.address)
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"relay at {self.address[0]}:{self.address[1]} did not answer {cmd!r} "
                    f"within {self.timeout_s} s"
                )
            self._sock.settimeout(remaining)
            try:
                data, _ = self._sock.recvfrom(1 << 16)
            except TimeoutError:
                continue
            reply = json.loads(data)
            if reply.get("id") != ident:  # a late answer to an earlier request
                continue
            if not reply.get("ok"):
                raise ControlError(f"relay refused {cmd!r}: {reply.get('error')}")
            return dict(reply)

    def ping(self) -> None:
        """Check that the relay answers."""
        self.request("ping")

    def pause(self) -> None:
        """Drop every datagram until :meth:`resume`."""
        self.request("pause")

    def resume(self) -> None:
        """Forward again."""
        self.request("resume")

    def set_profile(self, profile: str | Profile | dict[str, Any], direction: str = "both") -> None:
        """Change the profile (a preset name, a :class:`Profile` or a dict) of one or both ways."""
        spec = profile_to_dict(profile) if isinstance(profile, Profile) else profile
        self.request("set_profile", profile=spec, direction=direction)

    def snapshot(self) -> dict[str, Any]:
        """The relay's counters, profiles and kernel drops."""
        return dict(self.request("snapshot")["snapshot"])

    def stop(self) -> None:
        """Make the relay write its final snapshot and exit."""
        self.request("stop")

    def close(self) -> None:
        """Close the client's socket."""
        self._sock.close()

    def __enter__(self) -> RelayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def handle_request(relay: Relay, request: Any) -> dict[str, Any]:
    """Execute one control request on ``relay`` and return the reply; never raises on bad input.

    Requests are JSON objects with ``"cmd"``: ``ping``, ``snapshot``, ``pause``, ``resume``,
    ``set_profile`` (with ``"profile"``: a preset name or a profile object, and optionally
    ``"direction"``) or ``stop``; an ``"id"`` is echoed. Replies carry ``"ok"``, and ``"error"``
    naming what was wrong when it is false.
    """
    reply: dict[str, Any] = {"ok": True}
    if isinstance(request, dict) and "id" in request:
        reply["id"] = request["id"]
    try:
        if not isinstance(request, dict):
            raise ValueError("a request must be a JSON object")
        cmd = request.get("cmd")
        if cmd == "ping":
            pass
        elif cmd == "snapshot":
            reply["snapshot"] = relay.snapshot()
        elif cmd == "pause":
            relay.pause()
            reply["paused"] = True
        elif cmd == "resume":
            relay.resume()
            reply["paused"] = False
        elif cmd == "set_profile":
            if "profile" not in request:
                raise ValueError("set_profile needs a 'profile' (a preset name or an object)")
            relay.set_profile(request["profile"], request.get("direction", "both"))
            reply["profiles"] = {k: profile_to_dict(v) for k, v in relay.profiles.items()}
        elif cmd == "stop":
            relay.stop_soon()
        else:
            raise ValueError(
                f"unknown command {cmd!r}; commands: ping, snapshot, pause, resume, "
                "set_profile, stop"
            )
    except (ValueError, TypeError) as exc:
        failed: dict[str, Any] = {"ok": False, "error": str(exc)}
        if "id" in reply:
            failed["id"] = reply["id"]
        reply = failed
    return reply


def answer(relay: Relay, data: bytes) -> bytes:
    """The encoded reply to one control datagram (which may not even be JSON)."""
    try:
        request = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reply: dict[str, Any] = {"ok": False, "error": f"not JSON: {exc}"}
    else:
        reply = handle_request(relay, request)
    return json.dumps(reply).encode()

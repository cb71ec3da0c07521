"""The runtime layer: the only place with sockets, asyncio and clock reads.

- :class:`LinkEndpoint` drives a :class:`ione.wire.Link` over a UDP socket.
- :mod:`ione.node.wirepeer` runs one end of a link as a process; :mod:`ione.node.demo` runs two.
"""

from ione.node._endpoint import EndpointStatistics, LinkEndpoint, monotonic_us

__all__ = ["EndpointStatistics", "LinkEndpoint", "monotonic_us"]

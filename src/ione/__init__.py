"""ione, the Internet of Neuro-Electronics.

Link living neurons, memristive synapses and silicon spiking neurons that sit in different labs,
over the internet, in real time. The public API is the names below; everything else lives in
subpackages (:mod:`ione.wire`, ...) or private modules.
"""

from ione._version import __version__
from ione.events import EVENT_DTYPE, KeyRange, make_events, make_key, split_key
from ione.wire import BadFrame, Link, LinkConfig

__all__ = [
    "EVENT_DTYPE",
    "BadFrame",
    "KeyRange",
    "Link",
    "LinkConfig",
    "__version__",
    "make_events",
    "make_key",
    "split_key",
]

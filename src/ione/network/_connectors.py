"""Connectors (PyNN's names): which neurons of two populations a projection joins.

Each lists its connections as two index arrays (presynaptic, postsynaptic), sorted by
presynaptic neuron; a random connector draws from a generator its caller seeds, so that every
site derives the same connections from the experiment's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ione.network._errors import ConfigError
from ione.network._units import show

__all__ = [
    "AllToAllConnector",
    "Connector",
    "FixedProbabilityConnector",
    "FromListConnector",
    "IntArray",
    "OneToOneConnector",
]

IntArray = npt.NDArray[np.int64]


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _self_pairs(
    pre: IntArray, post: IntArray, allow: bool, same: bool
) -> tuple[IntArray, IntArray]:
    if allow or not same:
        return pre, post
    keep = pre != post
    return pre[keep], post[keep]


class Connector:
    """Base of the connectors: :meth:`connections` lists the (pre, post) neuron pairs."""

    __slots__ = ()
    type: ClassVar[str] = ""

    def check(self, n_pre: int, n_post: int) -> None:
        """Raise ConfigError (key ``connector``) if the connector cannot join these sizes."""

    def connections(
        self, n_pre: int, n_post: int, rng: np.random.Generator, *, same_population: bool = False
    ) -> tuple[IntArray, IntArray]:
        """Presynaptic and postsynaptic neuron indices of every connection, sorted by pre."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class OneToOneConnector(Connector):
    """Neuron i of the presynaptic population to neuron i of the postsynaptic one (equal sizes)."""

    type: ClassVar[str] = "one_to_one"

    def check(self, n_pre: int, n_post: int) -> None:
        if n_pre != n_post:
            raise ConfigError(
                f"one_to_one needs populations of equal size, got {n_pre} and {n_post}",
                key="connector",
            )

    def connections(
        self, n_pre: int, n_post: int, rng: np.random.Generator, *, same_population: bool = False
    ) -> tuple[IntArray, IntArray]:
        i = np.arange(min(n_pre, n_post), dtype=np.int64)
        return i, i.copy()


@dataclass(frozen=True, slots=True)
class AllToAllConnector(Connector):
    """Every presynaptic neuron to every postsynaptic neuron."""

    type: ClassVar[str] = "all_to_all"
    allow_self_connections: bool = True

    def connections(
        self, n_pre: int, n_post: int, rng: np.random.Generator, *, same_population: bool = False
    ) -> tuple[IntArray, IntArray]:
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        post = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        return _self_pairs(pre, post, self.allow_self_connections, same_population)


@dataclass(frozen=True, slots=True)
class FixedProbabilityConnector(Connector):
    """Each pair connected independently with probability ``p_connect``.

    ``seed`` fixes the draw; without one, :meth:`Experiment.connections` derives it from the
    experiment's seed and the projection's name.
    """

    type: ClassVar[str] = "fixed_probability"
    p_connect: float
    allow_self_connections: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        p = self.p_connect
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise ConfigError(f"expected a probability from 0 to 1, got {show(p)}", key="p_connect")
        _set(self, "p_connect", float(p))
        s = self.seed
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 0):
            raise ConfigError(f"expected a non-negative integer seed, got {show(s)}", key="seed")

    def connections(
        self, n_pre: int, n_post: int, rng: np.random.Generator, *, same_population: bool = False
    ) -> tuple[IntArray, IntArray]:
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        pre, post = np.nonzero(rng.random((n_pre, n_post)) < self.p_connect)
        return _self_pairs(
            pre.astype(np.int64),
            post.astype(np.int64),
            self.allow_self_connections,
            same_population,
        )


@dataclass(frozen=True, slots=True)
class FromListConnector(Connector):
    """Exactly the listed ``(pre, post)`` neuron pairs, e.g. one target neuron of a culture."""

    type: ClassVar[str] = "from_list"
    conn_list: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        pairs = []
        for i, pair in enumerate(self.conn_list):
            ok = isinstance(pair, list | tuple) and len(pair) == 2
            ok = ok and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in pair)
            if not ok:
                raise ConfigError(
                    f"expected a pair [pre, post] of neuron indices, got {show(pair)}",
                    key=f"connections[{i}]",
                )
            pairs.append((int(pair[0]), int(pair[1])))
        if len(set(pairs)) != len(pairs):
            raise ConfigError("expected each pair once, got a pair twice", key="connections")
        _set(self, "conn_list", tuple(sorted(pairs)))

    def check(self, n_pre: int, n_post: int) -> None:
        for i, (a, b) in enumerate(self.conn_list):
            if a >= n_pre or b >= n_post:
                raise ConfigError(
                    f"expected indices below the sizes {n_pre} (pre) and {n_post} (post), "
                    f"got [{a}, {b}]",
                    key=f"connector.connections[{i}]",
                )

    def connections(
        self, n_pre: int, n_post: int, rng: np.random.Generator, *, same_population: bool = False
    ) -> tuple[IntArray, IntArray]:
        arr = np.array(self.conn_list, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0].copy(), arr[:, 1].copy()

"""The one error a bad experiment description raises: :class:`ConfigError`."""

from __future__ import annotations

import os

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """An experiment description that ione cannot accept.

    The message names the file (when the description came from one), the key path inside it
    (``projections[1].synapse.rule``) and what was expected, so that a command-line tool can print
    it as it is::

        examples/serb2020.toml: projections[1].synapse.rule: expected one of 'rate', 'timing',
        'pair_stdp', 'none', got 'rates'

    Parameters
    ----------
    reason
        What was wrong and what was expected.
    key
        Key path of the offending value (``""`` for the file as a whole).
    file
        The file the description came from, if any.

    Attributes
    ----------
    reason, key, file
        As given; :meth:`within` and :meth:`in_file` return copies with more context.
    """

    def __init__(
        self, reason: str, *, key: str = "", file: str | os.PathLike[str] | None = None
    ) -> None:
        self.reason = reason
        self.key = key
        self.file = None if file is None else os.fspath(file)
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [p for p in (self.file, self.key) if p]
        return ": ".join([*parts, self.reason])

    def within(self, prefix: str) -> ConfigError:
        """The same error with its key placed under ``prefix`` (``populations[2]``)."""
        if not prefix:
            return self
        if not self.key:
            key = prefix
        elif self.key.startswith("["):
            key = prefix + self.key
        else:
            key = f"{prefix}.{self.key}"
        return ConfigError(self.reason, key=key, file=self.file)

    def in_file(self, file: str | os.PathLike[str]) -> ConfigError:
        """The same error, naming the file it was found in."""
        return ConfigError(self.reason, key=self.key, file=file)

    def __reduce__(self) -> tuple[object, ...]:  # keep keyword arguments through pickling
        return (_rebuild, (self.reason, self.key, self.file))


def _rebuild(reason: str, key: str, file: str | None) -> ConfigError:
    return ConfigError(reason, key=key, file=file)

"""Parameter overrides: an immutable mapping, and their checking against ione.models classes.

A description names a preset of :mod:`ione.models` (``DYNAPSE_DPI``) and may override some of its
fields (``{ tau_mem_ms = 15.0 }``). :func:`apply_overrides` checks every override against the
parameter class (the name exists, the value has the field's type, nested dataclasses take
tables), builds the result with :func:`dataclasses.replace` so that the class's own checks run,
and turns any complaint into a :class:`~ione.network.ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, Union

from ione.network._errors import ConfigError
from ione.network._units import show

__all__ = ["ParamValue", "Params", "apply_overrides"]

ParamValue = Union[bool, int, float, str, "Params", tuple[bool | int | float | str, ...]]
T = TypeVar("T")


class Params(Mapping[str, ParamValue]):
    """An immutable, hashable mapping of parameter overrides (nested tables become Params).

    Equality is that of mappings, so ``Params({"a": 1.0}) == {"a": 1.0}``.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        pairs = dict(items.items() if isinstance(items, Mapping) else items)
        for name in pairs:
            if not isinstance(name, str):
                raise TypeError(f"parameter names must be strings, got {name!r}")
        self._items: tuple[tuple[str, ParamValue], ...] = tuple(
            sorted((k, _freeze(v)) for k, v in pairs.items())
        )

    def __getitem__(self, name: str) -> ParamValue:
        for k, v in self._items:
            if k == name:
                return v
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Params):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return f"Params({self.to_dict()!r})"

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dictionaries (for writing TOML)."""
        return {
            k: v.to_dict() if isinstance(v, Params) else list(v) if isinstance(v, tuple) else v
            for k, v in self._items
        }


def _freeze(value: Any) -> ParamValue:
    if isinstance(value, Params):
        return value
    if isinstance(value, Mapping):
        return Params(value)
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(v, bool | int | float | str) for v in value
    ):
        return tuple(value)
    raise TypeError(
        "a parameter value must be a number, a string, a bool, an array of those or a table: "
        f"{value!r}"
    )


def _type_name(hint: Any) -> str:
    if hint is float:
        return "a number"
    if hint is int:
        return "an integer"
    if hint is bool:
        return "true or false"
    if hint is str:
        return "a string"
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(show(a) for a in typing.get_args(hint))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return f"a table of {hint.__name__} fields"
    return f"a value of type {getattr(hint, '__name__', hint)}"


def _coerce(value: ParamValue, hint: Any, base: Any, key: str) -> tuple[Any, ParamValue]:
    """(value for the dataclass, normalised override) or a ConfigError."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        arms = [a for a in typing.get_args(hint) if a is not type(None)]
        for arm in arms:
            try:
                return _coerce(value, arm, base, key)
            except ConfigError:
                continue
        expected = " or ".join(_type_name(a) for a in arms)
        raise ConfigError(f"expected {expected}, got {show(value)}", key=key)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Params):
            raise ConfigError(f"expected {_type_name(hint)}, got {show(value)}", key=key)
        return apply_overrides(base, value, key)
    ok: bool
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise ConfigError(f"expected a finite number, got {show(value)}", key=key)
        if ok:
            return float(value), float(value)  # type: ignore[arg-type]
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is bool:
        ok = isinstance(value, bool)
    elif hint is str:
        ok = isinstance(value, str)
    elif origin is typing.Literal:
        ok = isinstance(value, str | int) and value in typing.get_args(hint)
    else:
        raise ConfigError("this parameter cannot be set from a description", key=key)
    if not ok:
        raise ConfigError(f"expected {_type_name(hint)}, got {show(value)}", key=key)
    return value, value


def apply_overrides(
    base: T, overrides: Mapping[str, Any], key: str, *, exclude: frozenset[str] = frozenset()
) -> tuple[T, Params]:
    """Apply ``overrides`` to the frozen dataclass ``base``.

    Parameters
    ----------
    base
        A preset (a frozen dataclass instance of ione.models).
    overrides
        Field names and values; a dataclass-typed field takes a nested mapping.
    key
        Key path of the overrides table, for error messages.
    exclude
        Field names that may not be overridden here (set elsewhere in the description).

    Returns
    -------
    tuple
        The new parameter object and the overrides normalised (integers given for float fields
        become floats), so that equal descriptions compare equal.

    Raises
    ------
    ConfigError
        Unknown field (listing the valid ones), wrong type, or a value the class rejects.
    """
    cls = type(base)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(base) if f.init and f.name not in exclude]  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    normal: dict[str, ParamValue] = {}
    for name, value in Params(overrides).items():
        where = f"{key}.{name}" if key else name
        if name not in names:
            raise ConfigError(
                f"unknown parameter of {cls.__name__}; expected one of: {', '.join(names)}",
                key=where,
            )
        changes[name], normal[name] = _coerce(value, hints[name], getattr(base, name), where)
    if not changes:
        return base, Params()
    try:
        result = dataclasses.replace(base, **changes)  # type: ignore[type-var]
    except (ValueError, TypeError) as exc:
        where = f"{key}.{next(iter(changes))}" if len(changes) == 1 else key
        raise ConfigError(f"rejected by {cls.__name__}: {exc}", key=where) from None
    return result, Params(normal)

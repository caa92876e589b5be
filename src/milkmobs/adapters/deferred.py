"""Adapters built on first use, once: what a process never uses, it never builds.

A Lambda function runs one use case, yet the composition root hands the core every port. Built
eagerly, each adapter would read its settings (their defaults, where the function was not given
them), create its clients and load their service models at every cold start. ``on_first_use``
answers a stand-in instead: the first attribute read builds the adapter — under a lock, since a
server's threads may race to it — and every read goes to that one adapter from then on.

The stand-in has no public attribute of its own (an adapter's ``get`` stays the adapter's): what
the composition root asks of it goes through this module's functions. ``known`` answers, without
building, what the composition root reads of every adapter (an index's dimension).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class Once(Generic[T]):
    """``build()``, called at the first ``get()`` and never again; checks run on what it built
    before anyone gets it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._built = False
        self._lock = threading.Lock()
        self._checks: list[Callable[[T], None]] = []

    def get(self) -> T:
        if not self._built:
            with self._lock:
                if not self._built:
                    value = self._build()
                    for check in self._checks:
                        check(value)  # a failed check leaves it unbuilt: the next use fails the same way
                    self._value, self._built = value, True
        return cast(T, self._value)

    @property
    def built(self) -> bool:
        return self._built

    def when_built(self, check: Callable[[T], None]) -> None:
        """Run ``check`` on the value when it is built (now, if it is)."""
        with self._lock:
            if not self._built:
                self._checks.append(check)
                return
        check(cast(T, self._value))


class _StandIn:
    """Stands in for the adapter its ``Once`` builds; every attribute is the adapter's."""

    __slots__ = ("__known", "__once", "__what")

    def __init__(self, what: str, once: Once[Any], known: Mapping[str, Callable[[], object]]) -> None:
        object.__setattr__(self, "_StandIn__once", once)
        object.__setattr__(self, "_StandIn__what", what)
        object.__setattr__(self, "_StandIn__known", dict(known))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_StandIn__"):  # a copy being made, before __init__: never build for it
            raise AttributeError(name)
        once: Once[Any] = self.__once
        if not once.built and name in self.__known:
            return self.__known[name]()
        return getattr(once.get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__once.get(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.__once.get(), name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(stand_in, AdapterClass) asks the adapter
        return type(self.__once.get())

    def __repr__(self) -> str:
        once: Once[Any] = self.__once
        return repr(once.get()) if once.built else f"<{self.__what}, built on first use>"


def on_first_use(what: str, build: Callable[[], T], **known: Callable[[], object]) -> T:
    """A stand-in typed as the adapter ``build`` returns (``what`` names it until it is built)."""
    return cast(T, _StandIn(what, Once(build), known))


def pending(adapter: object) -> Once[Any] | None:
    """What will build ``adapter``, if it is a stand-in whose adapter is not built yet."""
    if type(adapter) is _StandIn:
        once: Once[Any] = object.__getattribute__(adapter, "_StandIn__once")
        return None if once.built else once
    return None


def built(adapter: T) -> T:
    """The adapter itself (built now if need be) behind a stand-in, else ``adapter``."""
    if type(adapter) is _StandIn:
        once: Once[T] = object.__getattribute__(adapter, "_StandIn__once")
        return once.get()
    return adapter

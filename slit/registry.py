"""One registry type for every plug-in point of slit (routing policies, algorithms, forecasters,
grid-signal formats, request-trace formats).

A registry maps names to objects with one behaviour everywhere:

* adding a name that is already there is an error unless ``replace=True`` (a plug-in never
  silently shadows a built-in or another plug-in);
* asking for an unknown name raises :class:`~slit.errors.RegistryError` (a
  :class:`~slit.errors.SlitError`) that names the kind, the closest registered name and every
  valid one.

The registries themselves live in :mod:`slit.plugins`, at the bottom of the package, so that
e.g. the scenario validator can list the routing policies without importing the simulator.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from slit.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> objects of one kind (see the module doc for the behaviour).

    Args:
        kind: what an entry is, for messages (e.g. ``"routing policy"``).
        listing: how a user lists the entries (e.g. ``"slit list policies"``), for messages.
        builtins: modules that register the built-in entries, imported the first time the
            registry is read (so a low layer can list what a higher layer provides without
            importing it, as a plug-in system loads its entry points).
    """

    def __init__(self, kind: str, listing: str = "", builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.listing = listing
        self._builtins = builtins
        self._loaded = not builtins
        self._items: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True  # first: a built-in module that reads the registry must not recurse
            for module in self._builtins:
                importlib.import_module(module)

    def add(self, name: str, item: T, *, description: str = "", replace: bool = False) -> T:
        """Register ``item`` under ``name`` and return it.

        Raises:
            ValueError: ``name`` is not a non-empty string.
            RegistryError: ``name`` is taken and ``replace`` is False.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if name in self._items and not replace:
            raise RegistryError(
                f"a {self.kind} named '{name}' is already registered; choose another name, or "
                f"pass replace=True to replace it"
            )
        self._items[name] = item
        self._descriptions[name] = description
        return item

    def remove(self, name: str) -> T:
        """Take ``name`` out of the registry and return its entry (e.g. a test's temporary
        plug-in); :class:`~slit.errors.RegistryError` if there is none."""
        item = self.get(name)
        del self._items[name]
        del self._descriptions[name]
        return item

    def register(
        self, name: str, *, description: str = "", replace: bool = False
    ) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(item: T) -> T:
            return self.add(name, item, description=description, replace=replace)

        return deco

    def get(self, name: str) -> T:
        """The entry registered as ``name``.

        Raises:
            RegistryError: unknown name; the message suggests the closest one and lists all.
        """
        self._load()
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise RegistryError(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        """What :meth:`get` says of an unknown ``name``."""
        names = self.names()
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        where = f" (see `{self.listing}`)" if self.listing else ""
        valid = ", ".join(names) if names else "none registered"
        return f"unknown {self.kind} '{name}'.{hint} Valid{where}: {valid}"

    def description(self, name: str) -> str:
        """The one-line description given at registration ("" if none)."""
        self.get(name)
        return self._descriptions[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"

"""A Copilot manifest as read, with the position of every field and a record of which fields
were mapped, so that nothing is dropped silently: a field no mapper looked at is reported."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...manifest.loader import Positions
from ...manifest.problems import Path
from . import convert
from .notes import APPROXIMATE, NOT_IMPORTED, Note, Report


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@dataclass
class Doc:
    """One Copilot file. `origin` maps a path of the (possibly environment-merged) data to the
    path where the value was written, for positions and field names."""

    file: str
    data: Any
    positions: Positions
    report: Report
    origin: dict[Path, Path] = field(default_factory=dict)
    used: set[Path] = field(default_factory=set)
    visited: set[Path] = field(default_factory=set)

    def written(self, path: Path) -> Path:
        for end in range(len(path), -1, -1):
            if path[:end] in self.origin:
                return (*self.origin[path[:end]], *path[end:])
        return path

    def note(self, path: Path, kind: str, text: str) -> None:
        where = self.written(path)
        line, column = self.positions.of_key(where)
        self.report.add(Note(self.file, line, column, dotted(where), kind, text))

    def leftovers(self) -> None:
        """Report every field that no mapper read."""
        self._walk(self.data, ())

    def _walk(self, value: Any, path: Path) -> None:
        if path in self.used:
            return
        if path and path not in self.visited:
            self.note(path, NOT_IMPORTED, "the importer does not know this field; port it by hand")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if item is not None:  # `key:` with nothing after it leaves the field unset
                    self._walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._walk(item, (*path, index))


_MISSING = object()


@dataclass
class Node:
    doc: Doc
    path: Path
    value: Any

    def __post_init__(self) -> None:
        self.doc.visited.add(self.path)

    def peek(self, key: str) -> Any:
        """The value of key without marking it mapped (a mapper that looks before it reads)."""
        return self.value.get(key) if isinstance(self.value, dict) else None

    def seconds(self, key: str) -> float | None:
        """A Go duration ("30s", "1h30m") in seconds; reported when it is not one."""
        value = self.raw(key)
        if value is None:
            return None
        seconds = convert.duration_seconds(value)
        if seconds is None:
            self.skip(key, f"{value!r} is not a duration like 30s or 1m; fix it and import again")
        return seconds

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def raw(self, key: str, default: Any = None) -> Any:
        """The value of key as written (any shape), marked as mapped."""
        if not isinstance(self.value, dict) or self.value.get(key) is None:
            return default
        self.doc.used.add((*self.path, key))
        return self.value[key]

    def child(self, key: str | int) -> Node | None:
        """A mapping or list under key, whose own fields are tracked one by one."""
        if isinstance(key, int):
            items = self.value if isinstance(self.value, list) else []
            return Node(self.doc, (*self.path, key), items[key]) if key < len(items) else None
        if not isinstance(self.value, dict) or self.value.get(key) is None:
            return None
        return Node(self.doc, (*self.path, key), self.value[key])

    def items(self) -> Iterator[tuple[str, Node]]:
        if isinstance(self.value, dict):
            for key in self.value:
                if self.value[key] is not None:
                    yield str(key), Node(self.doc, (*self.path, key), self.value[key])

    def elements(self) -> Iterator[Node]:
        if isinstance(self.value, list):
            for index, item in enumerate(self.value):
                yield Node(self.doc, (*self.path, index), item)

    def use(self) -> None:
        self.doc.used.add(self.path)

    def typed(self, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        """The value of key if it has the expected type; else reported and None."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            value = _MISSING
        if value is _MISSING or not isinstance(value, kind):
            self.skip(key, f"expected {what}; write it as Copilot documents it and import again")
            return None
        return value

    def text(self, key: str) -> str | None:
        value = self.typed(key, (str, int, float), "a string")
        return None if value is None else str(value)

    def number(self, key: str) -> int | None:
        value = self.typed(key, (int, str), "a number")
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                self.skip(key, "expected a number")
                return None
        return value if isinstance(value, int) else None

    def flag(self, key: str) -> bool | None:
        value = self.typed(key, bool, "true or false")
        return value if isinstance(value, bool) else None

    def skip(self, key: str | None, why: str) -> None:
        path = self.path if key is None else (*self.path, key)
        self.doc.used.add(path)
        self.doc.note(path, NOT_IMPORTED, why)

    def approx(self, key: str | None, why: str) -> None:
        """Noted as approximate; a key is mapped by that, a whole block (key None) keeps its fields tracked."""
        path = self.path if key is None else (*self.path, key)
        if key is not None:
            self.doc.used.add(path)
        self.doc.note(path, APPROXIMATE, why)

    def skip_all(self, reasons: dict[str, str]) -> None:
        for key, why in reasons.items():
            if self.has(key):
                self.skip(key, why)

"""Problems found in a manifest, and how they are printed.

Every problem knows where it sits in the file (line and column, 1-based) and its
dotted path, so that the user can jump straight to it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_/*-]+$")

Path = tuple[str | int, ...]


def dotted(path: Path) -> str:
    """`("cluster", "ec2", "general", "min")` -> `cluster.ec2.general.min`; list items as `[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        # A key with spaces, dots or other characters is quoted, so `"tags "` shows its space.
        text = part if _PLAIN_KEY.match(part) else json.dumps(part, ensure_ascii=False)
        out += f".{text}" if out else text
    return out or "(top level)"


def show(value: Any) -> str:
    """A value as the user wrote it in YAML, short enough for one line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list):
        text = "[" + ", ".join(show(v) for v in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or, as a warning, worth a second look) in a manifest."""

    line: int
    column: int
    path: Path = field(compare=False)
    message: str = field(compare=False)
    # Set when the value was written in a base manifest (`extends`): that file, and the
    # files that led to it from the one loaded.
    file: str | None = field(default=None, compare=False)
    via: tuple[str, ...] = field(default=(), compare=False)

    def where(self, filename: str) -> str:
        """file:line:col of the value, with the chain of overlays that led to it."""
        where = f"{self.file or filename}:{self.line}:{self.column}"
        if self.via:
            where += f" (via {' -> '.join(self.via)})"
        return where

    def format(self, filename: str) -> str:
        return f"{self.where(filename)}: {dotted(self.path)}: {self.message}"

    def sort_key(self) -> tuple[bool, str, int, int]:
        """The loaded file's problems first, then each base's, each by position."""
        return (self.file is not None, self.file or "", self.line, self.column)


class ManifestError(Exception):
    """A manifest that cannot be used; carries every problem found, not only the first."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(p.format(filename) for p in self.problems))

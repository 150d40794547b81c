"""`extends:` overlays: a manifest written on top of another (manifest-v1.1, "Environments").

Each file of a chain is read by the loader on its own (its own `${NAME}`s, anchors and
positions); the documents are then merged, base first: maps merge key by key, lists and
scalars replace, and `null` in an overlay removes the key so that its default applies
again. The merged document keeps, for every value, the file it was written in, so that a
problem names that file and the chain it came through (`base.yml:31:12 (via prod.yml)`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

from .loader import Document, Positions, decode, load_text
from .problems import Path, Problem, show

EXTENDS = "extends"


@dataclass
class Origin:
    """A file of a chain: its name as shown in problems, and the files it was reached through."""

    name: str
    via: tuple[str, ...] = ()


@dataclass
class Chain:
    """The merged document of a chain, and where each of its values was written."""

    document: Document
    problems: list[Problem]
    origin: Origin
    # path -> the file that wrote the value (and key) at path; the loaded file when absent.
    origins: dict[Path, Origin] = field(default_factory=dict)
    # path -> (where the overlay wrote `null`): a required field removed this way is reported there.
    removed: dict[Path, tuple[Origin, tuple[int, int]]] = field(default_factory=dict)


class ChainBroken(Exception):
    """A file of the chain cannot be read or is not a mapping: nothing to merge."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


def load_chain(path: str, environ: Mapping[str, str] | None) -> Chain:
    return _load(path, Origin(path), environ, seen=())


def _read(path: str, origin: Origin, environ: Mapping[str, str] | None) -> tuple[Document, list[Problem]]:
    try:
        data = FilePath(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        unread = Problem(1, 1, (), f"cannot read the file ({reason}); check the path")
        raise ChainBroken([_at(origin, unread)]) from None
    text, unreadable = decode(data)
    if text is None:
        raise ChainBroken([_at(origin, unreadable)] if unreadable else [])
    document, problems = load_text(text, environ)
    problems = [_at(origin, p) for p in problems]
    if document.data is None or not isinstance(document.data, dict):
        raise ChainBroken(problems)
    return document, problems


def _load(path: str, origin: Origin, environ: Mapping[str, str] | None, seen: tuple[str, ...]) -> Chain:
    document, problems = _read(path, origin, environ)
    chain = Chain(document, problems, origin)
    extends = document.data.get(EXTENDS)
    if EXTENDS not in document.data or extends is None:
        return chain
    where = document.positions.of_value((EXTENDS,))
    if not isinstance(extends, str) or not extends.strip():
        message = f"{show(extends)} is not a file name; write the path of the base manifest, e.g. extends: base.yml"
        chain.problems.append(_at(origin, Problem(*where, (EXTENDS,), message)))
        document.reported.add((EXTENDS,))
        return chain
    base_path = os.path.normpath(os.path.join(os.path.dirname(path), extends))
    identity = os.path.realpath(base_path)
    if identity in (*seen, os.path.realpath(path)):
        loop = " -> ".join([*origin.via, origin.name, base_path])
        message = f"{show(extends)} makes a cycle ({loop}); a base cannot extend a file that extends it"
        raise ChainBroken([*problems, _at(origin, Problem(*where, (EXTENDS,), message))])
    if not os.path.isfile(base_path):
        message = f"{show(extends)}: no such file ({base_path}); give a path relative to this file"
        raise ChainBroken([*problems, _at(origin, Problem(*where, (EXTENDS,), message))])
    base_origin = Origin(base_path, (*origin.via, origin.name))
    try:
        base = _load(base_path, base_origin, environ, (*seen, os.path.realpath(path)))
    except ChainBroken as broken:
        raise ChainBroken([*problems, *broken.problems]) from None
    return _merge(base, chain, origin)


def _at(origin: Origin, problem: Problem) -> Problem:
    """The problem, placed in the file it was found in (the loaded file needs no name)."""
    if not origin.via:
        return problem
    return Problem(problem.line, problem.column, problem.path, problem.message, origin.name, origin.via)


def _merge(base: Chain, overlay: Chain, origin: Origin) -> Chain:
    over = overlay.document
    merged = Chain(
        Document({}, Positions(), {*base.document.reported, *over.reported}),
        [*base.problems, *overlay.problems, *_app_changed(base, overlay, origin)],
        origin,
        removed=dict(base.removed),
    )
    positions = merged.document.positions
    positions.values.update(base.document.positions.values)
    positions.keys.update(base.document.positions.keys)
    # What the base chain left unmarked was written in the base file itself.
    for known in [*positions.values, *positions.keys]:
        merged.origins[known] = base.origins.get(known, base.origin)
    data = dict(base.document.data)
    data.pop(EXTENDS, None)  # the base's own base is merged already
    merged.document.data = _merge_mapping(data, over.data, (), over.positions, merged, origin)
    return merged


def _merge_mapping(
    base: dict[str, Any], over: dict[str, Any], path: Path, written: Positions, merged: Chain, origin: Origin
) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        here = (*path, key)
        if value is None:
            result.pop(key, None)
            _forget(merged, here)
            merged.removed[here] = (origin, written.of_value(here))
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge_mapping(result[key], value, here, written, merged, origin)
        else:
            _forget(merged, here)
            result[key] = value
            _take(merged, written, here, origin)
    return result


def _forget(merged: Chain, path: Path) -> None:
    """The base's value at path is replaced: its positions would point at text no longer in force."""
    positions = merged.document.positions
    tables: list[dict[Path, Any]] = [positions.values, positions.keys, merged.origins, merged.removed]
    for table in tables:
        for known in [p for p in table if p[: len(path)] == path]:
            del table[known]


def _take(merged: Chain, written: Positions, path: Path, origin: Origin) -> None:
    positions = merged.document.positions
    for table, source in ((positions.values, written.values), (positions.keys, written.keys)):
        for known, at in source.items():
            if known[: len(path)] == path:
                table[known] = at
                merged.origins[known] = origin


def _app_changed(base: Chain, overlay: Chain, origin: Origin) -> list[Problem]:
    ours, theirs = overlay.document.data.get("app"), base.document.data.get("app")
    if ours is None or theirs is None or ours == theirs:  # null: reported as a removed required field
        return []
    message = (
        f"{show(ours)} differs from the app {show(theirs)} of the base manifest; one chain is one app: "
        f"remove `app` here or make it {show(theirs)}"
    )
    return [_at(origin, Problem(*overlay.document.positions.of_value(("app",)), ("app",), message))]


def placed(chain: Chain, problem: Problem) -> Problem:
    """A problem of the merged document, placed in the file that wrote the value it is about."""
    path, at = problem.path, (problem.line, problem.column)
    if path in chain.removed and problem.message.startswith("required"):
        origin, written = chain.removed[path]
        message = "required; `null` in an overlay removes it, and it has no default: give it a value there"
        return _at(origin, Problem(*written, path, message))
    if len(path) > 1 and path[-1] == EXTENDS and problem.message.startswith("unknown key"):
        problem = Problem(*at, path, "`extends` is read only at the top level of a manifest; move it there")
    positions = chain.document.positions
    if positions.keys.get(path) == at:
        return _at(chain.origins.get(path, chain.origin), problem)
    for end in range(len(path), -1, -1):
        if path[:end] in positions.values:
            return _at(chain.origins.get(path[:end], chain.origin), problem)
    return problem

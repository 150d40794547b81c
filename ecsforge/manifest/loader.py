"""YAML -> plain Python data, with the line and column of every key and value.

Plain YAML loaders forget where a value came from and silently keep the last of two
duplicate keys. This loader composes the node tree itself so that it can:
- remember positions, for `file:line:col` in every error;
- reject duplicate keys;
- replace `${NAME}` in string values by the environment variable NAME.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .problems import Path, Problem, show

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml's parser when PyYAML was built with it (the wheels are): same nodes and marks,
# several times faster on large manifests.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Positions:
    """Where each value (and each mapping key) of the document starts, 1-based."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: Path) -> tuple[int, int]:
        """The position of the value at path, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return (1, 1)

    def of_key(self, path: Path) -> tuple[int, int]:
        """The position of the key that names path (for unknown or invalid keys)."""
        return self.keys.get(path) or self.of_value(path)


@dataclass
class Document:
    data: Any
    positions: Positions


def _start(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, environ: Mapping[str, str]) -> None:
        self.loader = loader
        self.environ = environ
        self.positions = Positions()
        self.problems: list[Problem] = []

    def problem(self, at: tuple[int, int], path: Path, message: str) -> None:
        self.problems.append(Problem(at[0], at[1], path, message))

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.positions.values.setdefault(path, _start(node))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        merged: dict[Any, Any] = {}
        explicit: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                # `<<: *defaults` supplies keys that the mapping's own keys override.
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if isinstance(source, yaml.MappingNode):
                        merged.update(self.mapping(source, path))
                    else:
                        self.problem(_start(source), path, "`<<` must merge a mapping; use `<<: *anchor`")
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, bool)) or isinstance(key, bool):
                key = str(key)
            if key in explicit:
                first = self.positions.keys[(*path, key)]
                self.problem(
                    _start(key_node),
                    (*path, key),
                    f"duplicate key {show(key)} (first at line {first[0]}); keep one of them",
                )
                continue
            self.positions.keys[(*path, key)] = _start(key_node)
            explicit[key] = self.build(value_node, (*path, key))
        return {**merged, **explicit}

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        value = self.loader.construct_object(node, deep=True)
        if not isinstance(value, str) or "${" not in value:
            return value
        before = len(self.problems)
        substituted = _VARIABLE.sub(lambda m: self.variable(m.group(1), node, path), value)
        if len(self.problems) > before:
            return value  # already reported; keep the text so no second error follows
        if not node.style:  # plain (unquoted); libyaml says "" where PyYAML says None
            # An unquoted `count: ${COUNT}` means the number, as if written in place.
            tag = self.loader.resolve(yaml.ScalarNode, substituted, (True, False))  # type: ignore[no-untyped-call]
            return self.loader.construct_object(yaml.ScalarNode(tag, substituted), deep=True)
        return substituted

    def variable(self, name: str, node: yaml.Node, path: Path) -> str:
        if not _VARIABLE_NAME.match(name):
            self.problem(
                _start(node),
                path,
                f"${{{name}}} is not a valid variable reference; use ${{NAME}} with letters, digits and _",
            )
            return ""
        if name not in self.environ:
            self.problem(
                _start(node),
                path,
                f"environment variable {name} is not set; export {name} or write the value in place",
            )
            return ""
        return self.environ[name]


def load_text(text: str, environ: Mapping[str, str] | None = None) -> tuple[Document, list[Problem]]:
    """Parse YAML text. Returns the document and the problems found while reading it."""
    environ = os.environ if environ is None else environ
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            reason = error.problem or error.context or "invalid YAML"
            message = f"not valid YAML: {reason}; fix the syntax at this position"
            return Document(None, Positions()), [Problem(line, column, (), message)]
        except yaml.YAMLError as error:
            return Document(None, Positions()), [Problem(1, 1, (), f"not valid YAML: {error}")]
        if root is None:
            message = "the file is empty; start it with `version: 1`, `app`, `environment` and `region`"
            return Document(None, Positions()), [Problem(1, 1, (), message)]
        builder = _Builder(loader, environ)
        data = builder.build(root, ())
        if not isinstance(data, dict):
            message = f"{show(data)}: a manifest is a mapping of keys such as `version: 1`; write key: value lines"
            builder.problems.append(Problem(*_start(root), (), message))
        return Document(data, builder.positions), builder.problems
    finally:
        loader.dispose()

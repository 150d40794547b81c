"""YAML -> plain Python data, with the line and column of every key and value.

Plain YAML loaders forget where a value came from and silently keep the last of two
duplicate keys. This loader composes the node tree itself so that it can:
- remember positions, for `file:line:col` in every error;
- reject duplicate keys;
- replace `${NAME}` in string values by the environment variable NAME (`$${` writes a
  literal `${`, as in docker-compose);
- refuse what a manifest never needs and a hostile file could abuse (YAML tags, complex
  keys, deep nesting, alias expansion beyond a fixed budget), each with a line of its own.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .problems import Path, Problem, show

# `$${` is an escaped, literal `${`; `${NAME}` is a reference.
_VARIABLE = re.compile(r"\$(\$)?\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
# A manifest is a few hundred values; these bounds keep a hostile file (an alias bomb,
# thousands of nested brackets) from taking unbounded time, memory or recursion.
MAX_DEPTH = 32
MAX_VALUES = 200_000
# Python refuses to convert integers longer than this (sys.get_int_max_str_digits).
MAX_INTEGER_DIGITS = 30
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
    # Values the loader already reported (and replaced): the models say nothing more of them.
    reported: set[Path] = field(default_factory=set)


def _start(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _TooLarge(Exception):
    """The document expands to more values than any manifest has (an alias bomb)."""


class _TooDeep(Exception):
    """Nested deeper than any manifest field (and than Python's recursion allows)."""

    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _Builder:
    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, environ: Mapping[str, str]) -> None:
        self.loader = loader
        self.environ = environ
        self.positions = Positions()
        self.problems: list[Problem] = []
        self.reported: set[Path] = set()
        self.values = 0

    def problem(self, at: tuple[int, int], path: Path, message: str) -> None:
        self.problems.append(Problem(at[0], at[1], path, message))
        self.reported.add(path)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooLarge
        self.positions.values.setdefault(path, _start(node))
        if len(path) > MAX_DEPTH:
            raise _TooDeep(node)
        unsupported = self.unsupported_tag(node)
        if unsupported is not None:
            self.problem(_start(node), path, f"{unsupported}; write the plain value")
            return None
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def unsupported_tag(self, node: yaml.Node) -> str | None:
        """Only the tags YAML would infer itself (and `!!str`): `!Ref`, `!!set` or `!!int abc`
        are CloudFormation or YAML features a manifest has no use for."""
        if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
            return None
        if isinstance(node, yaml.ScalarNode):
            implicit = self.loader.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        else:
            implicit = self.loader.resolve(type(node), None, (True, False))  # type: ignore[no-untyped-call]
        if node.tag == implicit:
            return None
        return f"the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not supported in a manifest"

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
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(_start(key_node), path, "a key must be a plain name, not a list or mapping; write `name:`")
                continue
            # Keys as written: `no:` is the name "no", not the YAML 1.1 boolean false.
            key = key_node.value
            if key in explicit:
                first = self.positions.keys[(*path, key)]
                self.problem(
                    _start(key_node),
                    (*path, key),
                    f"duplicate key {show(key)} (first at line {first[0]}); keep one of them",
                )
                continue
            self.positions.keys[(*path, key)] = _start(key_node)
            unsupported = self.unsupported_tag(key_node)
            if unsupported is not None:
                # Reported, not dropped: the value is still read and checked as if the key were plain.
                self.problems.append(Problem(*_start(key_node), (*path, key), f"{unsupported}; write the plain key"))
            explicit[key] = self.build(value_node, (*path, key))
        return {**merged, **explicit}

    def construct(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == "tag:yaml.org,2002:int" and len(node.value.lstrip("+-0").replace("_", "")) > MAX_INTEGER_DIGITS:
            self.problem(_start(node), path, f"{node.value[:20]}...: the number is too large; no field takes it")
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, ArithmeticError, KeyError, AttributeError):
            tag = node.tag.replace("tag:yaml.org,2002:", "")
            self.problem(_start(node), path, f"{node.value!r} is not a valid {tag}; write a plain value")
            return None

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        value = self.construct(node, path)
        if not isinstance(value, str) or "${" not in value:
            return value
        before = len(self.problems)
        substituted = _VARIABLE.sub(lambda m: self.variable(m, node, path), value)
        if len(self.problems) > before:
            return value  # already reported; keep the text so no second error follows
        if not node.style:  # plain (unquoted); libyaml says "" where PyYAML says None
            # An unquoted `count: ${COUNT}` means the number, as if written in place.
            tag = self.loader.resolve(yaml.ScalarNode, substituted, (True, False))  # type: ignore[no-untyped-call]
            return self.construct(yaml.ScalarNode(tag, substituted, node.start_mark, node.end_mark), path)
        return substituted

    def variable(self, match: re.Match[str], node: yaml.Node, path: Path) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        if not _VARIABLE_NAME.match(name):
            self.problem(
                _start(node),
                path,
                f"${{{name}}} is not a valid variable reference; use ${{NAME}} with letters, digits and _ "
                f"(or $${{{name}}} for a literal ${{{name}}})",
            )
            return ""
        if name not in self.environ:
            self.problem(
                _start(node),
                path,
                f"environment variable {name} is not set; export {name} or write the value in place",
            )
            return ""
        if not self.environ[name]:
            # An empty value would silently turn `cpu: ${CPU}` into "no cpu" (the default).
            self.problem(
                _start(node),
                path,
                f"environment variable {name} is set but empty; give it a value or write the value in place",
            )
            return ""
        return self.environ[name]


# PyYAML's wording for the syntax errors people make, in words that say what to do.
_SYNTAX = {
    "found unexpected end of stream": "the file ends inside a value (an unclosed quote or bracket?); close it",
    "mapping values are not allowed here": "`key: value` is not allowed here (a missing space, quote or "
    "indentation?); check this line",
    "found character '\\t' that cannot start any token": "a tab; indent YAML with spaces",
    "found undefined alias": "an alias (*name) with no anchor (&name) before it; define the anchor first",
    "expected <block end>, but found '-'": "a list item at the wrong indentation; align it with the others",
    "exceeded maximum nesting depth": f"nested too deeply; no manifest field is more than {MAX_DEPTH} levels deep",
}


def _syntax_problem(text: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    index = mark.index if mark else 0
    reason = (error.problem or error.context or "invalid YAML").strip()
    words = next((fix for known, fix in _SYNTAX.items() if reason.startswith(known)), None)
    message = f"not valid YAML: {words or reason + '; fix the syntax at this position'}"
    return Problem(*_position(text, index), (), message)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index, clamped to the file's last character
    (a parser reports the end of a file one line past its last one)."""
    return _line_column(text, max(0, min(index, len(text.rstrip()) - 1)))


def _line_column(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def load_text(text: str, environ: Mapping[str, str] | None = None) -> tuple[Document, list[Problem]]:
    """Parse YAML text. Returns the document and the problems found while reading it."""
    environ = os.environ if environ is None else environ
    bad = _FORBIDDEN.search(text)
    if bad:
        at = _position(text, bad.start())
        character = f"U+{ord(bad.group()):04X}"
        return Document(None, Positions()), [
            Problem(*at, (), f"control character {character} is not allowed in YAML; remove it")
        ]
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            return Document(None, Positions()), [_syntax_problem(text, error)]
        except yaml.YAMLError as error:
            return Document(None, Positions()), [Problem(1, 1, (), f"not valid YAML: {error}")]
        if root is None:
            message = "the file is empty; start it with `version: 1`, `app`, `environment` and `region`"
            return Document(None, Positions()), [Problem(1, 1, (), message)]
        builder = _Builder(loader, environ)
        try:
            data = builder.build(root, ())
        except _TooLarge:
            message = (
                f"the document expands to more than {MAX_VALUES} values (through YAML aliases); "
                "a manifest needs far fewer: write the values out"
            )
            return Document(None, Positions()), [Problem(*_start(root), (), message)]
        except _TooDeep as deep:
            message = f"nested deeper than {MAX_DEPTH} levels; no manifest field is this deep"
            return Document(None, Positions()), [Problem(*_start(deep.node), (), message)]
        if not isinstance(data, dict):
            message = f"{show(data)}: a manifest is a mapping of keys such as `version: 1`; write key: value lines"
            builder.problems.append(Problem(*_start(root), (), message))
        return Document(data, builder.positions, builder.reported), builder.problems
    finally:
        loader.dispose()


# What YAML forbids in a stream (C0 controls other than tab, LF and CR; DEL; C1 controls
# other than NEL; surrogates and non-characters), found before the parser does, so the
# problem has a real line and column.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes) -> tuple[str | None, Problem | None]:
    """The file's text: UTF-8 (with or without a byte order mark), or UTF-16/32 with one,
    as YAML allows. Anything else is a problem at the first byte that is not UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), None
            except UnicodeDecodeError:
                return None, Problem(1, 1, (), f"the file starts like {encoding.upper()} but is not; save it as UTF-8")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        # Everything before the bad byte decoded: its column counts characters, not bytes.
        before = data[: error.start].decode("utf-8-sig")
        byte = data[error.start]
        message = f"byte 0x{byte:02x} is not UTF-8; save the file as UTF-8"
        return None, Problem(*_line_column(before, len(before)), (), message)

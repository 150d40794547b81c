"""docs/manifest.md, the manifest reference, generated from the models.

The models are the contract as the code enforces it; the reference is written from them
(every field, its type, limits and the behaviour its description states) so that the two
cannot drift. tests/test_docs.py fails when the committed file is stale. Never imports aws_cdk.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .docs_text import CONVENTIONS, FIELDS_INTRO, INTRO
from .manifest.base import NAME_PATTERN, PATTERN_HINTS
from .manifest.cluster import _provider_name
from .manifest.models import Manifest, _no_boolean_version
from .manifest.network import _cidr
from .manifest.overrides import _json_value
from .manifest.scaling import _timezone

# Validators without a regex: what each accepts, in the words the reference uses.
# (noun, qualifier, limit); a validator missing here stops the generator, so a new one gets words.
_VALIDATOR_WORDS: dict[Any, tuple[str | None, str | None, str | None]] = {
    _cidr: ("IPv4 CIDR block", "10.0.0.0/16", "/16 to /24"),
    _timezone: ("IANA time zone", "Europe/Berlin or UTC", None),
    _provider_name: (None, None, "must not start with `aws`, `ecs` or `fargate` (reserved by ECS)"),
    _no_boolean_version: (None, None, None),  # rejects `version: true`; nothing to add
    _json_value: ("JSON value", "ENABLED or [{Name: nofile, SoftLimit: 131072}]", "no YAML dates, .nan or .inf"),
}


@dataclass
class Row:
    path: str
    type: str
    limits: str
    description: str


@dataclass
class Section:
    path: str
    doc: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class _Shape:
    """What a type annotation says, collected from its Annotated metadata."""

    patterns: list[str] = field(default_factory=list)
    words: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)
    bounds: dict[str, Any] = field(default_factory=dict)


def _collect(metadata: list[Any] | tuple[Any, ...], extra: Any, shape: _Shape) -> None:
    if isinstance(extra, dict) and isinstance(extra.get("pattern"), str):
        _add_pattern(shape, extra["pattern"])
    for item in metadata:
        if isinstance(item, FieldInfo):
            _collect(item.metadata, item.json_schema_extra, shape)
            continue
        if isinstance(item, AfterValidator):
            _validator(item.func, shape)
            continue
        if isinstance(item, BeforeValidator):
            continue  # shorthands: described by their json_schema_input_type
        for bound in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            value = getattr(item, bound, None)
            if value is not None:
                shape.bounds[bound] = value
        # Field(pattern=...) metadata, or base.matching()'s regex.
        pattern = getattr(item, "pattern", None) or getattr(item, "regex", None)
        if isinstance(pattern, str):
            _add_pattern(shape, pattern)


def _add_pattern(shape: _Shape, pattern: str) -> None:
    if pattern not in shape.patterns:
        shape.patterns.append(pattern)


def _validator(func: Any, shape: _Shape) -> None:
    # _pattern() validators keep their regex in a closure; it is also in PATTERN_HINTS.
    cells = [c.cell_contents for c in getattr(func, "__closure__", None) or ()]
    found = [c for c in cells if isinstance(c, str) and c in PATTERN_HINTS]
    if found:
        for pattern in found:
            _add_pattern(shape, pattern)
        return
    if func not in _VALIDATOR_WORDS:
        raise LookupError(f"no words for validator {func.__qualname__}; add it to docs._VALIDATOR_WORDS")
    shape.words.append(_VALIDATOR_WORDS[func])


def _split(annotation: Any) -> tuple[Any, list[Any]]:
    """The bare type and the metadata of an Annotated type."""
    if typing.get_origin(annotation) is typing.Annotated:
        bare, *metadata = typing.get_args(annotation)
        inner, more = _split(bare)
        return inner, [*more, *metadata]
    return annotation, []


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _options(annotation: Any) -> list[Any]:
    """A union's members, without None (every optional field says its default)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _yaml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plural(noun: str) -> str:
    if "(" in noun or " or " in noun or noun.startswith(("one of", "`")):
        return f"items: {noun}"
    if noun.endswith(("s", "x")):
        return noun + "es"
    return noun + "s"


_SINGULAR = {"characters": "character", "items": "item", "entries": "entry"}


def _range(shape: _Shape, unit: str = "") -> str | None:
    bounds = shape.bounds
    low = bounds.get("ge", bounds.get("min_length"))
    high = bounds.get("le", bounds.get("max_length"))

    def suffix_for(count: Any) -> str:
        return f" {_SINGULAR.get(unit, unit) if count == 1 else unit}" if unit else ""

    suffix = suffix_for(high if high is not None else low)
    if "gt" in bounds:
        return f"> {bounds['gt']}{suffix}"
    if "lt" in bounds:
        return f"< {bounds['lt']}{suffix}"
    if low is not None and high is not None:
        return f"exactly {low}{suffix}" if low == high else f"{low}..{high}{suffix}"
    if low is not None:
        return f"at least {low}{suffix_for(low)}" if unit else f">= {low}"
    if high is not None:
        return f"at most {high}{suffix}" if unit else f"<= {high}"
    return None


@dataclass
class _Described:
    noun: str
    limits: list[str]
    # Models reached through this type, with the path suffix that reaches them.
    models: list[tuple[str, type[BaseModel]]]
    example: str | None = None

    def text(self, plural: bool = False) -> str:
        noun = _plural(self.noun) if plural else self.noun
        return f"{noun} (e.g. {self.example})" if self.example else noun


def _describe(annotation: Any, metadata: list[Any], extra: Any = None) -> _Described:
    bare, inner = _split(annotation)
    metadata = [*inner, *metadata]
    shorthand = next(
        (
            m.json_schema_input_type
            for m in metadata
            if isinstance(m, BeforeValidator) and m.json_schema_input_type is not PydanticUndefined
        ),
        None,
    )
    options = _options(bare)
    if len(options) > 1:
        parts = [_describe(option, []) for option in options]
        return _Described(
            " or ".join(dict.fromkeys(p.text() for p in parts)),
            [lim for p in parts for lim in p.limits],
            [m for p in parts for m in p.models],
        )
    # `X | None` where X is Annotated: its metadata applies as well.
    bare, more = _split(options[0])
    shape = _Shape()
    _collect([*more, *metadata], extra, shape)
    origin = typing.get_origin(bare)
    described: _Described
    if origin is Literal:
        values = [f"`{_yaml(v)}`" for v in typing.get_args(bare)]
        noun = values[0] if len(values) == 1 else "one of " + ", ".join(values)
        described = _Described(noun, [], [])
    elif origin is list:
        item = _describe(typing.get_args(bare)[0], [])
        described = _Described(
            f"list of {item.text(plural=True)}",
            [*_limits(shape, "items"), *(f"each item: {lim}" for lim in item.limits)],
            [(f"[]{suffix}", model) for suffix, model in item.models],
        )
    elif origin is dict:
        key, value = (_describe(arg, []) for arg in typing.get_args(bare))
        described = _Described(
            f"map of {key.text()} -> {value.text()}",
            [
                *_limits(shape, "entries"),
                *(f"keys: {lim}" for lim in key.limits),
                *(f"values: {lim}" for lim in value.limits),
            ],
            [(f".<name>{suffix}", model) for suffix, model in value.models],
        )
    elif _is_model(bare):
        described = _Described("mapping", [], [("", bare)])
    else:
        described = _scalar(bare, shape)
    if shorthand is not None:
        forms = [_describe(option, []).text() for option in _options(shorthand)]
        described.noun, described.example = " or ".join(dict.fromkeys(forms)), None
    return described


def _scalar(bare: Any, shape: _Shape) -> _Described:
    noun = {bool: "boolean", int: "integer", str: "string", float: "number"}.get(bare, str(bare))
    example = None
    limits = [lim for lim in [_range(shape, "characters" if bare is str else "")] if lim]
    for pattern in shape.patterns:
        if pattern == NAME_PATTERN:
            noun = "name"
            limits.append("the rules for names (see Conventions)")
            continue
        what, example = PATTERN_HINTS[pattern]
        noun = what
        limits.append(f"pattern `{pattern}`")
    for word_noun, qualifier, limit in shape.words:
        if word_noun:
            noun, example = word_noun, qualifier
        if limit:
            limits.append(limit)
    return _Described(noun, limits, [], example)


def _limits(shape: _Shape, unit: str) -> list[str]:
    found = _range(shape, unit)
    return [found] if found else []


def _doc(model: type[BaseModel]) -> str:
    text = model.__dict__.get("__doc__")
    return inspect.cleandoc(text) if text else ""


def sections(root: type[BaseModel] = Manifest) -> list[Section]:
    """Every mapping of the manifest, depth first in declaration order. A model reached a
    second time (a scheduled task's containers) points at its first section."""
    documented: dict[type[BaseModel], str] = {}
    found: list[Section] = []

    def visit(model: type[BaseModel], path: str) -> None:
        documented[model] = path
        # Two mapping forms of one value ({addon: X} or {cfn_export: Y}) share a section.
        section = next((s for s in found if s.path == (path or "(top level)")), None)
        if section is None:
            section = Section(path or "(top level)", _doc(model))
            found.append(section)
        else:
            section.doc = "\n\n".join(filter(None, [section.doc, _doc(model)]))
        later: list[tuple[type[BaseModel], str]] = []
        for name, info in model.model_fields.items():
            key = info.alias or name
            field_path = f"{path}.{key}" if path else key
            described = _describe(info.annotation, list(info.metadata), info.json_schema_extra)
            noun = described.text()
            for suffix, nested in described.models:
                nested_path = field_path + suffix
                if nested in documented:
                    first = documented[nested]
                    link = f"; fields as in [`{first}`](#{_anchor(first)})"
                    noun += "" if link in noun else link
                else:
                    documented[nested] = nested_path
                    later.append((nested, nested_path))
                    link = f"; [fields](#{_anchor(nested_path)})"
                    noun += "" if link in noun else link
            section.rows.append(Row(field_path, noun, "; ".join(described.limits), info.description or ""))
        for nested, nested_path in later:
            visit(nested, nested_path)

    visit(root, "")
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(section: Section) -> Iterator[str]:
    title = "Top level" if section.path == "(top level)" else f"`{section.path}`"
    yield f"### {title}"
    yield ""
    if section.doc:
        yield section.doc
        yield ""
    yield "| Field | Type | Limits | When left out, and what it does |"
    yield "|---|---|---|---|"
    for row in section.rows:
        cells = [f"`{row.path}`", row.type, row.limits, row.description]
        yield "| " + " | ".join(_cell(c) for c in cells) + " |"
    yield ""


def reference() -> str:
    """The text of docs/manifest.md."""
    found = sections()
    anchors = [_anchor(section.path) for section in found]
    # GitHub numbers repeated anchors; links here assume none is repeated.
    assert len(set(anchors)) == len(anchors), "two sections share a heading anchor"
    lines = [INTRO, CONVENTIONS, FIELDS_INTRO, "Sections:", ""]
    for section in found:
        title = "Top level" if section.path == "(top level)" else f"`{section.path}`"
        lines.append(f"- [{title}](#{_anchor(section.path)})")
    lines.append("")
    for section in found:
        lines.extend(_table(section))
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(path: str) -> str:
    """GitHub's heading anchor: lowercase; only letters, digits, spaces, - and _ kept; spaces -> -."""
    title = "Top level" if path == "(top level)" else path
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).replace(" ", "-")

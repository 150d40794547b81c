"""Turns pydantic's errors into the contract's one-line problems.

pydantic knows *what* is wrong and where in the data; the loader knows where in the
file. This module joins the two and rewrites each message so that it shows the value
received and says what to do.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .addons import CfnExportValue
from .base import RULES_ERROR, UNION_TAGS
from .loader import Positions
from .problems import Path, Problem, show

# error type -> (what was expected, what to do)
_TYPE_NAMES = {
    "string_type": ("a string", "put the value in quotes"),
    "int_type": ("a whole number", "write a number without quotes or decimals"),
    "bool_type": ("true or false", "write true or false"),
    "dict_type": ("a mapping", "write key: value lines below it"),
    "list_type": ("a list", "write [a, b] or one '- item' line each"),
    "model_type": ("a mapping", "write key: value lines below it"),
    "model_attributes_type": ("a mapping", "write key: value lines below it"),
    "float_type": ("a number", "write a number"),
}


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation can hold (Optional/Annotated/Union removed)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg) if t is not type(None)]
    return [annotation]


def _step(annotation: Any, part: str | int) -> Any | None:
    """The annotation one step down `part` from `annotation`, or None."""
    for candidate in _unwrap(annotation):
        origin = typing.get_origin(candidate)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(part, str):
            field = _field_by_name(candidate, part)
            if field is not None:
                return field.annotation
        elif origin is dict and isinstance(part, str):
            return typing.get_args(candidate)[1]
        elif origin is list and isinstance(part, int):
            return typing.get_args(candidate)[0]
    return None


def _field_by_name(model: type[BaseModel], name: str) -> FieldInfo | None:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    annotation: Any = root
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    models = [t for t in _unwrap(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    return models[0] if models else None


def _field_at(root: type[BaseModel], path: Path) -> FieldInfo | None:
    if not path or not isinstance(path[-1], str):
        return None
    model = _model_at(root, path[:-1])
    return _field_by_name(model, path[-1]) if model else None


def _keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _bounds(root: type[BaseModel], path: Path) -> tuple[Any, Any]:
    lower = upper = None
    field = _field_at(root, path)
    for item in field.metadata if field else []:
        lower = getattr(item, "ge", lower)
        upper = getattr(item, "le", upper)
    return lower, upper


def _range_message(value: Any, lower: Any, upper: Any, ctx: dict[str, Any]) -> str:
    if lower is not None and upper is not None:
        return f"{show(value)} is outside {lower}..{upper}; use a value from {lower} to {upper}"
    if "ge" in ctx or "gt" in ctx:
        return f"{show(value)} is too small; use {ctx.get('ge', ctx.get('gt'))} or more"
    return f"{show(value)} is too large; use at most {ctx.get('le', ctx.get('lt'))}"


def _one(root: type[BaseModel], error: Any, positions: Positions) -> list[Problem]:
    kind = error["type"]
    loc: Path = tuple(part for part in error["loc"] if part not in UNION_TAGS)
    value = error.get("input")
    ctx = error.get("ctx") or {}
    at_key = False
    if loc and loc[-1] == "[key]":
        loc, at_key = loc[:-1], True

    if kind == RULES_ERROR:
        problems = []
        for relative, message in ctx["rules"]:
            path = (*loc, *relative)
            problems.append(Problem(*positions.of_value(path), path, message))
        return problems

    if kind == "extra_forbidden":
        # Of the mapping forms of a value, the one that was written (the addon form is the untagged default).
        model = CfnExportValue if "(export)" in error["loc"] else _model_at(root, loc[:-1])
        known = _keys(model) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else "valid keys here: " + ", ".join(known)
        return [Problem(*positions.of_key(loc), loc, f"unknown key; {hint}")]
    if kind == "missing":
        name = loc[-1] if loc else "?"
        return [Problem(*positions.of_value(loc[:-1]), loc, f"required; add `{name}:`")]

    if kind in _TYPE_NAMES:
        expected, fix = _TYPE_NAMES[kind]
        if kind == "int_type" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            fix = "remove the quotes"
        message = f"{show(value)} is not {expected}; {fix}"
    elif kind == "literal_error" and loc == ("version",):
        message = f"{show(value)} is not a manifest version this ecsforge reads; write version: 1"
    elif kind == "literal_error":
        message = f"{show(value)} is not one of {ctx.get('expected', '')}; use one of them"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = _range_message(value, *_bounds(root, loc), ctx)
    elif kind == "too_long" and isinstance(value, str):
        message = f"{show(value)} is {len(value)} characters long; use at most {ctx.get('max_length')}"
    elif kind in ("too_short", "too_long"):
        size = len(value) if hasattr(value, "__len__") else "?"
        if kind == "too_short":
            message = f"has {size} item(s); give at least {ctx.get('min_length')}"
        else:
            message = f"has {size} item(s); give at most {ctx.get('max_length')}"
    elif kind == "string_too_long":
        message = f"{show(value)} is {len(value)} characters long; use at most {ctx.get('max_length')}"
    elif kind == "string_too_short":
        message = f"{show(value)} is empty; give a value"
    else:
        message = str(error.get("msg", kind))
        if not message.startswith(show(value)):
            message = f"{show(value)}: {message[0].lower()}{message[1:]}"
    where = positions.of_key(loc) if at_key else positions.of_value(loc)
    return [Problem(*where, loc, message)]


def as_written(problem: Problem, positions: Positions) -> Problem:
    """The problem at the path the user wrote: a shorthand the models turn into a list
    (`source: {github: ...}` for a list of one source) has no list index in the file."""
    path = problem.path
    written: list[str | int] = []
    for index, part in enumerate(path):
        here = (*written, part)
        if isinstance(part, int) and here not in positions.values and tuple(written) in positions.values:
            rest = path[index + 1 : index + 2]
            if not rest or (*written, *rest) in positions.values:
                continue  # no list in the file: the mapping itself is the item
        written.append(part)
    if tuple(written) == path:
        return problem
    line, column = (
        (problem.line, problem.column) if tuple(written) not in positions.values else positions.of_value(tuple(written))
    )
    return Problem(line, column, tuple(written), problem.message)


def problems_from(root: type[BaseModel], error: ValidationError, positions: Positions) -> list[Problem]:
    found: list[Problem] = []
    seen: set[tuple[object, ...]] = set()
    for item in error.errors(include_url=False):
        for problem in (as_written(p, positions) for p in _one(root, item, positions)):
            # Problem compares by position only (to sort); a duplicate is the whole problem again.
            key = (problem.line, problem.column, problem.path, problem.message)
            if key not in seen:
                seen.add(key)
                found.append(problem)
    return found

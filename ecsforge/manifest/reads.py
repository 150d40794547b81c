"""Which fields each rule of a model read, for the second pass (manifest/second_pass.py).

There, a malformed value is taken out and its default stands in for it. A rule that read that
default would speak of a value the user never wrote; every other rule of the model is theirs
and is reported. While a model's `resolve()` and `check()` run here, its fields live outside
the instance, so that every read goes through `Model.__getattr__` (base.py) and is counted.
A rule counts everything read before it was yielded (what came before may have decided it),
and a field that `resolve()` filled counts as what `resolve()` had read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Model, Rule

# id(model) -> its fields while they are being read.
READING: dict[int, Reading] = {}


class Reading:
    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.read: set[str] = set()
        # A field resolve() wrote -> the fields resolve() had read by then.
        self.derived: dict[str, frozenset[str]] = {}

    def get(self, name: str) -> Any:
        self.read.add(name)
        self.read |= self.derived.get(name, frozenset())
        return self.fields[name]


class _FieldsSet(set[str]):
    """`model_fields_set` while a model is read: asking whether a field was written reads it."""

    def __init__(self, names: Iterable[str], reading: Reading) -> None:
        super().__init__(names)
        self.reading = reading

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.reading.read.add(name)
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self.reading.read.update(self.reading.fields)
        return super().__iter__()

    def __len__(self) -> int:
        self.reading.read.update(self.reading.fields)
        return super().__len__()


def resolve_and_check(model: Model) -> list[tuple[Rule, frozenset[str]]]:
    """`model.resolve()`, then each rule of `model.check()` with the fields (as written in the
    manifest: aliases) it read."""
    state = model.__dict__
    order = list(state)
    reading = Reading(dict(state))
    written_set = model.__pydantic_fields_set__
    state.clear()
    object.__setattr__(model, "__pydantic_fields_set__", _FieldsSet(written_set, reading))
    READING[id(model)] = reading
    try:
        model.resolve()
        resolved = frozenset(reading.read)
        for name, value in state.items():  # what resolve() assigned landed in the instance
            reading.fields[name] = value
            reading.derived[name] = resolved
        state.clear()
        reading.read = set()
        found = []
        # A generator runs up to its next yield only when asked for the next rule: what was read
        # when a rule arrives was read before it.
        for rule in model.check():
            found.append((rule, frozenset(reading.read)))
    finally:
        del READING[id(model)]
        values = {**reading.fields, **state}
        state.clear()
        state.update({name: values[name] for name in [*order, *(n for n in values if n not in order)]})
        object.__setattr__(model, "__pydantic_fields_set__", set(model.__pydantic_fields_set__))
    fields = type(model).model_fields
    return [(rule, frozenset(_written_as(fields, name) for name in read)) for rule, read in found]


def _written_as(fields: dict[str, Any], name: str) -> str:
    field = fields.get(name)
    return field.alias if field is not None and field.alias else name

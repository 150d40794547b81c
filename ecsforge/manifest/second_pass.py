"""Every problem in one pass: the rules of the parts that are well-formed, even when other
parts are not.

pydantic builds a model only when all of its fields parse, so one unknown key in a service
would hide that service's rules (an invalid Fargate CPU) and the manifest's (an unknown
registry). When the first validation fails, this module takes the offending values out of a
copy of the document (so their defaults apply), validates again with every model recording
its broken rules instead of raising, and reports those rules at the paths the user wrote.
A rule about a value that was taken out is not reported: its default, not the user, said it;
nor is a rule that read such a default (manifest/reads.py counts what each rule read).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from .base import RECORD_RULES, RULES_ERROR, UNION_TAGS, Rule
from .loader import Positions
from .models import Manifest
from .problems import Path, Problem
from .report import as_written

# Taking values out can expose others (a model left without a required field); a few rounds suffice.
MAX_ROUNDS = 3


def semantic_problems(data: dict[str, Any], error: ValidationError, positions: Positions) -> list[Problem]:
    work = copy.deepcopy(data)
    pruned: list[Path] = []
    # Values taken out (not unknown keys): their model now holds a default the user never wrote.
    defaulted: list[Path] = []
    errors = error.errors(include_url=False)
    recorded: list[tuple[int, list[tuple[Rule, frozenset[str]]]]] = []
    for _ in range(MAX_ROUNDS):
        found = [(_prune_target(work, i), i["type"]) for i in errors if i["type"] != RULES_ERROR]
        targets = {target for target, _ in found}
        if not targets or () in targets:
            break  # nothing left to take out, or the manifest itself is what is malformed
        defaulted += [target for target, kind in found if kind != "extra_forbidden"]
        for target in sorted(targets, reverse=True):  # later list items first: indices stay valid
            if _delete(work, target):
                pruned.append(target)
        recorded = []
        try:
            Manifest.model_validate(work, context={RECORD_RULES: recorded})
            break
        except ValidationError as again:
            errors = again.errors(include_url=False)
    return _located(work, recorded, pruned, defaulted, positions)


def _prune_target(work: Any, item: Any) -> Path:
    loc: Path = tuple(part for part in item["loc"] if part != "[key]" and part not in UNION_TAGS)
    target = loc[:-1] if item["type"] == "missing" else loc
    # The deepest part of the path that the document has (a shorthand may hide list indices).
    node: Any = work
    reached: Path = ()
    for part in target:
        if not _has(node, part):
            break
        node, reached = node[part], (*reached, part)
    return reached


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _delete(work: Any, path: Path) -> bool:
    node = work
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    try:
        del node[path[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _located(
    work: Any,
    recorded: list[tuple[int, list[tuple[Rule, frozenset[str]]]]],
    pruned: list[Path],
    defaulted: list[Path],
    positions: Positions,
) -> list[Problem]:
    paths: dict[int, Path] = {}

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, dict):
            paths[id(node)] = path
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            paths[id(node)] = path
            for index, value in enumerate(node):
                walk(value, (*path, index))

    walk(work, ())
    found = []
    for data_id, rules in recorded:
        base = paths.get(data_id)
        if base is None:
            continue  # a shorthand's mapping, made by a model: its own rules were reported in the first pass
        # This model's fields whose malformed values were taken out: their defaults stand in.
        standing_in = {gone[-1] for gone in defaulted if gone[:-1] == base}
        for (relative, message), read in rules:
            if not standing_in.isdisjoint(read):
                continue  # the rule read a default standing in for a malformed value
            path = (*base, *relative)
            if any(path[: len(gone)] == gone for gone in pruned):
                continue
            found.append(as_written(Problem(*positions.of_value(path), path, message), positions))
    return found

"""RFC 6902 JSON Patch over JSON Pointers (RFC 6901), for the manifest's `overrides`.

Pure Python and the standard library: the app applies it at synthesis, so it must not depend on
a development package (`jsonpatch` is only in requirements-dev.txt, where the tests compare the
two). A failed operation says where the document stops matching the pointer and names the nearest
path that exists, so that a user whose path went stale (a logical ID changed) sees where to look.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")
# RFC 6901: an array index is 0 or has no leading zero; "-" is the element after the last one.
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")
# What CDK appends to a logical ID: a hash of the construct path, 8 upper-case hex digits.
_LOGICAL_ID_HASH = re.compile(r"[0-9A-F]{8}$")
_SHOWN_MEMBERS = 8


@dataclass(frozen=True)
class Operation:
    op: str
    path: str
    value: Any = None
    from_: str | None = None


class PatchFailure(Exception):
    """One operation that cannot be applied; `member` is the operation's member it is about."""

    def __init__(self, member: str, message: str) -> None:
        super().__init__(message)
        self.member = member
        self.message = message


def parse(pointer: str) -> list[str]:
    """The reference tokens of a JSON Pointer: "" is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON Pointer: it starts with /")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if re.search(r"~(?![01])", token):
            raise ValueError(f"{pointer!r} is not a JSON Pointer: ~ is written ~0, and / in a key ~1")
    # ~1 first: "~01" is the key "~1", not "/".
    return [token.replace("~1", "/").replace("~0", "~") for token in tokens]


def pointer(tokens: Sequence[str]) -> str:
    return "".join("/" + token.replace("~", "~0").replace("/", "~1") for token in tokens)


def apply(document: Any, operations: Sequence[Operation]) -> tuple[Any, list[tuple[int, PatchFailure]]]:
    """The document with the operations applied in order, and the failed ones by index. RFC 6902
    stops at the first failure; this goes on without it so that one run reports every failure,
    and a caller discards the result when any failed. The document itself is not changed."""
    result = copy.deepcopy(document)
    failures: list[tuple[int, PatchFailure]] = []
    for index, operation in enumerate(operations):
        try:
            result = apply_one(result, operation)
        except PatchFailure as failure:
            failures.append((index, failure))
    return result, failures


def apply_one(document: Any, operation: Operation) -> Any:
    """The document after one operation (changed in place where it can be, as RFC 6902 allows)."""
    op, path = operation.op, operation.path
    if op == "test":
        found = _get(document, _tokens(path, "path"), "path")
        if not equal(found, operation.value):
            raise PatchFailure("value", f"the value there is {_short(found)}, not {_short(operation.value)}")
        return document
    if op == "remove":
        _get(document, _tokens(path, "path"), "path")
        return _remove(document, _tokens(path, "path"))
    if op == "replace":
        _get(document, _tokens(path, "path"), "path")
        return _add(_remove(document, _tokens(path, "path")), _tokens(path, "path"), operation.value)
    if op == "add":
        return _add(document, _tokens(path, "path"), copy.deepcopy(operation.value))
    if op in ("move", "copy"):
        if operation.from_ is None:
            raise PatchFailure("from", f"`op: {op}` needs `from`")
        source = _tokens(operation.from_, "from")
        value = _get(document, source, "from")
        if op == "copy":
            return _add(document, _tokens(path, "path"), copy.deepcopy(value))
        target = _tokens(path, "path")
        if target[: len(source)] == source and target != source:
            raise PatchFailure("from", "a value cannot move into itself: `from` is a prefix of `path`")
        return _add(_remove(document, source), target, value)
    raise PatchFailure("op", f"{op!r} is not a JSON Patch operation; use one of {', '.join(OPERATIONS)}")


def equal(a: Any, b: Any) -> bool:
    """JSON equality (RFC 6902, "test"): 1 equals 1.0, but true is not 1 and "10" is not 10."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _tokens(text: str, member: str) -> list[str]:
    try:
        return parse(text)
    except ValueError as error:
        raise PatchFailure(member, str(error)) from None


def _get(document: Any, tokens: list[str], member: str) -> Any:
    node = document
    for depth, token in enumerate(tokens):
        node = _child(node, token, document, tokens[:depth], member)
    return node


def _child(node: Any, token: str, document: Any, parent: list[str], member: str) -> Any:
    where = pointer(parent) or "the top level"
    if isinstance(node, dict):
        if token not in node:
            raise PatchFailure(member, f"{where} has no {token!r}; {_nearest(node, token, parent)}")
        return node[token]
    if isinstance(node, list):
        if not _INDEX.match(token) or int(token) >= len(node):
            items = f"indexed 0 to {len(node) - 1}" if node else "empty"
            raise PatchFailure(member, f"{where} is an array of {len(node)} item(s), {items}: it has no {token!r}")
        return node[int(token)]
    raise PatchFailure(member, f"{where} is {_short(node)}, which has no {token!r}")


def _nearest(node: dict[str, Any], token: str, parent: list[str]) -> str:
    keys = [str(key) for key in node]
    close = difflib.get_close_matches(token, keys, n=1, cutoff=0.6)
    stem = _LOGICAL_ID_HASH.sub("", token)
    same_stem = [key for key in keys if stem != token and _LOGICAL_ID_HASH.sub("", key) == stem]
    match = close or same_stem
    if match:
        return f"nearest existing path: {pointer([*parent, match[0]])}"
    shown = ", ".join(sorted(keys)[:_SHOWN_MEMBERS]) + (", ..." if len(keys) > _SHOWN_MEMBERS else "")
    return f"nearest existing path: {pointer(parent) or '/'} (it has {shown or 'nothing'})"


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _get(document, tokens[:-1], "path")
    token = tokens[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        if token == "-":
            parent.append(value)
        elif _INDEX.match(token) and int(token) <= len(parent):
            parent.insert(int(token), value)
        else:
            where = pointer(tokens[:-1])
            raise PatchFailure(
                "path", f"{where} is an array of {len(parent)} item(s): add at 0 to {len(parent)}, or - to append"
            )
    else:
        raise PatchFailure("path", f"{pointer(tokens[:-1])} is {_short(parent)}, which takes no member")
    return document


def _remove(document: Any, tokens: list[str]) -> Any:
    if not tokens:
        return None
    parent = _get(document, tokens[:-1], "path")
    if isinstance(parent, dict):
        del parent[tokens[-1]]
    else:
        del parent[int(tokens[-1])]
    return document


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."

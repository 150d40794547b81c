"""The CloudFormation resource schemas cfn-lint ships: which properties are create-only."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from .synthesis import SynthError

SCHEMA_FALLBACK_REGION = "us-east-1"
MISSING = object()


def _schema_dir() -> Path:
    # cfn-lint's resource schemas, found without importing cfn-lint (slow, and untyped).
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise SynthError("cfn-lint is not installed: `ecsforge diff` reads its CloudFormation resource schemas")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@lru_cache(maxsize=8)
def _providers(region: str) -> dict[str, str]:
    path = _schema_dir() / "providers" / f"{region.replace('_', '-')}.json"
    if not path.exists():
        path = _schema_dir() / "providers" / f"{SCHEMA_FALLBACK_REGION}.json"
    result: dict[str, str] = json.loads(path.read_text())
    return result


@lru_cache(maxsize=512)
def create_only_paths(region: str, kind: str) -> tuple[tuple[str, ...], ...]:
    """createOnlyProperties of a type as key paths below Properties ("*" for list items)."""
    digest = _providers(region).get(kind)
    if digest is None:
        return ()
    schema = json.loads((_schema_dir() / "resources" / f"{digest}.json").read_text())
    paths = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = pointer.split("/")
        if parts[:2] == ["", "properties"] and len(parts) > 2:
            paths.append(tuple(parts[2:]))
    return tuple(paths)


def values_at(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value at path ("*" iterates a list), MISSING where a key is absent."""
    if not path:
        yield value
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(value, list):
            for item in value:
                yield from values_at(item, rest)
        else:
            yield MISSING
    elif isinstance(value, dict) and head in value:
        yield from values_at(value[head], rest)
    else:
        yield MISSING

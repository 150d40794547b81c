"""docs/manifest.md is generated from the models, is current, and documents every field."""

from __future__ import annotations

import subprocess
import sys
import types
import typing
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from ecsforge import docs
from ecsforge.manifest.base import PATTERN_HINTS
from ecsforge.manifest.models import Manifest

from .helpers import ROOT

COMMITTED = ROOT / "docs" / "manifest.md"


def _models_in(annotation: object, suffix: str = "") -> Iterator[tuple[type[BaseModel], str]]:
    """The models an annotation holds, with the path step to them (`.<name>` for a map, `[]` for a list)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        yield from _models_in(args[0], suffix)
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _models_in(arg, suffix)
    elif origin is list:
        yield from _models_in(args[0], suffix + "[]")
    elif origin is dict:
        yield from _models_in(args[1], suffix + ".<name>")
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, suffix


def every_field() -> dict[tuple[type[BaseModel], str], set[str]]:
    """(model, field key) -> every dotted path at which the manifest holds it."""
    found: dict[tuple[type[BaseModel], str], set[str]] = {}

    def walk(model: type[BaseModel], path: str, stack: tuple[type[BaseModel], ...]) -> None:
        for name, info in model.model_fields.items():
            key = info.alias or name
            at = f"{path}.{key}" if path else key
            found.setdefault((model, key), set()).add(at)
            for nested, suffix in _models_in(info.annotation):
                if nested not in stack:
                    walk(nested, at + suffix, (*stack, nested))

    walk(Manifest, "", (Manifest,))
    return found


def test_committed_reference_is_generated_from_the_models():
    assert COMMITTED.read_text(encoding="utf-8") == docs.reference(), "run: python scripts/generate_docs.py"


def test_the_walk_reaches_the_nested_models():
    # Guards the walk below: were it to stop at the top level, every later test would pass vacuously.
    paths = {path for paths in every_field().values() for path in paths}
    assert "services.<name>.deployment.strategy" in paths
    assert "pipelines.<name>.source[].github.connection_arn" in paths
    assert "scheduled_tasks.<name>.containers.<name>.health_check.retries" in paths


@pytest.mark.parametrize(("model", "key"), sorted(every_field(), key=lambda k: (k[0].__name__, k[1])))
def test_every_field_of_every_model_has_a_row(model, key):
    text = docs.reference()
    rows = [f"| `{path}` |" for path in every_field()[(model, key)]]
    assert any(row in text for row in rows), f"{model.__name__}.{key}: none of {sorted(rows)} is documented"


@pytest.mark.parametrize(("model", "key"), sorted(every_field(), key=lambda k: (k[0].__name__, k[1])))
def test_every_field_says_what_happens_when_left_out(model, key):
    info = next(i for n, i in model.model_fields.items() if key in (n, i.alias))
    description = info.description or ""
    expected = "Required" if info.is_required() else "Default:"
    assert expected in description, f"{model.__name__}.{key}: the description needs {expected!r}: {description!r}"


def test_rows_follow_the_declared_order():
    text = docs.reference()
    sections = {}  # model -> the paths of its fields' rows, where its table is
    for (model, key), paths in every_field().items():
        for path in paths:
            row = f"| `{path}` |"
            if row in text:
                sections.setdefault((model, path.removesuffix(key)), []).append(text.index(row))
    assert len(sections) > 30
    for (model, at), positions in sections.items():
        assert len(positions) == len(model.model_fields), f"{at}: a table holds only some fields of {model.__name__}"
        assert positions == sorted(positions), f"{at}: rows are not in the order {model.__name__} declares"


def test_every_pattern_is_explained_by_its_hint():
    text = docs.reference().replace("\\|", "|")  # table cells escape |
    # The name pattern is explained once, under Conventions; every other one where it applies
    # (in a list: "email addresses (e.g. ops@example.com)").
    for pattern, (what, example) in PATTERN_HINTS.items():
        assert f"`{pattern}`" in text, pattern
        if pattern != docs.NAME_PATTERN:
            assert any(f"{what}{plural} (e.g. {example})" in text for plural in ("", "s", "es")), what


def test_a_validator_without_words_stops_the_generator(monkeypatch):
    from ecsforge.manifest.network import _cidr

    monkeypatch.delitem(docs._VALIDATOR_WORDS, _cidr)
    with pytest.raises(LookupError, match="_cidr"):
        docs.reference()


def test_the_generator_needs_no_cdk():
    # Like the manifest package, the reference is written without loading aws-cdk (and jsii's Node).
    code = "import sys, ecsforge.docs; sys.exit(any(m.split('.')[0] in ('aws_cdk', 'jsii') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0

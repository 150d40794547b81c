"""The committed JSON Schema is the one the models generate, and the examples pass it."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from ecsforge.cli import schema

from .helpers import ROOT, default_manifests

COMMITTED = ROOT / "schema" / "manifest-v1.json"


def test_committed_schema_is_generated_from_the_models():
    assert json.loads(COMMITTED.read_text()) == schema(), "run: python -m ecsforge schema > schema/manifest-v1.json"


@pytest.mark.parametrize("manifest", default_manifests())
def test_manifest_passes_the_schema_and_points_editors_at_it(manifest):
    path = ROOT / manifest
    first_line = path.read_text().splitlines()[0]
    expected = "schema/manifest-v1.json" if path.parent == ROOT else "../schema/manifest-v1.json"
    assert first_line == f"# yaml-language-server: $schema={expected}"
    assert (path.parent / expected).resolve() == COMMITTED
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(COMMITTED.read_text()))


def test_schema_rejects_an_unknown_key():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"version": 1, "app": "a", "environment": "b", "region": "us-east-1", "netwrok": {}},
            json.loads(COMMITTED.read_text()),
        )

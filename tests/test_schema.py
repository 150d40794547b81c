"""The committed JSON Schema is the one the models generate, and the examples pass it."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest
import yaml

from ecsforge.cli import schema
from ecsforge.manifest import ManifestError, load_manifest

from .helpers import ROOT, default_manifests

COMMITTED = ROOT / "schema" / "manifest-v1.json"


def test_committed_schema_is_generated_from_the_models():
    assert json.loads(COMMITTED.read_text()) == schema(), "run: python -m ecsforge schema > schema/manifest-v1.json"


@pytest.mark.parametrize("manifest", default_manifests())
def test_manifest_passes_the_schema_and_points_editors_at_it(manifest):
    path = ROOT / manifest
    first_line = path.read_text().splitlines()[0]
    expected = os.path.relpath(COMMITTED, path.parent)
    assert first_line == f"# yaml-language-server: $schema={expected}"
    assert (path.parent / expected).resolve() == COMMITTED
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(COMMITTED.read_text()))


def test_schema_rejects_an_unknown_key():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"version": 1, "app": "a", "environment": "b", "region": "us-east-1", "netwrok": {}},
            json.loads(COMMITTED.read_text()),
        )


def test_every_validated_pattern_is_in_the_schema():
    from ecsforge.manifest.base import PATTERN_HINTS

    text = json.dumps(schema())
    missing = [regex for regex in PATTERN_HINTS if json.dumps({"pattern": regex})[1:-1] not in text]
    assert not missing, f"validated but not in the JSON Schema: {missing}"


BASE = {"version": 1, "app": "shop", "environment": "prod", "region": "us-east-1"}
IMPORTED = {"vpc_id": "vpc-0a1b2c3d4e5f67890", "private_subnet_ids": ["subnet-0a1b2c3d"], "public_subnet_ids": []}


@pytest.mark.parametrize(
    "change",
    [
        {"region": "mars-1"},
        {"account": "12345"},
        {"network": {"availability_zones": ["us-east-1a", "useast1b"]}},
        {"network": {"import": {**IMPORTED, "vpc_id": "vpc-0abc"}}},
        {"network": {"import": {**IMPORTED, "private_subnet_ids": ["subnet-xyz"]}}},
        {"cluster": {"ec2": {"general": {"instance_type": "t3medium"}}}},
        {"cluster": {"namespace": "-bad-.local"}},
        {"services": {"Web": {"containers": {"app": {"image": "nginx:1.27"}}}}},
        {"services": {"web": {"containers": {"app": {"image": "nginx:1.27", "environment": {"1BAD": "x"}}}}}},
    ],
)
def test_the_schema_rejects_what_validate_rejects(tmp_path, change):
    data = {**BASE, **change}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json.loads(COMMITTED.read_text()))
    path = tmp_path / "m.yml"
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="is not a valid"):
        load_manifest(path, environ={})


def test_the_schema_accepts_valid_ids():
    data = {**BASE, "network": {"availability_zones": ["us-east-1a", "us-east-1b"], "import": IMPORTED}}
    data["network"]["import"] = {**IMPORTED, "private_subnet_ids": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"]}
    jsonschema.validate(data, json.loads(COMMITTED.read_text()))

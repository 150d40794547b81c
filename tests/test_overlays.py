"""`extends:` overlays (manifest-v1.1, "Environments"): how files merge, where problems are
reported, and that the examples' environments are what their files say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from ecsforge.manifest import ManifestError, load_manifest

from .helpers import ROOT, default_manifests

ENVIRONMENTS = ROOT / "examples" / "environments"
BASE = """\
version: 1
app: shop
region: us-east-1
tags: {team: web, cost: shared}
network:
  availability_zones: [us-east-1a, us-east-1b]
registries:
  web: {}
services:
  web:
    cpu: 512
    memory: 1024
    discovery: true
    containers:
      app:
        image: {registry: web}
        port: 8080
        command: ["serve", "--verbose"]
        environment: {A: "1", B: "2"}
"""


def write(folder: Path, **files: str) -> None:
    for name, text in files.items():
        (folder / f"{name}.yml").write_text(text)


def test_maps_merge_key_by_key_lists_and_scalars_replace_and_null_removes(tmp_path):
    overlay = """\
extends: base.yml
environment: prod
tags: {cost: prod}
network:
  availability_zones: [us-east-1c, us-east-1d]
services:
  web:
    cpu: 256
    discovery: null
    containers:
      app:
        command: ["serve"]
        environment: {B: null, C: "3"}
"""
    write(tmp_path, base=BASE, prod=overlay)
    manifest = load_manifest(tmp_path / "prod.yml").manifest
    web = manifest.services["web"]
    assert manifest.tags == {"team": "web", "cost": "prod"}
    assert manifest.network.availability_zones == ["us-east-1c", "us-east-1d"]
    assert (web.cpu, web.memory, web.discovery) == (256, 1024, False)
    app = web.containers["app"]
    assert app.command == ["serve"]
    assert app.environment == {"A": "1", "C": "3"}
    assert app.port == 8080 and app.image.registry == "web"
    assert manifest.extends == "base.yml"


def test_a_chain_of_three_applies_each_overlay_in_order(tmp_path):
    write(
        tmp_path,
        base=BASE,
        middle="extends: base.yml\nservices: {web: {cpu: 2048, memory: 4096}}\n",
        prod="extends: middle.yml\nenvironment: prod\nservices: {web: {memory: 8192}}\n",
    )
    web = load_manifest(tmp_path / "prod.yml").manifest.services["web"]
    assert (web.cpu, web.memory) == (2048, 8192)


def test_a_base_is_found_relative_to_the_file_that_extends_it(tmp_path, monkeypatch):
    (tmp_path / "envs").mkdir()
    (tmp_path / "shared").mkdir()
    write(tmp_path / "shared", base=BASE)
    write(tmp_path / "envs", prod="extends: ../shared/base.yml\nenvironment: prod\n")
    monkeypatch.chdir(tmp_path / "shared")
    assert load_manifest("../envs/prod.yml").manifest.app == "shop"


def test_environment_variables_are_replaced_in_every_file(tmp_path):
    write(
        tmp_path,
        base=BASE.replace("cpu: 512", "cpu: ${CPU}"),
        prod="extends: base.yml\nenvironment: ${ENVIRONMENT}\n",
    )
    manifest = load_manifest(tmp_path / "prod.yml", environ={"CPU": "256", "ENVIRONMENT": "qa"}).manifest
    assert (manifest.environment, manifest.services["web"].cpu) == ("qa", 256)


def test_a_problem_names_the_file_that_wrote_the_value_and_the_chain(tmp_path):
    write(
        tmp_path,
        base=BASE.replace("cpu: 512", "cpu: 300"),
        prod="extends: base.yml\nenvironment: prod\nservices: {web: {containers: {app: {port: 70000}}}}\n",
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "prod.yml", environ={})
    base, prod = str(tmp_path / "base.yml"), str(tmp_path / "prod.yml")
    assert str(caught.value).splitlines() == [
        f"{prod}:3:43: services.web.containers.app.port: 70000 is outside 1..65535; use a value from 1 to 65535",
        f"{base}:11:10 (via {prod}): services.web.cpu: 300 is not a valid Fargate CPU; "
        "use one of 256, 512, 1024, 2048, 4096, 8192, 16384",
    ]


def test_a_replaced_value_is_reported_in_the_overlay_not_the_base(tmp_path):
    write(tmp_path, base=BASE, prod="extends: base.yml\nenvironment: prod\nservices:\n  web:\n    cpu: 300\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path / "prod.yml", environ={})
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column, problem.path) == (None, 5, 10, ("services", "web", "cpu"))


def test_warnings_of_a_base_name_the_base_and_the_chain():
    loaded = load_manifest(ENVIRONMENTS / "prod.yml")
    (warning,) = loaded.warnings
    assert warning.file == str(ENVIRONMENTS / "base.yml")
    assert warning.via == (str(ENVIRONMENTS / "prod.yml"),)
    assert warning.path == ("services", "web", "containers", "web", "image")
    lines = (ENVIRONMENTS / "base.yml").read_text().splitlines()
    assert lines[warning.line - 1][warning.column - 1 :].startswith("{registry: web}")


def test_the_examples_environments_differ_only_where_the_overlays_say():
    staging = load_manifest(ENVIRONMENTS / "staging.yml").manifest
    prod = load_manifest(ENVIRONMENTS / "prod.yml").manifest
    assert (staging.app, staging.environment, prod.environment) == ("books", "staging", "prod")
    assert staging.account == "111111111111" and prod.account == "222222222222"
    assert staging.services["web"].discovery is True and prod.services["web"].discovery is False
    assert prod.services["web"].scaling is not None
    assert prod.services["web"].scaling.target_tracking.cpu_percent == 70  # merged from the base
    assert set(staging.pipelines) == {"web"} and prod.pipelines == {}
    gated = default_manifests()
    assert "examples/environments/staging.yml" in gated and "examples/environments/prod.yml" in gated
    assert "examples/environments/base.yml" not in gated  # a partial base: validated through its overlays


def test_validate_accepts_overlays_and_rejects_a_partial_base_on_its_own():
    process = subprocess.run(
        [sys.executable, "-m", "ecsforge", "validate", "examples/environments/staging.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout == "examples/environments/staging.yml: ok\n"
    with pytest.raises(ManifestError, match="environment: required"):
        load_manifest(ENVIRONMENTS / "base.yml")


def test_the_schema_checks_an_overlay_as_a_partial_manifest():
    schema = json.loads((ROOT / "schema" / "manifest-v1.json").read_text())
    overlay = {"extends": "base.yml", "services": {"web": {"discovery": None, "scaling": {"min": 4, "max": 40}}}}
    jsonschema.validate(overlay, schema)
    for wrong in (
        {**overlay, "services": {"web": {"cpu": "big"}}},
        {**overlay, "netwrok": {}},
        {"services": {}},  # not an overlay: a full manifest needs version, app, ...
        # a list replaces the base's, so its items are complete
        {"extends": "b.yml", "services": {"web": {"scaling": {"step_scaling": [{"metric": "cpu"}]}}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)

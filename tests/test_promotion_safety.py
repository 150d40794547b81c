"""Day-2 safety of promotion: one manifest's stacks never lock another manifest's stacks through an
imported export, and a promotion's release step installs and downloads nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecsforge.manifest import load_manifest

from .helpers import ROOT, default_manifests

# Tools that install or download software. A release step that runs one depends on the internet,
# and an outage or an egress policy stops every production release.
INSTALLERS = re.compile(
    r"\b(go\s+(install|get)|pip3?\s+install|python3?\s+-m\s+pip|npm\s+(install|ci|i)|npx|yarn\s+add|curl|wget"
    r"|(apt|apt-get|yum|dnf|microdnf|apk|brew|gem|pyenv|goenv|rbenv|n)\s+(install|add))\b"
)


def promotion_manifests() -> list[str]:
    """examples/environments, every gate manifest that promotes, and the manifests it promotes to."""
    chosen = {m for m in default_manifests() if m.startswith("examples/environments/")}
    for manifest in default_manifests():
        loaded = load_manifest(ROOT / manifest).manifest
        for pipeline in loaded.pipelines.values():
            for promotion in pipeline.promote:
                chosen |= {manifest, str((ROOT / manifest).parent.joinpath(promotion.manifest).relative_to(ROOT))}
    return sorted(chosen)


@pytest.fixture(scope="module")
def synthesized(synth):
    found = {}
    for manifest in promotion_manifests():
        result = synth(manifest)
        assert result.returncode == 0, result.stderr
        found[manifest] = result
    return found


def literal(value: Any) -> str | None:
    """An export name as the string CloudFormation sees, when the template fixes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        strings = [literal(p) for p in parts]
        return separator.join(s for s in strings if s is not None) if None not in strings else None
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str) and "${" not in value["Fn::Sub"]:
        return str(value["Fn::Sub"])
    return None


def imported(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        if "Fn::ImportValue" in node:
            yield node["Fn::ImportValue"]
        for value in node.values():
            yield from imported(value)
    elif isinstance(node, list):
        for value in node:
            yield from imported(value)


def where(result, stack: str) -> str:
    """The account and region a stack is deployed to: an export is visible only there."""
    return json.loads((Path(result.outdir) / "manifest.json").read_text())["artifacts"][stack]["environment"]


def exports_of(result) -> set[tuple[str, str | None]]:
    return {
        (where(result, stack), literal(output["Export"]["Name"]))
        for stack, template in result.templates().items()
        for output in template.get("Outputs", {}).values()
        if "Export" in output
    }


def imports_of(result) -> set[tuple[str, str, str | None]]:
    return {
        (stack, where(result, stack), literal(name))
        for stack, template in result.templates().items()
        for name in imported(template.get("Resources", {}))
    }


def test_the_environments_and_every_promotion_are_checked():
    assert {"examples/environments/staging.yml", "examples/environments/prod.yml"} <= set(promotion_manifests())


def test_no_stack_of_one_manifest_imports_an_export_of_another(synthesized):
    exports = {manifest: exports_of(result) for manifest, result in synthesized.items()}
    imports = {manifest: imports_of(result) for manifest, result in synthesized.items()}
    unresolved = [(m, name) for m in synthesized for name in exports[m] | imports[m] if name[-1] is None]
    assert unresolved == []
    crossing = [
        (manifest, stack, name, other)
        for manifest in synthesized
        for stack, environment, name in imports[manifest]
        for other in synthesized
        if other != manifest and (environment, name) in exports[other]
    ]
    assert crossing == []
    # Stronger: every import names an export of a stack of the same manifest, in the same account
    # and region, so no manifest depends on one this test does not know.
    foreign = [
        (manifest, stack, name)
        for manifest in synthesized
        for stack, environment, name in imports[manifest]
        if (environment, name) not in exports[manifest]
    ]
    assert foreign == []


def release_buildspecs(result) -> Iterator[tuple[str, dict[str, Any]]]:
    """The buildspec of every Release-<env> action of a promotion stage."""
    for template in result.templates().values():
        resources = template.get("Resources", {})
        for pipeline in (r for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline"):
            for stage in pipeline["Properties"]["Stages"]:
                for action in stage["Actions"]:
                    if stage["Name"].startswith("Promote-") and action["Name"].startswith("Release-"):
                        project = resources[action["Configuration"]["ProjectName"]["Ref"]]["Properties"]
                        yield action["Name"], json.loads(project["Source"]["BuildSpec"])


def test_a_promotion_installs_and_downloads_nothing(synthesized, synth):
    checked = []
    for manifest in [*synthesized, "tests/manifests/promotion/staging.yml"]:
        for action, buildspec in release_buildspecs(synth(manifest)):
            commands = "\n".join(c for phase in buildspec["phases"].values() for c in phase.get("commands", []))
            checked.append((manifest, action, [m.group(0) for m in INSTALLERS.finditer(commands)]))
            assert set(buildspec["phases"]) == {"build"}  # no install phase, no runtime-versions
    assert checked and all(found == [] for _, _, found in checked), checked


def test_the_installer_pattern_finds_what_it_looks_for():
    found = [
        INSTALLERS.search(c) for c in ("go install x@v1", "pip install boto3", "curl -sSL x", "apt-get install jq")
    ]
    assert all(found)
    assert INSTALLERS.search("python3 image_copy.py; aws ecr describe-images; jq -r .cluster") is None

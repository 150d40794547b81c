"""Moving workloads that follow a registry's releases to another CPU architecture (issue 20, item 3).

The released image is the one the deployed pipeline built: `ecsforge diff` flags a move to an
architecture it lacks, and `build.platforms` builds one image index for several, so that the move
is one ordinary `cdk deploy --all` once the pipeline has released with it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from ecsforge.constructs.release import INDEX_MEDIA_TYPES
from ecsforge.diff import DiffResult, architecture_findings
from ecsforge.manifest import load_manifest
from ecsforge.manifest.models import Manifest

from .helpers import ROOT, inprocess_synth, normalized, only

LIFECYCLE = ROOT / "tests" / "manifests" / "lifecycle"
MOVED = {"arch-dev-service-web", "arch-dev-service-api", "arch-dev-task-report"}  # proxy pins a public image
EXAMPLE = "examples/multi-arch.yml"
PIPELINE_STACK = "mixed-prod-pipeline-app"


def manifest(name: str) -> Manifest:
    return load_manifest(LIFECYCLE / f"{name}.yml").manifest


def findings(old: str, new: str) -> tuple[list[Any], list[Any]]:
    return architecture_findings(manifest(old), manifest(new))


# --- ecsforge diff -----------------------------------------------------------------------------


def test_a_move_to_arm64_in_one_change_is_a_hazard_for_each_follower():
    hazards, notes = findings("arch-x86", "arch-arm64")
    assert {h.stack for h in hazards} == MOVED and notes == []
    assert {h.kind for h in hazards} == {"architecture"}
    web = next(h for h in hazards if h.stack == "arch-dev-service-web")
    assert "from linux/amd64 to linux/arm64" in web.what and "linux/amd64 only" in web.what
    assert "`cdk deploy --all` stop before the pipeline stack" in web.what
    # The remedy names the field, both platforms and the pipeline to run.
    assert "`build.platforms: [linux/amd64, linux/arm64]` on pipeline 'app'" in web.action
    assert "aws codepipeline start-pipeline-execution --name arch-dev-app" in web.action


def test_the_way_back_to_x86_is_flagged_too():
    hazards, _ = findings("arch-arm64", "arch-x86")
    assert {h.stack for h in hazards} == MOVED
    assert all("linux/arm64 only" in h.what for h in hazards)


def test_adding_build_platforms_first_makes_the_move_a_note():
    assert findings("arch-x86", "arch-multi") == ([], [])
    hazards, notes = findings("arch-multi", "arch-multi-arm64")
    assert hazards == []
    assert {n.stack for n in notes} == MOVED
    assert all("once it has released since build.platforms was deployed" in n.text for n in notes)


def test_adding_build_platforms_in_the_same_change_is_still_a_hazard():
    """cdk deploy --all deploys the service stacks before the pipeline stack that would build arm64."""
    hazards, _ = findings("arch-x86", "arch-multi-arm64")
    assert {h.stack for h in hazards} == MOVED
    assert all("deploy it in two steps" in h.action for h in hazards)


def test_a_registry_released_elsewhere_is_a_hazard_with_a_release_to_make():
    old, new = manifest("arch-x86"), manifest("arch-arm64")
    hazards, _ = architecture_findings(
        old.model_copy(update={"pipelines": {}}), new.model_copy(update={"pipelines": {}})
    )
    assert {h.stack for h in hazards} == MOVED
    assert all("no pipeline of the deployed manifest builds" in h.what for h in hazards)
    assert all("python -m ecsforge release" in h.action for h in hazards)


def test_diff_reports_the_moves(monkeypatch):
    """diff_manifests adds them to what the templates show (stubbed here: no synthesis)."""
    from ecsforge.diff import compare

    monkeypatch.setattr(compare, "synthesize", lambda loaded: {})
    old, new = (load_manifest(LIFECYCLE / f"{n}.yml") for n in ("arch-x86", "arch-arm64"))
    result: DiffResult = compare.diff_manifests(old, new)
    assert sorted((h.kind, h.stack) for h in result.hazards) == sorted(("architecture", s) for s in MOVED)
    assert result.exit_code == 3


# --- build.platforms: one image index for two architectures ------------------------------------


@pytest.fixture(scope="module")
def example(synth) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = synth(EXAMPLE).templates()
    return result


def spec(project: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(project["Properties"]["Source"]["BuildSpec"])
    return result


def test_each_platform_builds_natively_then_the_index_carries_the_commit_tag(example):
    resources = example[PIPELINE_STACK]["Resources"]
    pipeline = only({k: v for k, v in resources.items() if v["Type"] == "AWS::CodePipeline::Pipeline"})
    (build,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Build"]
    order = {a["Name"]: a["RunOrder"] for a in build["Actions"]}
    assert order == {"Build-amd64": 1, "Build-arm64": 1, "Build": 2}
    by_name = {a["Name"]: a for a in build["Actions"]}
    # The Deploy stage reads #{Build.IMAGE_TAG} and the build artifact, as with one platform.
    assert by_name["Build"]["Namespace"] == "Build" and by_name["Build"]["OutputArtifacts"] == [{"Name": "build"}]
    projects = {name: resources[a["Configuration"]["ProjectName"]["Ref"]] for name, a in by_name.items()}
    hosts = {name: p["Properties"]["Environment"]["Type"] for name, p in projects.items()}
    assert hosts["Build-amd64"] == "LINUX_CONTAINER" and hosts["Build-arm64"] == "ARM_CONTAINER"
    pushed = set()
    for name in ("Build-amd64", "Build-arm64"):
        (command,) = spec(projects[name])["phases"]["build"]["commands"]
        pushed |= set(re.findall(r'docker push ("[^"]+")', command))
        assert projects[name]["Properties"]["Environment"]["PrivilegedMode"] is True
    (index,) = spec(projects["Build"])["phases"]["build"]["commands"]
    created = re.search(r'docker manifest create "\$REPOSITORY_URI:\$IMAGE_TAG" ((?:"[^"]+" ?)+) &&', index)
    assert created is not None
    # The index is made of exactly the images the platform builds pushed.
    assert set(created.group(1).split()) == pushed and len(pushed) == 2
    assert 'docker manifest push "$REPOSITORY_URI:$IMAGE_TAG"' in index


def test_the_release_step_keeps_the_index_itself(example):
    resources = example[PIPELINE_STACK]["Resources"]
    release = only(
        {k: v for k, v in resources.items() if v["Properties"].get("Description", "").startswith("Records the release")}
    )
    first, runner = spec(release)["phases"]["build"]["commands"]
    assert all(media in first for media in INDEX_MEDIA_TYPES)
    assert '--image-tag "released-$IMAGE_TAG-index"' in first
    assert runner.startswith("cat > runner.py")


def test_services_of_both_architectures_run_the_same_released_tag(example):
    def task_definition(stack: str) -> dict[str, Any]:
        resources = example[stack]["Resources"]
        return only({k: v for k, v in resources.items() if v["Type"] == "AWS::ECS::TaskDefinition"})["Properties"]

    web, worker = task_definition("mixed-prod-service-web"), task_definition("mixed-prod-service-worker")
    assert "RuntimePlatform" not in web
    assert worker["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    released = [example[stack]["Parameters"] for stack in ("mixed-prod-service-web", "mixed-prod-service-worker")]
    names = [{p["Default"] for p in params.values() if "released-tag" in str(p.get("Default"))} for params in released]
    assert names[0] == names[1] and len(names[0]) == 1


def test_one_platform_in_platforms_is_the_same_pipeline_as_platform(synth, tmp_path):
    graviton = yaml.safe_load((ROOT / "examples/graviton.yml").read_text())
    build = graviton["pipelines"]["app"]["build"]
    build["platforms"] = [build.pop("platform")]
    path = tmp_path / "graviton-platforms.yml"
    path.write_text(yaml.safe_dump(graviton, sort_keys=False))
    stack = "graviton-prod-pipeline-app"
    ours = inprocess_synth(path, tmp_path / "out").templates()[stack]
    theirs = synth("examples/graviton.yml").templates()[stack]
    assert normalized({stack: ours}) == normalized({stack: theirs})


def test_adding_build_platforms_changes_only_the_pipeline_stack_in_place(diff):
    """The first step of a move: no other stack, nothing replaced or removed, no hazard."""
    result = diff("arch-x86", "arch-multi")
    assert {s.name for s in result.stacks if s.status != "unchanged"} == {"arch-dev-pipeline-app"}
    assert result.changes("replaced") == [] and result.changes("removed") == []
    added = [c.type for c in result.stack("arch-dev-pipeline-app").by_action("added")]
    assert added.count("AWS::CodeBuild::Project") == 2
    updated = {c.type for c in result.stack("arch-dev-pipeline-app").by_action("updated")}
    assert {"AWS::CodeBuild::Project", "AWS::CodePipeline::Pipeline"} <= updated
    assert result.hazards == [] and result.deployments == []

"""Pipelines for real repositories: several images from one commit (issue 22, build.images)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from ecsforge.constructs.pipeline_build import build_spec, docker_options, platform_build_spec
from ecsforge.manifest import load_manifest
from ecsforge.manifest.pipeline_images import image_views

from .helpers import ROOT, only

EXAMPLE = "examples/monorepo.yml"
STACK = "mono-prod-pipeline-shop"


@pytest.fixture(scope="module")
def example(synth) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = synth(EXAMPLE).templates()
    return result


@pytest.fixture(scope="module")
def stages(example) -> dict[str, list[dict[str, Any]]]:
    resources = example[STACK]["Resources"]
    pipeline = only({k: v for k, v in resources.items() if v["Type"] == "AWS::CodePipeline::Pipeline"})
    return {stage["Name"]: stage["Actions"] for stage in pipeline["Properties"]["Stages"]}


def project(example: dict[str, dict[str, Any]], action: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = example[STACK]["Resources"][action["Configuration"]["ProjectName"]["Ref"]]["Properties"]
    return result


def by_name(actions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["Name"]: a for a in actions}


# --- the model --------------------------------------------------------------------------------


def test_each_image_is_a_one_image_pipeline_of_the_services_following_it():
    manifest = load_manifest(ROOT / EXAMPLE).manifest
    views = image_views(manifest, manifest.pipelines["shop"])
    assert {name: v.build.registry for name, v in views.items()} == {"web": "web", "api": "api"}
    assert {name: v.deploy.services for name, v in views.items()} == {"web": ["web"], "api": ["api"]}
    assert views["api"].build.platforms == ["linux/amd64", "linux/arm64"] and views["web"].build.platforms is None
    # web follows its services (x86_64); api builds both, for the arm64 service and the x86_64 report.
    assert manifest.build_architectures(views["web"]) == ["x86_64"]
    assert manifest.build_architectures(views["api"]) == ["x86_64", "arm64"]


def test_the_one_image_form_is_its_own_view():
    manifest = load_manifest(ROOT / "examples/pipeline-github.yml").manifest
    pipeline = manifest.pipelines["app"]
    assert image_views(manifest, pipeline) == {None: pipeline}


# --- the synthesized pipeline -----------------------------------------------------------------


def test_one_pipeline_with_one_test_and_one_approval(stages):
    assert list(stages) == ["Source", "Build", "Test", "Approval", "Deploy"]
    assert [a["Name"] for a in stages["Test"]] == ["Test"]
    assert [a["Name"] for a in stages["Approval"]] == ["Approve"]


def test_every_image_builds_in_parallel_from_the_same_source(example, stages):
    build = by_name(stages["Build"])
    assert {name: a["RunOrder"] for name, a in build.items()} == {
        "Build-web": 1,
        "Build-api-amd64": 1,
        "Build-api-arm64": 1,
        "Build-api": 2,  # the api image index, after its platforms
    }
    assert {json.dumps(a["InputArtifacts"]) for a in build.values()} == {'[{"Name": "source_source"}]'}
    assert build["Build-web"]["Namespace"] == "Build-web" and build["Build-api"]["Namespace"] == "Build-api"
    assert build["Build-web"]["OutputArtifacts"] == [{"Name": "build-web"}]
    # Each image pushes to its own registry, built from its own Dockerfile and context.
    variables = {
        name: {v["Name"]: v["Value"] for v in project(example, a)["Environment"]["EnvironmentVariables"]}
        for name, a in build.items()
    }
    assert variables["Build-web"]["DOCKERFILE"] == "web/Dockerfile"
    assert variables["Build-web"]["BUILD_CONTEXT"] == "web"
    assert variables["Build-api"]["DOCKERFILE"] == "api/Dockerfile"
    pushed = {json.dumps(v["REPOSITORY_URI"]) for v in variables.values()}
    assert len(pushed) == 2
    hosts = {name: project(example, a)["Environment"]["Type"] for name, a in build.items()}
    assert hosts["Build-api-arm64"] == "ARM_CONTAINER" and hosts["Build-web"] == "LINUX_CONTAINER"


def test_each_service_deploys_its_own_image_then_each_image_is_recorded(stages):
    deploy = by_name(stages["Deploy"])
    assert deploy["Deploy-web"]["InputArtifacts"] == [{"Name": "build-web"}]
    assert deploy["Deploy-api"]["InputArtifacts"] == [{"Name": "build-api"}]
    assert deploy["Deploy-api"]["Configuration"]["FileName"] == "images/api/imagedefinitions.json"
    assert {name: a["RunOrder"] for name, a in deploy.items()} == {
        "Deploy-web": 1,
        "Deploy-api": 1,
        "RecordRelease-web": 2,
        "RecordRelease-api": 2,
    }
    tags = {
        name: json.loads(a["Configuration"]["EnvironmentVariables"]) for name, a in deploy.items() if "Record" in name
    }
    assert tags["RecordRelease-web"] == [{"name": "IMAGE_TAG", "type": "PLAINTEXT", "value": "#{Build-web.IMAGE_TAG}"}]
    assert tags["RecordRelease-api"][0]["value"] == "#{Build-api.IMAGE_TAG}"


def test_the_scheduled_task_following_a_built_registry_is_released_by_that_image(example, stages):
    deploy = by_name(stages["Deploy"])
    plans = {
        name: json.loads(
            next(
                v["Value"]
                for v in project(example, a)["Environment"]["EnvironmentVariables"]
                if v["Name"] == "RELEASE_PLAN"
            )
        )
        for name, a in deploy.items()
        if name.startswith("RecordRelease")
    }
    assert [f["stack"] for f in plans["RecordRelease-api"]["followers"]] == ["mono-prod-task-report"]
    assert plans["RecordRelease-web"]["followers"] == []
    assert plans["RecordRelease-api"]["parameter"] != plans["RecordRelease-web"]["parameter"]
    assert plans["RecordRelease-web"]["stacks"] == ["mono-prod-service-web"]
    assert plans["RecordRelease-api"]["stacks"] == ["mono-prod-service-api", "mono-prod-task-report"]


# --- the upgrade ------------------------------------------------------------------------------


def test_adding_an_image_updates_the_pipeline_in_place(diff):
    """From build.registry to build.images: the pipeline (and its execution history) stays."""
    result = diff("images-one", "images-two")
    assert {s.name for s in result.stacks if s.status != "unchanged"} == {"mono-dev-pipeline-web"}
    assert result.changes("replaced") == []
    pipeline = result.stack("mono-dev-pipeline-web")
    updated = {c.type for c in pipeline.by_action("updated")}
    assert "AWS::CodePipeline::Pipeline" in updated
    removed = {c.type for c in pipeline.by_action("removed")}
    assert "AWS::CodePipeline::Pipeline" not in removed
    added = [c.type for c in pipeline.by_action("added")]
    assert added.count("AWS::CodeBuild::Project") == 4  # a build and a release project per image


# --- build.cache ------------------------------------------------------------------------------


def build_command(spec: dict[str, Any]) -> str:
    (command,) = spec["phases"]["build"]["commands"]
    assert isinstance(command, str)
    return command


@pytest.mark.parametrize("cache", [True, False])
def test_the_build_starts_from_the_newest_image_only_with_cache(cache):
    manifest = load_manifest(ROOT / "examples/multi-arch.yml").manifest
    pipeline = manifest.pipelines["app"]
    pipeline = pipeline.model_copy(update={"build": pipeline.build.model_copy(update={"cache": cache})})
    one = build_command(build_spec(manifest, pipeline))
    arm = build_command(platform_build_spec(pipeline, "arm64"))
    for command in (one, arm):
        assert ("BUILDKIT_INLINE_CACHE=1" in command) == cache
        assert ('--cache-from "$REPOSITORY_URI:$CACHE_TAG"' in command) == cache
        # No cache tag is ever pushed: the only push is the commit's image.
        assert command.count("docker push") == 1 and "--cache-to" not in command
    # One platform of several starts from an image of its own platform.
    assert ("'-arm64'" in arm) == cache


def test_the_cache_is_on_by_default_in_every_example_build(example, stages):
    for action in stages["Build"]:
        spec = json.loads(project(example, action)["Source"]["BuildSpec"])
        if action["Name"] != "Build-api":  # the index build pushes a manifest list, no layers
            assert "BUILDKIT_INLINE_CACHE=1" in build_command(spec)


def test_turning_the_cache_on_updates_the_build_project_in_place(diff):
    result = diff("images-one-nocache", "images-one")
    assert {s.name for s in result.stacks if s.status != "unchanged"} == {"mono-dev-pipeline-web"}
    changes = result.stack("mono-dev-pipeline-web")
    assert [(c.type, c.action) for c in changes.changes] == [("AWS::CodeBuild::Project", "updated")]
    assert result.hazards == []


# --- images.<i>.paths: skipping unchanged images ------------------------------------------------

STUB_AWS = """#!/bin/bash
case "$1 $2" in
  "ssm get-parameter") echo "$STUB_RELEASED" ;;
  "ecr describe-images") case "$*" in *--image-ids*) exit 1 ;; *) echo None ;; esac ;;
  "ecr batch-get-image") echo '{"imageManifest": "{\\"layers\\": []}", "imageManifestMediaType": "m"}' ;;
  "ecr put-image") echo "put-image $*" >> "$STUB_LOG" ;;
esac
"""


def git(repo, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def web_build_command(example, stages) -> str:
    spec = json.loads(project(example, by_name(stages["Build"])["Build-web"])["Source"]["BuildSpec"])
    return build_command(spec)


@pytest.fixture
def repository(tmp_path):
    """A clone with two commits: the first (released) and one that changes only api/."""
    repo = tmp_path / "repo"
    (repo / "web").mkdir(parents=True)
    (repo / "api").mkdir()
    (repo / "web" / "index.js").write_text("1")
    (repo / "api" / "main.go").write_text("1")
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "first")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "api" / "main.go").write_text("2")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-am", "api only")
    return repo, first


def run_build(command: str, repo, released: str, tmp_path) -> str:
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    (stubs / "aws").write_text(STUB_AWS)
    (stubs / "docker").write_text('#!/bin/bash\necho "docker $1" >> "$STUB_LOG"\n')
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("")
    env = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "STUB_RELEASED": released,
        "STUB_LOG": str(log),
        "IMAGE_TAG": git(repo, "rev-parse", "HEAD"),
        "REPOSITORY_URI": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mono-prod-web",
        "REPOSITORY_NAME": "mono-prod-web",
        "RELEASED_TAG_PARAMETER": "/ecsforge/mono/prod/registries/web/released-tag",
        "DOCKERFILE": "web/Dockerfile",
        "BUILD_CONTEXT": "web",
    }
    subprocess.run(["bash", "-c", command], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return log.read_text()


def test_an_image_whose_paths_did_not_change_is_re_tagged_not_built(web_build_command, repository, tmp_path):
    repo, first = repository
    calls = run_build(web_build_command, repo, first, tmp_path)
    assert "docker" not in calls
    assert f"--image-tag {git(repo, 'rev-parse', 'HEAD')}" in calls and "put-image" in calls


def test_a_change_under_its_paths_builds_the_image(web_build_command, repository, tmp_path):
    repo, first = repository
    (repo / "web" / "index.js").write_text("2")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-am", "web")
    calls = run_build(web_build_command, repo, first, tmp_path)
    assert "docker build" in calls and "docker push" in calls and "put-image" not in calls


@pytest.mark.parametrize("released", ["none", "0" * 40], ids=["first-run", "after-force-push"])
def test_without_a_released_commit_in_the_history_the_image_is_built(web_build_command, repository, tmp_path, released):
    repo, _ = repository
    calls = run_build(web_build_command, repo, released, tmp_path)
    assert "docker build" in calls and "put-image" not in calls


def test_paths_make_the_primary_source_a_git_clone(stages):
    (source,) = stages["Source"]
    assert source["Configuration"]["OutputArtifactFormat"] == "CODEBUILD_CLONE_REF"


def test_only_the_image_with_paths_compares_commits(example, stages):
    build = by_name(stages["Build"])
    api = json.loads(project(example, build["Build-api-amd64"])["Source"]["BuildSpec"])
    assert "git diff" not in build_command(api) and "RELEASED_TAG_PARAMETER" not in json.dumps(api)


def test_the_one_image_examples_keep_their_source_artifact(synth):
    stack = synth("examples/pipeline-github.yml").templates()["shop-prod-pipeline-app"]
    pipelines = [r for r in stack["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (source,) = pipelines[0]["Properties"]["Stages"][0]["Actions"]
    assert "OutputArtifactFormat" not in source["Configuration"]


def test_adding_paths_updates_the_pipeline_in_place(diff):
    result = diff("images-two", "images-paths")
    assert {s.name for s in result.stacks if s.status != "unchanged"} == {"mono-dev-pipeline-web"}
    assert result.changes("replaced") == [] and result.changes("removed") == []
    updated = {c.type for c in result.stack("mono-dev-pipeline-web").by_action("updated")}
    assert {"AWS::CodePipeline::Pipeline", "AWS::CodeBuild::Project"} <= updated


# --- args and target --------------------------------------------------------------------------


def test_each_image_builds_with_its_own_args_and_target(tmp_path):
    text = (
        (ROOT / EXAMPLE)
        .read_text()
        .replace("context: web,", 'context: web, args: {NODE_ENV: production, GREETING: "it\'s me"}, target: runtime,')
    )
    path = tmp_path / "monorepo-args.yml"
    path.write_text(text)
    manifest = load_manifest(path).manifest
    views = image_views(manifest, manifest.pipelines["shop"])
    web = build_command(build_spec(manifest, views["web"]))
    assert "--build-arg NODE_ENV=production" in web and "--target runtime" in web
    # Quoted for the shell: each value arrives as one argument, apostrophe included.
    options = docker_options(views["web"])
    assert options in web
    words = subprocess.run(["bash", "-c", f'printf "%s\\n" {options}'], capture_output=True, text=True, check=True)
    assert words.stdout.splitlines() == [
        "--build-arg",
        "NODE_ENV=production",
        "--build-arg",
        "GREETING=it's me",
        "--target",
        "runtime",
    ]
    api = build_command(platform_build_spec(views["api"], "arm64"))
    assert docker_options(views["api"]) == "" and "--target" not in api and "NODE_ENV" not in api

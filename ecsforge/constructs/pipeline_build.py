"""The pipeline's image build: its buildspecs and, with several `build.platforms`, its other projects.

One platform: one project builds the image and pushes it as <tag> (the commit id). Several: one
project per platform builds natively on a CodeBuild host of that architecture and pushes
<tag>-<arch>; then the `Build` project pushes one image index (a Docker manifest list, as in
ECR's "Pushing a multi-architecture image") of those images as <tag>. Services, scheduled tasks
and the release step only ever see <tag>, which every platform can pull.
"""

from __future__ import annotations

import shlex
from typing import Any

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..manifest.catalog import ARM64, X86_64
from ..manifest.models import Manifest
from ..manifest.pipelines import Pipeline
from ..names import NOT_RELEASED
from .pipeline_sources import PipelineSources
from .release import BUILD_IMAGE

COMPUTE = {
    "small": codebuild.ComputeType.SMALL,
    "medium": codebuild.ComputeType.MEDIUM,
    "large": codebuild.ComputeType.LARGE,
}
# Graviton services need arm64 images, built natively on ARM.
ARM_BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
# Docker's names of the architectures: the suffix of each platform's own image.
DOCKER_ARCHITECTURES = {X86_64: "amd64", ARM64: "arm64"}
# ECR tags are at most 128 characters: <tag>-<arch> cuts the tag to leave room for the suffix.
PLATFORM_TAG = "${IMAGE_TAG:0:120}-"
# ECR tags allow [A-Za-z0-9._-], at most 128 characters.
SINGLE_SOURCE_TAG = "IMAGE_TAG=$(printf '%s' \"$SOURCE_VERSION\" | tr -c 'A-Za-z0-9._-' '-' | cut -c1-128)"
# Hex digits of the digest over every source's version that a tag of several sources ends in.
SOURCES_DIGEST_LENGTH = 12
LOGIN_COMMAND = 'aws ecr get-login-password | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"'


def source_version_variable(pipeline: Pipeline, index: int) -> str:
    """The build's variable holding one source's version: SOURCE_VERSION for the first (primary)
    source, SOURCE_VERSION_<NAME> for each other one."""
    if index == 0:
        return "SOURCE_VERSION"
    name = pipeline.source[index].name
    if name is None:
        raise ValueError("a pipeline source has no name (the manifest loader names every source)")
    return "SOURCE_VERSION_" + name.upper().replace("-", "_")


def source_variables(pipeline: Pipeline, versions: list[str]) -> dict[str, codebuild.BuildEnvironmentVariable]:
    """Every source's version, as the build actions pass them to image_tag_command."""
    return {
        source_version_variable(pipeline, index): codebuild.BuildEnvironmentVariable(value=version)
        for index, version in enumerate(versions)
    }


def image_tag_command(pipeline: Pipeline) -> str:
    """Sets IMAGE_TAG to what the image is built from. One source: its commit id (an S3 source's
    object version). Several: the first one's id, then a digest over every source's version, so
    that a push to any source builds a new image under a new tag (the build may read every
    source), and a re-run of the same versions finds its image again."""
    if len(pipeline.source) == 1:
        return SINGLE_SOURCE_TAG
    versions = " ".join(f'"${source_version_variable(pipeline, i)}"' for i in range(len(pipeline.source)))
    keep = 128 - 1 - SOURCES_DIGEST_LENGTH
    return (
        f"IMAGE_TAG=$(printf '%s' \"$SOURCE_VERSION\" | tr -c 'A-Za-z0-9._-' '-' | cut -c1-{keep})-"
        f"$(printf '%s\\n' {versions} | sha256sum | cut -c1-{SOURCES_DIGEST_LENGTH})"
    )


def image_definitions_path(service: str) -> str:
    return f"images/{service}/imagedefinitions.json"


def _exists(tag: str) -> str:
    return f'aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="{tag}" > /dev/null 2>&1'


def definitions_commands(manifest: Manifest, pipeline: Pipeline) -> list[str]:
    """Write imagedefinitions.json (every deployed container) and one file per service."""
    registry = pipeline.build.pushed_registry
    write_definitions = []
    combined = []
    for service_name in pipeline.deploy.services:
        service = manifest.services[service_name]
        names = [n for n, c in service.containers.items() if c.image.released and c.image.registry == registry]
        entries = ",".join(f'{{"name":"{n}","imageUri":"%s"}}' for n in names)
        combined += names
        path = image_definitions_path(service_name)
        args = " ".join(['"$REPOSITORY_URI:$IMAGE_TAG"'] * len(names))
        write_definitions += [f"mkdir -p images/{service_name}", f"printf '[{entries}]' {args} > {path}"]
    unique = list(dict.fromkeys(combined))
    all_entries = ",".join(f'{{"name":"{n}","imageUri":"%s"}}' for n in unique)
    all_args = " ".join(['"$REPOSITORY_URI:$IMAGE_TAG"'] * len(unique))
    return [*write_definitions, f"printf '[{all_entries}]' {all_args} > imagedefinitions.json"]


def _spec(pipeline: Pipeline, build: str, post_build: list[str] | None) -> dict[str, Any]:
    """Tag from the commit, log in to ECR, build; with post_build, the deploy stage's files too."""
    spec: dict[str, Any] = {
        "version": "0.2",
        "env": {"shell": "bash", "exported-variables": ["IMAGE_TAG"]},
        "phases": {
            "pre_build": {"on-failure": "ABORT", "commands": [image_tag_command(pipeline), LOGIN_COMMAND]},
            "build": {"on-failure": "ABORT", "commands": [build]},
        },
    }
    if post_build is None:
        spec["env"] = {"shell": "bash"}
        return spec
    spec["phases"]["post_build"] = {"commands": post_build}
    spec["artifacts"] = {"files": ["imagedefinitions.json", "images/**/*"]}
    return spec


def cache_commands(pipeline: Pipeline, architecture: str | None = None) -> tuple[str, str]:
    """build.cache: the command that finds the newest image of the registry (of this architecture,
    for one platform of several) and the `docker build` options that start from its layers and
    write the cache metadata into the new image (BuildKit's inline cache), or nothing."""
    if not pipeline.build.cache:
        return "", ""
    mine = (
        "imageDetails" if architecture is None else f"imageDetails[?contains(join(',', imageTags), '-{architecture}')]"
    )
    find = (
        'CACHE_TAG=$(aws ecr describe-images --repository-name "$REPOSITORY_NAME" --filter tagStatus=TAGGED '
        f'--query "sort_by({mine}, &imagePushedAt)[-1].imageTags[0]" --output text 2>/dev/null || true); '
        'if [ "$CACHE_TAG" = None ]; then CACHE_TAG=; fi; '
    )
    options = '--build-arg BUILDKIT_INLINE_CACHE=1 ${CACHE_TAG:+--cache-from "$REPOSITORY_URI:$CACHE_TAG"} '
    return find, options


def docker_options(pipeline: Pipeline) -> str:
    """`args` and `target`, as `docker build` options (nothing when neither is set)."""
    build = pipeline.build
    options = [f"--build-arg {shlex.quote(f'{name}={value}')}" for name, value in (build.args or {}).items()]
    if build.target is not None:
        options.append(f"--target {shlex.quote(build.target)}")
    return "".join(f"{option} " for option in options)


def unchanged_commands(paths: list[str] | None) -> tuple[str, str]:
    """images.<i>.paths: read the released tag (the commit last released, for one source), and, when
    git finds no change in those paths between it and this commit, give the released image this
    commit's tag too (an ECR put-image of the same manifest: no layer is copied), instead of a build.
    First run (`none`), or a released commit not in the history (a force push): the image is built."""
    if not paths:
        return "", ""
    pathspecs = " ".join(shlex.quote(f":(glob){path}") for path in paths)
    read = (
        'RELEASED=$(aws ssm get-parameter --name "$RELEASED_TAG_PARAMETER" --query Parameter.Value '
        f"--output text 2>/dev/null || echo {NOT_RELEASED}); "
    )
    retag = (
        f'elif [ "$RELEASED" != {NOT_RELEASED} ] && git cat-file -e "$RELEASED^{{commit}}" 2>/dev/null && '
        f'git diff --quiet "$RELEASED" HEAD -- {pathspecs}; then '
        'echo "no change in the image\'s paths since $RELEASED: $REPOSITORY_URI:$RELEASED gets the tag $IMAGE_TAG"; '
        'IMAGE=$(aws ecr batch-get-image --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$RELEASED" '
        "--query 'images[0]' --output json) && "
        'aws ecr put-image --repository-name "$REPOSITORY_NAME" --image-tag "$IMAGE_TAG" '
        '--image-manifest "$(jq -r .imageManifest <<<"$IMAGE")" '
        '--image-manifest-media-type "$(jq -r .imageManifestMediaType <<<"$IMAGE")" > /dev/null; '
    )
    return read, retag


def build_spec(manifest: Manifest, pipeline: Pipeline, paths: list[str] | None = None) -> dict[str, Any]:
    """One platform: build the image once per commit (tags are immutable: a re-run reuses it), push it,
    write imagedefinitions.json."""
    find, options = cache_commands(pipeline)
    options += docker_options(pipeline)
    read, retag = unchanged_commands(paths)
    return _spec(
        pipeline,
        f"{read}if {_exists('$IMAGE_TAG')}; then "
        f'echo "$REPOSITORY_URI:$IMAGE_TAG exists already, not rebuilt"; {retag}else '
        f'{find}docker build {options}--file "$DOCKERFILE" --tag "$REPOSITORY_URI:$IMAGE_TAG" "$BUILD_CONTEXT" && '
        'docker push "$REPOSITORY_URI:$IMAGE_TAG"; fi',
        definitions_commands(manifest, pipeline),
    )


def platform_build_spec(pipeline: Pipeline, architecture: str) -> dict[str, Any]:
    """One platform of several: build natively, push <tag>-<arch> (once per commit)."""
    docker = DOCKER_ARCHITECTURES[architecture]
    image = f'"$REPOSITORY_URI:{PLATFORM_TAG}{docker}"'
    find, options = cache_commands(pipeline, docker)
    options += docker_options(pipeline)
    return _spec(
        pipeline,
        f"if {_exists(PLATFORM_TAG + docker)}; then "
        f"echo {image} exists already, not rebuilt; else "
        f'{find}docker build {options}--file "$DOCKERFILE" --tag {image} "$BUILD_CONTEXT" && docker push {image}; fi',
        None,
    )


def index_build_spec(manifest: Manifest, pipeline: Pipeline, architectures: list[str]) -> dict[str, Any]:
    """After every platform's build: push the image index of their images as <tag>."""
    images = " ".join(f'"$REPOSITORY_URI:{PLATFORM_TAG}{DOCKER_ARCHITECTURES[a]}"' for a in architectures)
    return _spec(
        pipeline,
        f"if {_exists('$IMAGE_TAG')}; then "
        'echo "$REPOSITORY_URI:$IMAGE_TAG exists already, not rebuilt"; else '
        # `docker manifest` needs no experimental flag since Docker 20.10; older clients still want it.
        f'export DOCKER_CLI_EXPERIMENTAL=enabled && docker manifest create "$REPOSITORY_URI:$IMAGE_TAG" {images} && '
        'docker manifest push "$REPOSITORY_URI:$IMAGE_TAG"; fi',
        definitions_commands(manifest, pipeline),
    )


def build_environment(architecture: str, compute: str, *, privileged: bool) -> codebuild.BuildEnvironment:
    return codebuild.BuildEnvironment(
        build_image=ARM_BUILD_IMAGE if architecture == ARM64 else BUILD_IMAGE,
        compute_type=COMPUTE[compute],
        privileged=privileged,
    )


class PlatformBuilds:
    """With several build.platforms: one project and one action per platform, in `scope` (the
    pipeline construct, which keeps the ids), run before the index's `Build` action."""

    def __init__(
        self,
        scope: Construct,
        *,
        title: str,
        pipeline: Pipeline,
        architectures: list[str],
        repository: ecr.IRepository,
        key: kms.IKey,
        environment_variables: dict[str, codebuild.BuildEnvironmentVariable],
        suffix: str = "",
    ) -> None:
        self.suffix = suffix
        self.projects: dict[str, codebuild.PipelineProject] = {}
        for architecture in architectures:
            docker = DOCKER_ARCHITECTURES[architecture]
            image = f" of image {suffix[1:]}" if suffix else ""
            project = codebuild.PipelineProject(
                scope,
                f"BuildProject{suffix}-{docker}",
                description=f"Image build for linux/{docker}{image} of pipeline {title}",
                build_spec=codebuild.BuildSpec.from_object(platform_build_spec(pipeline, architecture)),
                # docker build needs the Docker daemon
                environment=build_environment(architecture, pipeline.build.compute, privileged=True),
                environment_variables=environment_variables,
                encryption_key=key,
            )
            repository.grant_pull_push(project)
            repository.grant(project, "ecr:DescribeImages")
            self.projects[docker] = project

    def actions(
        self, sources: PipelineSources, source_variables: dict[str, codebuild.BuildEnvironmentVariable]
    ) -> list[codepipeline.IAction]:
        """One build action per platform, in parallel (run order 1); the index's follows them."""
        return [
            actions.CodeBuildAction(
                action_name=f"Build{self.suffix}-{docker}",
                project=project,
                input=sources.outputs[0],
                extra_inputs=sources.outputs[1:] or None,
                environment_variables=source_variables,
                run_order=1,
            )
            for docker, project in self.projects.items()
        ]

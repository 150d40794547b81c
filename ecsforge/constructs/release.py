"""The pipeline's release step: the CodeBuild project that runs ecsforge/release/runner.py."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.pipelines import Pipeline
from ..release import runner
from ..release.plan import pipeline_plan

BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# How `cdk bootstrap` (default template) names the role CloudFormation deploys stacks with.
CFN_EXEC_ROLE = "cdk-*-cfn-exec-role-*"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
RUNNER = Path(runner.__file__)
_END_OF_SOURCE = "ECSFORGE_RELEASE_RUNNER"
INDEX_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
# With several build.platforms the released image is an image index. The release step (runner.py)
# tags released-<tag> what a BatchGetImage without acceptedMediaTypes returns, and ECR documents
# only image manifest types for those; so a BatchGetImage that accepts only image indexes tags the
# index itself released-<tag>-index, so that the lifecycle rule for released images keeps it (its platform
# images are referenced by it: ECR's BatchDeleteImage refuses them, ImageReferencedByManifestList).
INDEX_RELEASED_SUFFIX = "-index"


def handoff_stacks(manifest: Manifest, pipeline: Pipeline) -> list[str]:
    """The stacks whose recorded state a first release must move from "none" to released:
    the services the pipeline deploys and the scheduled tasks that follow its registry."""
    return pipeline_plan(manifest, pipeline).stacks


def release_commands() -> str:
    """The release step: ecsforge/release/runner.py as it is (the code path of `python -m
    ecsforge release`), run by the image's Python 3.11 with the boto3 that CodeBuild's
    standard:7.0 image installs; RELEASE_PLAN, REPOSITORY_URI and IMAGE_TAG come from the
    project and the pipeline."""
    source = RUNNER.read_text(encoding="utf-8")
    return f"cat > {RUNNER.name} <<'{_END_OF_SOURCE}'\n{source}{_END_OF_SOURCE}\npython3 {RUNNER.name}\n"


def index_release_commands() -> str:
    """Before the release step of several platforms: tag the image index itself as released."""
    return "\n".join(
        [
            'REPOSITORY_NAME="${REPOSITORY_URI#*/}"',
            'INDEX=$(aws ecr batch-get-image --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" '
            f"--accepted-media-types {' '.join(INDEX_MEDIA_TYPES)} --query 'images[0]' --output json)",
            'if [ -z "$INDEX" ] || [ "$INDEX" = null ]; then '
            'echo "$REPOSITORY_URI:$IMAGE_TAG is not an image index" >&2; exit 1; fi',
            'if ! aws ecr put-image --repository-name "$REPOSITORY_NAME" '
            f'--image-tag "{names.RELEASED_TAG_PREFIX}$IMAGE_TAG{INDEX_RELEASED_SUFFIX}" '
            '--image-manifest "$(jq -r .imageManifest <<<"$INDEX")" '
            '--image-manifest-media-type "$(jq -r .imageManifestMediaType <<<"$INDEX")" > /dev/null 2> put.err; '
            "then grep -q ImageAlreadyExistsException put.err || { cat put.err >&2; exit 1; }; fi",
        ]
    )


def release_project(
    scope: Construct,
    *,
    manifest: Manifest,
    name: str,
    pipeline: Pipeline,
    repository: ecr.IRepository,
    key: kms.IKey,
    construct_id: str = "ReleaseProject",
) -> codebuild.PipelineProject:
    """Tags the released image, records its tag, and hands the first release over to the
    stacks that still wait for one (see ecsforge/release/runner.py). `scope` is the pipeline construct."""
    project = codebuild.PipelineProject(
        scope,
        construct_id,
        description=f"Records the release of pipeline {manifest.stack_name(name)}",
        build_spec=codebuild.BuildSpec.from_object(
            {
                "version": "0.2",
                "env": {"shell": "bash"},
                "phases": {
                    "build": {
                        "commands": [
                            *([index_release_commands()] if pipeline.build.multi_architecture else []),
                            release_commands(),
                        ]
                    }
                },
            }
        ),
        environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.SMALL),
        environment_variables={
            "REPOSITORY_URI": codebuild.BuildEnvironmentVariable(value=repository.repository_uri),
            "RELEASE_PLAN": codebuild.BuildEnvironmentVariable(value=pipeline_plan(manifest, pipeline).to_json()),
        },
        encryption_key=key,
        # A hand-off waits for CloudFormation to start the services.
        timeout=Duration.hours(2),
    )
    stack = Stack.of(scope)
    released_tag = names.released_tag_parameter(manifest, pipeline.build.pushed_registry)
    project.add_to_role_policy(
        iam.PolicyStatement(
            actions=["ssm:GetParameter", "ssm:PutParameter"], resources=[_parameter_arn(stack, released_tag)]
        )
    )
    repository.grant(project, "ecr:BatchGetImage", "ecr:PutImage")
    _allow_handoff(project, stack, manifest, pipeline)
    _allow_follower_registration(project, stack, manifest, pipeline.build.pushed_registry)
    return project


def _parameter_arn(stack: Stack, name: str) -> str:
    return stack.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))


def _allow_handoff(project: codebuild.PipelineProject, stack: Stack, manifest: Manifest, pipeline: Pipeline) -> None:
    project.add_to_role_policy(
        iam.PolicyStatement(
            actions=["cloudformation:DescribeStacks", "cloudformation:UpdateStack"],
            resources=[
                stack.format_arn(service="cloudformation", resource="stack", resource_name=f"{name}/*")
                for name in handoff_stacks(manifest, pipeline)
            ],
        )
    )
    # update-stack without --role-arn deploys with the stack's own role: that of `cdk deploy`.
    project.add_to_role_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[f"arn:{stack.partition}:iam::{stack.account}:role/{CFN_EXEC_ROLE}"],
            conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        )
    )
    # The SSM-typed parameters those stacks resolve again: the released tags they follow and
    # CDK's bootstrap version (in case the caller's credentials resolve them).
    registry = pipeline.build.pushed_registry
    followed = {registry}
    for name in [*pipeline.deploy.services, *manifest.release_followers(registry)]:
        workload = manifest.services.get(name) or manifest.scheduled_tasks[name]
        followed |= {c.image.registry for c in workload.containers.values() if c.image.released and c.image.registry}
    project.add_to_role_policy(
        iam.PolicyStatement(
            actions=["ssm:GetParameters"],
            resources=[
                _parameter_arn(stack, BOOTSTRAP_VERSION_PARAMETER),
                *(_parameter_arn(stack, names.released_tag_parameter(manifest, r)) for r in sorted(followed)),
            ],
        )
    )


def _allow_follower_registration(
    project: codebuild.PipelineProject, stack: Stack, manifest: Manifest, registry: str
) -> None:
    followers = manifest.release_followers(registry)
    if not followers:
        return
    project.add_to_role_policy(
        iam.PolicyStatement(actions=["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], resources=["*"])
    )
    project.add_to_role_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[
                f"arn:{stack.partition}:iam::{stack.account}:role{names.task_role_path(manifest, name)}*"
                for name in followers
            ],
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        )
    )

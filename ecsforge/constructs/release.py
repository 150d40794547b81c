"""The pipeline's release step: its bash script and the CodeBuild project that runs it."""

from __future__ import annotations

import json
import shlex

from aws_cdk import Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.pipelines import Pipeline

BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# How `cdk bootstrap` (default template) names the role CloudFormation deploys stacks with.
CFN_EXEC_ROLE = "cdk-*-cfn-exec-role-*"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


def handoff_stacks(manifest: Manifest, pipeline: Pipeline) -> list[str]:
    """The stacks whose recorded state a first release must move from "none" to released:
    the services the pipeline deploys and the scheduled tasks that follow its registry."""
    registry = pipeline.build.registry
    return [
        *(manifest.stack_name(f"service-{name}") for name in pipeline.deploy.services),
        *(manifest.stack_name(f"task-{name}") for name in manifest.release_followers(registry)),
    ]


def _find_handoff(manifest: Manifest, pipeline: Pipeline) -> list[str]:
    parameter = names.released_tag_parameter(manifest, pipeline.build.registry)
    stacks = " ".join(handoff_stacks(manifest, pipeline))
    return [
        "set -euo pipefail",
        f"PARAMETER={shlex.quote(parameter)}",
        f"RELEASED_TAG=$(printf '{names.RELEASED_TAG_PREFIX}%s' \"$IMAGE_TAG\" | cut -c1-128)",
        "# Stacks whose last deployment resolved this registry's released tag to none: they hand",
        "# over to the release through CloudFormation, so that their recorded state is released.",
        "HANDOFF=''",
        f"for STACK in {stacks}; do",
        '  VALUE=$(aws cloudformation describe-stacks --stack-name "$STACK" '
        "--query \"Stacks[0].Parameters[?ParameterValue=='$PARAMETER'].ResolvedValue | [0]\" --output text)",
        f'  if [ "$VALUE" = {shlex.quote(names.NOT_RELEASED)} ]; then HANDOFF="$HANDOFF $STACK"; fi',
        "done",
        'echo "stacks taking their first release: ${HANDOFF:-none}"',
    ]


def _record_release() -> list[str]:
    return [
        "# (a) released-<tag> on the image, which the repository's lifecycle rules keep.",
        'aws ecr batch-get-image --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" '
        "--output json > image.json",
        'if ! OUT=$(aws ecr put-image --repository-name "$REPOSITORY_NAME" --image-tag "$RELEASED_TAG" '
        "--image-manifest \"$(jq -r '.images[0].imageManifest' image.json)\" "
        "--image-manifest-media-type \"$(jq -r '.images[0].imageManifestMediaType' image.json)\" 2>&1); then",
        '  case "$OUT" in *ImageAlreadyExistsException*) ;; *) echo "$OUT" >&2; exit 1 ;; esac',
        "fi",
        "# (b) the released tag, which every later deployment of the following stacks resolves.",
        'aws ssm put-parameter --name "$PARAMETER" --value "$IMAGE_TAG" --type String --overwrite > /dev/null',
    ]


def _start_handoff() -> list[str]:
    return [
        "# (c) the hand-off: the previous template with every previous parameter value; CloudFormation",
        "# resolves the SSM-typed ones again, so the stack's own condition starts what waited for a release.",
        "FAILED=''",
        "STARTED=''",
        "for STACK in $HANDOFF; do",
        "  PARAMETERS=()",
        '  for KEY in $(aws cloudformation describe-stacks --stack-name "$STACK" '
        "--query 'Stacks[0].Parameters[].ParameterKey' --output text); do",
        '    PARAMETERS+=("ParameterKey=$KEY,UsePreviousValue=true")',
        "  done",
        '  if OUT=$(aws cloudformation update-stack --stack-name "$STACK" --use-previous-template '
        '--parameters "${PARAMETERS[@]}" --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM 2>&1); then',
        '    STARTED="$STARTED $STACK"',
        "  else",
        '    case "$OUT" in *"No updates are to be performed"*) echo "$STACK: no updates" ;;'
        ' *) echo "$STACK: $OUT" >&2; FAILED="$FAILED $STACK" ;; esac',
        "  fi",
        "done",
    ]


def _register_followers(manifest: Manifest, registry: str) -> list[str]:
    followers = manifest.release_followers(registry)
    if not followers:
        return []
    lines = [
        "# Scheduled tasks run the latest revision of their family: one with the released image.",
        "register() {",
        '  aws ecs describe-task-definition --task-definition "$1" --output json > described.json',
        '  jq --arg image "$REPOSITORY_URI:$IMAGE_TAG" --argjson names "$2" \'.taskDefinition'
        " | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,"
        " .registeredAt, .registeredBy, .deregisteredAt)"
        " | .containerDefinitions |= map(.name as $n | if any($names[]; . == $n)"
        " then .image = $image else . end)' described.json > revision.json",
        "  aws ecs register-task-definition --cli-input-json file://revision.json "
        "--query taskDefinition.taskDefinitionArn --output text",
        "}",
    ]
    for name, task in followers.items():
        stack = manifest.stack_name(f"task-{name}")
        containers = [n for n, c in task.containers.items() if c.image.released and c.image.registry == registry]
        family = manifest.stack_name(name)
        lines.append(
            f'case " $HANDOFF " in *" {stack} "*) ;; '
            f"*) register {shlex.quote(family)} {shlex.quote(json.dumps(containers))} ;; esac"
        )
    return lines


def _await_handoff() -> list[str]:
    return [
        "for STACK in $STARTED; do",
        '  until aws cloudformation wait stack-update-complete --stack-name "$STACK"; do',
        '    case "$(aws cloudformation describe-stacks --stack-name "$STACK" '
        "--query 'Stacks[0].StackStatus' --output text)\" in",
        "      *_IN_PROGRESS) ;;",  # the waiter gives up after an hour; CloudFormation has not
        '      *) echo "$STACK: the hand-off failed; the next pipeline run retries it" >&2;'
        ' FAILED="$FAILED $STACK"; break ;;',
        "    esac",
        "  done",
        "done",
        'if [ -n "$FAILED" ]; then echo "hand-off failed for:$FAILED" >&2; exit 1; fi',
    ]


def release_script(manifest: Manifest, pipeline: Pipeline) -> str:
    """The release step, one bash script: needs REPOSITORY_NAME, REPOSITORY_URI, IMAGE_TAG."""
    lines = [
        *_find_handoff(manifest, pipeline),
        *_record_release(),
        *_start_handoff(),
        *_register_followers(manifest, pipeline.build.registry),
        *_await_handoff(),
    ]
    return "\n".join(lines) + "\n"


def release_project(
    scope: Construct,
    *,
    manifest: Manifest,
    name: str,
    pipeline: Pipeline,
    repository: ecr.IRepository,
    key: kms.IKey,
) -> codebuild.PipelineProject:
    """Tags the released image, records its tag, and hands the first release over to the
    stacks that still wait for one (see release_script). `scope` is the pipeline construct."""
    project = codebuild.PipelineProject(
        scope,
        "ReleaseProject",
        description=f"Records the release of pipeline {manifest.stack_name(name)}",
        build_spec=codebuild.BuildSpec.from_object(
            {
                "version": "0.2",
                "env": {"shell": "bash"},
                "phases": {"build": {"commands": [release_script(manifest, pipeline)]}},
            }
        ),
        environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.SMALL),
        environment_variables={
            "REPOSITORY_URI": codebuild.BuildEnvironmentVariable(value=repository.repository_uri),
            "REPOSITORY_NAME": codebuild.BuildEnvironmentVariable(value=repository.repository_name),
        },
        encryption_key=key,
        # A hand-off waits for CloudFormation to start the services.
        timeout=Duration.hours(2),
    )
    stack = Stack.of(scope)
    released_tag = names.released_tag_parameter(manifest, pipeline.build.registry)
    project.add_to_role_policy(
        iam.PolicyStatement(
            actions=["ssm:GetParameter", "ssm:PutParameter"], resources=[_parameter_arn(stack, released_tag)]
        )
    )
    repository.grant(project, "ecr:BatchGetImage", "ecr:PutImage")
    _allow_handoff(project, stack, manifest, pipeline)
    _allow_follower_registration(project, stack, manifest, pipeline.build.registry)
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
    registry = pipeline.build.registry
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

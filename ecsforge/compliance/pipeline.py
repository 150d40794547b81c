"""Acknowledgements for a pipeline: its artifact grants, projects, release step and buckets."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from ..constructs.image_build import ImageBuild
from ..constructs.pipeline import ContainerPipeline
from ..constructs.release import CFN_EXEC_ROLE, handoff_stacks
from ..manifest.models import Manifest
from ..names import task_role_path
from .common import account, ack, default_policy, logical_id, required_default_policy, resource

ARTIFACT_GRANTS = {
    "Action::s3:Abort*": "aws-cdk's artifact grant: abort multipart uploads",
    "Action::s3:DeleteObject*": "aws-cdk's artifact grant: replace artifacts",
    "Action::s3:GetBucket*": "aws-cdk's artifact grant: read bucket settings",
    "Action::s3:GetObject*": "aws-cdk's artifact grant: read artifacts",
    "Action::s3:List*": "aws-cdk's artifact grant: list artifacts",
    "Action::kms:GenerateDataKey*": "aws-cdk's grant on the pipeline's own key: encrypt artifacts",
    "Action::kms:ReEncrypt*": "aws-cdk's grant on the pipeline's own key: re-encrypt artifacts",
}


def acknowledge_pipeline(pipeline: ContainerPipeline, manifest: Manifest) -> None:
    policies = [c for c in pipeline.node.find_all() if isinstance(c, iam.Policy)]
    _artifact_grants(pipeline, policies)
    _projects(pipeline, manifest)
    for image in pipeline.images:
        _release_step(pipeline, image, manifest)
    _deploy_actions(policies)
    _buckets(pipeline)


def _artifact_grants(pipeline: ContainerPipeline, policies: list[iam.Policy]) -> None:
    bucket = f"Resource::<{logical_id(pipeline.artifacts)}.Arn>/*"
    for policy in policies:
        for finding, what in ARTIFACT_GRANTS.items():
            ack(
                policy,
                f"AwsSolutions-IAM5[{finding}]",
                f"{what}, limited to this pipeline's own artifact bucket and KMS key (CodePipeline passes "
                "artifacts between actions through them).",
            )
        ack(
            policy,
            f"AwsSolutions-IAM5[{bucket}]",
            "The objects of this pipeline's own artifact bucket, which holds only its artifacts.",
        )


def _projects(pipeline: ContainerPipeline, manifest: Manifest) -> None:
    arn = f"arn:{manifest.partition}"
    builds = [
        project
        for image in pipeline.images
        for project in (
            image.build_project,
            *(image.platform_builds.projects.values() if image.platform_builds else []),
        )
        if project is not None
    ]
    releases = [image.release_project for image in pipeline.images]
    projects = [p for p in (*builds, pipeline.test_project, *releases) if p is not None]
    for project in projects:
        project_policy = default_policy(project.role)
        if project_policy is None:
            continue
        project_id = logical_id(project)
        codebuild = f"{arn}:codebuild:{manifest.region}:{account(manifest)}"
        ack(
            project_policy,
            f"AwsSolutions-IAM5[Resource::{codebuild}:report-group/<{project_id}>-*]",
            "CodeBuild's test report groups of this one project, which CodeBuild names after the project.",
        )
        ack(
            project_policy,
            f"AwsSolutions-IAM5[Resource::{arn}:logs:{manifest.region}:{account(manifest)}:"
            f"log-group:/aws/codebuild/<{project_id}>:*]",
            "The log streams of this one project's CodeBuild log group.",
        )
    for build in builds:
        build_policy = default_policy(build.role)
        if build_policy is not None:
            ack(
                build_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken supports no resource-level permissions; pushing is limited to the one "
                "repository of build.registry.",
            )


def _release_step(pipeline: ContainerPipeline, image: ImageBuild, manifest: Manifest) -> None:
    if image.release_project is None:
        return
    release = required_default_policy(image.release_project.role, pipeline, "the release project")
    arn = f"arn:{manifest.partition}"
    account_id = account(manifest)
    for stack_name in handoff_stacks(manifest, image.view):
        ack(
            release,
            f"AwsSolutions-IAM5[Resource::{arn}:cloudformation:{manifest.region}:{account_id}:stack/{stack_name}/*]",
            f"Stack {stack_name}, whatever the id CloudFormation appended to its ARN: the release step reads which "
            "released tag it recorded and, at its first release, updates it with its previous template.",
        )
    ack(
        release,
        f"AwsSolutions-IAM5[Resource::{arn}:iam::{account_id}:role/{CFN_EXEC_ROLE}]",
        "The CloudFormation execution role of the CDK bootstrap (cdk-<qualifier>-cfn-exec-role-<account>-<region>), "
        "passed only to CloudFormation (iam:PassedToService): update-stack deploys with the stack's own role.",
    )
    followers = manifest.release_followers(image.view.build.pushed_registry)
    for name in followers:
        ack(
            release,
            f"AwsSolutions-IAM5[Resource::{arn}:iam::{account_id}:role{task_role_path(manifest, name)}*]",
            f"The task and execution roles of scheduled task {name}, which its stack creates under this IAM path; "
            "passed only to ECS tasks, in the task definition revision the release step registers.",
        )
    if followers:
        ack(
            release,
            "AwsSolutions-IAM5[Resource::*]",
            "ecs:DescribeTaskDefinition and ecs:RegisterTaskDefinition support no resource-level permissions; the "
            "release step registers revisions of the scheduled tasks that follow this pipeline's registry.",
        )


def _deploy_actions(policies: list[iam.Policy]) -> None:
    for deploy in policies:
        if "/Deploy/Deploy-" in deploy.node.path:
            ack(
                deploy,
                "AwsSolutions-IAM5[Resource::*]",
                "aws-cdk's ECS deploy action: registering a task definition revision supports no resource-level "
                "permissions, and iam:PassRole is limited by iam:PassedToService to ECS tasks.",
            )


def _buckets(pipeline: ContainerPipeline) -> None:
    ack(
        resource(pipeline.artifacts),
        "AwsSolutions-S1",
        "The pipeline's artifact bucket: KMS-encrypted, SSL only, private and retained; logging its access "
        "would need yet another bucket.",
    )
    for source_bucket in pipeline.source_buckets:
        ack(
            resource(source_bucket),
            "AwsSolutions-S1",
            "The pipeline's S3 source bucket: versioned, encrypted, SSL only, private and retained; uploads "
            "are recorded as object versions and EventBridge events.",
        )

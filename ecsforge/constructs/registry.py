"""An ECR repository with scanning, tag immutability, lifecycle rules and encryption."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from ..manifest.models import Registry


def repository(scope: Construct, construct_id: str, *, name: str, registry: Registry) -> ecr.Repository:
    """The repository is retained when its stack is deleted: images outlive stacks."""
    return ecr.Repository(
        scope,
        construct_id,
        repository_name=name,
        image_scan_on_push=registry.scan_on_push,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE if registry.immutable_tags else ecr.TagMutability.MUTABLE,
        encryption=ecr.RepositoryEncryption.KMS if registry.encryption == "kms" else ecr.RepositoryEncryption.AES_256,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            ecr.LifecycleRule(
                description=f"expire untagged images after {registry.untagged_days} days",
                tag_status=ecr.TagStatus.UNTAGGED,
                max_image_age=Duration.days(registry.untagged_days),
            ),
            ecr.LifecycleRule(
                description=f"keep the {registry.keep_images} newest images",
                tag_status=ecr.TagStatus.ANY,
                max_image_count=registry.keep_images,
            ),
        ],
    )

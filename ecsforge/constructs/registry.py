"""An ECR repository with scanning, tag immutability, lifecycle rules and encryption."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from ..manifest.cluster import Registry
from ..names import RELEASED_TAG_PREFIX


def lifecycle_rules(registry: Registry, pinned_tags: list[str]) -> list[ecr.LifecycleRule]:
    """Protecting rules first: ECR never lets a lower-priority rule expire an image that a
    higher-priority rule's tag selection matched. A tag list matches images carrying ALL
    its tags, so each pinned tag gets a rule of its own; the tag is unique, so a count of
    one keeps its image forever."""
    protect = [
        ecr.LifecycleRule(
            description=f"keep the pinned tag {tag}",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=[tag],
            max_image_count=1,
        )
        for tag in pinned_tags
    ]
    return [
        *protect,
        ecr.LifecycleRule(
            description=f"keep the {registry.keep_images} newest released images",
            tag_status=ecr.TagStatus.TAGGED,
            tag_prefix_list=[RELEASED_TAG_PREFIX],
            max_image_count=registry.keep_images,
        ),
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
    ]


def repository(
    scope: Construct, construct_id: str, *, name: str, registry: Registry, pinned_tags: list[str]
) -> ecr.Repository:
    """The repository is retained when its stack is deleted: images outlive stacks."""
    return ecr.Repository(
        scope,
        construct_id,
        repository_name=name,
        image_scan_on_push=registry.scan_on_push,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE if registry.immutable_tags else ecr.TagMutability.MUTABLE,
        encryption=ecr.RepositoryEncryption.KMS if registry.encryption == "kms" else ecr.RepositoryEncryption.AES_256,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=lifecycle_rules(registry, pinned_tags),
    )

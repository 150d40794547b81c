"""The one way ecsforge makes an S3 bucket: encrypted, TLS only, private, owner-enforced, retained."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


def secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey | None = None,
    versioned: bool = False,
    access_logs: s3.IBucket | None = None,
    access_logs_prefix: str | None = None,
) -> s3.Bucket:
    """A bucket under `scope` with `construct_id`: SSE-KMS with `key` (and an S3 bucket key)
    when given, else SSE-S3; versioned only when asked; server access logs to `access_logs`."""
    props: dict[str, Any] = (
        {"encryption": s3.BucketEncryption.KMS, "encryption_key": key, "bucket_key_enabled": True}
        if key is not None
        else {"encryption": s3.BucketEncryption.S3_MANAGED}
    )
    if versioned:
        props["versioned"] = True
    if access_logs is not None:
        props["server_access_logs_bucket"] = access_logs
        props["server_access_logs_prefix"] = access_logs_prefix
    return s3.Bucket(
        scope,
        construct_id,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        **props,
    )

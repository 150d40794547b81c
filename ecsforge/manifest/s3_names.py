"""S3's naming rules that a pattern cannot say, for every bucket a manifest names and every
object key that ends up in an IAM policy."""

from __future__ import annotations

import re

# aws-cdk's own test (Bucket.validateBucketName), which raises at synth: four dotted numbers,
# also those that are no IP address (999.1.1.1).
_IP_LIKE = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", ".mrap")


def bucket_name_problems(bucket: str) -> list[str]:
    """What S3 (general purpose bucket naming rules) refuses in a name of the right characters."""
    problems = []
    if _IP_LIKE.match(bucket):
        problems.append(f"{bucket!r}: a bucket name cannot look like an IP address; name it like shop-sources")
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        problems.append(f"{bucket!r}: S3 bucket names have no '..', '.-' or '-.'; fix the name")
    if bucket.startswith(_RESERVED_PREFIXES) or bucket.endswith(_RESERVED_SUFFIXES):
        problems.append(f"{bucket!r} uses a prefix or suffix S3 reserves; choose another name")
    return problems


def object_key_problem(key: str) -> str | None:
    """IAM reads `${...}` in a resource ARN as a policy variable, so an object key with a literal
    `${` (the manifest's `$${`) cannot be granted as written."""
    if "${" in key:
        return (
            f"{key!r}: IAM would read the ${{ in this object's ARN as a policy variable, so the grant would "
            "name another object; rename the object without ${"
        )
    return None

"""Application wiring (contract v1.1): the environment's topics, queues, buckets and volumes,
and what a service or scheduled task may do with them (`access`, `permissions`,
`managed_policies`, container `mounts`).

Rules that need only one model live in its `check()`; rules that need the whole manifest
(does this queue exist? does a variable clash?) are in wiring_checks.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field

from .base import Model, Name, Rule, matching
from .iam_policy import condition_rules, policy_variable_problem

MAX_RECEIVES = 1000
# SQS: 0 seconds to 12 hours.
MAX_VISIBILITY_SECONDS = 43200
DEAD_LETTER_SUFFIX = "-dlq"
DEAD_LETTER_RETENTION_DAYS = 14


class Topic(Model):
    fifo: bool = Field(False, description="Default: false, a standard topic.")


class DeadLetter(Model):
    max_receives: int = Field(
        5, ge=1, le=MAX_RECEIVES, description="Default: 5 receives, then the message moves to <queue>-dlq."
    )


class Subscription(Model):
    topic: Name = Field(description="Required. A key of `topics`.")
    filter: dict[Annotated[str, Field(min_length=1)], Any] | None = Field(
        None, description="Default: every message. An SNS filter policy (attribute: [values])."
    )
    filter_on: Literal["attributes", "body"] = Field(
        "attributes", description="Default: attributes; body filters on the message body (JSON)."
    )

    def check(self) -> Iterator[Rule]:
        for key, value in (self.filter or {}).items():
            if not isinstance(value, list | dict):
                yield (
                    ("filter", key),
                    (f"{value!r}: an SNS filter policy lists the accepted values; write {key}: [{value}]"),
                )


class Queue(Model):
    visibility_timeout_seconds: int = Field(
        30, ge=0, le=MAX_VISIBILITY_SECONDS, description="Default: 30 seconds (0..43200)."
    )
    retention_days: int = Field(4, ge=1, le=14, description="Default: 4 days (1..14).")
    fifo: bool = Field(False, description="Default: false, a standard queue.")
    dead_letter: DeadLetter = Field(
        default_factory=DeadLetter,
        description="Default: after 5 receives a message moves to <name>-dlq, where it is kept 14 days.",
    )
    subscribe: list[Subscription] = Field(
        default_factory=list, max_length=20, description="Default: none. Topics this queue receives from."
    )


class Bucket(Model):
    versioned: bool = Field(True, description="Default: true, every object version is kept.")


FileSystemId = Annotated[str, matching(r"^fs-[0-9a-f]{8,40}$", "EFS file system id", "fs-0123456789abcdef0")]
# What an EFS access point takes as RootDirectory.Path (cfn-lint's schema of AWS::EFS::AccessPoint):
# / or one to four levels, none starting with '.', at most 100 characters.
DirectoryPath = Annotated[
    str,
    Field(max_length=100),
    matching(
        r"^/$|^(/(?!\.)[A-Za-z0-9_.-]+){1,4}$",
        "directory in the file system",
        "/data",
        "write an absolute path of one to four levels like /data/uploads, none starting with '.', "
        "without a trailing '/'",
    ),
]


class Volume(Model):
    file_system_id: FileSystemId | None = Field(
        None, description="Default: a new encrypted EFS file system; set: an existing one, used as it is."
    )
    directory: DirectoryPath = Field(
        "/data",
        description="Default: /data. Where every access point of this volume is rooted; created owned by 1000:1000.",
    )


QueueAccess = Literal["consume", "send"]
TopicAccess = Literal["publish"]
BucketAccess = Literal["read", "write", "read_write"]


class Access(Model):
    queues: dict[Name, QueueAccess] = Field(default_factory=dict, description="Default: none. consume | send.")
    topics: dict[Name, TopicAccess] = Field(default_factory=dict, description="Default: none. publish.")
    buckets: dict[Name, BucketAccess] = Field(
        default_factory=dict, description="Default: none. read | write | read_write."
    )


# aws-cdk refuses IAM's `?` wildcard in an action (a Python error at synth), so only `*`.
Action = Annotated[
    str,
    matching(
        r"^[a-z0-9-]+:[A-Za-z0-9*]+$|^\*$",
        "IAM action",
        "dynamodb:GetItem",
        "write it like dynamodb:GetItem (service:action; * is the one wildcard aws-cdk takes, not ?)",
    ),
]
# As cfn-lint's IAM schema (and aws-cdk's template validation) reads an ARN: a partition
# starting with aws, a service, an account of 12 digits, aws or * (or none).
ResourceArn = Annotated[
    str,
    matching(
        r"^arn:(aws[a-z-]*|\*):[a-z0-9-]+:[a-z0-9*?-]*:([0-9]{12}|aws|\*)?:.+$|^\*$",
        "resource ARN",
        "arn:aws:sqs:...",
        "write it like arn:aws:sqs:us-east-1:111111111111:orders (partition, service, region, 12-digit account "
        "or none, resource) or *",
    ),
]
ManagedPolicyArn = Annotated[
    str,
    matching(
        r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9_+=,.@/-]+$",
        "managed policy ARN",
        "arn:aws:iam::aws:policy/AmazonSESFullAccess",
    ),
]


class Permission(Model):
    actions: list[Action] = Field(min_length=1, description="Required. IAM actions, e.g. dynamodb:GetItem.")
    resources: list[ResourceArn] = Field(min_length=1, description="Required. Resource ARNs (or *).")
    effect: Literal["Allow", "Deny"] = Field("Allow", description="Default: Allow.")
    conditions: dict[str, dict[str, Any]] | None = Field(
        None,
        description="Default: none. IAM conditions, {operator: {key: value}}: an IAM condition operator (IfExists "
        "and ForAllValues:/ForAnyValue: forms too), a condition key, and a string, number, true/false or list of "
        "strings.",
    )

    def check(self) -> Iterator[Rule]:
        for index, arn in enumerate(self.resources):
            problem = policy_variable_problem(arn, in_resource=True)
            if problem:
                yield ("resources", index), f"{arn!r}: {problem}"
        yield from condition_rules(self.conditions or {})

    def has_wildcard(self) -> bool:
        return any("*" in value for value in [*self.actions, *self.resources])


class Mount(Model):
    volume: Name = Field(description="Required. A key of `volumes`.")
    path: Annotated[str, matching(r"^/[^\s:]*$", "container path", "/data", "write an absolute path")] = Field(
        description="Required. Where the volume appears in the container."
    )
    read_only: bool = Field(False, description="Default: false.")


def variable_part(name: str) -> str:
    """`orders-work` -> `ORDERS_WORK`, as the environment variables spell it."""
    return name.upper().replace("-", "_")


def access_variables(access: Access | None) -> dict[str, tuple[str, str]]:
    """The environment variables `access` adds: {VARIABLE: (kind, name)}."""
    if access is None:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for name in access.queues:
        found[f"QUEUE_{variable_part(name)}_URL"] = ("queues", name)
    for name in access.topics:
        found[f"TOPIC_{variable_part(name)}_ARN"] = ("topics", name)
    for name in access.buckets:
        found[f"BUCKET_{variable_part(name)}_NAME"] = ("buckets", name)
    return found

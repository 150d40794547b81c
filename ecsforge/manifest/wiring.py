"""Application wiring (contract v1.1): the environment's topics, queues, buckets and volumes,
and what a service or scheduled task may do with them (`access`, `permissions`,
`managed_policies`, container `mounts`).

Rules that need only one model live in its `check()`; rules that need the whole manifest
(does this queue exist? does a variable clash?) are in wiring_checks.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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


EbsType = Literal["gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"]


@dataclass(frozen=True)
class EbsLimits:
    """One EBS volume type's limits (Amazon EBS User Guide, "Amazon EBS volume types")."""

    min_gib: int
    max_gib: int
    iops: tuple[int, int] | None = None  # provisioned IOPS, when the type takes them
    iops_per_gib: int = 0
    throughput: tuple[int, int] | None = None  # MiB/s, when the type takes it


EBS_LIMITS = {
    "gp3": EbsLimits(1, 16384, iops=(3000, 16000), iops_per_gib=500, throughput=(125, 1000)),
    "gp2": EbsLimits(1, 16384),
    "io1": EbsLimits(4, 16384, iops=(100, 64000), iops_per_gib=50),
    "io2": EbsLimits(4, 65536, iops=(100, 256000), iops_per_gib=1000),
    "st1": EbsLimits(125, 16384),
    "sc1": EbsLimits(125, 16384),
    "standard": EbsLimits(1, 1024),
}
# gp3: at most 0.25 MiB/s of throughput per provisioned IOPS.
GP3_IOPS_PER_MIBPS = 4


class EbsVolume(Model):
    size_gib: int = Field(ge=1, le=65536, description="Required. Size of each task's volume in GiB (per type limits).")
    type: EbsType = Field("gp3", description="Default: gp3. gp3 | gp2 | io1 | io2 | st1 | sc1 | standard.")
    iops: int | None = Field(
        None,
        ge=1,
        description="Default: gp3's 3000 baseline. gp3 3000..16000 (at most 500 per GiB); required for io1 "
        "(100..64000, 50 per GiB) and io2 (100..256000, 1000 per GiB); other types take none.",
    )
    throughput_mibps: int | None = Field(
        None,
        ge=1,
        description="Default: gp3's 125 MiB/s baseline. gp3 only: 125..1000, at most iops / 4.",
    )

    def check(self) -> Iterator[Rule]:
        limits = EBS_LIMITS[self.type]
        if not limits.min_gib <= self.size_gib <= limits.max_gib:
            yield (
                ("size_gib",),
                f"{self.size_gib}: {self.type} volumes are {limits.min_gib}..{limits.max_gib} GiB; "
                "size it in that range",
            )
        yield from self._iops_rules(limits)
        yield from self._throughput_rules(limits)

    def _iops_rules(self, limits: EbsLimits) -> Iterator[Rule]:
        if limits.iops is None:
            if self.iops is not None:
                yield ("iops",), f"{self.iops}: {self.type} volumes take no provisioned IOPS; remove iops or use gp3"
            return
        if self.iops is None:
            if self.type in ("io1", "io2"):
                low, high = limits.iops
                yield ("type",), f"{self.type!r}: {self.type} volumes need provisioned IOPS; set iops ({low}..{high})"
            return
        low, high = limits.iops
        if not low <= self.iops <= high:
            yield ("iops",), f"{self.iops}: {self.type} takes {low}..{high} IOPS; set iops in that range"
        elif self.iops > limits.iops_per_gib * self.size_gib:
            yield (
                ("iops",),
                f"{self.iops}: {self.type} allows at most {limits.iops_per_gib} IOPS per GiB "
                f"({limits.iops_per_gib * self.size_gib} for {self.size_gib} GiB); lower iops or raise size_gib",
            )

    def _throughput_rules(self, limits: EbsLimits) -> Iterator[Rule]:
        if self.throughput_mibps is None:
            return
        if limits.throughput is None:
            yield (
                ("throughput_mibps",),
                f"{self.throughput_mibps}: only gp3 volumes take a throughput; remove it or use gp3",
            )
            return
        low, high = limits.throughput
        iops = self.iops or (limits.iops[0] if limits.iops else 0)
        if not low <= self.throughput_mibps <= high:
            yield (
                ("throughput_mibps",),
                f"{self.throughput_mibps}: {self.type} takes {low}..{high} MiB/s; set throughput_mibps in that range",
            )
        elif self.throughput_mibps * GP3_IOPS_PER_MIBPS > iops:
            yield (
                ("throughput_mibps",),
                f"{self.throughput_mibps}: gp3 allows at most 0.25 MiB/s per IOPS ({iops // GP3_IOPS_PER_MIBPS} MiB/s "
                f"at {iops} IOPS); lower throughput_mibps or raise iops",
            )


class Volume(Model):
    file_system_id: FileSystemId | None = Field(
        None, description="Default: a new encrypted EFS file system; set: an existing one, used as it is."
    )
    directory: DirectoryPath = Field(
        "/data",
        description="Default: /data. Where every access point of this volume is rooted; created owned by 1000:1000.",
    )
    ebs: EbsVolume | None = Field(
        None,
        description="Default: none, an EFS volume. Set: no file system, but one EBS volume per task of each service "
        "that mounts it, created when the task starts and deleted with it (ECS managed, encrypted with the "
        "environment's key): scratch space, nothing on it survives the task. Services only.",
    )

    def check(self) -> Iterator[Rule]:
        if self.ebs is None:
            return
        for name in ("file_system_id", "directory"):
            if name in self.model_fields_set:
                yield (
                    (name,),
                    f"{getattr(self, name)!r}: {name} is for EFS volumes, and this volume is an EBS one (ebs); "
                    f"remove {name}, or ebs",
                )

    @property
    def creates_file_system(self) -> bool:
        """Whether the resources stack creates an EFS file system for this volume."""
        return self.ebs is None and self.file_system_id is None


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

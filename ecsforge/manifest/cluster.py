"""`cluster` and `registries`: the ECS cluster, its EC2 capacity, and the ECR repositories."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from .base import Model, Name, NonEmptyStr, Rule, matching, reject
from .managed_instances import ManagedInstances

# ECS rejects capacity provider names with these prefixes; `fargate` and `fargate_spot`
# are also the built-in providers' names in a service's `capacity`.
RESERVED_PROVIDER_PREFIXES = ("aws", "ecs", "fargate")
MAX_CONTAINER_INSTANCES = 1000


def _provider_name(value: str) -> str:
    if value.startswith(RESERVED_PROVIDER_PREFIXES):
        raise reject(
            f"{value!r} starts with a prefix ECS reserves (aws, ecs, fargate); rename it, for example 'general'"
        )
    return value


ProviderName = Annotated[Name, AfterValidator(_provider_name)]


class Ec2Capacity(Model):
    """One Auto Scaling group capacity provider."""

    instance_type: Annotated[NonEmptyStr, matching(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$", "instance type", "t3.medium")] = (
        Field(description="Required. The EC2 instance type, e.g. t3.medium or m7g.large (Graviton gets ARM AMIs).")
    )
    min: int = Field(
        2, ge=0, description="Default: 2 instances, so one can serve while the other deploys. Below 2 warns."
    )
    max: int | None = Field(
        None, ge=1, description="Default: max(min, 4). The total of all groups' max is at most 1000 instances."
    )
    spot: bool = Field(
        False,
        description="Default: false, on-demand. true: spot instances, with capacity rebalance and ECS spot "
        "instance draining on.",
    )
    machine_image: Literal["amazon-linux-2023", "bottlerocket"] = Field(
        "amazon-linux-2023",
        description="ECS-optimized image, read from its public SSM parameter at deploy time. "
        "Default: amazon-linux-2023. A GPU instance type (g4dn, g5, g6, g6e, p3, p4d, p5...) gets the image's "
        "GPU variant (the ECS GPU-optimized AMI, or Bottlerocket aws-ecs-2-nvidia).",
    )
    target_capacity_percent: int = Field(
        100, ge=1, le=100, description="Managed scaling target utilization, 1..100. Default: 100."
    )
    managed_termination_protection: bool = Field(
        True, description="Default: true, instances running tasks are protected from scale-in."
    )
    managed_draining: bool = Field(
        True, description="Default: true, tasks are drained before an instance is terminated."
    )
    root_volume_gib: int = Field(
        30,
        ge=20,
        le=16384,
        description="Default: 30 GiB, encrypted gp3. On Bottlerocket this sizes the data volume (/dev/xvdb) "
        "that holds images and containers.",
    )

    def resolve(self) -> None:
        if self.max is None:
            self.max = max(self.min, 4)

    @property
    def max_size(self) -> int:
        assert self.max is not None  # set by resolve()
        return self.max

    def check(self) -> Iterator[Rule]:
        if self.min > self.max_size:
            yield ("min",), f"{self.min} is above max ({self.max_size}); lower min or raise max"
        if self.machine_image == "amazon-linux-2023" and self.root_volume_gib < 30:
            yield (
                ("root_volume_gib",),
                (
                    f"{self.root_volume_gib} GiB is smaller than the Amazon Linux 2023 ECS image (30 GiB); "
                    "use 30 or more"
                ),
            )


class Cluster(Model):
    container_insights: Literal["enhanced", "enabled", "disabled"] = Field(
        "enhanced", description="CloudWatch Container Insights. Default: enhanced (task and container metrics)."
    )
    fargate: bool = Field(
        True, description="Default: true, the FARGATE and FARGATE_SPOT capacity providers are enabled."
    )
    namespace: (
        Annotated[
            str,
            matching(
                r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
                "DNS namespace",
                "prod.shop.local",
            ),
        ]
        | None
    ) = Field(None, description='Cloud Map private DNS namespace. Default: "<environment>.<app>.local".')
    ec2: dict[ProviderName, Ec2Capacity] = Field(
        default_factory=dict,
        description="Default: no EC2 capacity. Auto Scaling group capacity providers, keyed by provider name.",
    )
    service_connect: bool = Field(
        False, description="Default: false. true: the namespace becomes the cluster's Service Connect namespace."
    )
    managed_instances: dict[ProviderName, ManagedInstances] = Field(
        default_factory=dict,
        description="Default: none. ECS Managed Instances capacity providers, keyed by provider name: AWS launches, "
        "patches and replaces the instances; services and scheduled tasks use them through `capacity`.",
    )

    def check(self) -> Iterator[Rule]:
        for key in self.managed_instances:
            if key in self.ec2:
                yield (
                    ("managed_instances", key),
                    f"{key!r} is also a key of cluster.ec2; capacity providers need distinct names, rename one",
                )
        total = sum(group.max_size for group in self.ec2.values())
        if total > MAX_CONTAINER_INSTANCES:
            yield (
                ("ec2",),
                (
                    f"the groups' max add up to {total} instances; keep the total at or below "
                    f"{MAX_CONTAINER_INSTANCES} container instances per cluster"
                ),
            )


class Registry(Model):
    """An ECR repository. A stack's deletion never deletes it."""

    scan_on_push: bool = Field(True, description="Default: true, images are scanned for CVEs when pushed.")
    immutable_tags: bool = Field(True, description="Default: true, a pushed tag can never point at another image.")
    keep_images: int = Field(30, ge=1, le=10000, description="Default: the 30 newest images are kept; older expire.")
    untagged_days: int = Field(7, ge=1, le=3650, description="Default: untagged images expire after 7 days.")
    encryption: Literal["kms", "aes256"] = Field(
        "kms", description="Default: kms, with the AWS-managed key. aes256: S3-managed keys."
    )

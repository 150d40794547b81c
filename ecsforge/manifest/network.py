"""`network`: a new VPC, or the ids of an existing one."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Annotated

from pydantic import AfterValidator, Field

from .base import Model, Rule, matching, reject
from .problems import show

REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)?-[a-z]+-[0-9]+$"
ZONE_PATTERN = r"^[a-z]{2}(-[a-z]+)?-[a-z]+-[0-9]+[a-z]$"
# AWS resource ids: 8 hex digits (old) or 17 (current).
VPC_ID_PATTERN = r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$"
SUBNET_ID_PATTERN = r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
DEFAULT_ZONE_COUNT = 2


Region = Annotated[str, matching(REGION_PATTERN, "AWS region", "us-east-1")]
Zone = Annotated[str, matching(ZONE_PATTERN, "availability zone", "us-east-1a")]


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise reject(f"{value!r} is not an IPv4 CIDR block ({error}); write it like 10.0.0.0/16") from None
    if not 16 <= network.prefixlen <= 24:
        raise reject(f"{value!r} is a /{network.prefixlen}; use a block from /16 (largest) to /24 (smallest)")
    return value


class VpcImport(Model):
    """An existing VPC: ecsforge creates no VPC and uses these ids as given."""

    vpc_id: Annotated[str, matching(VPC_ID_PATTERN, "VPC id", "vpc-0a1b2c3d4e5f67890")] = Field(
        description="Required. The id of the existing VPC."
    )
    private_subnet_ids: list[Annotated[str, matching(SUBNET_ID_PATTERN, "subnet id", "subnet-0a1b2c3d4e5f67890")]] = (
        Field(
            min_length=1,
            description="Required. Subnets for tasks and instances, one per availability zone, in zone order.",
        )
    )
    public_subnet_ids: list[Annotated[str, matching(SUBNET_ID_PATTERN, "subnet id", "subnet-0a1b2c3d4e5f67890")]] = (
        Field(
            description="Required (may be empty for an internal-only VPC). Subnets for an internet-facing load "
            "balancer, one per availability zone, in zone order."
        )
    )


class Network(Model):
    cidr: Annotated[str, AfterValidator(_cidr)] = Field(
        "10.0.0.0/16", description="IPv4 range of the new VPC, /16 to /24. Default: 10.0.0.0/16."
    )
    availability_zones: list[Zone] | None = Field(
        None,
        min_length=2,
        description="Zones to spread subnets over (at least 2). Default: the region's first two zones, picked "
        "at deploy time (Fn::GetAZs). Required when `account` is set, so synth never calls AWS.",
    )
    nat_gateways: int = Field(
        1,
        ge=0,
        description="NAT gateways, 0 up to the number of zones. Default: 1, one NAT gateway shared by all zones. "
        "0 requires vpc_endpoints: true, and tasks then reach AWS only through the endpoints: images must come from "
        "Amazon ECR of the region, and `tracing` and FireLens outputs outside AWS are rejected.",
    )
    vpc_endpoints: bool = Field(
        False,
        description="Default: false, no endpoints. true adds an S3 gateway endpoint and interface endpoints for "
        "ECR (api, dkr), CloudWatch Logs, Secrets Manager and SSM; with nat_gateways: 0 also ECS (ecs, ecs-agent, "
        "ecs-telemetry) when cluster.ec2 or cluster.managed_instances has providers, SSM Messages when a "
        "service has exec: true, and the endpoints "
        "of the AWS services the workloads use: SQS (access.queues), SNS (access.topics), Firehose or Kinesis "
        "(FireLens outputs), STS (a FireLens role_arn) and the services named in `permissions`.",
    )
    flow_logs: bool = Field(True, description="Default: true, VPC flow logs go to CloudWatch Logs, kept for 30 days.")
    import_: VpcImport | None = Field(
        None,
        alias="import",
        description="Default: a new VPC is created. With import: no VPC is created; the ids are used as given.",
    )

    @property
    def zone_count(self) -> int:
        return len(self.availability_zones) if self.availability_zones else DEFAULT_ZONE_COUNT

    def check(self) -> Iterator[Rule]:
        zones = self.availability_zones
        if zones and len(set(zones)) != len(zones):
            yield ("availability_zones",), f"{show(zones)} lists a zone twice; list each zone once"
        if self.import_ is not None:
            for name in ("cidr", "nat_gateways", "vpc_endpoints", "flow_logs"):
                if name in self.model_fields_set:
                    yield (
                        (name,),
                        (
                            f"{show(getattr(self, name))}: has no effect with network.import, which creates no VPC; "
                            "remove it"
                        ),
                    )
            seen: set[str] = set()
            for name in ("private_subnet_ids", "public_subnet_ids"):
                for index, subnet in enumerate(getattr(self.import_, name)):
                    if subnet in seen:
                        yield ("import", name, index), f"{subnet!r} is listed twice; list each subnet once"
                    seen.add(subnet)
            for name in ("private_subnet_ids", "public_subnet_ids"):
                subnets = getattr(self.import_, name)
                if len(subnets) % self.zone_count:
                    yield (
                        ("import", name),
                        (
                            f"{len(subnets)} subnet(s) do not spread evenly over {self.zone_count} availability zones; "
                            "list one subnet per zone, in the order of network.availability_zones"
                        ),
                    )
            return
        if self.nat_gateways > self.zone_count:
            yield (
                ("nat_gateways",),
                (
                    f"{self.nat_gateways} NAT gateways for {self.zone_count} availability zones; "
                    f"use at most one per zone (0 to {self.zone_count})"
                ),
            )
        if self.nat_gateways == 0 and not self.vpc_endpoints:
            yield (
                ("nat_gateways",),
                (
                    "0: without NAT gateways tasks reach ECR, logs and secrets only through VPC endpoints; "
                    "set network.vpc_endpoints: true"
                ),
            )

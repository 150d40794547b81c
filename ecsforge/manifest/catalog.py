"""Facts about AWS that the manifest is checked against, kept as data in this package."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from pathlib import Path

_INSTANCE_TYPES = Path(__file__).parent / "data" / "ec2_instance_types.json"
_REGIONS = Path(__file__).parent / "data" / "region_resource_types.json"
_ZONES = Path(__file__).parent / "data" / "availability_zones.json"

# The CloudFormation resource types each part of a manifest creates. A region that lacks
# one cannot deploy that part (e.g. no CodeStar Notifications, so no pipeline).
FEATURE_RESOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "environment": (
        "AWS::ECS::Cluster",
        "AWS::ECS::ClusterCapacityProviderAssociations",
        "AWS::ServiceDiscovery::PrivateDnsNamespace",
        "AWS::EC2::VPC",
        "AWS::Logs::LogGroup",
    ),
    "services": ("AWS::ECS::Service", "AWS::ECS::TaskDefinition"),
    "scaling": ("AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy"),
    "rollback_alarms": ("AWS::CloudWatch::Alarm",),
    "discovery": ("AWS::ServiceDiscovery::Service",),
    "scheduled_tasks": ("AWS::Scheduler::Schedule",),
    "registries": ("AWS::ECR::Repository",),
    "load_balancer": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::ListenerRule"),
    "ec2": ("AWS::AutoScaling::AutoScalingGroup", "AWS::ECS::CapacityProvider", "AWS::EC2::LaunchTemplate"),
    "pipelines": (
        "AWS::CodePipeline::Pipeline",
        "AWS::CodeBuild::Project",
        "AWS::CodeStarNotifications::NotificationRule",
        "AWS::KMS::Key",
        "AWS::SNS::Topic",
    ),
    "codecommit": ("AWS::CodeCommit::Repository",),
    "generated_secrets": ("AWS::SecretsManager::Secret",),
}

# family, generation, capabilities, size: m7gd.large -> ("m", "7", "gd", "large")
_INSTANCE_TYPE = re.compile(r"^([a-z]+)(\d{1,2})([a-z-]*)\.([a-z0-9-]+)$")
ARM64 = "arm64"
X86_64 = "x86_64"


@cache
def instance_types_by_region() -> dict[str, frozenset[str]]:
    """EC2 instance types offered per region (from cfn-lint's data, so that the manifest
    and the cfn-lint gate agree); regenerate with scripts/update_instance_types.py."""
    data: dict[str, list[str]] = json.loads(_INSTANCE_TYPES.read_text())
    return {region: frozenset(types) for region, types in data.items()}


@cache
def all_instance_types() -> frozenset[str]:
    return frozenset().union(*instance_types_by_region().values())


def instance_type_problem(instance_type: str, region: str) -> str | None:
    """Why an instance type cannot be used in a region, with what to use instead; or None."""
    known = all_instance_types()
    if instance_type not in known:
        close = difflib.get_close_matches(instance_type, sorted(known), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else "use an EC2 instance type such as t3.medium"
        return f"{instance_type!r} is not an EC2 instance type; {hint}"
    family = instance_type.split(".")[0]
    if "-" in family:
        # aws-cdk's InstanceType cannot parse these (mac2-m2.metal, u-6tb1.metal, p6-b200...).
        return f"{instance_type!r}: ecsforge cannot use instance types whose family has a '-'; choose another family"
    offered = instance_types_by_region().get(region)
    if offered is not None and instance_type not in offered:
        family = instance_type.split(".")[0]
        same_family = sorted(t for t in offered if t.split(".")[0] == family)
        hint = f"use one that is, e.g. {same_family[0]}" if same_family else "choose a family offered there"
        return f"{instance_type!r} is not offered in {region}; {hint}"
    return None


@cache
def resource_types_by_region() -> dict[str, frozenset[str]]:
    """Of FEATURE_RESOURCE_TYPES, those each region's CloudFormation offers (from cfn-lint's
    per-region schemas); regenerate with scripts/update_instance_types.py."""
    data: dict[str, list[str]] = json.loads(_REGIONS.read_text())
    return {region: frozenset(types) for region, types in data.items()}


def region_problem(region: str) -> str | None:
    regions = resource_types_by_region()
    if region in regions:
        return None
    close = difflib.get_close_matches(region, sorted(regions), n=1, cutoff=0.7)
    hint = f"did you mean {close[0]}?" if close else "use a region such as us-east-1"
    return f"{region!r} is not an AWS region that CloudFormation knows; {hint}"


def missing_resource_types(region: str, feature: str) -> list[str]:
    """The resource types a feature needs that the region does not offer (none for an unknown region)."""
    offered = resource_types_by_region().get(region)
    if offered is None:
        return []
    return [t for t in FEATURE_RESOURCE_TYPES[feature] if t not in offered]


def instance_architecture(instance_type: str) -> str:
    """arm64 for Graviton (a1, and a `g` right after the generation: m7g, c7gn, x2gd, t4g),
    x86_64 otherwise: the rule aws-cdk's InstanceType.architecture applies, which picks the
    AMI. The catalog lists names only, so the name decides."""
    match = _INSTANCE_TYPE.match(instance_type)
    if match is None:
        return X86_64
    family, _, capabilities, _ = match.groups()
    return ARM64 if family == "a" or capabilities.startswith("g") else X86_64


@cache
def zones_by_region() -> dict[str, tuple[str, ...]]:
    """Availability zone names per region, as cfn-lint knows them."""
    data: dict[str, list[str]] = json.loads(_ZONES.read_text())
    return {region: tuple(zones) for region, zones in data.items()}


def zone_problem(zone: str, region: str) -> str | None:
    known = zones_by_region().get(region)
    if known is None or zone in known:
        return None
    return f"{zone!r} is not an availability zone of {region}; use one of {', '.join(known)}"


# NVIDIA GPUs per instance type, for the families ecsforge supports with `gpu` (x86_64, which
# the ECS GPU-optimized AMI runs on). Source: Amazon EC2 "Accelerated computing instance types"
# (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html), GPU column. A type absent
# here has no GPU ecsforge can schedule.
_ONE_TO_16XL = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}
_GPUS_BY_FAMILY: dict[str, dict[str, int]] = {
    "g4dn": {**_ONE_TO_16XL, "12xlarge": 4, "metal": 8},
    "g5": {**_ONE_TO_16XL, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8},
    "g6": {**_ONE_TO_16XL, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8},
    "g6e": {**_ONE_TO_16XL, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8},
    "p3": {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8},
    "p3dn": {"24xlarge": 8},
    "p4d": {"24xlarge": 8},
    "p4de": {"24xlarge": 8},
    "p5": {"48xlarge": 8},
    "p5e": {"48xlarge": 8},
    "p5en": {"48xlarge": 8},
}
GPU_FAMILIES = tuple(_GPUS_BY_FAMILY)


def instance_gpus(instance_type: str) -> int:
    """The NVIDIA GPUs of an instance type; 0 for a type without GPUs (or one not in the table)."""
    family, _, size = instance_type.partition(".")
    return _GPUS_BY_FAMILY.get(family, {}).get(size, 0)

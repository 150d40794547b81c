"""ECS services in a template: deployment strategy and duration, desired count, scaling."""

from __future__ import annotations

import math
from typing import Any

from .model import REPLACED, UPDATED, Deployment, ResourceChange
from .templates import refs

# Service properties whose change makes ECS start a deployment (new tasks replace old ones).
DEPLOYMENT_PROPERTIES = frozenset(
    {
        "TaskDefinition",
        "LoadBalancers",
        "NetworkConfiguration",
        "CapacityProviderStrategy",
        "LaunchType",
        "PlacementStrategies",
        "PlacementConstraints",
        "PlatformVersion",
        "ServiceRegistries",
        "ServiceConnectConfiguration",
        "VolumeConfigurations",
        "ForceNewDeployment",
        "EnableExecuteCommand",
    }
)
# The modelled duration of a deployment: a rolling one takes about this long...
ROLLING_MINUTES = 5
# ...and every deployment this much more: tasks starting, health checks, deregistration delay.
DEPLOYMENT_MARGIN_MINUTES = 10


def number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def strategy_of(service: dict[str, Any]) -> str:
    properties = service.get("Properties", {})
    controller = properties.get("DeploymentController", {})
    kind = controller.get("Type") if isinstance(controller, dict) else None
    if kind in ("CODE_DEPLOY", "EXTERNAL"):
        return str(kind).lower()
    configuration = properties.get("DeploymentConfiguration", {})
    strategy = configuration.get("Strategy", "ROLLING") if isinstance(configuration, dict) else "ROLLING"
    return str(strategy).lower() if isinstance(strategy, str) else "rolling"


def is_traffic_shifting(service: dict[str, Any]) -> bool:
    """ECS-native blue/green, canary or linear: ECS rewrites the production listener rule."""
    balancers = service.get("Properties", {}).get("LoadBalancers", [])
    advanced = isinstance(balancers, list) and any(
        isinstance(b, dict) and "AdvancedConfiguration" in b for b in balancers
    )
    return advanced or strategy_of(service) in ("blue_green", "canary", "linear")


def deployment_minutes(service: dict[str, Any]) -> int | None:
    strategy = strategy_of(service)
    configuration = service.get("Properties", {}).get("DeploymentConfiguration", {})
    if strategy == "rolling":
        return ROLLING_MINUTES + DEPLOYMENT_MARGIN_MINUTES
    if strategy not in ("blue_green", "canary", "linear"):
        return None
    bake = number(configuration.get("BakeTimeInMinutes", 0))
    if bake is None:
        return None
    if strategy == "blue_green":
        return bake + DEPLOYMENT_MARGIN_MINUTES
    if strategy == "canary":
        step = number(configuration.get("CanaryConfiguration", {}).get("CanaryBakeTimeInMinutes", 0))
        return None if step is None else step + bake + DEPLOYMENT_MARGIN_MINUTES
    linear = configuration.get("LinearConfiguration", {})
    step, percent = number(linear.get("StepBakeTimeInMinutes", 0)), number(linear.get("StepPercent"))
    if step is None or not percent:
        return None
    return math.ceil(100 / percent) * step + bake + DEPLOYMENT_MARGIN_MINUTES


def pinned_count(value: Any) -> int | None:
    """The running count a DesiredCount sets on every service update, None if it keeps the count.

    A number pins; so does an Fn::If with a non-zero number in a branch (0 is the count before
    the first release, when nothing runs); AWS::NoValue lets ECS keep the current count.
    """
    fixed = number(value)
    if fixed is not None:
        return fixed
    if isinstance(value, dict) and isinstance(value.get("Fn::If"), list) and len(value["Fn::If"]) == 3:
        branches = [pinned_count(branch) for branch in value["Fn::If"][1:]]
        nonzero = [b for b in branches if b]
        return max(nonzero) if nonzero else None
    return None


def scaled_services(resources: dict[str, dict[str, Any]]) -> set[str]:
    """Logical IDs of the services an Application Auto Scaling target scales."""
    result = set()
    for resource in resources.values():
        if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget":
            properties = resource.get("Properties", {})
            if properties.get("ScalableDimension") == "ecs:service:DesiredCount":
                result |= {name for kind, name in refs(properties.get("ResourceId")) if kind == "ref"}
    return result


def deployments(
    stack: str, changes: list[ResourceChange], new_resources: dict[str, dict[str, Any]]
) -> list[Deployment]:
    """The ECS deployments that a stack's changes start."""
    result = []
    for change in changes:
        if change.type != "AWS::ECS::Service" or change.action not in (UPDATED, REPLACED):
            continue
        reasons = (
            ("replaced",)
            if change.action == REPLACED
            else tuple(p for p in change.properties if p in DEPLOYMENT_PROPERTIES)
        )
        if not reasons:
            continue
        service = new_resources[change.logical_id]
        result.append(Deployment(stack, change.logical_id, strategy_of(service), deployment_minutes(service), reasons))
    return result

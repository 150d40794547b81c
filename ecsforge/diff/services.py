"""ECS services in a template: deployment strategy and duration, desired count, scaling."""

from __future__ import annotations

from typing import Any

from ..manifest.deployment import modelled_minutes, pause_minutes
from .model import REPLACED, UPDATED, Deployment, ResourceChange
from .templates import refs

# Target group protocols of a Network Load Balancer.
NLB_PROTOCOLS = ("TCP", "TLS", "UDP", "TCP_UDP")

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


def number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def fraction(value: Any) -> float | None:
    """A literal number kept whole: StepPercent is a double (12.5 shifts 8 times, 12 nine times)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    whole = number(value)
    return None if whole is None else float(whole)


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


def _is_nlb_service(service: dict[str, Any], resources: dict[str, dict[str, Any]]) -> bool:
    """Whether the service's load balancer target group is a Network Load Balancer's (TCP, TLS, UDP)."""
    balancers = service.get("Properties", {}).get("LoadBalancers", [])
    for balancer in balancers if isinstance(balancers, list) else []:
        group = (
            resources.get(str(balancer.get("TargetGroupArn", {}).get("Ref")), {}) if isinstance(balancer, dict) else {}
        )
        if group.get("Properties", {}).get("Protocol") in NLB_PROTOCOLS:
            return True
    return False


def deployment_minutes(service: dict[str, Any], resources: dict[str, dict[str, Any]] | None = None) -> int | None:
    """The manifest's model of a deployment's duration (ecsforge.manifest.deployment.modelled_minutes),
    read back from the template: `validate`, `diff` and README print the same figure. `resources`
    (the service's template) tells whether its target group is an NLB's. None for a value that is
    not a literal number, and for CODE_DEPLOY and EXTERNAL controllers, which ecsforge does not model."""
    strategy = strategy_of(service)
    if strategy not in ("rolling", "blue_green", "canary", "linear"):
        return None
    configuration = service.get("Properties", {}).get("DeploymentConfiguration", {})
    bake = number(configuration.get("BakeTimeInMinutes", 0))
    canary_step = number(configuration.get("CanaryConfiguration", {}).get("CanaryBakeTimeInMinutes", 0))
    linear = configuration.get("LinearConfiguration", {})
    linear_step, percent = number(linear.get("StepBakeTimeInMinutes", 0)), fraction(linear.get("StepPercent", 100))
    step = canary_step if strategy == "canary" else linear_step
    if strategy != "rolling" and (bake is None or step is None or not percent):
        return None
    pauses = _pauses(configuration.get("LifecycleHooks"))
    if pauses is None:
        return None
    return modelled_minutes(
        strategy,
        bake_minutes=bake or 0,
        step_minutes=step or 0,
        linear_step_percent=percent or 100,
        nlb=_is_nlb_service(service, resources or {}),
        paused_minutes=pause_minutes(strategy, pauses, percent or 100),
    )


def _pauses(hooks: Any) -> list[tuple[list[str], int]] | None:
    """(stages, timeout) of each PAUSE hook; None when a timeout is not a literal number."""
    pauses: list[tuple[list[str], int]] = []
    for hook in hooks if isinstance(hooks, list) else []:
        if not isinstance(hook, dict) or hook.get("TargetType") != "PAUSE":
            continue
        # ECS's default timeout when none is given ("Pause hooks for Amazon ECS service deployments").
        timeout = number(hook.get("TimeoutConfiguration", {}).get("TimeoutInMinutes", 1440))
        stages = hook.get("LifecycleStages")
        if timeout is None or not isinstance(stages, list):
            return None
        pauses.append(([str(stage) for stage in stages], int(timeout)))
    return pauses


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
        minutes = deployment_minutes(service, new_resources)
        result.append(Deployment(stack, change.logical_id, strategy_of(service), minutes, reasons))
    return result

"""A service's state, computed from API answers alone: no AWS calls here, so tests feed it
recorded answers (DescribeServices, DescribeServiceDeployments, DescribeTargetHealth,
DescribeAlarms) and check what it makes of them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# ServiceDeployment.status values after which nothing more happens.
ENDED = frozenset({"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "FAILED"})
# ("FAILED" is a rolling deployment's rolloutState, which has no ServiceDeployment status.)
# A deployment that did not deliver its target revision (exit 3), ended or still rolling back.
FAILED = frozenset(
    {"FAILED", "STOPPED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}
)

EXIT_STEADY = 0
EXIT_FAILED = 3
EXIT_PAUSED = 4
EXIT_IN_PROGRESS = 5  # only without --watch: a deployment still moving, neither failed nor paused


@dataclass(frozen=True)
class Hook:
    hook_id: str
    kind: str  # PAUSE | AWS_LAMBDA
    status: str  # AWAITING_ACTION | IN_PROGRESS | SUCCEEDED | FAILED | TIMED_OUT
    expires_at: datetime.datetime | None
    timeout_action: str | None

    @property
    def waiting(self) -> bool:
        return self.kind == "PAUSE" and self.status == "AWAITING_ACTION"


@dataclass(frozen=True)
class Deployment:
    arn: str | None
    strategy: str  # ROLLING | BLUE_GREEN | CANARY | LINEAR
    status: str  # ServiceDeployment.status, or a rolling deployment's rolloutState mapped onto it
    stage: str | None
    production_percent: float | None  # of the target revision
    test_percent: float | None
    target_tasks: tuple[int, int]  # running, requested of the target revision
    reason: str | None = None
    hooks: tuple[Hook, ...] = ()
    rollback_reason: str | None = None
    circuit_breaker: str | None = None  # TRIGGERED | MONITORING | ...
    triggered_alarms: tuple[str, ...] = ()

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def waiting_hook(self) -> Hook | None:
        return next((h for h in self.hooks if h.waiting), None)


@dataclass(frozen=True)
class TargetGroupHealth:
    name: str  # the target group's name, from its ARN
    states: Mapping[str, int]  # healthy: 3, draining: 1, ...


@dataclass(frozen=True)
class ServiceStatus:
    workload: str  # the manifest's name
    service_name: str  # ECS's name
    running: int
    desired: int
    pending: int
    deployment: Deployment | None
    targets: tuple[TargetGroupHealth, ...] = ()
    alarms: Mapping[str, str] = field(default_factory=dict)  # name -> OK | ALARM | INSUFFICIENT_DATA

    @property
    def ended(self) -> bool:
        return self.deployment is None or self.deployment.ended


def _percent(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _hook(detail: Mapping[str, Any]) -> Hook:
    return Hook(
        hook_id=str(detail.get("hookId", "")),
        kind=str(detail.get("targetType", "")),
        status=str(detail.get("status", "")),
        expires_at=detail.get("expiresAt"),
        timeout_action=detail.get("timeoutAction"),
    )


def service_deployment(answer: Mapping[str, Any]) -> Deployment:
    """One ServiceDeployment of DescribeServiceDeployments."""
    target = answer.get("targetServiceRevision") or {}
    configuration = answer.get("deploymentConfiguration") or {}
    alarms = answer.get("alarms") or {}
    return Deployment(
        arn=answer.get("serviceDeploymentArn"),
        strategy=str(configuration.get("strategy", "ROLLING")),
        status=str(answer.get("status", "")),
        stage=answer.get("lifecycleStage"),
        production_percent=_percent(target.get("requestedProductionTrafficWeight")),
        test_percent=_percent(target.get("requestedTestTrafficWeight")),
        target_tasks=(int(target.get("runningTaskCount", 0)), int(target.get("requestedTaskCount", 0))),
        reason=answer.get("statusReason"),
        hooks=tuple(_hook(d) for d in answer.get("lifecycleHookDetails", [])),
        rollback_reason=(answer.get("rollback") or {}).get("reason"),
        circuit_breaker=(answer.get("deploymentCircuitBreaker") or {}).get("status"),
        triggered_alarms=tuple(alarms.get("triggeredAlarmNames", [])),
    )


# A rolling deployment's rolloutState (DescribeServices), for services that ECS reports no
# service deployment for.
_ROLLOUT = {"IN_PROGRESS": "IN_PROGRESS", "COMPLETED": "SUCCESSFUL", "FAILED": "FAILED"}


def rolling_deployment(service: Mapping[str, Any]) -> Deployment | None:
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return None
    return Deployment(
        arn=None,
        strategy=str((service.get("deploymentConfiguration") or {}).get("strategy", "ROLLING")),
        status=_ROLLOUT.get(str(primary.get("rolloutState")), "SUCCESSFUL"),
        stage=None,
        production_percent=None,
        test_percent=None,
        target_tasks=(int(primary.get("runningCount", 0)), int(primary.get("desiredCount", 0))),
        reason=primary.get("rolloutStateReason"),
    )


def target_groups(service: Mapping[str, Any]) -> list[str]:
    """The ARNs of the service's target groups: production and, for blue/green, alternate."""
    arns: list[str] = []
    for balancer in service.get("loadBalancers", []):
        for arn in (
            balancer.get("targetGroupArn"),
            (balancer.get("advancedConfiguration") or {}).get("alternateTargetGroupArn"),
        ):
            if arn and arn not in arns:
                arns.append(arn)
    return arns


def alarm_names(service: Mapping[str, Any], deployment: Mapping[str, Any] | None) -> list[str]:
    """The alarms that roll the service's deployments back, as ECS was given them."""
    configured = ((service.get("deploymentConfiguration") or {}).get("alarms") or {}).get("alarmNames", [])
    watched = ((deployment or {}).get("alarms") or {}).get("alarmNames", [])
    return list(dict.fromkeys([*configured, *watched]))


def target_health(arn: str, descriptions: Iterable[Mapping[str, Any]]) -> TargetGroupHealth:
    states: dict[str, int] = {}
    for description in descriptions:
        state = str((description.get("TargetHealth") or {}).get("State", "unknown"))
        states[state] = states.get(state, 0) + 1
    # arn:...:targetgroup/<name>/<id>
    return TargetGroupHealth(name=arn.split(":")[-1].split("/")[1] if "/" in arn else arn, states=states)


def service_status(
    workload: str,
    service: Mapping[str, Any],
    deployment: Mapping[str, Any] | None,
    health: Mapping[str, Sequence[Mapping[str, Any]]],
    alarms: Iterable[Mapping[str, Any]],
) -> ServiceStatus:
    """A service's state from DescribeServices' service, its current ServiceDeployment (None when
    ECS reports none), DescribeTargetHealth per target group ARN and DescribeAlarms' MetricAlarms."""
    return ServiceStatus(
        workload=workload,
        service_name=str(service.get("serviceName", "")),
        running=int(service.get("runningCount", 0)),
        desired=int(service.get("desiredCount", 0)),
        pending=int(service.get("pendingCount", 0)),
        deployment=service_deployment(deployment) if deployment is not None else rolling_deployment(service),
        targets=tuple(target_health(arn, health.get(arn, [])) for arn in target_groups(service)),
        alarms={str(a["AlarmName"]): str(a.get("StateValue", "")) for a in alarms},
    )


def exit_code(statuses: Sequence[ServiceStatus], *, watching: bool = False) -> int:
    """3: a deployment failed or rolled back; 4: one waits on a pause hook; 5 (without --watch):
    one is still in progress; 0: every service steady."""
    deployments = [s.deployment for s in statuses if s.deployment is not None]
    if any(d.failed for d in deployments):
        return EXIT_FAILED
    if any(d.waiting_hook is not None for d in deployments):
        return EXIT_PAUSED
    if not watching and any(not d.ended for d in deployments):
        return EXIT_IN_PROGRESS
    return EXIT_STEADY


def settled(statuses: Sequence[ServiceStatus]) -> bool:
    """Whether --watch can stop: every deployment ended, or waits for someone to act on a hook."""
    return all(s.ended or (s.deployment is not None and s.deployment.waiting_hook is not None) for s in statuses)

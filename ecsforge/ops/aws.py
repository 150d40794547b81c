"""What `status` and `continue` ask AWS, with the names the manifest gives (names.py): the
cluster by name, each service by the SSM parameter its stack writes, its target groups and
alarms from its own description. Every call here is one the tests stub."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .. import names
from ..manifest.models import Manifest
from .model import Hook, ServiceStatus, alarm_names, service_deployment, service_status, target_groups

# DescribeServices takes up to 10 services; DescribeServiceDeployments up to 20 ARNs;
# DescribeAlarms up to 100 names.
SERVICES_PER_CALL = 10
DEPLOYMENTS_PER_CALL = 20
ALARMS_PER_CALL = 100


class OpsError(Exception):
    """AWS cannot answer what was asked (not deployed, no access); the message says what to do."""


def error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def service_name(session: Any, manifest: Manifest, workload: str) -> str:
    """ECS's name of a manifest service, as its stack records it (CloudFormation generates it)."""
    parameter = names.service_name_parameter(manifest, workload)
    try:
        answer = session.client("ssm").get_parameter(Name=parameter)
    except Exception as error:
        if error_code(error) == "ParameterNotFound":
            raise OpsError(
                f"service {workload} is not deployed in {manifest.region}: the parameter {parameter} that its stack "
                f"{manifest.stack_name(f'service-{workload}')} writes does not exist; deploy it (cdk deploy), "
                "or use credentials of the environment's account"
            ) from None
        raise
    return str(answer["Parameter"]["Value"])


def describe_services(session: Any, manifest: Manifest, workloads: dict[str, str]) -> dict[str, dict[str, Any]]:
    """DescribeServices of each workload (manifest name -> ECS name), keyed by manifest name."""
    cluster = names.cluster_name(manifest)
    by_name: dict[str, dict[str, Any]] = {}
    for batch in _chunks(list(workloads.values()), SERVICES_PER_CALL):
        answer = session.client("ecs").describe_services(cluster=cluster, services=batch)
        by_name.update({s["serviceName"]: s for s in answer.get("services", [])})
    missing = [w for w, n in workloads.items() if n not in by_name or by_name[n].get("status") == "INACTIVE"]
    if missing:
        raise OpsError(
            f"cluster {cluster} has no active service for: {', '.join(missing)}; deploy it (cdk deploy), "
            "or use credentials of the environment's account"
        )
    return {w: by_name[n] for w, n in workloads.items()}


def current_deployments(session: Any, services: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each service's current ServiceDeployment, keyed by its ARN (services without one: none)."""
    arns = [str(s["currentServiceDeployment"]) for s in services if s.get("currentServiceDeployment")]
    found: dict[str, dict[str, Any]] = {}
    for batch in _chunks(arns, DEPLOYMENTS_PER_CALL):
        answer = session.client("ecs").describe_service_deployments(serviceDeploymentArns=batch)
        found.update({d["serviceDeploymentArn"]: d for d in answer.get("serviceDeployments", [])})
    return found


def _target_health(session: Any, arns: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    if not arns:
        return {}
    elbv2 = session.client("elbv2")
    return {arn: elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"] for arn in arns}


def _alarms(session: Any, alarm_names: Sequence[str]) -> list[dict[str, Any]]:
    alarms: list[dict[str, Any]] = []
    for batch in _chunks(alarm_names, ALARMS_PER_CALL):
        alarms += session.client("cloudwatch").describe_alarms(AlarmNames=batch).get("MetricAlarms", [])
    return alarms


def fetch_statuses(session: Any, manifest: Manifest, workloads: Sequence[str]) -> list[ServiceStatus]:
    """The state of each service, in the order asked."""
    ecs_names = {w: service_name(session, manifest, w) for w in workloads}
    services = describe_services(session, manifest, ecs_names)
    deployments = current_deployments(session, list(services.values()))
    statuses = []
    for workload, service in services.items():
        deployment = deployments.get(str(service.get("currentServiceDeployment", "")))
        health = _target_health(session, target_groups(service))
        alarms = _alarms(session, alarm_names(service, deployment))
        statuses.append(service_status(workload, service, deployment, health, alarms))
    return statuses


def waiting_hook(session: Any, manifest: Manifest, workload: str) -> tuple[str, Hook]:
    """The service's deployment and its pause hook waiting for an action; OpsError when none waits."""
    ecs_name = service_name(session, manifest, workload)
    service = describe_services(session, manifest, {workload: ecs_name})[workload]
    arn = service.get("currentServiceDeployment")
    answer = current_deployments(session, [service]).get(str(arn)) if arn else None
    if answer is None:
        raise OpsError(f"service {workload} ({ecs_name}) has no deployment in progress; nothing to continue")
    deployment = service_deployment(answer)
    hook = deployment.waiting_hook
    if hook is None:
        stage = f" at {deployment.stage}" if deployment.stage else ""
        raise OpsError(
            f"no pause hook of service {workload} waits for an action: its deployment is {deployment.status}{stage}; "
            "nothing to continue"
        )
    return str(arn), hook


def act_on_hook(session: Any, deployment_arn: str, hook: Hook, *, rollback: bool) -> None:
    """ContinueServiceDeployment: CONTINUE moves to the next lifecycle stage, ROLLBACK returns to the
    previous service revision."""
    session.client("ecs").continue_service_deployment(
        serviceDeploymentArn=deployment_arn, hookId=hook.hook_id, action="ROLLBACK" if rollback else "CONTINUE"
    )

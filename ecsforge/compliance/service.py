"""Acknowledgements for task definitions, services and scheduled tasks."""

from __future__ import annotations

from ..constructs.scheduled_task import ScheduledEcsTask
from ..constructs.service import EcsService
from ..constructs.task_definition import TaskDefinition
from ..constructs.task_runner import TaskRunner
from ..manifest.models import Manifest
from .common import account, ack, ack_alternate_role, default_policy, required_default_policy, resource


def acknowledge_task(task: TaskDefinition) -> None:
    spec = task.spec
    definition = task.task_definition
    if any(container.environment for container in spec.containers.values()):
        ack(
            resource(definition),
            "AwsSolutions-ECS2",
            "These environment variables are the manifest's plain `environment` settings; secrets go through "
            "`secrets` (SSM or Secrets Manager), and names that look like secrets are warned about.",
        )
    # Each lookup is a jsii round trip: only for a task that pulls from a registry.
    execution_policy = (
        default_policy(definition.execution_role) if any(c.image.registry for c in spec.containers.values()) else None
    )
    if execution_policy is not None:
        ack(
            execution_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, needed to pull from ECR, supports no resource-level permissions; the "
            "image pull itself is limited to this task's repositories.",
        )
    for secret in task.generated_secrets.values():
        ack(
            resource(secret),
            "AwsSolutions-SMG4",
            "A value generated once for a container (`generate` in the manifest), e.g. a database root "
            "password that the container sets at first start; rotating it would lock the container out.",
        )


def acknowledge_service(service: EcsService) -> None:
    acknowledge_task(service.task)
    if service.spec.http is not None and service.spec.deployment.strategy != "rolling":
        ack_alternate_role(service.service, "AlternateRole", "shift this service's listener rule")
    tls_role = service.node.try_find_child("ServiceConnectTlsRole")
    if tls_role is not None:
        ack(
            resource(tls_role),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity]",
            "ECS assumes this role (connect.tls) to issue, store and rotate the service's Service Connect "
            "certificates from the Private CA; AWS maintains this policy for exactly that, limited to secrets "
            "named ecs-sc!* that ECS creates and tags.",
        )
    if service.spec.exec:
        task_policy = default_policy(service.task.task_definition.task_role)
        if task_policy is not None:
            ack(
                task_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ECS Exec (exec: true in the manifest) opens sessions through ssmmessages:Create/OpenControl and "
                "DataChannel, which support no resource-level permissions.",
            )


def acknowledge_scheduled_task(scheduled: ScheduledEcsTask, manifest: Manifest) -> None:
    if scheduled.family_arn_target:
        ack(
            default_policy(scheduled.role) or scheduled.role,
            f"AwsSolutions-IAM5[Resource::arn:{manifest.partition}:ecs:{manifest.region}:{account(manifest)}:task-definition/"
            f"{scheduled.family}:*]",
            "The revisions of this one task family: the schedule runs the latest, which the pipeline's release "
            "step registers with each released image; limited to this cluster by an ecs:cluster condition.",
        )
    if scheduled.runner is not None:
        acknowledge_task_runner(scheduled, scheduled.runner, manifest)


def acknowledge_task_runner(scheduled: ScheduledEcsTask, runner: TaskRunner, manifest: Manifest) -> None:
    policy = required_default_policy(runner.state_machine.role, runner, "the state machine's role")
    arn = f"arn:{manifest.partition}:ecs:{manifest.region}:{account(manifest)}"
    ack(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "aws-cdk's grants for the state machine's own logging (CloudWatch Logs vended log delivery) and X-Ray "
        "tracing: these actions support no resource-level permissions.",
    )
    ack(
        policy,
        f"AwsSolutions-IAM5[Resource::{arn}:task/*]",
        "ecs:runTask.sync watches (DescribeTasks) and, at the time limit, stops (StopTask) the task it started, "
        "whose id is not known in advance (task/* matches both the long and the short task ARN format); "
        "limited to this cluster's tasks by an ecs:cluster condition.",
    )
    if scheduled.family_arn_target:
        ack(
            policy,
            f"AwsSolutions-IAM5[Resource::{arn}:task-definition/{scheduled.family}:*]",
            "The revisions of this one task family: the state machine runs the latest, which the pipeline's "
            "release step registers with each released image; limited to this cluster by an ecs:cluster condition.",
        )

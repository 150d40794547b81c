"""A Step Functions state machine that runs a scheduled task, stops it after its time limit and
starts it again when it fails (`timeout_minutes`, `retries`).

EventBridge Scheduler alone cannot: its retry policy retries only delivering the RunTask call,
and ECS has no time limit for a task. Step Functions' Run a Job integration (`ecs:runTask.sync`)
waits for the task to stop and fails the state when it failed; at the time limit the state fails
with States.Timeout, and Step Functions stops the task it started (what ecs:StopTask in its policy
is for). A timed-out run is not retried: Retry names States.TaskFailed, which excludes States.Timeout.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..manifest.services import ScheduledTask
from .task_definition import RETENTION
from .template import cfn_resource, keep_only_depends_on

# The EventBridge rule Step Functions manages to learn when a task stops (`.sync`).
ECS_EVENTS_RULE = "StepFunctionsGetEventsForECSTaskRule"
SECURITY_GROUPS = "SecurityGroups"
RETRY_INTERVAL_SECONDS = 60
RETRY_BACKOFF_RATE = 2


class TaskRunner(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        task: ScheduledTask,
        run_task: dict[str, Any],
        security_groups: list[str],
    ) -> None:
        """run_task: the RunTask request (PascalCase), with its security groups as a substitution
        (as Copilot does), so that groups added later (an addon's) need no new definition."""
        super().__init__(scope, construct_id)
        substitutions: dict[str, str] = {}
        if "NetworkConfiguration" in run_task:
            run_task["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"] = [f"${{{SECURITY_GROUPS}}}"]
            substitutions[SECURITY_GROUPS] = _json_items(security_groups)
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": f"arn:{Aws.PARTITION}:states:::ecs:runTask.sync",
            "Parameters": run_task,
        }
        if task.timeout_minutes is not None:
            state["TimeoutSeconds"] = task.timeout_minutes * 60
        if task.retries:
            # A task that stopped with an error (or never started); not a run stopped at its time limit.
            state["Retry"] = [
                {
                    "ErrorEquals": ["States.TaskFailed"],
                    "IntervalSeconds": RETRY_INTERVAL_SECONDS,
                    "MaxAttempts": task.retries,
                    "BackoffRate": RETRY_BACKOFF_RATE,
                }
            ]
        # Kept as long as the task's own logs: the two tell one run's story.
        retention = RETENTION[max(c.log_retention_days for c in task.containers.values())]
        self.log_group = logs.LogGroup(self, "Logs", retention=retention, removal_policy=RemovalPolicy.RETAIN)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment=f"Runs scheduled task {name}",
            definition_body=sfn.DefinitionBody.from_chainable(sfn.CustomState(self, "Run", state_json=state)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL),
            tracing_enabled=True,
            definition_substitutions=substitutions or None,
        )

    def use_security_groups(self, ids: list[str]) -> None:
        cfn_resource(self.state_machine).add_property_override(
            f"DefinitionSubstitutions.{SECURITY_GROUPS}", _json_items(ids)
        )

    def finish(self) -> None:
        """After the grants: the state machine waits for its policy (Step Functions checks its logging
        permissions on creation); its DependsOn on the role it GetAtts goes (cfn-lint W3005)."""
        policy = self.state_machine.role.node.try_find_child("DefaultPolicy")
        keep_only_depends_on(self.state_machine, *([policy] if policy is not None else []))

    def grant_run(self, *, task_definitions: list[str], cluster_arn: str, passed_roles: list[str]) -> None:
        """What `ecs:runTask.sync` needs: run, watch and stop the task, and the rule that reports its end."""
        role = self.state_machine.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=task_definitions,
                conditions={"ArnEquals": {"ecs:cluster": cluster_arn}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:StopTask", "ecs:DescribeTasks"],
                resources=[Stack.of(self).format_arn(service="ecs", resource="task", resource_name="*")],
                conditions={"ArnEquals": {"ecs:cluster": cluster_arn}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=passed_roles,
                conditions={"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[Stack.of(self).format_arn(service="events", resource="rule", resource_name=ECS_EVENTS_RULE)],
            )
        )


def _json_items(ids: list[str]) -> str:
    """The items of a JSON list of strings, without its outer quotes: "${SecurityGroups}" becomes "a","b"."""
    return Fn.join('","', ids)


def run_task_request(cluster_arn: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The Scheduler's EcsParameters (constructs/scheduled_task.py) as a RunTask request: the same task, run alike."""
    request: dict[str, Any] = {
        "Cluster": cluster_arn,
        "TaskDefinition": parameters["task_definition_arn"],
        "Count": parameters["task_count"],
        "EnableECSManagedTags": parameters["enable_ecs_managed_tags"],
        "CapacityProviderStrategy": [
            {"CapacityProvider": item.capacity_provider, "Base": item.base, "Weight": item.weight}
            for item in parameters["capacity_provider_strategy"]
        ],
    }
    network = parameters.get("network_configuration")
    if network is not None:
        vpc = network.awsvpc_configuration
        request["NetworkConfiguration"] = {
            "AwsvpcConfiguration": {
                "Subnets": vpc.subnets,
                "SecurityGroups": [],
                "AssignPublicIp": vpc.assign_public_ip,
            }
        }
    if parameters.get("platform_version"):
        request["PlatformVersion"] = parameters["platform_version"]
    if parameters.get("placement_strategy"):
        request["PlacementStrategy"] = [
            {"Type": item.type, **({"Field": item.field} if item.field else {})}
            for item in parameters["placement_strategy"]
        ]
    if parameters.get("placement_constraints"):
        request["PlacementConstraints"] = [
            {"Type": item.type, **({"Expression": item.expression} if item.expression else {})}
            for item in parameters["placement_constraints"]
        ]
    return request

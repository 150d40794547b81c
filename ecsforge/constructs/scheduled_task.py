"""A task that EventBridge Scheduler runs on a cron or rate schedule."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from .. import names
from ..manifest.compute_checks import uses_managed_instances
from ..manifest.models import Manifest
from ..manifest.services import ScheduledTask
from .placement import schedule_capacity, schedule_constraints, schedule_strategies
from .refs import PlatformRefs
from .task_definition import TaskDefinition
from .task_runner import TaskRunner, run_task_request
from .template import cfn_resource
from .wiring import wire_task

RETRY_ATTEMPTS = 2


class ScheduledEcsTask(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        manifest: Manifest,
        name: str,
        task: ScheduledTask,
        refs: PlatformRefs,
    ) -> None:
        super().__init__(scope, construct_id)
        family = manifest.stack_name(name)
        released = any(c.image.released for c in task.containers.values())
        self.task = TaskDefinition(
            self,
            "Task",
            manifest=manifest,
            family=family,
            unit=f"task-{name}",
            spec=task,
            role_path=names.task_role_path(manifest, name) if released else None,
        )
        definition = self.task.task_definition
        cluster_arn = refs.imported(names.CLUSTER_ARN)
        # A task that follows releases runs the latest revision of its family: the pipeline's
        # release step registers one with each released image, so a release reaches the
        # schedule without a `cdk deploy` (RunTask takes a family without a revision).
        family_arn = Stack.of(self).format_arn(service="ecs", resource="task-definition", resource_name=family)
        self.family, self.family_arn_target = family, released
        task_definitions = [f"{family_arn}:*"] if released else [definition.task_definition_arn]
        parameters = self._ecs_parameters(
            manifest, name, task, refs, family_arn if released else definition.task_definition_arn
        )
        self.runner: TaskRunner | None = None
        if task.supervised:
            self.runner = TaskRunner(
                self,
                "Runner",
                name=name,
                task=task,
                run_task=run_task_request(cluster_arn, parameters),
                security_groups=self._security_group_ids,
            )
            self.runner.grant_run(
                task_definitions=task_definitions,
                cluster_arn=cluster_arn,
                passed_roles=self._passed_roles(),
            )
            self.runner.finish()
        self.role = self._scheduler_role(name, task_definitions, cluster_arn)
        self.schedule = self._schedule(manifest, name, task, cluster_arn, parameters)
        self.wiring = wire_task(self, manifest=manifest, spec=task, task=self.task, security_group=self.security_group)
        if released:
            # The family ARN names no resource of this stack: the first revision must exist first.
            self.schedule.node.add_dependency(cfn_resource(definition))

    def add_security_groups(self, groups: list[ec2.ISecurityGroup]) -> None:
        """More groups for the tasks (an addon's), beside the task's own."""
        own = [self.security_group.security_group_id] if self.security_group is not None else []
        ids = [*own, *self.extra_security_groups, *(group.security_group_id for group in groups)]
        if self.runner is not None:
            self.runner.use_security_groups(ids)
            return
        cfn_resource(self.schedule).add_property_override(
            "Target.EcsParameters.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups", ids
        )

    def _scheduler_role(self, name: str, task_definitions: list[str], cluster_arn: str) -> iam.Role:
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description=f"EventBridge Scheduler runs task {name}",
        )
        if self.runner is not None:
            # The state machine runs the task: the schedule only starts it.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["states:StartExecution"], resources=[self.runner.state_machine.state_machine_arn]
                )
            )
            return role
        # This task definition (its revisions, when it follows releases), in this cluster, and its two roles.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=task_definitions,
                conditions={"ArnEquals": {"ecs:cluster": cluster_arn}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=self._passed_roles(),
                conditions={"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        return role

    def _passed_roles(self) -> list[str]:
        definition = self.task.task_definition
        roles = [definition.task_role.role_arn]
        if definition.execution_role is not None:
            roles.append(definition.execution_role.role_arn)
        return roles

    def _ecs_parameters(
        self, manifest: Manifest, name: str, task: ScheduledTask, refs: PlatformRefs, target_definition: str
    ) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "task_definition_arn": target_definition,
            "task_count": task.count,
            "enable_ecs_managed_tags": True,
            "capacity_provider_strategy": schedule_capacity(manifest, task),
        }
        self.security_group: ec2.SecurityGroup | None = None
        self.extra_security_groups = task.security_groups
        self._security_group_ids: list[str] = []
        if task.network_mode == "awsvpc":
            self.security_group = ec2.SecurityGroup(
                self, "SecurityGroup", vpc=refs.vpc, description=f"Scheduled task {name}", allow_all_outbound=True
            )
            self._security_group_ids += [self.security_group.security_group_id, *task.security_groups]
            parameters["network_configuration"] = scheduler.CfnSchedule.NetworkConfigurationProperty(
                awsvpc_configuration=scheduler.CfnSchedule.AwsVpcConfigurationProperty(
                    subnets=[subnet.subnet_id for subnet in refs.vpc.private_subnets],
                    security_groups=[self.security_group.security_group_id, *task.security_groups],
                    assign_public_ip="DISABLED",
                )
            )
        if task.on_fargate:
            parameters["platform_version"] = "LATEST"
        elif task.placement is not None and not uses_managed_instances(manifest, task):
            parameters["placement_strategy"] = schedule_strategies(task.placement) or None
            parameters["placement_constraints"] = schedule_constraints(task.placement) or None
        return parameters

    def _schedule(
        self, manifest: Manifest, name: str, task: ScheduledTask, cluster_arn: str, parameters: dict[str, Any]
    ) -> scheduler.CfnSchedule:
        released_images = self.task.released_images
        return scheduler.CfnSchedule(
            self,
            "Schedule",
            description=f"Runs scheduled task {name} of {manifest.app}/{manifest.environment}",
            schedule_expression=task.schedule,
            schedule_expression_timezone=task.timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            # Off until the pipeline has released an image: there would be nothing to run.
            state=(
                Token.as_string(released_images.when_released("ENABLED", "DISABLED")) if released_images else "ENABLED"
            ),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=cluster_arn if self.runner is None else self.runner.state_machine.state_machine_arn,
                role_arn=self.role.role_arn,
                ecs_parameters=(
                    scheduler.CfnSchedule.EcsParametersProperty(**parameters) if self.runner is None else None
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=RETRY_ATTEMPTS, maximum_event_age_in_seconds=3600
                ),
            ),
        )

"""A task that EventBridge Scheduler runs on a cron or rate schedule."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.services import ScheduledTask
from .refs import PlatformRefs
from .task_definition import TaskDefinition

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
        target_definition = family_arn if released else definition.task_definition_arn
        self.family, self.family_arn_target = family, released

        self.role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description=f"EventBridge Scheduler runs task {name}",
        )
        # This task definition (its revisions, when it follows releases), in this cluster, and its two roles.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[f"{family_arn}:*"] if released else [definition.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": cluster_arn}},
            )
        )
        roles = [definition.task_role.role_arn]
        if definition.execution_role is not None:
            roles.append(definition.execution_role.role_arn)
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=roles,
                conditions={"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )

        parameters: dict[str, Any] = {
            "task_definition_arn": target_definition,
            "task_count": task.count,
            "enable_ecs_managed_tags": True,
            "capacity_provider_strategy": [
                scheduler.CfnSchedule.CapacityProviderStrategyItemProperty(
                    capacity_provider=names.capacity_provider(manifest, item.provider),
                    base=item.base,
                    weight=item.weight,
                )
                for item in task.capacity
            ],
        }
        self.security_group: ec2.SecurityGroup | None = None
        if task.network_mode == "awsvpc":
            self.security_group = ec2.SecurityGroup(
                self, "SecurityGroup", vpc=refs.vpc, description=f"Scheduled task {name}", allow_all_outbound=True
            )
            parameters["network_configuration"] = scheduler.CfnSchedule.NetworkConfigurationProperty(
                awsvpc_configuration=scheduler.CfnSchedule.AwsVpcConfigurationProperty(
                    subnets=[subnet.subnet_id for subnet in refs.vpc.private_subnets],
                    security_groups=[self.security_group.security_group_id],
                    assign_public_ip="DISABLED",
                )
            )
        if task.on_fargate:
            parameters["platform_version"] = "LATEST"
        elif task.placement is not None:
            parameters["placement_strategy"] = [
                scheduler.CfnSchedule.PlacementStrategyProperty(
                    type="spread" if s.spread else "binpack" if s.binpack else "random",
                    field=s.spread or s.binpack,
                )
                for s in task.placement.strategies
            ] or None
            parameters["placement_constraints"] = [
                scheduler.CfnSchedule.PlacementConstraintProperty(
                    type="memberOf" if c.member_of else "distinctInstance", expression=c.member_of
                )
                for c in task.placement.constraints
            ] or None

        released_images = self.task.released_images
        self.schedule = scheduler.CfnSchedule(
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
                arn=cluster_arn,
                role_arn=self.role.role_arn,
                ecs_parameters=scheduler.CfnSchedule.EcsParametersProperty(**parameters),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=RETRY_ATTEMPTS, maximum_event_age_in_seconds=3600
                ),
            ),
        )
        if released:
            # The family ARN names no resource of this stack: the first revision must exist first.
            resource = definition.node.default_child
            assert resource is not None
            self.schedule.node.add_dependency(resource)

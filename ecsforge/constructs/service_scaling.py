"""A service's Application Auto Scaling: target tracking, step scaling and schedules."""

from __future__ import annotations

from aws_cdk import TimeZone, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import names
from ..manifest.scaling import Scaling
from .refs import PlatformRefs
from .task_definition import ReleasedImages
from .units import minutes, seconds

PREDEFINED = {
    "cpu_percent": appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
    "memory_percent": appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_MEMORY_UTILIZATION,
}


class ServiceScaling:
    """Scales `service`; its constructs are made in `scope` (the service construct)."""

    def __init__(
        self,
        scope: Construct,
        *,
        scaling: Scaling,
        service: ecs.BaseService,
        service_name: str,
        released: ReleasedImages | None,
        target_groups: list[elbv2.ApplicationTargetGroup],
        refs: PlatformRefs,
    ) -> None:
        self.scope, self.scaling, self.service, self.released, self.refs = scope, scaling, service, released, refs
        self.target = self._scalable_target(service_name)
        self.cooldown_in = seconds(scaling.cooldown_seconds.scale_in)
        self.cooldown_out = seconds(scaling.cooldown_seconds.scale_out)
        self._target_tracking(target_groups)
        self._step_scaling()
        self._schedules()

    def _floor(self, value: int) -> float:
        # No task may be scaled up before the first release: there is no image to run.
        return Token.as_number(self.released.when_released(value, 0)) if self.released else value

    def _scalable_target(self, service_name: str) -> appscaling.ScalableTarget:
        stack = self.refs.stack
        return appscaling.ScalableTarget(
            self.scope,
            "ScalableTarget",
            service_namespace=appscaling.ServiceNamespace.ECS,
            resource_id=f"service/{self.refs.imported(names.CLUSTER_NAME)}/{service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=self._floor(self.scaling.min),
            max_capacity=self.scaling.max,
            role=iam.Role.from_role_arn(
                self.scope,
                "ScalingRole",
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role/aws-service-role/ecs.application-autoscaling.amazonaws.com",
                    resource_name="AWSServiceRoleForApplicationAutoScaling_ECSService",
                ),
            ),
        )

    def _target_tracking(self, target_groups: list[elbv2.ApplicationTargetGroup]) -> None:
        tracking = self.scaling.target_tracking
        for field, predefined_metric in PREDEFINED.items():
            value = getattr(tracking, field) if tracking else None
            if value:
                self.target.scale_to_track_metric(
                    "Cpu" if field == "cpu_percent" else "Memory",
                    target_value=value,
                    predefined_metric=predefined_metric,
                    scale_in_cooldown=self.cooldown_in,
                    scale_out_cooldown=self.cooldown_out,
                )
        if tracking and tracking.requests_per_target and target_groups:
            self.target.scale_to_track_metric(
                "Requests",
                target_value=tracking.requests_per_target,
                predefined_metric=appscaling.PredefinedMetric.ALB_REQUEST_COUNT_PER_TARGET,
                resource_label=f"{self.refs.alb_full_name}/{target_groups[0].target_group_full_name}",
                scale_in_cooldown=self.cooldown_in,
                scale_out_cooldown=self.cooldown_out,
            )

    def _step_scaling(self) -> None:
        for index, steps in enumerate(self.scaling.step_scaling):
            metric = (
                self.service.metric_cpu_utilization(period=minutes(1))
                if steps.metric == "cpu"
                else self.service.metric_memory_utilization(period=minutes(1))
            )
            intervals = [appscaling.ScalingInterval(lower=s.at, change=s.add) for s in steps.scale_out]
            intervals += [appscaling.ScalingInterval(upper=s.below, change=-s.remove) for s in steps.scale_in]
            if len(intervals) == 1:
                # aws-cdk wants two intervals; "no change below the step" creates no alarm of its own.
                intervals.insert(0, appscaling.ScalingInterval(lower=0, upper=steps.scale_out[0].at, change=0))
            self.target.scale_on_metric(
                f"Steps{index}-{steps.metric}",
                metric=metric,
                scaling_steps=intervals,
                adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
                cooldown=self.cooldown_out,
            )

    def _schedules(self) -> None:
        for index, schedule in enumerate(self.scaling.schedules):
            self.target.scale_on_schedule(
                f"Schedule{index}",
                schedule=appscaling.Schedule.expression(f"cron({schedule.cron})"),
                time_zone=TimeZone.of(schedule.timezone),
                min_capacity=self._floor(schedule.min) if schedule.min is not None else None,
                max_capacity=schedule.max,
            )

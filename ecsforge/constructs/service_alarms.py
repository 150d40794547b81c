"""A service's rollback alarms: CloudWatch alarms that roll an ECS deployment back."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from ..manifest.deployment import RollbackAlarms
from .refs import PlatformRefs
from .units import minutes


def rollback_alarms(
    scope: Construct,
    *,
    spec: RollbackAlarms,
    service: ecs.BaseService,
    target_groups: list[elbv2.ApplicationTargetGroup],
    refs: PlatformRefs,
) -> list[cloudwatch.Alarm]:
    """The alarms, made in `scope` (the service construct), and the service set to roll back on them."""
    alarms: list[tuple[str, cloudwatch.Alarm]] = []
    period = minutes(1)
    if spec.http_5xx_percent and target_groups:
        percent = _http_5xx_percent(target_groups, refs, period)
        alarms.append(_alarm(scope, "Http5xxAlarm", "http-5xx", percent, spec.http_5xx_percent, "5xx percent"))
    if spec.cpu_percent:
        metric = service.metric_cpu_utilization(period=period)
        alarms.append(_alarm(scope, "CpuAlarm", "cpu", metric, spec.cpu_percent, "CPU percent"))
    if spec.memory_percent:
        metric = service.metric_memory_utilization(period=period)
        alarms.append(_alarm(scope, "MemoryAlarm", "memory", metric, spec.memory_percent, "memory percent"))
    # Literal names: the service names its alarms while their metrics name the service,
    # and a reference both ways would be a circular dependency.
    service.enable_deployment_alarms([name for name, _ in alarms], behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM)
    return [alarm for _, alarm in alarms]


def _http_5xx_percent(
    target_groups: list[elbv2.ApplicationTargetGroup], refs: PlatformRefs, period: Duration
) -> cloudwatch.MathExpression:
    def alb_metric(name: str, group: elbv2.ApplicationTargetGroup) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApplicationELB",
            metric_name=name,
            dimensions_map={"TargetGroup": group.target_group_full_name, "LoadBalancer": refs.alb_full_name},
            statistic="Sum",
            period=period,
        )

    errors: cloudwatch.IMetric
    requests: cloudwatch.IMetric
    if len(target_groups) == 1:
        errors = alb_metric("HTTPCode_Target_5XX_Count", target_groups[0])
        requests = alb_metric("RequestCount", target_groups[0])
    else:
        # After every other deployment the new version serves from the alternate
        # group, so the alarm watches both. ALB reports these counts only for
        # minutes with traffic: FILL makes an idle group count as 0, not as missing.
        def both(name: str, prefix: str, label: str) -> cloudwatch.MathExpression:
            return cloudwatch.MathExpression(
                expression=f"FILL({prefix}1, 0) + FILL({prefix}2, 0)",
                using_metrics={
                    f"{prefix}{index}": alb_metric(name, group) for index, group in enumerate(target_groups, 1)
                },
                period=period,
                label=label,
            )

        errors = both("HTTPCode_Target_5XX_Count", "e", "5xx responses of both target groups")
        requests = both("RequestCount", "r", "requests to both target groups")
    return cloudwatch.MathExpression(
        expression="IF(requests > 0, 100 * errors / requests, 0)",
        using_metrics={"errors": errors, "requests": requests},
        period=period,
        label="5xx responses, percent",
    )


def _alarm(
    scope: Construct, construct_id: str, suffix: str, metric: cloudwatch.IMetric, threshold: int, what: str
) -> tuple[str, cloudwatch.Alarm]:
    stack_name = Stack.of(scope).stack_name
    name = f"{stack_name}-rollback-{suffix}"
    return name, cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=name,
        metric=metric,
        threshold=threshold,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"Rolls back a deployment of {stack_name} when {what} > {threshold}",
    )

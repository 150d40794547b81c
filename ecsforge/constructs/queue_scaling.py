"""`scaling.queue_backlog_per_task`: target tracking on visible messages per running task.

The metric is `messages / tasks` (ApproximateNumberOfMessagesVisible of the consumed queue
over ECS/ContainerInsights RunningTaskCount), as in Application Auto Scaling's "SQS queue
backlog per task" metric math example. At 0 tasks the quotient has no data and target
tracking does nothing, so with `min: 0` a step policy wakes the service: one task when
messages wait and none runs (its metric is 0 whenever a task runs, so it never fights the
target tracking policy).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.scaling import Scaling
from .refs import PlatformRefs

PERIOD = Duration.minutes(1)


def queue_backlog_scaling(
    scope: Construct,
    *,
    manifest: Manifest,
    queue: str,
    scaling: Scaling,
    target: appscaling.ScalableTarget,
    service: ecs.BaseService,
    refs: PlatformRefs,
) -> None:
    if scaling.queue_backlog_per_task is None:
        return
    queue_name = names.queue_name(manifest, queue, fifo=manifest.queues[queue].fifo)
    messages = cloudwatch.Metric(
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions_map={"QueueName": queue_name},
        statistic="Average",
        period=PERIOD,
    )
    tasks = cloudwatch.Metric(
        namespace="ECS/ContainerInsights",
        metric_name="RunningTaskCount",
        dimensions_map={"ClusterName": refs.imported(names.CLUSTER_NAME), "ServiceName": service.service_name},
        statistic="Average",
        period=PERIOD,
    )
    _target_tracking(scope, scaling.queue_backlog_per_task, scaling, target, messages, tasks)
    if scaling.min == 0:
        _wake_from_zero(scaling, target, messages, tasks)


def _target_tracking(
    scope: Construct,
    value: int,
    scaling: Scaling,
    target: appscaling.ScalableTarget,
    messages: cloudwatch.Metric,
    tasks: cloudwatch.Metric,
) -> None:
    appscaling.CfnScalingPolicy(
        scope,
        "BacklogPerTask",
        policy_name="backlog-per-task",
        policy_type="TargetTrackingScaling",
        scaling_target_id=target.scalable_target_id,
        target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
            target_value=value,
            scale_in_cooldown=scaling.cooldown_seconds.scale_in,
            scale_out_cooldown=scaling.cooldown_seconds.scale_out,
            customized_metric_specification=appscaling.CfnScalingPolicy.CustomizedMetricSpecificationProperty(
                metrics=[
                    _query("messages", messages),
                    _query("tasks", tasks),
                    appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty(
                        id="backlog", expression="messages / tasks", label="Visible messages per task", return_data=True
                    ),
                ]
            ),
        ),
    )


def _wake_from_zero(
    scaling: Scaling, target: appscaling.ScalableTarget, messages: cloudwatch.Metric, tasks: cloudwatch.Metric
) -> None:
    target.scale_on_metric(
        "WakeFromZero",
        metric=cloudwatch.MathExpression(
            expression="IF(FILL(tasks, 0) < 1, messages, 0)",
            using_metrics={"messages": messages, "tasks": tasks},
            label="Visible messages while no task runs",
            period=PERIOD,
        ),
        scaling_steps=[
            appscaling.ScalingInterval(lower=0, upper=1, change=0),
            appscaling.ScalingInterval(lower=1, change=1),
        ],
        adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown=Duration.seconds(scaling.cooldown_seconds.scale_out),
    )


def _query(
    query_id: str, metric: cloudwatch.Metric
) -> appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
    config = metric.to_metric_config().metric_stat
    if config is None:
        raise ValueError(f"{query_id} is not a plain metric")
    return appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty(
        id=query_id,
        return_data=False,
        metric_stat=appscaling.CfnScalingPolicy.TargetTrackingMetricStatProperty(
            metric=appscaling.CfnScalingPolicy.TargetTrackingMetricProperty(
                namespace=config.namespace,
                metric_name=config.metric_name,
                dimensions=[
                    appscaling.CfnScalingPolicy.TargetTrackingMetricDimensionProperty(name=d.name, value=d.value)
                    for d in config.dimensions or []
                ],
            ),
            stat=config.statistic,
        ),
    )

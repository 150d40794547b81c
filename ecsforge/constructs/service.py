"""An ECS service: capacity, deployment, load balancing, discovery, alarms and scaling."""

from __future__ import annotations

from aws_cdk import Aws, CfnResource, Stack, TimeZone, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from .. import names
from ..manifest.models import Manifest
from ..manifest.placement import Placement
from ..manifest.services import Service
from ..manifest.tasks import TaskSpec
from .refs import PlatformRefs
from .task_definition import TaskDefinition
from .template import keep_only_depends_on
from .units import minutes, seconds

STRATEGIES = {
    "rolling": ecs.DeploymentStrategy.ROLLING,
    "blue_green": ecs.DeploymentStrategy.BLUE_GREEN,
    "canary": ecs.DeploymentStrategy.CANARY,
    "linear": ecs.DeploymentStrategy.LINEAR,
}


def capacity_strategies(manifest: Manifest, spec: TaskSpec) -> list[ecs.CapacityProviderStrategy]:
    return [
        ecs.CapacityProviderStrategy(
            capacity_provider=names.capacity_provider(manifest, item.provider), base=item.base, weight=item.weight
        )
        for item in spec.capacity
    ]


def placement_strategies(placement: Placement | None) -> list[dict[str, str]]:
    """ECS placement strategies as CloudFormation writes them, in manifest order.

    Written directly: aws-cdk's Python PlacementStrategy.packed_by_memory() renders the
    binpack field as "MEMORY", where ECS documents "memory" and "cpu".
    """
    result = []
    for item in placement.strategies if placement else []:
        if item.spread is not None:
            result.append({"Type": "spread", "Field": item.spread})
        elif item.binpack is not None:
            result.append({"Type": "binpack", "Field": item.binpack})
        else:
            result.append({"Type": "random"})
    return result


def placement_constraints(placement: Placement | None) -> list[ecs.PlacementConstraint]:
    result = []
    for item in placement.constraints if placement else []:
        if item.member_of is not None:
            result.append(ecs.PlacementConstraint.member_of(item.member_of))
        else:
            result.append(ecs.PlacementConstraint.distinct_instances())
    return result


class EcsService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        manifest: Manifest,
        name: str,
        service: Service,
        refs: PlatformRefs,
    ) -> None:
        super().__init__(scope, construct_id)
        self.manifest, self.name, self.spec, self.refs = manifest, name, service, refs
        self.task = TaskDefinition(
            self, "Task", manifest=manifest, family=manifest.stack_name(name), unit=f"service-{name}", spec=service
        )
        self.desired_count = self._desired_count()
        self.security_group: ec2.SecurityGroup | None = None
        if service.network_mode == "awsvpc":
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=refs.vpc,
                description=f"Tasks of service {name}",
                allow_all_outbound=True,
            )
        self.target_groups: list[elbv2.ApplicationTargetGroup] = []
        self.listener_rule: elbv2.ApplicationListenerRule | None = None
        self.service = self._service()
        if service.http is not None:
            self._load_balancing()
        self.alarms = self._rollback_alarms()
        if service.scaling is not None:
            self._scaling()

    def _desired_count(self) -> float | None:
        """DesiredCount, or None for none at all.

        Until the pipeline's first release there is no image to run: no task is started,
        so the first deployment completes instead of waiting for a missing image. With
        scaling, Application Auto Scaling owns the count: any DesiredCount in the template
        would snap it back at every update of the service (containers-roadmap#493), while
        an omitted one leaves an existing service's count as it is (a new service starts at
        1 and the scalable target raises it to scaling.min).
        """
        released = self.task.released_images
        if self.spec.scaling is not None:
            return Token.as_number(released.when_released(Aws.NO_VALUE, 0)) if released else None
        count = self.spec.desired_count
        return Token.as_number(released.when_released(count, 0)) if released else count

    def _deployment_props(self) -> dict[str, object]:
        deployment = self.spec.deployment
        props: dict[str, object] = {
            "min_healthy_percent": deployment.minimum_healthy_percent,
            "max_healthy_percent": deployment.maximum_percent,
            "circuit_breaker": ecs.DeploymentCircuitBreaker(enable=True, rollback=True)
            if deployment.circuit_breaker
            else None,
        }
        if deployment.strategy != "rolling":
            props["deployment_strategy"] = STRATEGIES[deployment.strategy]
            props["bake_time"] = minutes(deployment.bake_minutes)
        if deployment.strategy == "canary":
            props["canary_configuration"] = ecs.TrafficShiftConfig(
                step_percent=deployment.canary_percent, step_bake_time=minutes(deployment.step_minutes)
            )
        if deployment.strategy == "linear":
            props["linear_configuration"] = ecs.TrafficShiftConfig(
                step_percent=deployment.linear_step_percent, step_bake_time=minutes(deployment.step_minutes)
            )
        return props

    def _cloud_map(self) -> ecs.CloudMapOptions | None:
        if not self.spec.discovery:
            return None
        if self.spec.network_mode == "awsvpc":
            return ecs.CloudMapOptions(
                cloud_map_namespace=self.refs.namespace,
                name=self.name,
                dns_record_type=servicediscovery.DnsRecordType.A,
                dns_ttl=seconds(10),
            )
        # bridge and host mode tasks share the instance's address: SRV records carry the port.
        with_port = next(((n, c) for n, c in self.spec.containers.items() if c.port), None)
        return ecs.CloudMapOptions(
            cloud_map_namespace=self.refs.namespace,
            name=self.name,
            dns_record_type=servicediscovery.DnsRecordType.SRV,
            dns_ttl=seconds(10),
            container=self.task.containers[with_port[0]] if with_port else None,
            container_port=with_port[1].port if with_port else None,
        )

    def _service(self) -> ecs.BaseService:
        spec = self.spec
        common: dict[str, object] = {
            "cluster": self.refs.cluster,
            "task_definition": self.task.task_definition,
            "enable_execute_command": spec.exec,
            "cloud_map_options": self._cloud_map(),
            "propagate_tags": ecs.PropagatedTagSource.SERVICE,
            "enable_ecs_managed_tags": True,
            "health_check_grace_period": seconds(spec.http.grace_period_seconds) if spec.http else None,
            **self._deployment_props(),
        }
        if spec.scheduling == "replica":
            common["desired_count"] = self.desired_count
            common["capacity_provider_strategies"] = capacity_strategies(self.manifest, spec)
        if spec.network_mode == "awsvpc":
            assert self.security_group is not None
            common["security_groups"] = [self.security_group]
            common["vpc_subnets"] = self.refs.private_subnets()
        if spec.on_fargate:
            return ecs.FargateService(self, "Service", assign_public_ip=False, **common)  # type: ignore[arg-type]
        service = ecs.Ec2Service(
            self,
            "Service",
            daemon=spec.scheduling == "daemon",
            placement_constraints=placement_constraints(spec.placement) or None,
            **common,  # type: ignore[arg-type]
        )
        strategies = placement_strategies(spec.placement)
        if strategies:
            resource = service.node.default_child
            assert isinstance(resource, CfnResource)
            resource.add_property_override("PlacementStrategies", strategies)
        return service

    def _target_group(self, construct_id: str, port: int) -> elbv2.ApplicationTargetGroup:
        http = self.spec.http
        assert http is not None
        check = http.health_check
        group = elbv2.ApplicationTargetGroup(
            self,
            construct_id,
            vpc=self.refs.vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP if self.spec.network_mode == "awsvpc" else elbv2.TargetType.INSTANCE,
            deregistration_delay=seconds(http.deregistration_delay_seconds),
            stickiness_cookie_duration=seconds(http.stickiness_seconds) if http.stickiness_seconds else None,
            health_check=elbv2.HealthCheck(
                path=check.path,
                port="traffic-port",
                interval=seconds(check.interval_seconds),
                timeout=seconds(check.timeout_seconds),
                healthy_threshold_count=check.healthy_threshold,
                unhealthy_threshold_count=check.unhealthy_threshold,
                healthy_http_codes=check.success_codes,
            ),
        )
        self.target_groups.append(group)
        return group

    def _load_balancing(self) -> None:
        http = self.spec.http
        container = self.spec.http_container
        assert http is not None and container is not None
        port = self.spec.containers[container].port
        assert port is not None
        primary = self._target_group("TargetGroup", port)
        conditions = [elbv2.ListenerCondition.path_patterns([http.path])]
        if http.host:
            conditions.append(elbv2.ListenerCondition.host_headers([http.host]))
        self.listener_rule = elbv2.ApplicationListenerRule(
            self,
            "ListenerRule",
            listener=self.refs.listener,
            priority=http.rule_priority,
            conditions=conditions,
            action=elbv2.ListenerAction.forward([primary]),
        )
        alternate = None
        if self.spec.deployment.strategy != "rolling":
            # ECS-native blue/green, canary and linear shift the rule between two groups.
            self._keep_rule_to_ecs(self.listener_rule)
            alternate = ecs.AlternateTarget(
                "Alternate",
                alternate_target_group=self._target_group("AlternateTargetGroup", port),
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(self.listener_rule),
            )
        primary.add_target(
            self.service.load_balancer_target(container_name=container, container_port=port, alternate_target=alternate)
        )
        if alternate is not None:
            # The service Refs the listener rule already; the task role must exist before tasks start.
            keep_only_depends_on(self.service, self.task.task_definition.task_role)
        if self.spec.network_mode != "awsvpc":
            # bridge/host tasks are reached on the instances' ports.
            for item in self.spec.capacity:
                group = self.refs.capacity_security_group(item.provider)
                ec2.CfnSecurityGroupIngress(
                    self,
                    f"FromAlbTo-{item.provider}",
                    group_id=group.security_group_id,
                    source_security_group_id=self.refs.alb_security_group.security_group_id,
                    ip_protocol="tcp",
                    from_port=port if self.spec.network_mode == "host" else 32768,
                    to_port=port if self.spec.network_mode == "host" else 65535,
                    description=f"load balancer to service {self.name}",
                )

    @staticmethod
    def _keep_rule_to_ecs(rule: elbv2.ApplicationListenerRule) -> None:
        """After a deployment ECS may serve production from the alternate group, through a
        weighted forward it wrote into this rule. Any CloudFormation update of the rule puts
        back the template's forward to the primary group, which is empty after an odd number
        of deployments (aws-cdk#36649). So the rule carries nothing that ordinary edits
        change: no tags (the app-wide tags would make a tag edit update it). What remains
        changes only with the path, host, priority, target group port or listener, and
        `ecsforge diff` flags those."""
        resource = rule.node.default_child
        assert isinstance(resource, CfnResource)
        resource.add_property_deletion_override("Tags")

    def _rollback_alarms(self) -> list[cloudwatch.Alarm]:
        alarms_spec = self.spec.deployment.rollback_alarms
        if alarms_spec is None:
            return []
        alarms: list[tuple[str, cloudwatch.Alarm]] = []
        period = minutes(1)
        if alarms_spec.http_5xx_percent and self.target_groups:

            def alb_metric(name: str, group: elbv2.ApplicationTargetGroup) -> cloudwatch.Metric:
                return cloudwatch.Metric(
                    namespace="AWS/ApplicationELB",
                    metric_name=name,
                    dimensions_map={
                        "TargetGroup": group.target_group_full_name,
                        "LoadBalancer": self.refs.alb_full_name,
                    },
                    statistic="Sum",
                    period=period,
                )

            errors: cloudwatch.IMetric
            requests: cloudwatch.IMetric
            if len(self.target_groups) == 1:
                errors = alb_metric("HTTPCode_Target_5XX_Count", self.target_groups[0])
                requests = alb_metric("RequestCount", self.target_groups[0])
            else:
                # After every other deployment the new version serves from the alternate
                # group, so the alarm watches both. ALB reports these counts only for
                # minutes with traffic: FILL makes an idle group count as 0, not as missing.
                def both(name: str, prefix: str, label: str) -> cloudwatch.MathExpression:
                    return cloudwatch.MathExpression(
                        expression=f"FILL({prefix}1, 0) + FILL({prefix}2, 0)",
                        using_metrics={
                            f"{prefix}{index}": alb_metric(name, group)
                            for index, group in enumerate(self.target_groups, 1)
                        },
                        period=period,
                        label=label,
                    )

                errors = both("HTTPCode_Target_5XX_Count", "e", "5xx responses of both target groups")
                requests = both("RequestCount", "r", "requests to both target groups")
            percent = cloudwatch.MathExpression(
                expression="IF(requests > 0, 100 * errors / requests, 0)",
                using_metrics={"errors": errors, "requests": requests},
                period=period,
                label="5xx responses, percent",
            )
            alarms.append(self._alarm("Http5xxAlarm", "http-5xx", percent, alarms_spec.http_5xx_percent, "5xx percent"))
        if alarms_spec.cpu_percent:
            metric = self.service.metric_cpu_utilization(period=period)
            alarms.append(self._alarm("CpuAlarm", "cpu", metric, alarms_spec.cpu_percent, "CPU percent"))
        if alarms_spec.memory_percent:
            metric = self.service.metric_memory_utilization(period=period)
            alarms.append(self._alarm("MemoryAlarm", "memory", metric, alarms_spec.memory_percent, "memory percent"))
        # Literal names: the service names its alarms while their metrics name the service,
        # and a reference both ways would be a circular dependency.
        self.service.enable_deployment_alarms(
            [name for name, _ in alarms], behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM
        )
        return [alarm for _, alarm in alarms]

    def _alarm(
        self, construct_id: str, suffix: str, metric: cloudwatch.IMetric, threshold: int, what: str
    ) -> tuple[str, cloudwatch.Alarm]:
        name = f"{Stack.of(self).stack_name}-rollback-{suffix}"
        return name, cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Rolls back a deployment of {Stack.of(self).stack_name} when {what} > {threshold}",
        )

    def _scaling(self) -> None:
        scaling = self.spec.scaling
        assert scaling is not None
        released = self.task.released_images

        def floor(value: int) -> float:
            # No task may be scaled up before the first release: there is no image to run.
            return Token.as_number(released.when_released(value, 0)) if released else value

        stack = Stack.of(self)
        target = appscaling.ScalableTarget(
            self,
            "ScalableTarget",
            service_namespace=appscaling.ServiceNamespace.ECS,
            resource_id=f"service/{self.refs.imported(names.CLUSTER_NAME)}/{self.service.service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=floor(scaling.min),
            max_capacity=scaling.max,
            role=iam.Role.from_role_arn(
                self,
                "ScalingRole",
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role/aws-service-role/ecs.application-autoscaling.amazonaws.com",
                    resource_name="AWSServiceRoleForApplicationAutoScaling_ECSService",
                ),
            ),
        )
        cooldown_in = seconds(scaling.cooldown_seconds.scale_in)
        cooldown_out = seconds(scaling.cooldown_seconds.scale_out)
        tracking = scaling.target_tracking
        predefined = {
            "cpu_percent": appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
            "memory_percent": appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_MEMORY_UTILIZATION,
        }
        for field, predefined_metric in predefined.items():
            value = getattr(tracking, field) if tracking else None
            if value:
                target.scale_to_track_metric(
                    "Cpu" if field == "cpu_percent" else "Memory",
                    target_value=value,
                    predefined_metric=predefined_metric,
                    scale_in_cooldown=cooldown_in,
                    scale_out_cooldown=cooldown_out,
                )
        if tracking and tracking.requests_per_target and self.target_groups:
            target.scale_to_track_metric(
                "Requests",
                target_value=tracking.requests_per_target,
                predefined_metric=appscaling.PredefinedMetric.ALB_REQUEST_COUNT_PER_TARGET,
                resource_label=f"{self.refs.alb_full_name}/{self.target_groups[0].target_group_full_name}",
                scale_in_cooldown=cooldown_in,
                scale_out_cooldown=cooldown_out,
            )
        for index, steps in enumerate(scaling.step_scaling):
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
            target.scale_on_metric(
                f"Steps{index}-{steps.metric}",
                metric=metric,
                scaling_steps=intervals,
                adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
                cooldown=cooldown_out,
            )
        for index, schedule in enumerate(scaling.schedules):
            target.scale_on_schedule(
                f"Schedule{index}",
                schedule=appscaling.Schedule.expression(f"cron({schedule.cron})"),
                time_zone=TimeZone.of(schedule.timezone),
                min_capacity=floor(schedule.min) if schedule.min is not None else None,
                max_capacity=schedule.max,
            )

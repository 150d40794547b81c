"""An ECS service: capacity, deployment, load balancing, discovery, alarms and scaling."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from ..manifest.compute_checks import uses_managed_instances
from ..manifest.connect import connect_settings
from ..manifest.http import Http
from ..manifest.models import Manifest
from ..manifest.scaling import Scaling
from ..manifest.services import Service
from .deployment_gates import DeploymentGates, pause_slack, test_listener_rule
from .ebs import configure_ebs_volumes
from .instance_ports import open_instance_ports
from .nlb import ServiceNlb
from .placement import capacity_strategies, placement_constraints, placement_strategies
from .queue_scaling import queue_backlog_scaling
from .refs import PlatformRefs
from .service_alarms import rollback_alarms
from .service_connect import imported_connect_security_group, service_connect
from .service_scaling import ServiceScaling
from .task_definition import TaskDefinition
from .template import cfn_resource, keep_only_depends_on
from .units import minutes, seconds
from .wiring import wire_task

NO_VALUE = Aws.NO_VALUE  # read once: each read of an aws-cdk static is a jsii round trip

STRATEGIES = {
    "rolling": ecs.DeploymentStrategy.ROLLING,
    "blue_green": ecs.DeploymentStrategy.BLUE_GREEN,
    "canary": ecs.DeploymentStrategy.CANARY,
    "linear": ecs.DeploymentStrategy.LINEAR,
}


def extra_security_groups(scope: Construct, group_ids: list[str]) -> list[ec2.ISecurityGroup]:
    """`security_groups`: the user's groups, joined as they are (immutable: no rule of ours lands on them)."""
    return [
        ec2.SecurityGroup.from_security_group_id(scope, f"ExtraSecurityGroup-{group_id}", group_id, mutable=False)
        for group_id in group_ids
    ]


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
        self.test_listener_rule: elbv2.ApplicationListenerRule | None = None
        self.service = self._service(self.security_group)
        # One jsii round trip, read by the scaling target, the parameter and the output.
        self.service_name = self.service.service_name
        if service.http is not None:
            self._load_balancing(service.http)
        self.nlb = self._nlb()
        self.gates = (
            DeploymentGates(
                self,
                "Gates",
                name=name,
                deployment=service.deployment,
                service=self.service,
                slack=pause_slack(manifest, name),
            )
            if service.deployment.hooks
            else None
        )
        alarms = service.deployment.rollback_alarms
        self.alarms = (
            rollback_alarms(self, spec=alarms, service=self.service, target_groups=self.target_groups, refs=refs)
            if alarms is not None
            else []
        )
        self.wiring = wire_task(
            self, manifest=manifest, spec=service, task=self.task, security_group=self.security_group
        )
        configure_ebs_volumes(self, manifest=manifest, spec=service, service=self.service)
        if service.scaling is not None:
            self._scaling(service.scaling)

    def _nlb(self) -> ServiceNlb | None:
        if self.spec.nlb is None:
            return None
        return ServiceNlb(
            self,
            "Nlb",
            name=self.name,
            spec=self.spec,
            service=self.service,
            task_security_group=self.security_group,
            refs=self.refs,
        )

    def _scaling(self, spec: Scaling) -> None:
        service = self.spec
        scaling = ServiceScaling(
            self,
            scaling=spec,
            service=self.service,
            service_name=self.service_name,
            released=self.task.released_images,
            target_groups=self.target_groups,
            refs=self.refs,
        )
        consumed = [q for q, how in (service.access.queues if service.access else {}).items() if how == "consume"]
        if spec.queue_backlog_per_task is not None and consumed:
            queue_backlog_scaling(
                self,
                manifest=self.manifest,
                queue=consumed[0],
                scaling=spec,
                target=scaling.target,
                service=self.service,
                refs=self.refs,
            )

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
            return Token.as_number(released.when_released(NO_VALUE, 0)) if released else None
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

    def _grace_period(self) -> Any:
        if self.spec.http is not None:
            return seconds(self.spec.http.grace_period_seconds)
        return seconds(self.spec.nlb.grace_period_seconds) if self.spec.nlb is not None else None

    def _service(self, security_group: ec2.SecurityGroup | None) -> ecs.BaseService:
        spec = self.spec
        connect = connect_settings(spec.connect)
        common: dict[str, Any] = {
            "cluster": self.refs.cluster,
            "task_definition": self.task.task_definition,
            "enable_execute_command": spec.exec,
            "cloud_map_options": self._cloud_map(),
            "propagate_tags": ecs.PropagatedTagSource.SERVICE,
            "enable_ecs_managed_tags": True,
            "health_check_grace_period": self._grace_period(),
            "service_connect_configuration": service_connect(
                self, name=self.name, service=spec, settings=connect, refs=self.refs
            )
            if connect is not None
            else None,
            **self._deployment_props(),
        }
        if spec.scheduling == "replica":
            common["desired_count"] = self.desired_count
            common["capacity_provider_strategies"] = capacity_strategies(self.manifest, spec)
        if security_group is not None:  # awsvpc
            common["security_groups"] = [security_group]
            if spec.connect:
                common["security_groups"].append(imported_connect_security_group(self, self.refs))
            common["security_groups"].extend(extra_security_groups(self, spec.security_groups))
            common["vpc_subnets"] = self.refs.private_subnets()
        if spec.on_fargate or uses_managed_instances(self.manifest, spec):
            # aws-cdk's FargateService is also its service for managed instances (no placement, awsvpc).
            return ecs.FargateService(self, "Service", assign_public_ip=False, **common)
        service = ecs.Ec2Service(
            self,
            "Service",
            daemon=spec.scheduling == "daemon",
            placement_constraints=placement_constraints(spec.placement) or None,
            **common,
        )
        strategies = placement_strategies(spec.placement)
        if strategies:
            cfn_resource(service).add_property_override("PlacementStrategies", strategies)
        return service

    def _target_group(self, construct_id: str, http: Http, port: int) -> elbv2.ApplicationTargetGroup:
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
                port=str(check.port) if check.port is not None else "traffic-port",
                interval=seconds(check.interval_seconds),
                timeout=seconds(check.timeout_seconds),
                healthy_threshold_count=check.healthy_threshold,
                unhealthy_threshold_count=check.unhealthy_threshold,
                healthy_http_codes=check.success_codes,
            ),
        )
        self.target_groups.append(group)
        return group

    def _http_target(self) -> tuple[str, int]:
        """The container and port the load balancer sends to (the manifest's checks ensure both)."""
        container = self.spec.http_container
        port = self.spec.containers[container].port if container is not None else None
        if container is None or port is None:
            raise ValueError(f"service {self.name} has http but no container with a port")
        return container, port

    def _load_balancing(self, http: Http) -> None:
        container, port = self._http_target()
        primary = self._target_group("TargetGroup", http, port)
        conditions = [elbv2.ListenerCondition.path_patterns([http.path])]
        if http.host_names:
            conditions.append(elbv2.ListenerCondition.host_headers(http.host_names))
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
            self.test_listener_rule = test_listener_rule(
                self, http=http, deployment=self.spec.deployment, listener=self.refs.listener, target_group=primary
            )
            alternate = ecs.AlternateTarget(
                "Alternate",
                alternate_target_group=self._target_group("AlternateTargetGroup", http, port),
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(self.listener_rule),
                test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(self.test_listener_rule)
                if self.test_listener_rule is not None
                else None,
            )
        primary.add_target(
            self.service.load_balancer_target(container_name=container, container_port=port, alternate_target=alternate)
        )
        if alternate is not None:
            # The service Refs the listener rule already; the task role must exist before tasks start.
            keep_only_depends_on(self.service, self.task.task_definition.task_role)
        check_port = http.health_check.port
        if self.security_group is not None and check_port not in (None, port):
            # aws-cdk admits the load balancer to the traffic port only.
            alb = ec2.Peer.security_group_id(self.refs.alb_security_group.security_group_id)
            self.security_group.add_ingress_rule(
                alb, ec2.Port.tcp(check_port), f"load balancer health check to {check_port}"
            )
        if self.spec.network_mode != "awsvpc":
            # bridge/host tasks are reached on the instances' ports.
            open_instance_ports(
                self,
                "FromAlbTo",
                spec=self.spec,
                refs=self.refs,
                container=container,
                port=port,
                source_security_group_id=self.refs.alb_security_group.security_group_id,
                description=f"load balancer to service {self.name}",
                shared_source=True,
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
        cfn_resource(rule).add_property_deletion_override("Tags")

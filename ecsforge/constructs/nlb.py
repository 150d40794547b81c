"""`services.*.nlb`: a Network Load Balancer of the service's own, in the service's stack, so
adding or removing one changes no other stack."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..manifest.nlb import NLB_PROTOCOLS, Nlb, nlb_container
from ..manifest.services import Service
from .buckets import secure_bucket
from .instance_ports import open_instance_ports
from .refs import PlatformRefs
from .template import cfn_resource, keep_only_depends_on
from .units import seconds


def _port(protocol: str, low: int, high: int | None = None) -> ec2.Port:
    if high is not None and high != low:
        return ec2.Port.tcp_range(low, high) if protocol == "tcp" else ec2.Port.udp_range(low, high)
    return ec2.Port.tcp(low) if protocol == "tcp" else ec2.Port.udp(low)


class ServiceNlb(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        spec: Service,
        service: ecs.BaseService,
        task_security_group: ec2.SecurityGroup | None,
        refs: PlatformRefs,
    ) -> None:
        super().__init__(scope, construct_id)
        nlb = spec.nlb
        container = nlb_container(spec)
        if nlb is None or container is None or spec.containers[container].port is None:
            raise ValueError(f"service {name} has nlb but no container with a port")
        self.name, self.spec, self.settings, self.refs = name, spec, nlb, refs
        self.container, self.port = container, spec.containers[container].port or 0
        vpc = refs.vpc
        # Security groups can only be given to an NLB when it is created; one from the start
        # keeps allowed_cidrs editable and lets the tasks admit exactly this load balancer.
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"NLB of service {name}: its listener, open to nlb.allowed_cidrs",
            allow_all_outbound=True,
        )
        traffic = "udp" if nlb.protocol == "udp" else "tcp"
        for cidr in nlb.cidrs:
            self.security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), _port(traffic, nlb.port), f"{cidr} to {nlb.port}")
        subnets = vpc.public_subnets if nlb.public else vpc.private_subnets
        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=nlb.public,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets),
            security_groups=[self.security_group],
        )
        self.target_groups = [self._target_group("TargetGroup", nlb)]
        self.listener = self.load_balancer.add_listener(
            "Listener",
            port=nlb.port,
            protocol=elbv2.Protocol(NLB_PROTOCOLS[nlb.protocol]),
            certificates=[elbv2.ListenerCertificate.from_arn(nlb.certificate_arn)] if nlb.certificate_arn else None,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS if nlb.protocol == "tls" else None,
            default_target_groups=self.target_groups,
        )
        # NLB access logs record TLS connections only: without a TLS listener there is nothing to log.
        self.access_logs: s3.Bucket | None = None
        if nlb.protocol == "tls":
            self.access_logs = secure_bucket(self, "AccessLogs")
            self.load_balancer.log_access_logs(self.access_logs, prefix="nlb")
        self._attach(service)
        self._admit(traffic, task_security_group)

    def _target_group(self, construct_id: str, nlb: Nlb) -> elbv2.NetworkTargetGroup:
        awsvpc = self.spec.network_mode == "awsvpc"
        return elbv2.NetworkTargetGroup(
            self,
            construct_id,
            vpc=self.refs.vpc,
            port=self.port,
            # TLS ends at the listener; the targets get plain TCP.
            protocol=elbv2.Protocol.UDP if nlb.protocol == "udp" else elbv2.Protocol.TCP,
            target_type=elbv2.TargetType.IP if awsvpc else elbv2.TargetType.INSTANCE,
            deregistration_delay=seconds(nlb.deregistration_delay_seconds),
            # ELB health-checks UDP groups over TCP too.
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.TCP,
                port=str(nlb.health_check_port) if nlb.health_check_port else "traffic-port",
            ),
        )

    def _attach(self, service: ecs.BaseService) -> None:
        alternate = None
        if self.spec.deployment.strategy != "rolling":
            # ECS-native blue/green, canary and linear shift the listener between two groups.
            group = self._target_group("AlternateTargetGroup", self.settings)
            self.target_groups.append(group)
            alternate = ecs.AlternateTarget(
                "NlbAlternate",
                alternate_target_group=group,
                production_listener=ecs.ListenerRuleConfiguration.network_listener(self.listener),
            )
        self.target_groups[0].add_target(
            service.load_balancer_target(
                container_name=self.container,
                container_port=self.port,
                protocol=ecs.Protocol.UDP if self.settings.protocol == "udp" else None,
                alternate_target=alternate,
            )
        )
        if alternate is not None:
            # After a swap ECS serves from the alternate group through this listener's default
            # action; any CloudFormation update of the listener would point it back at the
            # primary group, so it carries no tags (a tag edit would update it). `ecsforge diff`
            # flags the other updates.
            cfn_resource(self.listener).add_property_deletion_override("Tags")
            # The service Refs the listener already; the task role must exist before tasks start.
            task_role = service.task_definition.task_role
            keep_only_depends_on(service, task_role)

    def _admit(self, traffic: str, task_security_group: ec2.SecurityGroup | None) -> None:
        """The tasks admit this load balancer's group, on the traffic port and the health check port."""
        nlb = self.settings
        check = nlb.health_check_port or self.port
        source = self.security_group.security_group_id
        if task_security_group is not None:  # awsvpc
            peer = ec2.Peer.security_group_id(source)
            task_security_group.add_ingress_rule(peer, _port(traffic, self.port), f"NLB to port {self.port}")
            if traffic == "udp" or check != self.port:
                task_security_group.add_ingress_rule(peer, ec2.Port.tcp(check), f"NLB health check to {check}")
            return
        open_instance_ports(
            self,
            "FromNlbTo",
            spec=self.spec,
            refs=self.refs,
            container=self.container,
            port=self.port,
            source_security_group_id=source,
            description=f"NLB to service {self.name}",
        )

"""`services.*.connect`: the service's Service Connect configuration, its proxy's log group (and
access logs), the role ECS issues TLS certificates with, and the cluster's Service Connect security
group that every connect service joins."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import names
from ..manifest.connect import Connect, ConnectTls
from ..manifest.nlb import connect_names
from ..manifest.services import Service
from .refs import PlatformRefs
from .task_definition import RETENTION


def connect_security_group(scope: Construct, vpc: ec2.IVpc) -> ec2.SecurityGroup:
    """In the cluster stack: every connect service's tasks join it, and members admit each other
    on every TCP port, so a new service needs no rule in another stack."""
    group = ec2.SecurityGroup(
        scope,
        "ServiceConnectSecurityGroup",
        vpc=vpc,
        description="Service Connect: tasks of services with connect reach each other",
        allow_all_outbound=True,
    )
    group.add_ingress_rule(group, ec2.Port.all_tcp(), "Service Connect between member tasks")
    return group


def imported_connect_security_group(scope: Construct, refs: PlatformRefs) -> ec2.ISecurityGroup:
    """Immutable: the rules of the shared group are the cluster stack's. A rule a service stack added
    (aws-cdk admits the load balancer to each of a service's groups) would be the same in every
    service on that port, and deleting one stack's copy deletes the rule (aws-cdk#4437). The load
    balancer reaches the tasks through their own group's rule."""
    return ec2.SecurityGroup.from_security_group_id(
        scope,
        "ServiceConnectSecurityGroup",
        refs.imported(names.CONNECT_SECURITY_GROUP),
        allow_all_outbound=True,
        mutable=False,
    )


def service_connect(
    scope: Construct, *, name: str, service: Service, settings: Connect, refs: PlatformRefs
) -> ecs.ServiceConnectProps:
    """Server entries for each container port (named after the container), reachable as
    <service>:<port>; a service without ports is a client only."""
    log_group = logs.LogGroup(
        scope,
        "ServiceConnectLogs",
        # As long as the longest the service's containers keep theirs.
        retention=RETENTION[max(c.log_retention_days for c in service.containers.values())],
        removal_policy=RemovalPolicy.RETAIN,
    )
    tls = _tls(scope, name, settings.tls) if settings.tls is not None else None
    entries = [
        ecs.ServiceConnectService(
            port_mapping_name=container,
            discovery_name=dns,
            dns_name=dns,
            port=service.containers[container].port,
            tls=tls,
        )
        for container, dns in connect_names(name, service).items()
    ]
    return ecs.ServiceConnectProps(
        namespace=refs.namespace.namespace_arn,
        services=entries or None,
        log_driver=ecs.LogDriver.aws_logs(stream_prefix="service-connect", log_group=log_group),
        # Query strings stay out: they may carry tokens. Access logs go where the proxy logs (ECS needs that
        # log configuration for them), so they are kept as long as the proxy's logs.
        access_log_configuration=ecs.ServiceConnectAccessLogConfiguration(format=ecs.ServiceConnectAccessLogFormat.JSON)
        if settings.access_logs
        else None,
    )


def _tls(scope: Construct, name: str, tls: ConnectTls) -> ecs.ServiceConnectTlsConfiguration:
    """The infrastructure role ECS issues, stores and rotates the service's certificates with (Private CA,
    Secrets Manager). No KMS key of ecsforge's: ECS keeps each certificate's private key in a secret under
    the AWS managed key when the configuration names none."""
    role = iam.Role(
        scope,
        "ServiceConnectTlsRole",
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        description=f"Lets ECS issue Service Connect TLS certificates for service {name}",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity"
            )
        ],
    )
    return ecs.ServiceConnectTlsConfiguration(aws_pca_authority_arn=tls.private_ca_arn, role=role)

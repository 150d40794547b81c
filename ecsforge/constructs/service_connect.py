"""`services.*.connect`: the service's Service Connect configuration, its proxy's log group,
and the cluster's Service Connect security group that every connect service joins."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import names
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


def service_connect(scope: Construct, *, name: str, service: Service, refs: PlatformRefs) -> ecs.ServiceConnectProps:
    """Server entries for each container port (named after the container), reachable as
    <service>:<port>; a service without ports is a client only."""
    log_group = logs.LogGroup(
        scope,
        "ServiceConnectLogs",
        # As long as the longest the service's containers keep theirs.
        retention=RETENTION[max(c.log_retention_days for c in service.containers.values())],
        removal_policy=RemovalPolicy.RETAIN,
    )
    entries = [
        ecs.ServiceConnectService(
            port_mapping_name=container,
            discovery_name=dns,
            dns_name=dns,
            port=service.containers[container].port,
        )
        for container, dns in connect_names(name, service).items()
    ]
    return ecs.ServiceConnectProps(
        namespace=refs.namespace.namespace_arn,
        services=entries or None,
        log_driver=ecs.LogDriver.aws_logs(stream_prefix="service-connect", log_group=log_group),
    )

"""The instance ports at which a bridge or host mode service's tasks are reached, opened to a
load balancer (the shared ALB or the service's own NLB) in every capacity group it runs on."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from ..manifest.services import Service
from .refs import PlatformRefs

# Bridge tasks without a fixed host port get one from the instance's ephemeral range.
EPHEMERAL_PORTS = (32768, 65535)


def instance_ports(spec: Service, container: str, port: int) -> tuple[int, int]:
    """The lowest and highest instance port `port` of `container` may be published on."""
    if spec.network_mode == "host":
        return port, port
    host_port = spec.containers[container].host_port
    if host_port:
        return host_port, host_port
    return EPHEMERAL_PORTS


def open_instance_ports(
    scope: Construct,
    construct_prefix: str,
    *,
    spec: Service,
    refs: PlatformRefs,
    container: str,
    port: int,
    source_security_group_id: str,
    description: str,
) -> None:
    low, high = instance_ports(spec, container, port)
    for item in spec.capacity:
        ec2.CfnSecurityGroupIngress(
            scope,
            f"{construct_prefix}-{item.provider}",
            group_id=refs.capacity_security_group(item.provider).security_group_id,
            source_security_group_id=source_security_group_id,
            ip_protocol="tcp",
            from_port=low,
            to_port=high,
            description=description,
        )

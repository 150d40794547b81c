"""The instance ports at which a bridge or host mode service's tasks are reached, opened to a
load balancer (the shared ALB or the service's own NLB) in every capacity group it runs on."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from ..manifest.instances import EPHEMERAL_PORTS, instance_ports
from ..manifest.services import Service
from .refs import PlatformRefs

__all__ = ["EPHEMERAL_PORTS", "instance_ports", "open_instance_ports"]


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
    shared_source: bool = False,
) -> None:
    """shared_source: the source is shared by every service (the ALB's group), so the ephemeral
    range, which every dynamic-port service of a group needs alike, is the cluster stack's rule
    (constructs/shared_rules.py); a fixed port is this service's own (validation keeps it so)."""
    low, high = instance_ports(spec, container, port)
    if shared_source and (low, high) == EPHEMERAL_PORTS:
        return
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

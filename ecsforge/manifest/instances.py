"""What reaches the EC2 instances of a capacity group on behalf of bridge and host mode workloads,
which share the instances' security group: the load balancer (dynamic host ports) and, from
them, the NFS of the volumes the workloads mount.

EC2 keeps one security group rule per (group, source, protocol, ports), whatever its
description, and CloudFormation deletes that rule when any resource declaring it is deleted
(aws-cdk#4437). A rule that several workloads need is therefore declared once, by the stack that
owns the group (the cluster stack), and a rule declared by a workload's stack is unique to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .base import Rule
from .services import Service
from .tasks import TaskSpec

if TYPE_CHECKING:
    from .models import Manifest

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


def _ec2_groups(manifest: Manifest, spec: TaskSpec) -> list[str]:
    return [item.provider for item in spec.capacity if item.provider in manifest.cluster.ec2]


def _http_port(spec: Service) -> tuple[str, int] | None:
    container = spec.http_container
    port = spec.containers[container].port if container in spec.containers else None
    return (container, port) if container is not None and port is not None else None


def groups_behind_load_balancer(manifest: Manifest) -> list[str]:
    """The EC2 groups that run a bridge or host mode service with `http`, in cluster.ec2 order.

    The cluster stack opens their ephemeral ports to the load balancer, for a fixed host port too:
    a service that switches between a fixed and a dynamic port, or between bridge and host mode,
    then never waits for the cluster stack, which deploys before it."""
    used = {
        group
        for spec in manifest.http_services.values()
        if spec.network_mode != "awsvpc"
        for group in _ec2_groups(manifest, spec)
    }
    return [key for key in manifest.cluster.ec2 if key in used]


def volume_clients(manifest: Manifest) -> dict[str, list[str]]:
    """Created volume -> the EC2 groups whose bridge or host mode workloads mount it, both in
    manifest order. (awsvpc tasks reach NFS from their own security group, a rule of their own.)"""
    used: dict[str, set[str]] = {}
    for _, spec in manifest.workloads():
        if spec.network_mode == "awsvpc":
            continue
        for container in spec.containers.values():
            for mount in container.mounts:
                used.setdefault(mount.volume, set()).update(_ec2_groups(manifest, spec))
    return {
        volume: [key for key in manifest.cluster.ec2 if key in used[volume]]
        for volume, settings in manifest.volumes.items()
        if settings.creates_file_system and used.get(volume)
    }


def check_instance_ports(manifest: Manifest) -> Iterator[Rule]:
    """Two services behind the load balancer on one fixed instance port of one group would share
    one ingress rule, declared by both stacks: destroying either would cut the other off."""
    owners: dict[tuple[str, int], str] = {}
    for name, spec in manifest.http_services.items():
        target = _http_port(spec)
        if spec.network_mode == "awsvpc" or target is None:
            continue
        low, high = instance_ports(spec, *target)
        if (low, high) == EPHEMERAL_PORTS:
            continue
        field = "port" if spec.network_mode == "host" else "host_port"
        for group in _ec2_groups(manifest, spec):
            other = owners.setdefault((group, low), name)
            if other != name:
                yield (
                    ("services", name, "containers", target[0], field),
                    (
                        f"{low}: service {other!r} already publishes instance port {low} on EC2 group {group!r} "
                        "behind the load balancer; both stacks would declare the one rule that admits it, and "
                        "destroying either would close it for both (an instance runs only one of them anyway); "
                        "give one of them another host_port, leave host_port out for a dynamic port, or use "
                        "network_mode: awsvpc"
                    ),
                )
                break

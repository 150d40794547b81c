"""The format-neutral graph of a manifest's environment: nested groups of nodes, and edges.

Computed from the validated models only (no CDK synthesis), so it runs offline in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from ..manifest.catalog import instance_architecture
from ..manifest.managed_instances import ManagedInstances
from ..manifest.models import Manifest
from ..manifest.nlb import connect_names
from ..manifest.pipelines import Pipeline, Source
from ..manifest.placement import CapacityItem
from ..manifest.services import ScheduledTask, Service
from ..manifest.tasks import TaskSpec

Shape = Literal["box", "cylinder", "round"]


@dataclass
class Node:
    id: str
    lines: list[str]
    shape: Shape = "box"


@dataclass
class Group:
    id: str
    title: str
    nodes: list[Node] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


@dataclass
class Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass
class Graph:
    title: str
    groups: list[Group] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def node_id(kind: str, name: str) -> str:
    # Manifest names are lowercase letters, digits and single '-' (no '_'), so this is
    # one-to-one; the prefix keeps ids off Mermaid/DOT keywords such as `end` or `node`.
    return f"{kind}_{name.replace('-', '_')}"


def build(manifest: Manifest) -> Graph:
    graph = Graph(f"{manifest.app} / {manifest.environment} ({manifest.region})")
    graph.groups.append(Group("network", "network", [network_node(manifest)]))
    graph.groups.append(cluster_group(manifest))
    if manifest.http_services:
        graph.groups.append(load_balancer_group(manifest, graph.edges))
    if manifest.registries:
        nodes = [registry_node(manifest, name) for name in manifest.registries]
        graph.groups.append(Group("registries", "ECR registries", nodes))
    for name, pipeline in manifest.pipelines.items():
        graph.groups.append(pipeline_group(name, pipeline, graph.edges))
    graph.edges.extend(image_edges(manifest))
    return graph


def network_node(manifest: Manifest) -> Node:
    network = manifest.network
    zones = network.availability_zones
    where = f"zones {', '.join(zones)}" if zones else f"{network.zone_count} zones (the region's first)"
    if network.import_ is not None:
        imported = network.import_
        subnets = f"{len(imported.private_subnet_ids)} private, {len(imported.public_subnet_ids)} public subnets"
        return Node("net_vpc", [f"imported VPC {imported.vpc_id}", subnets, where])
    return Node(
        "net_vpc",
        [
            f"new VPC {network.cidr}",
            where,
            f"NAT gateways: {network.nat_gateways}",
            f"VPC endpoints: {'yes' if network.vpc_endpoints else 'no'}",
            f"flow logs: {'yes' if network.flow_logs else 'no'}",
        ],
    )


def cluster_group(manifest: Manifest) -> Group:
    cluster = manifest.cluster
    group = Group("cluster", f"ECS cluster {manifest.stack_name('cluster')}, namespace {manifest.namespace}")
    capacity = Group("capacity", "capacity providers")
    if cluster.fargate:
        capacity.nodes.append(Node("cap_fargate", ["Fargate", "provider fargate"]))
        capacity.nodes.append(Node("cap_fargate_spot", ["Fargate Spot", "provider fargate_spot"]))
    for name, ec2 in cluster.ec2.items():
        capacity.nodes.append(
            Node(
                node_id("cap", name),
                [
                    f"EC2 group {name}",
                    f"{ec2.instance_type} ({instance_architecture(ec2.instance_type)})",
                    f"{ec2.min}-{ec2.max_size} instances, {'spot' if ec2.spot else 'on-demand'}",
                    ec2.machine_image,
                ],
            )
        )
    for name, managed in cluster.managed_instances.items():
        capacity.nodes.append(Node(node_id("cap", name), managed_instances_lines(name, managed)))
    if capacity.nodes:
        group.groups.append(capacity)
    if manifest.services:
        nodes = [service_node(manifest, name, service) for name, service in manifest.services.items()]
        group.groups.append(Group("services", "services", nodes))
    if manifest.scheduled_tasks:
        nodes = [task_node(name, task) for name, task in manifest.scheduled_tasks.items()]
        group.groups.append(Group("tasks", "scheduled tasks", nodes))
    return group


def managed_instances_lines(name: str, managed: ManagedInstances) -> list[str]:
    if managed.instance_types is not None:
        kinds = ", ".join(managed.instance_types)
    else:
        wanted = managed.instance_requirements
        assert wanted is not None  # one of the two, by validation
        kinds = f"{wanted.vcpu.min}+ vCPU, {wanted.memory_mib.min}+ MiB"
        if wanted.gpus is not None:
            kinds += f", {wanted.gpus.min}+ GPU"
    return [f"managed instances {name}", kinds, "spot" if managed.spot else "on-demand"]


def capacity_text(items: list[CapacityItem]) -> str:
    if len(items) == 1 and items[0].base is None:
        return items[0].provider
    parts = []
    for item in items:
        terms = ([f"base {item.base}"] if item.base is not None else []) + [f"weight {item.weight}"]
        parts.append(f"{item.provider} ({', '.join(terms)})")
    return ", ".join(parts)


def service_node(manifest: Manifest, name: str, service: Service) -> Node:
    if service.scheduling == "daemon":
        count = "daemon: one task per instance"
    else:
        count = f"count {service.desired_count}"
        if service.scaling is not None:
            count += f", scaling {service.scaling.min}-{service.scaling.max}"
    lines = [f"service {name}", f"capacity: {capacity_text(service.capacity)}", count]
    lines.append(f"deployment: {service.deployment.strategy}")
    if service.discovery:
        lines.append(f"discovery: {name}.{manifest.namespace}")
    if service.nlb is not None:
        nlb = service.nlb
        scheme = "internet-facing" if nlb.public else "internal"
        lines.append(f"own NLB: {nlb.protocol.upper()} {nlb.port}, {scheme}")
    if service.connect:
        reachable = [f"{dns}:{service.containers[c].port}" for c, dns in connect_names(name, service).items()]
        lines.append(f"Service Connect: {', '.join(reachable) or 'client only'}")
    return Node(node_id("svc", name), lines)


def task_node(name: str, task: ScheduledTask) -> Node:
    return Node(
        node_id("task", name),
        [
            f"scheduled task {name}",
            f"schedule: {task.schedule} {task.timezone}",
            f"capacity: {capacity_text(task.capacity)}",
            f"{task.count} task(s) per run",
        ],
    )


def load_balancer_group(manifest: Manifest, edges: list[Edge]) -> Group:
    balancer = manifest.load_balancer
    scheme = "internet-facing" if balancer.public else "internal"
    listener = "HTTPS 443 (HTTP 80 redirects)" if balancer.certificate_arn else "HTTP 80"
    group = Group("lb", "load balancer", [Node("lb_alb", [f"ALB, {scheme}", listener])])
    routes = sorted((s.http.rule_priority, n, s.http) for n, s in manifest.services.items() if s.http is not None)
    for _, name, http in routes:
        route = node_id("route", name)
        lines = [f"priority {http.rule_priority}", f"host {', '.join(http.host_names) or '(any)'}", f"path {http.path}"]
        group.nodes.append(Node(route, lines, "round"))
        edges.append(Edge("lb_alb", route))
        edges.append(Edge(route, node_id("svc", name)))
    return group


def registry_node(manifest: Manifest, name: str) -> Node:
    registry = manifest.registries[name]
    tags = "immutable tags" if registry.immutable_tags else "mutable tags"
    return Node(node_id("reg", name), [f"registry {name}", f"{registry.encryption}, {tags}"], "cylinder")


def source_text(source: Source, named: bool) -> str:
    prefix = f"{source.name}: " if named else ""
    if source.codecommit is not None:
        created = ", created" if source.codecommit.create else ""
        return f"{prefix}codecommit {source.codecommit.repository} ({source.codecommit.branch}{created})"
    if source.github is not None:
        return f"{prefix}github {source.github.owner}/{source.github.repository} ({source.github.branch})"
    assert source.s3 is not None
    return f"{prefix}s3 {source.s3.bucket or '(own bucket)'}/{source.s3.key}"


def pipeline_group(name: str, pipeline: Pipeline, edges: list[Edge]) -> Group:
    prefix = node_id("pl", name)
    build = pipeline.build
    named = len(pipeline.source) > 1
    stages = [Node(f"{prefix}_source", ["Source", *(source_text(s, named) for s in pipeline.source)])]
    registries = [build.registry] if build.registry else [i.registry for i in (build.images or {}).values()]
    stages.append(Node(f"{prefix}_build", [f"Build → registry {', '.join(registries)}", f"compute {build.compute}"]))
    if pipeline.test is not None:
        stages.append(Node(f"{prefix}_test", ["Test", f"{len(pipeline.test.commands)} command(s)"]))
    if pipeline.approval is not None:
        notify = f"notify {len(pipeline.approval.notify)} address(es)"
        stages.append(Node(f"{prefix}_approval", ["Approval", notify]))
    deploy = pipeline.deploy
    services = ", ".join(deploy.services)
    stages.append(Node(f"{prefix}_deploy", [f"Deploy → {services}", f"timeout {deploy.timeout_minutes} min"]))
    edges.extend(Edge(a.id, b.id) for a, b in pairwise(stages))
    edges.extend(Edge(f"{prefix}_build", node_id("reg", registry), "push") for registry in registries)
    edges.extend(Edge(f"{prefix}_deploy", node_id("svc", s), "deploy") for s in deploy.services)
    return Group(prefix, f"pipeline {name}", stages)


def image_edges(manifest: Manifest) -> Iterable[Edge]:
    """registry -> workload: solid when it follows the registry's releases, dashed for a pinned tag."""
    workloads: list[tuple[str, TaskSpec]] = [(node_id("svc", n), s) for n, s in manifest.services.items()]
    workloads += [(node_id("task", n), t) for n, t in manifest.scheduled_tasks.items()]
    for target, spec in workloads:
        seen: set[tuple[str, str | None]] = set()
        for container in spec.containers.values():
            image = container.image
            if image.registry is None or (image.registry, image.tag) in seen:
                continue
            seen.add((image.registry, image.tag))
            source = node_id("reg", image.registry)
            if image.released:
                yield Edge(source, target, "releases")
            else:
                yield Edge(source, target, f"tag {image.tag}", dashed=True)

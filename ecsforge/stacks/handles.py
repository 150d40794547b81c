"""What `ecsforge.platform.build` hands a team's own app.py (README "ecsforge as a library").

A stable, typed surface over the constructs ecsforge already made: these names stay when the
stacks and constructs behind them change. Reading a handle creates nothing, so a template is the
same whether or not an app looks at it; what the app adds to a handle's stack is its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_servicediscovery as servicediscovery

from .cluster import ClusterStack
from .workloads import ServiceStack, TaskStack


@dataclass(frozen=True)
class WorkloadHandles:
    """A service's or scheduled task's: add your constructs to `stack`, grant to `task_role`."""

    name: str
    stack: Stack
    task_definition: ecs.TaskDefinition
    task_role: iam.IRole  # what the containers run as
    execution_role: iam.IRole | None  # what ECS pulls images and reads secrets with
    log_group: logs.ILogGroup
    containers: Mapping[str, ecs.ContainerDefinition]
    # The workload's own group (awsvpc network mode); None for bridge and host mode.
    security_group: ec2.ISecurityGroup | None


@dataclass(frozen=True)
class ServiceHandles(WorkloadHandles):
    service: ecs.BaseService
    target_groups: tuple[elbv2.ApplicationTargetGroup, ...]  # behind the shared load balancer (`http`)


@dataclass(frozen=True)
class ScheduledTaskHandles(WorkloadHandles):
    scheduler_role: iam.IRole  # what EventBridge Scheduler runs the task with


@dataclass(frozen=True)
class ClusterHandles:
    """The cluster stack's. A construct of another stack that refers to one of these makes CDK
    export it from the cluster stack; ecsforge's own stacks read them from SSM parameters instead."""

    stack: Stack
    cluster: ecs.ICluster
    vpc: ec2.IVpc
    namespace: servicediscovery.IPrivateDnsNamespace
    load_balancer: elbv2.IApplicationLoadBalancer | None  # only when a service has `http`
    listener: elbv2.IApplicationListener | None  # the one that carries the services' rules
    load_balancer_security_group: ec2.ISecurityGroup | None


@dataclass(frozen=True)
class PlatformHandles:
    cluster: ClusterHandles
    services: Mapping[str, ServiceHandles]
    scheduled_tasks: Mapping[str, ScheduledTaskHandles]


def service_handles(name: str, stack: ServiceStack) -> ServiceHandles:
    service, task = stack.service, stack.service.task
    definition = task.task_definition
    return ServiceHandles(
        name=name,
        stack=stack,
        task_definition=definition,
        task_role=definition.task_role,
        execution_role=definition.execution_role,
        log_group=task.log_group,
        containers=dict(task.containers),
        security_group=service.security_group,
        service=service.service,
        target_groups=tuple(service.target_groups),
    )


def task_handles(name: str, stack: TaskStack) -> ScheduledTaskHandles:
    scheduled, task = stack.task, stack.task.task
    definition = task.task_definition
    return ScheduledTaskHandles(
        name=name,
        stack=stack,
        task_definition=definition,
        task_role=definition.task_role,
        execution_role=definition.execution_role,
        log_group=task.log_group,
        containers=dict(task.containers),
        security_group=scheduled.security_group,
        scheduler_role=scheduled.role,
    )


def cluster_handles(stack: ClusterStack) -> ClusterHandles:
    balancer = stack.load_balancer
    return ClusterHandles(
        stack=stack,
        cluster=stack.cluster,
        vpc=stack.vpc,
        namespace=stack.namespace,
        load_balancer=balancer.alb if balancer is not None else None,
        listener=balancer.listener if balancer is not None else None,
        load_balancer_security_group=balancer.security_group if balancer is not None else None,
    )

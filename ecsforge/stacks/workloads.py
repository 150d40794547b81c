"""`<app>-<environment>-service-<name>` and `<app>-<environment>-task-<name>`: one stack each,
so adding or removing one touches no other stack."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ..constructs.scheduled_task import ScheduledEcsTask
from ..constructs.service import EcsService
from ..manifest.models import Manifest
from ..manifest.services import TaskSpec
from .base import PlatformStack
from .refs import PlatformRefs


def _depend(stack: Stack, spec: TaskSpec, cluster: Stack, registries: Stack | None) -> None:
    stack.add_stack_dependency(cluster, reason="runs in the cluster and behind its load balancer")
    if registries is not None and any(c.image.registry for c in spec.containers.values()):
        stack.add_stack_dependency(registries, reason="pulls from the registries and reads their released tags")


class ServiceStack(PlatformStack):
    def __init__(
        self, scope: Construct, manifest: Manifest, name: str, *, cluster: Stack, registries: Stack | None
    ) -> None:
        super().__init__(scope, manifest, f"service-{name}", description=f"ECS service {name}")
        service = manifest.services[name]
        _depend(self, service, cluster, registries)
        self.refs = PlatformRefs(self, manifest)
        self.service = EcsService(self, "Service", manifest=manifest, name=name, service=service, refs=self.refs)
        CfnOutput(self, "ServiceName", value=self.service.service.service_name)


class TaskStack(PlatformStack):
    def __init__(
        self, scope: Construct, manifest: Manifest, name: str, *, cluster: Stack, registries: Stack | None
    ) -> None:
        super().__init__(scope, manifest, f"task-{name}", description=f"Scheduled task {name}")
        task = manifest.scheduled_tasks[name]
        _depend(self, task, cluster, registries)
        self.refs = PlatformRefs(self, manifest)
        self.task = ScheduledEcsTask(self, "ScheduledTask", manifest=manifest, name=name, task=task, refs=self.refs)

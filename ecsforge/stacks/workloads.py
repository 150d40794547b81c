"""`<app>-<environment>-service-<name>` and `<app>-<environment>-task-<name>`: one stack each,
so adding or removing one touches no other stack."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import names
from ..constructs.addons import IncludedAddon, include_addons, wire_addon_outputs
from ..constructs.pipeline import ContainerPipeline
from ..constructs.refs import PlatformRefs
from ..constructs.scheduled_task import ScheduledEcsTask
from ..constructs.service import EcsService
from ..constructs.task_definition import TaskDefinition
from ..constructs.template import cfn_resource
from ..manifest.models import Manifest
from ..manifest.tasks import TaskSpec
from .base import PlatformStack


class WorkloadStack(PlatformStack):
    """A service's or scheduled task's stack: it runs in the cluster, and pulls from the
    registries (reading their released tags) when a container's image is in one."""

    def __init__(
        self,
        scope: Construct,
        manifest: Manifest,
        unit: str,
        *,
        description: str,
        spec: TaskSpec,
        cluster: Stack,
        registries: Stack | None,
    ) -> None:
        super().__init__(scope, manifest, unit, description=description)
        self.add_stack_dependency(cluster, reason="runs in the cluster and behind its load balancer")
        if registries is not None and any(c.image.registry for c in spec.containers.values()):
            self.add_stack_dependency(registries, reason="pulls from the registries and reads their released tags")
        # Only a public NLB of the service's own sits in the public subnets.
        nlb = getattr(spec, "nlb", None)
        self.refs = PlatformRefs(self, manifest, public_subnets=nlb is not None and nlb.public)
        self.addons: list[IncludedAddon] = []

    def include_addons(self, name: str, spec: TaskSpec, task: TaskDefinition) -> list[ec2.ISecurityGroup]:
        """The workload's addons, nested stacks of this stack; returns the security groups they
        give the tasks."""
        if not spec.addons:
            return []
        scope = Construct(self, "Addons")
        passed = {"App": self.manifest.app, "Env": self.manifest.environment, "Name": name}
        self.addons = include_addons(scope, spec.addons, passed)
        return wire_addon_outputs(scope, self.addons, task)


class ServiceStack(WorkloadStack):
    def __init__(
        self, scope: Construct, manifest: Manifest, name: str, *, cluster: Stack, registries: Stack | None
    ) -> None:
        service = manifest.services[name]
        super().__init__(
            scope,
            manifest,
            f"service-{name}",
            description=f"ECS service {name}",
            spec=service,
            cluster=cluster,
            registries=registries,
        )
        self.service = EcsService(self, "Service", manifest=manifest, name=name, service=service, refs=self.refs)
        groups = self.include_addons(name, service, self.service.task)
        if groups:
            # The service's network configuration is written when it is created: list them again.
            connections = self.service.service.connections
            connections.add_security_group(*groups)
            cfn_resource(self.service.service).add_property_override(
                "NetworkConfiguration.AwsvpcConfiguration.SecurityGroups",
                [group.security_group_id for group in connections.security_groups],
            )
        # For the pipeline that deploys this service, whether or not one does. A parameter, not an
        # export: its template value is always the service's current name, even after a replacement.
        ssm.StringParameter(
            self,
            "ServiceNameParameter",
            parameter_name=names.service_name_parameter(manifest, name),
            string_value=self.service.service_name,
            description=f"Name of ECS service {name} of {manifest.app}/{manifest.environment}",
        )
        # The export is no longer imported; pipeline stacks of older versions import it until
        # `cdk deploy --all` updates them (after this stack), so it stays for one more version.
        CfnOutput(
            self,
            "ServiceName",
            value=self.service.service_name,
            export_name=self.export_name(names.service_name(name)),
        )


class TaskStack(WorkloadStack):
    def __init__(
        self, scope: Construct, manifest: Manifest, name: str, *, cluster: Stack, registries: Stack | None
    ) -> None:
        task = manifest.scheduled_tasks[name]
        super().__init__(
            scope,
            manifest,
            f"task-{name}",
            description=f"Scheduled task {name}",
            spec=task,
            cluster=cluster,
            registries=registries,
        )
        self.task = ScheduledEcsTask(self, "ScheduledTask", manifest=manifest, name=name, task=task, refs=self.refs)
        groups = self.include_addons(name, task, self.task.task)
        if groups and self.task.security_group is not None:
            self.task.add_security_groups(groups)


class PipelineStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        manifest: Manifest,
        name: str,
        *,
        cluster: Stack,
        registries: Stack | None,
        services: list[Stack],
        tasks: list[Stack],
    ) -> None:
        super().__init__(scope, manifest, f"pipeline-{name}", description=f"Pipeline {name}")
        self.add_stack_dependency(cluster, reason="deploys into the cluster")
        if registries is not None:
            self.add_stack_dependency(registries, reason="pushes to a registry and records its released tag")
        for service in services:
            self.add_stack_dependency(service, reason="deploys this service")
        for task in tasks:
            self.add_stack_dependency(task, reason="releases to this scheduled task")
        self.refs = PlatformRefs(self, manifest)
        self.pipeline = ContainerPipeline(
            self, "Pipeline", manifest=manifest, name=name, pipeline=manifest.pipelines[name], refs=self.refs
        )

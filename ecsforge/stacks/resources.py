"""`<app>-<environment>-resources`: the topics, queues, buckets and EFS volumes of the environment.

Created only when the manifest declares any. Services and scheduled tasks depend on it but
reference nothing of it through CloudFormation: queue and topic names are deterministic, the
rest are SSM parameters (see constructs/resources.py), so adding or removing a service leaves
this template as it is. The cluster stack reads a volume's security group parameter too, for
the NFS rule of bridge workloads (constructs/shared_rules.py), and then deploys after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Stack
from constructs import Construct

from .. import names
from ..constructs.refs import PlatformRefs
from ..constructs.resources import Resources
from ..manifest.models import Manifest
from ..manifest.tasks import TaskSpec
from .base import PlatformStack

if TYPE_CHECKING:
    from . import Platform


class ResourcesStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest, network: Stack | None) -> None:
        super().__init__(
            scope,
            manifest,
            names.RESOURCES_UNIT,
            description="topics, queues, buckets and volumes (retained on deletion)",
        )
        if network is not None and any(v.creates_file_system for v in manifest.volumes.values()):
            self.add_stack_dependency(network, reason="mount targets in the private subnets")
        self.refs = PlatformRefs(self, manifest)
        self.resources = Resources(self, "Resources", manifest=manifest, refs=self.refs)


def depend_on_resources(platform: Platform, manifest: Manifest) -> None:
    """Services and tasks that use a resource deploy after the resources stack, whose SSM
    parameters they read; a dependency only, never a reference, so no template changes."""
    if platform.resources is None:
        return
    for name, service in platform.services.items():
        if _uses_resources(manifest.services[name]):
            service.add_stack_dependency(platform.resources, reason="reads the names of its queues, topics, buckets")
    for name, task in platform.tasks.items():
        if _uses_resources(manifest.scheduled_tasks[name]):
            task.add_stack_dependency(platform.resources, reason="reads the names of its queues, topics, buckets")


def _uses_resources(spec: TaskSpec) -> bool:
    return spec.access is not None or any(c.mounts for c in spec.containers.values())

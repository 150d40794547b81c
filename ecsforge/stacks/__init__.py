"""One stack per deployment unit, named `<app>-<environment>-<unit>`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .addons import AddonsStack
from .base import PlatformStack
from .cluster import ClusterStack
from .handles import PlatformHandles, cluster_handles, service_handles, task_handles
from .network import NetworkStack
from .overrides import OverrideRun
from .promotion import PromotionTrustStack
from .registries import RegistriesStack
from .resources import ResourcesStack
from .workloads import PipelineStack, ServiceStack, TaskStack


@dataclass
class Platform:
    network: NetworkStack | None
    cluster: ClusterStack
    registries: RegistriesStack | None
    services: dict[str, ServiceStack]
    tasks: dict[str, TaskStack]
    pipelines: dict[str, PipelineStack]
    # Stacks of promoted environments (their accounts), keyed by stack name.
    promotions: dict[str, PromotionTrustStack] = field(default_factory=dict)
    resources: ResourcesStack | None = None
    addons: AddonsStack | None = None
    # The stacks with `overrides`, which report every failed operation together (stacks/overrides.py).
    overrides: OverrideRun | None = None

    @cached_property
    def handles(self) -> PlatformHandles:
        """The typed handles a team's own app.py extends (stacks/handles.py, README "ecsforge as a library")."""
        return PlatformHandles(
            cluster=cluster_handles(self.cluster),
            services={name: service_handles(name, stack) for name, stack in self.services.items()},
            scheduled_tasks={name: task_handles(name, stack) for name, stack in self.tasks.items()},
        )

    @property
    def stacks(self) -> list[PlatformStack]:
        fixed = [s for s in (self.network, self.cluster, self.registries, self.resources, self.addons) if s is not None]
        return [
            *fixed,
            *self.services.values(),
            *self.tasks.values(),
            *self.pipelines.values(),
            *self.promotions.values(),
        ]

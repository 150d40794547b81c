"""`cluster.managed_instances`: ECS Managed Instances capacity providers (AWS launches,
patches and replaces the EC2 instances; the manifest says which types may run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field

from .base import Model, NonEmptyStr, Rule, matching

InstanceTypeName = Annotated[NonEmptyStr, matching(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$", "instance type", "g6.xlarge")]
# EC2 attribute-based selection's accelerator names (AWS::ECS::CapacityProvider InstanceRequirementsRequest).
AcceleratorName = Literal["a10g", "a100", "h100", "k80", "l4", "l40s", "m60", "t4", "v100"]


class Range(Model):
    min: int = Field(ge=0, description="Required. The lowest value, inclusive.")
    max: int | None = Field(None, ge=0, description="Default: no upper limit.")

    def check(self) -> Iterator[Rule]:
        if self.max is not None and self.max < self.min:
            yield ("max",), f"{self.max} is below min ({self.min}); raise max or lower min"


class InstanceRequirements(Model):
    """EC2 attribute-based instance selection: ECS picks any current type that fits."""

    vcpu: Range = Field(description="Required. vCPUs per instance, {min, max}.")
    memory_mib: Range = Field(description="Required. Memory per instance in MiB, {min, max}.")
    gpus: Range | None = Field(
        None,
        description="Default: any count, including none. NVIDIA GPUs per instance, {min, max}; a task's `gpu` "
        "needs min at or above its containers' total.",
    )
    accelerator_names: list[AcceleratorName] = Field(
        default_factory=list, description="Default: any. GPU models the instances must have (e.g. l4, a10g)."
    )


class ManagedInstances(Model):
    """One ECS Managed Instances capacity provider."""

    instance_types: list[InstanceTypeName] | None = Field(
        None,
        min_length=1,
        max_length=400,
        description="The EC2 instance types ECS may launch. Default: none; give this or instance_requirements.",
    )
    instance_requirements: InstanceRequirements | None = Field(
        None, description="Default: none. vCPU, memory and GPU ranges ECS picks instance types by, instead of a list."
    )
    spot: bool = Field(False, description="Default: false, on-demand. true: spot instances, which EC2 may reclaim.")

    def check(self) -> Iterator[Rule]:
        if (self.instance_types is None) == (self.instance_requirements is None):
            yield (), "give exactly one of instance_types or instance_requirements"
        types = self.instance_types or []
        for index, name in enumerate(types):
            if name in types[:index]:
                yield ("instance_types", index), f"{name!r} is listed twice; list each type once"

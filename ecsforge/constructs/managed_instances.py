"""One ECS Managed Instances capacity provider: its instances' security group, and aws-cdk's
provider with the instance role (ecsInstanceRole* name, least privilege) and infrastructure role."""

from __future__ import annotations

from typing import Any

from aws_cdk import Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from ..manifest.managed_instances import InstanceRequirements, ManagedInstances

ACCELERATOR_NAMES = {
    "a10g": ec2.AcceleratorName.A10G,
    "a100": ec2.AcceleratorName.A100,
    "h100": ec2.AcceleratorName.H100,
    "k80": ec2.AcceleratorName.K80,
    "l4": ec2.AcceleratorName.L4,
    "l40s": ec2.AcceleratorName.L40S,
    "m60": ec2.AcceleratorName.M60,
    "t4": ec2.AcceleratorName.T4,
    "v100": ec2.AcceleratorName.V100,
}


class ManagedInstancesProvider(Construct):
    """ECS launches, patches (by replacing) and terminates the instances; this declares which.

    The provider carries ClusterName, so ECS creates it inside the cluster: it is not listed
    in the cluster's capacity provider associations (aws-cdk's add_managed_instances_capacity_provider
    does not list it either), and deleting it detaches it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.Cluster,
        vpc: ec2.IVpc,
        subnets: list[ec2.ISubnet],
        provider_name: str,
        settings: ManagedInstances,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"ECS managed instances of capacity provider {provider_name}",
            allow_all_outbound=True,
        )
        self.provider = ecs.ManagedInstancesCapacityProvider(
            self,
            "CapacityProvider",
            capacity_provider_name=provider_name,
            subnets=subnets,
            security_groups=[self.security_group],
            capacity_option_type=ecs.CapacityOptionType.SPOT if settings.spot else ecs.CapacityOptionType.ON_DEMAND,
            instance_requirements=ec2.InstanceRequirementsConfig(**_requirements(settings)),
            propagate_tags=ecs.PropagateManagedInstancesTags.CAPACITY_PROVIDER,
        )
        cluster.add_managed_instances_capacity_provider(self.provider)


def _requirements(settings: ManagedInstances) -> dict[str, Any]:
    # Validation leaves exactly one of instance_types and instance_requirements.
    if settings.instance_requirements is not None:
        return _ranges(settings.instance_requirements)
    # CloudFormation requires vCPU and memory minimums; the allowed types decide.
    return {
        "v_cpu_count_min": 0,
        "memory_min": Size.mebibytes(0),
        "allowed_instance_types": list(settings.instance_types or []),
    }


def _ranges(wanted: InstanceRequirements) -> dict[str, Any]:
    result: dict[str, Any] = {
        "v_cpu_count_min": wanted.vcpu.min,
        "v_cpu_count_max": wanted.vcpu.max,
        "memory_min": Size.mebibytes(wanted.memory_mib.min),
        "memory_max": Size.mebibytes(wanted.memory_mib.max) if wanted.memory_mib.max is not None else None,
        # x86_64 only: the images ecsforge builds for these tasks are amd64 (Manifest.architectures).
        "cpu_manufacturers": [ec2.CpuManufacturer.INTEL, ec2.CpuManufacturer.AMD],
    }
    if wanted.gpus is not None:
        result["accelerator_types"] = [ec2.AcceleratorType.GPU]
        result["accelerator_manufacturers"] = [ec2.AcceleratorManufacturer.NVIDIA]
        result["accelerator_count_min"] = wanted.gpus.min
        result["accelerator_count_max"] = wanted.gpus.max
    if wanted.accelerator_names:
        result["accelerator_names"] = [ACCELERATOR_NAMES[name] for name in wanted.accelerator_names]
    return {key: value for key, value in result.items() if value is not None}

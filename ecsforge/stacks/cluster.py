"""`<app>-<environment>-cluster`: the ECS cluster, its capacity providers and namespace."""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_servicediscovery as servicediscovery
from constructs import Construct

from ..constructs.capacity import Ec2CapacityProvider
from ..manifest.models import Manifest
from . import network as net
from .base import PlatformStack
from .network import NetworkStack

CONTAINER_INSIGHTS = {
    "enhanced": ecs.ContainerInsights.ENHANCED,
    "enabled": ecs.ContainerInsights.ENABLED,
    "disabled": ecs.ContainerInsights.DISABLED,
}


class ClusterStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest, network: NetworkStack | None) -> None:
        super().__init__(scope, manifest, "cluster", description="ECS cluster, capacity providers and namespace")
        self.vpc = self._vpc(manifest, network)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=manifest.stack_name("cluster"),
            vpc=self.vpc,
            container_insights_v2=CONTAINER_INSIGHTS[manifest.cluster.container_insights],
            enable_fargate_capacity_providers=manifest.cluster.fargate,
        )
        self.namespace = servicediscovery.PrivateDnsNamespace(
            self,
            "Namespace",
            name=manifest.namespace,
            vpc=self.vpc,
            description=f"Service discovery for {manifest.app}/{manifest.environment}",
        )
        self.capacity: dict[str, Ec2CapacityProvider] = {}
        for key, group in manifest.cluster.ec2.items():
            self.capacity[key] = Ec2CapacityProvider(
                self,
                f"Capacity-{key}",
                cluster=self.cluster,
                vpc=self.vpc,
                subnets=self.vpc.private_subnets,
                # Capacity provider names are unique per account and region; the key
                # leads because ECS rejects names starting with aws, ecs or fargate.
                provider_name=f"{key}-{manifest.app}-{manifest.environment}",
                group=group,
            )

    def _vpc(self, manifest: Manifest, network: NetworkStack | None) -> ec2.IVpc:
        zones = list(self.availability_zones)
        imported = manifest.network.import_
        if imported is not None:
            return ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=imported.vpc_id,
                availability_zones=zones,
                private_subnet_ids=imported.private_subnet_ids,
                public_subnet_ids=imported.public_subnet_ids or None,
            )
        assert network is not None
        self.add_stack_dependency(network, reason="the cluster runs in the network stack's VPC")
        count = manifest.network.zone_count

        def subnets(export: str) -> list[str]:
            return Fn.split(",", Fn.import_value(self.export_name(export)), count)

        return ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=Fn.import_value(self.export_name(net.VPC_ID)),
            vpc_cidr_block=Fn.import_value(self.export_name(net.VPC_CIDR)),
            availability_zones=zones,
            private_subnet_ids=subnets(net.PRIVATE_SUBNETS),
            public_subnet_ids=subnets(net.PUBLIC_SUBNETS),
        )

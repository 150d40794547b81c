"""`<app>-<environment>-network`: the VPC, absent when the manifest imports one."""

from __future__ import annotations

from aws_cdk import CfnOutput, CfnResource, Fn
from constructs import Construct

from ..constructs.network import PlatformVpc
from ..constructs.template import keep_only_depends_on
from ..manifest.isolation import isolated_endpoints
from ..manifest.models import Manifest
from ..names import (
    PRIVATE_ROUTE_TABLES,
    PRIVATE_SUBNETS,
    PUBLIC_ROUTE_TABLES,
    PUBLIC_SUBNETS,
    VPC_CIDR,
    VPC_ID,
)
from .base import PlatformStack


class NetworkStack(PlatformStack):
    def __init__(self, scope: Construct, manifest: Manifest) -> None:
        super().__init__(scope, manifest, "network", description="VPC, subnets, NAT, endpoints and flow logs")
        self.platform_vpc = PlatformVpc(
            self,
            "Network",
            network=manifest.network,
            # Managed instances run the ECS agent too: without NAT they need its endpoints alike.
            ec2_instances=bool(manifest.cluster.ec2 or manifest.cluster.managed_instances),
            exec_sessions=any(service.exec for service in manifest.services.values()),
            workload_endpoints=isolated_endpoints(manifest),
        )
        vpc = self.platform_vpc.vpc
        outputs = {
            VPC_ID: ("VpcId", vpc.vpc_id, "The VPC's id"),
            VPC_CIDR: ("VpcCidr", vpc.vpc_cidr_block, "The VPC's IPv4 range"),
            PRIVATE_SUBNETS: (
                "PrivateSubnetIds",
                Fn.join(",", [s.subnet_id for s in self.platform_vpc.private_subnets]),
                "Subnets for tasks and instances, in zone order",
            ),
            PUBLIC_SUBNETS: (
                "PublicSubnetIds",
                Fn.join(",", [s.subnet_id for s in self.platform_vpc.public_subnets]),
                "Subnets for internet-facing load balancers, in zone order",
            ),
            PRIVATE_ROUTE_TABLES: (
                "PrivateRouteTableIds",
                Fn.join(",", [s.route_table.route_table_id for s in self.platform_vpc.private_subnets]),
                "Route tables of the private subnets, in zone order",
            ),
            PUBLIC_ROUTE_TABLES: (
                "PublicRouteTableIds",
                Fn.join(",", [s.route_table.route_table_id for s in self.platform_vpc.public_subnets]),
                "Route tables of the public subnets, in zone order",
            ),
        }
        for export, (output_id, value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description, export_name=self.export_name(export))
        self._drop_redundant_depends_on()

    def _drop_redundant_depends_on(self) -> None:
        """aws-cdk's default-security-group lockdown handler both GetAtts its role and DependsOn it;
        cfn-lint (W3005) rightly calls the DependsOn redundant, so it goes."""
        provider = self.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        handler = provider.node.try_find_child("Handler") if provider else None
        if isinstance(handler, CfnResource):
            keep_only_depends_on(handler)

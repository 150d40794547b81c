"""What a consumer stack (cluster, service, task) sees of the stacks it builds on:
imported by export name, read from an SSM parameter at deploy time (for values that
may change), or taken from the manifest; never by CDK's implicit references."""

from __future__ import annotations

from functools import cached_property

from aws_cdk import Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_ssm as ssm

from .. import names
from ..manifest.models import Manifest

# Fn::ImportValue and Fn::Split tokens name no stack (they render the same intrinsic wherever
# they are used), and each is a round trip into the jsii runtime: one per export serves every
# stack of every service.
_IMPORTS: dict[str, str] = {}
_SPLITS: dict[tuple[str, int], list[str]] = {}


def import_value(export: str) -> str:
    if export not in _IMPORTS:
        _IMPORTS[export] = Fn.import_value(export)
    return _IMPORTS[export]


def split_import(export: str, count: int) -> list[str]:
    if (export, count) not in _SPLITS:
        _SPLITS[export, count] = Fn.split(",", import_value(export), count)
    return list(_SPLITS[export, count])


class PlatformRefs:
    def __init__(self, stack: Stack, manifest: Manifest, *, public_subnets: bool = False) -> None:
        """public_subnets: import the public subnets too (only the load balancer uses them)."""
        self.stack = stack
        self.manifest = manifest
        self.public_subnets = public_subnets
        self._capacity_groups: dict[str, ec2.ISecurityGroup] = {}

    def imported(self, what: str) -> str:
        return import_value(names.name(self.manifest, what))

    @cached_property
    def vpc(self) -> ec2.IVpc:
        manifest = self.manifest
        zones = list(self.stack.availability_zones)
        imported = manifest.network.import_
        if imported is not None:
            return ec2.Vpc.from_vpc_attributes(
                self.stack,
                "Vpc",
                vpc_id=imported.vpc_id,
                availability_zones=zones,
                private_subnet_ids=imported.private_subnet_ids,
                public_subnet_ids=(imported.public_subnet_ids or None) if self.public_subnets else None,
            )
        count = manifest.network.zone_count

        def subnets(export: str) -> list[str]:
            return split_import(names.name(manifest, export), count)

        return ec2.Vpc.from_vpc_attributes(
            self.stack,
            "Vpc",
            vpc_id=self.imported(names.VPC_ID),
            availability_zones=zones,
            private_subnet_ids=subnets(names.PRIVATE_SUBNETS),
            # Known route tables: aws-cdk warns about every imported subnet without one.
            private_subnet_route_table_ids=subnets(names.PRIVATE_ROUTE_TABLES),
            public_subnet_ids=subnets(names.PUBLIC_SUBNETS) if self.public_subnets else None,
            public_subnet_route_table_ids=subnets(names.PUBLIC_ROUTE_TABLES) if self.public_subnets else None,
        )

    @cached_property
    def cluster(self) -> ecs.ICluster:
        return ecs.Cluster.from_cluster_attributes(
            self.stack,
            "Cluster",
            cluster_name=self.imported(names.CLUSTER_NAME),
            vpc=self.vpc,
            has_ec2_capacity=bool(self.manifest.cluster.ec2),
        )

    @cached_property
    def namespace(self) -> servicediscovery.IPrivateDnsNamespace:
        return servicediscovery.PrivateDnsNamespace.from_private_dns_namespace_attributes(
            self.stack,
            "Namespace",
            namespace_id=self.imported(names.NAMESPACE_ID),
            namespace_arn=self.imported(names.NAMESPACE_ARN),
            namespace_name=self.manifest.namespace,
        )

    @cached_property
    def alb_security_group(self) -> ec2.ISecurityGroup:
        # allow_all_outbound: the ALB's group already lets it reach every target; no
        # consumer stack adds egress rules to it.
        return ec2.SecurityGroup.from_security_group_id(
            self.stack, "AlbSecurityGroup", self.imported(names.ALB_SECURITY_GROUP), allow_all_outbound=True
        )

    @cached_property
    def listener(self) -> elbv2.IApplicationListener:
        # An SSM-typed template parameter, resolved again at every deploy: adding a certificate
        # moves the rules' listener, which an export could never do while imported.
        return elbv2.ApplicationListener.from_application_listener_attributes(
            self.stack,
            "Listener",
            listener_arn=ssm.StringParameter.value_for_string_parameter(
                self.stack, names.listener_parameter(self.manifest)
            ),
            security_group=self.alb_security_group,
        )

    @cached_property
    def alb_full_name(self) -> str:
        # Changes when the load balancer is replaced (load_balancer.public flipped).
        return ssm.StringParameter.value_for_string_parameter(self.stack, names.alb_full_name_parameter(self.manifest))

    def capacity_security_group(self, key: str) -> ec2.ISecurityGroup:
        if key not in self._capacity_groups:
            self._capacity_groups[key] = ec2.SecurityGroup.from_security_group_id(
                self.stack,
                f"CapacitySecurityGroup-{key}",
                self.imported(names.capacity_security_group(key)),
                allow_all_outbound=True,
            )
        return self._capacity_groups[key]

    def private_subnets(self) -> ec2.SubnetSelection:
        # By type, which aws-cdk resolves against the imported VPC's private subnets itself:
        # the same subnets as listing them, without a round trip into jsii to fetch them.
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

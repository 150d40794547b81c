"""Acknowledgements for the subnets of an imported VPC."""

from __future__ import annotations

from ..manifest.models import Manifest
from ..stacks import Platform
from ..stacks.cluster import ClusterStack
from ..stacks.workloads import PipelineStack, ServiceStack, TaskStack
from .common import ack


def acknowledge_imported_subnets(platform: Platform, manifest: Manifest) -> None:
    if manifest.network.import_ is None:
        return  # the network stack exports route tables; no subnet is imported without one
    consumers: list[ClusterStack | ServiceStack | TaskStack | PipelineStack] = [
        platform.cluster,
        *platform.services.values(),
        *platform.tasks.values(),
        *platform.pipelines.values(),
    ]
    for consumer in consumers:
        vpc = consumer.refs.vpc
        for subnet in vpc.private_subnets + vpc.public_subnets:
            ack(
                subnet,
                "Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                "This stack uses the imported VPC's subnets by id only (for instances, tasks and the load "
                "balancer); it never reads their route tables, which the manifest does not list.",
            )

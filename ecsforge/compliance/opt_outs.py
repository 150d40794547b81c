"""Acknowledgements of findings that the manifest asked for by turning a default off."""

from __future__ import annotations

from ..manifest.models import Manifest
from ..stacks import Platform
from .common import ack, resource


def acknowledge_opt_outs(platform: Platform, manifest: Manifest) -> None:
    """Findings that exist only because the manifest explicitly turned a default off."""
    if platform.network is not None and not manifest.network.flow_logs:
        ack(
            resource(platform.network.platform_vpc.vpc),
            "AwsSolutions-VPC7",
            "The manifest sets network.flow_logs: false; flow logs are on by default and this VPC's owner "
            "turned them off explicitly.",
        )
    if manifest.cluster.container_insights == "disabled":
        ack(
            resource(platform.cluster.cluster),
            "AwsSolutions-ECS4",
            "The manifest sets cluster.container_insights: disabled; Container Insights is on (enhanced) by "
            "default and this cluster's owner turned it off explicitly.",
        )

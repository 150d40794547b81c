"""Acknowledgements for the shared load balancer."""

from __future__ import annotations

from ..constructs.load_balancer import SharedLoadBalancer
from ..manifest.models import Manifest
from .common import ack, resource


def acknowledge_load_balancer(balancer: SharedLoadBalancer, manifest: Manifest) -> None:
    settings = manifest.load_balancer
    if settings.public and "0.0.0.0/0" in settings.cidrs:
        ack(
            resource(balancer.security_group),
            "AwsSolutions-EC23",
            "An internet-facing load balancer: load_balancer.public is true and allowed_cidrs admits 0.0.0.0/0 "
            "(the default for a public one); only its listener ports are open.",
        )
    if balancer.access_logs is not None:
        ack(
            resource(balancer.access_logs),
            "AwsSolutions-S1",
            "This bucket holds the load balancer's access logs; logging access to the log bucket would need "
            "yet another bucket. It is SSE-S3 encrypted, SSL only, private and retained.",
        )
    else:
        ack(
            resource(balancer.alb),
            "AwsSolutions-ELB2",
            "The manifest sets load_balancer.access_logs: false; access logs are on by default and this "
            "environment's owner turned them off explicitly.",
        )

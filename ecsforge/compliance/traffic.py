"""Acknowledgements for a service's own Network Load Balancer (`services.*.nlb`)."""

from __future__ import annotations

from ..constructs.nlb import ServiceNlb
from ..constructs.service import EcsService
from .common import ack, ack_alternate_role, resource


def acknowledge_nlb(service: EcsService) -> None:
    nlb = service.nlb
    if nlb is None:
        return
    _acknowledge_balancer(nlb)
    if service.spec.deployment.strategy != "rolling":
        ack_alternate_role(service.service, "NlbAlternateRole", "move this service's NLB listener")


def _acknowledge_balancer(nlb: ServiceNlb) -> None:
    settings = nlb.settings
    if settings.public and "0.0.0.0/0" in settings.cidrs:
        ack(
            resource(nlb.security_group),
            "AwsSolutions-EC23",
            "An internet-facing Network Load Balancer: nlb.public is true and allowed_cidrs admits 0.0.0.0/0 "
            f"(the default for a public one); only its listener port ({settings.port}) is open.",
        )
    if nlb.access_logs is not None:
        ack(
            resource(nlb.access_logs),
            "AwsSolutions-S1",
            "This bucket holds the Network Load Balancer's access logs; logging access to the log bucket would "
            "need yet another bucket. It is SSE-S3 encrypted, SSL only, private and retained.",
        )
    else:
        ack(
            resource(nlb.load_balancer),
            "AwsSolutions-ELB2",
            f"A {settings.protocol.upper()} listener only: Network Load Balancers write access logs for TLS "
            "listeners alone, so there is nothing to log (nlb.protocol: tls gets them).",
        )

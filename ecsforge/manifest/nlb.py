"""`services.*.nlb` (a Network Load Balancer of the service's own), `services.*.connect` and
`cluster.service_connect` (ECS Service Connect in the cluster's namespace): contract v1.1.

Rules that need only the service are in `service_traffic_rules` (called by Service.check);
rules that need the rest of the manifest are in `manifest_traffic_rules` (checks.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import DeployedMayBreak, Model, Name, Rule
from .connect import connect_settings
from .http import CertificateArn, cidr_problems

if TYPE_CHECKING:
    from .models import Manifest
    from .services import Service

# Target group health checks of a UDP group run over TCP (ELB takes no UDP health check).
NLB_PROTOCOLS = {"tcp": "TCP", "tls": "TLS", "udp": "UDP"}


class Nlb(Model):
    """A Network Load Balancer of this service's own, in the service's stack."""

    port: int = Field(ge=1, le=65535, description="Required. The listener port clients connect to.")
    protocol: Literal["tcp", "tls", "udp"] = Field(
        "tcp", description="Default: tcp. tls terminates TLS at the load balancer with certificate_arn."
    )
    certificate_arn: CertificateArn | None = Field(
        None, description="Default: none. tls only, and required with it: the listener's ACM certificate."
    )
    public: bool = Field(False, description="Default: false, internal (private subnets). true: internet-facing.")
    allowed_cidrs: list[str] | None = Field(
        None, min_length=1, description="Default: the VPC's range when internal, everyone (0.0.0.0/0) when public."
    )
    container: Name | None = Field(None, description="Default: the first container with a port.")
    health_check_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Default: the container's port (another port only with awsvpc). Health checks are TCP "
        "connections, for udp too: its targets must accept TCP on this port.",
    )
    deregistration_delay_seconds: int = Field(30, ge=0, le=3600, description="Default: 30.")
    grace_period_seconds: int = Field(
        60, ge=0, le=2147483647, description="Default: 60 (http's, when the service also has http)."
    )

    @property
    def cidrs(self) -> list[str]:
        """allowed_cidrs, with its default resolved (Manifest.resolve)."""
        assert self.allowed_cidrs is not None, "an internal NLB in an imported VPC names its cidrs"
        return self.allowed_cidrs

    def check(self) -> Iterator[Rule]:
        yield from cidr_problems(self.allowed_cidrs, public=self.public, example="10.0.0.0/8")
        if self.protocol == "tls" and self.certificate_arn is None:
            yield ("protocol",), "'tls' terminates TLS at the load balancer and needs certificate_arn; add it"
        if self.protocol != "tls" and self.certificate_arn is not None:
            yield (
                ("certificate_arn",),
                f"{self.certificate_arn!r} is set, but protocol is {self.protocol!r}: only a tls listener takes a "
                "certificate; "
                "set protocol: tls or remove it",
            )


def nlb_container(service: Service) -> str | None:
    nlb = service.nlb
    if nlb is None:
        return None
    return nlb.container or next((n for n, c in service.containers.items() if c.port), None)


def connect_names(name: str, service: Service) -> dict[str, str]:
    """Container -> Service Connect name: the first container with a port is reachable as
    <service>, any other as <service>-<container>."""
    with_ports = [n for n, c in service.containers.items() if c.port is not None]
    return {c: name if i == 0 else f"{name}-{c}" for i, c in enumerate(with_ports)}


def service_traffic_rules(service: Service) -> Iterator[Rule]:
    yield from _nlb_rules(service)
    yield from _connect_rules(service)
    if service.deployment.strategy != "rolling" and service.http is not None and service.nlb is not None:
        yield (
            ("deployment", "strategy"),
            (
                f"{service.deployment.strategy!r} shifts traffic between two target groups of one load balancer; "
                "this service has both http and nlb: use strategy: rolling, or keep one of them"
            ),
        )


def _nlb_rules(service: Service) -> Iterator[Rule]:
    nlb = service.nlb
    if nlb is None:
        return
    name = nlb_container(service)
    if name is None:
        yield ("nlb",), "no container has a port for the load balancer; give a container a `port`"
        return
    if name not in service.containers:
        yield (
            ("nlb", "container"),
            f"{name!r} is not a container of this service; use one of {', '.join(service.containers)}",
        )
        return
    if service.containers[name].port is None:
        yield ("nlb", "container"), f"{name!r} has no port; give it a `port` for the load balancer"
        return
    if nlb.protocol == "udp" and service.network_mode != "awsvpc":
        # In bridge mode the dynamic host port is mapped for UDP only, so the TCP health
        # check could not reach it; in host mode the same port would need both protocols.
        yield (
            ("nlb", "protocol"),
            (
                f"'udp' with network_mode {service.network_mode}: the container's port is mapped for UDP only, "
                "and the TCP health check cannot reach it; use network_mode: awsvpc"
            ),
        )
    if nlb.health_check_port is not None and service.network_mode != "awsvpc":
        # Instance targets are checked on the instance: only the mapped port is known to be open.
        yield (
            ("nlb", "health_check_port"),
            (
                f"{nlb.health_check_port}: with network_mode {service.network_mode} the targets are instances, "
                "checked on the container's mapped port; remove health_check_port or use network_mode: awsvpc"
            ),
        )
    if nlb.protocol == "udp" and service.deployment.strategy != "rolling":
        # ECS's NLB guide sets up TCP target groups; ELB moves new TCP, TLS and QUIC connections to a
        # listener's new target group ("Update a listener for your Network Load Balancer"), not UDP flows.
        yield (
            ("deployment", "strategy"),
            DeployedMayBreak(
                f"{service.deployment.strategy!r} moves traffic by changing the target group the NLB listener "
                "forwards to, which moves new TCP and TLS connections but not UDP flows: those stay with the old "
                "tasks while clients keep sending, and break when ECS stops them; use strategy: rolling, or "
                "nlb.protocol tcp or tls"
            ),
        )
    if service.http is not None and service.http_container == name and nlb.protocol == "udp":
        yield (
            ("nlb", "protocol"),
            f"'udp' on container {name!r}, which also serves http (TCP) on the same port; use another container",
        )


def _connect_rules(service: Service) -> Iterator[Rule]:
    settings = connect_settings(service.connect)
    if settings is None:
        return
    if settings.tls is not None and not any(c.port for c in service.containers.values()):
        # ECS sets TLS on the endpoints a service serves (ServiceConnectService.Tls); a client-only
        # service has none to set it on.
        yield (
            ("connect", "tls"),
            (
                "set, but no container has a port: TLS secures the endpoints a service serves, and this service "
                "is a client only; give a container a `port`, or remove tls"
            ),
        )
    if service.network_mode != "awsvpc":
        # AWS runs Service Connect in awsvpc and bridge mode (not host). ecsforge admits
        # connect traffic with one shared security group that the tasks' ENIs join, which
        # bridge tasks (on the instance's ENI) cannot.
        yield (
            ("connect",),
            (
                f"{_written(service)}, with network_mode {service.network_mode}: ecsforge runs Service Connect with "
                "awsvpc tasks only (tasks join the cluster's Service Connect security group); use network_mode: awsvpc"
            ),
        )
    if service.discovery:
        yield (
            ("discovery",),
            (
                "true, with connect: true: both would register this service under its name in the cluster's "
                "namespace; Service Connect already makes it reachable, so remove discovery"
            ),
        )
    if service.nlb is not None and service.nlb.protocol == "udp":
        yield (
            ("connect",),
            (
                f"{_written(service)}, but nlb.protocol is 'udp': Service Connect proxies TCP only, and the "
                "container's port is mapped for UDP; remove connect or use tcp"
            ),
        )


def _written(service: Service) -> str:
    """How a message names the `connect` the user wrote: `true`, or the mapping form."""
    return "true" if service.connect is True else "set"


def manifest_traffic_rules(manifest: Manifest) -> Iterator[Rule]:
    names: dict[str, str] = {}
    for name, service in manifest.services.items():
        if service.connect and not manifest.cluster.service_connect:
            yield (
                ("services", name, "connect"),
                f"{_written(service)}, but the cluster has no Service Connect namespace; set "
                "cluster.service_connect: true",
            )
        if service.nlb is not None:
            yield from _nlb_manifest_rules(manifest, name, service.nlb)
        tls = settings.tls if (settings := connect_settings(service.connect)) is not None else None
        if tls is not None and tls.private_ca_arn.split(":")[1] != manifest.partition:
            yield (
                ("services", name, "connect", "tls", "private_ca_arn"),
                (
                    f"the certificate authority is in partition {tls.private_ca_arn.split(':')[1]}, but region "
                    f"{manifest.region} is in {manifest.partition}; use a Private CA of this partition"
                ),
            )
        if service.connect:
            for container, dns in connect_names(name, service).items():
                if dns in names:
                    yield (
                        ("services", name, "containers", container),
                        (
                            f"{container!r} is reachable through Service Connect as {dns!r}, and so is "
                            f"{names[dns]}; rename the service or the container"
                        ),
                    )
                names.setdefault(dns, f"services.{name}.containers.{container}")


def _nlb_manifest_rules(manifest: Manifest, name: str, nlb: Nlb) -> Iterator[Rule]:
    if nlb.allowed_cidrs is None and not nlb.public and manifest.network.import_ is not None:
        yield (
            ("services", name, "nlb"),
            (
                "an internal load balancer in an imported VPC needs allowed_cidrs (the VPC's range is not "
                "known here); list the clients' ranges in allowed_cidrs"
            ),
        )
    certificate = nlb.certificate_arn
    if certificate and certificate.split(":")[3] != manifest.region:
        yield (
            ("services", name, "nlb", "certificate_arn"),
            (
                f"the certificate is in {certificate.split(':')[3]}, but a load balancer takes certificates "
                f"of its own region ({manifest.region}); request or import one there"
            ),
        )


def resolve_nlb_cidrs(manifest: Manifest) -> None:
    for service in manifest.services.values():
        nlb = service.nlb
        if nlb is None or nlb.allowed_cidrs is not None:
            continue
        if nlb.public:
            nlb.allowed_cidrs = ["0.0.0.0/0"]
        elif manifest.network.import_ is None:
            nlb.allowed_cidrs = [manifest.network.cidr]

"""`services.*.http` and `load_balancer`: the shared ALB and each service's listener rule."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field

from .base import Model, Name, Rule, matching
from .traffic import Domain, Waf


class HttpHealthCheck(Model):
    path: Annotated[str, Field(max_length=1024), matching(r"^/", "health check path", "/health")] = Field(
        "/", description='Default: "/".'
    )
    interval_seconds: int = Field(10, ge=5, le=300, description="Default: 10.")
    timeout_seconds: int = Field(5, ge=2, le=120, description="Default: 5.")
    healthy_threshold: int = Field(2, ge=2, le=10, description="Default: 2.")
    unhealthy_threshold: int = Field(3, ge=2, le=10, description="Default: 3.")
    success_codes: Annotated[
        str, matching(r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$", "list of HTTP codes", "200-399 or 200,204")
    ] = Field(
        "200-399",
        description='Default: "200-399".',
    )
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Default: the traffic port (the container's port). awsvpc only: the port of the task the "
        "load balancer checks, e.g. a management port; the task's security group admits the load balancer to it.",
    )

    def check(self) -> Iterator[Rule]:
        for part in self.success_codes.split(","):
            low, _, high = part.partition("-")
            # ALB matchers for HTTP take codes from 200 to 499.
            if not 200 <= int(low) <= 499 or (high and not int(low) < int(high) <= 499):
                yield (
                    ("success_codes",),
                    (f"{part!r} is not a range of HTTP codes an ALB accepts; use codes from 200 to 499, e.g. 200-399"),
                )
        if self.timeout_seconds >= self.interval_seconds:
            yield (
                ("timeout_seconds",),
                (f"{self.timeout_seconds} is not below interval_seconds ({self.interval_seconds}); lower it"),
            )


# ALB path patterns: up to 128 characters of A-Z a-z 0-9 _ - . $ / ~ " ' @ : + & ( ) ! , ; = * ?
AlbPath = Annotated[str, matching(r"^/[A-Za-z0-9_\-.$/~\"'@:+&()!,;=*?]{0,127}$", "ALB path pattern", "/api/*")]
# ALB listener rules: "up to three comparison strings per condition and up to five per rule"; the
# rule's path and a test rule's header take one each, so three hosts always fit.
MAX_HOST_HEADER_VALUES = 3
HostName = Annotated[
    str, matching(r"^[A-Za-z0-9*?]([A-Za-z0-9*?.-]{0,126}[A-Za-z0-9*?])?$", "host name", "api.example.com")
]


class Http(Model):
    container: Name | None = Field(None, description="Default: the first container with a port.")
    path: AlbPath = Field("/*", description='Default: "/*", every path.')
    host: HostName | None = Field(None, description="Default: any host.")
    priority: int | None = Field(
        None,
        ge=1,
        le=50000,
        description="Default: derived from this service's own path and host, so longer paths win and "
        "adding a service never renumbers another; two equal priorities are an error.",
    )
    deregistration_delay_seconds: int = Field(30, ge=0, le=3600, description="Default: 30.")
    grace_period_seconds: int = Field(60, ge=0, le=2147483647, description="Default: 60.")
    stickiness_seconds: int = Field(
        0, ge=0, le=604800, description="Default: 0, off. Rolling services only (a shift moves clients between groups)."
    )
    health_check: HttpHealthCheck = Field(default_factory=HttpHealthCheck, description="Default: as below.")
    hosts: list[HostName] | None = Field(
        None,
        min_length=1,
        max_length=MAX_HOST_HEADER_VALUES,
        description="Default: `host`. Several hosts for one listener rule (a host-header condition takes up to 3); "
        "not with `host`. With load_balancer.domain each is a name of the certificate and gets a record.",
    )

    @property
    def host_names(self) -> list[str]:
        """The rule's host-header values: `hosts`, or `host`, or none (any host)."""
        return list(self.hosts) if self.hosts else [self.host] if self.host else []

    @property
    def rule_priority(self) -> int:
        if self.priority is not None:
            return self.priority
        names = self.host_names
        return derived_priority(names[0] if names else None, self.path)

    def check(self) -> Iterator[Rule]:
        if self.hosts is not None and self.host is not None:
            yield ("hosts",), "is set, and so is host; list every host in hosts and remove host"
        for index, host in enumerate(self.hosts or []):
            if host.lower() in (other.lower() for other in (self.hosts or [])[:index]):
                yield ("hosts", index), f"{host!r} is listed twice; list each host once"


# Derived listener priorities: host rules in 1..25000, the others in 25001..50000; within
# a band longer paths first (lengths above 32 count as 32); within a length a position
# from the rule's own text. A polynomial hash modulo a prime: two paths that differ in
# one character never share a priority.
_LENGTH_CAP = 32
_SLOTS = 780
_PRIME = 773


def derived_priority(host: str | None, path: str) -> int:
    text = f"{host or ''}{path}"
    position = 0
    for character in text:
        position = (position * 31 + ord(character)) % _PRIME
    band = 0 if host else 25000
    return 1 + band + (_LENGTH_CAP - min(len(path), _LENGTH_CAP)) * _SLOTS + position


def cidr_problems(cidrs: list[str] | None, *, public: bool, example: str) -> Iterator[Rule]:
    """The `allowed_cidrs` of a load balancer (the shared ALB, or a service's NLB)."""
    for index, cidr in enumerate(cidrs or []):
        try:
            # IPv4 with an explicit mask: the security group rules are IPv4.
            network = ipaddress.IPv4Network(cidr, strict=True) if "/" in cidr else None
        except ValueError:
            network = None
        if network is None:
            yield ("allowed_cidrs", index), f"{cidr!r} is not an IPv4 CIDR block; write it like {example}"
        elif str(network) != cidr:
            # cdk-nag reads any "/0" in a rule's CIDR as open to the world: 10.0.0.0/08 would be.
            yield ("allowed_cidrs", index), f"{cidr!r} has a leading zero; write it as {network}"
        elif network.prefixlen == 0 and not public:
            # ecsforge acknowledges cdk-nag's EC23 (0.0.0.0/0 ingress) only on internet-facing ones.
            yield (
                ("allowed_cidrs", index),
                (
                    f"{cidr!r} admits every address, which only an internet-facing load balancer may; list the "
                    "networks that reach this internal one (the VPC's range, peered or on-premises networks), "
                    "e.g. 10.0.0.0/8"
                ),
            )


CertificateArn = Annotated[
    str,
    matching(
        r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$",
        "ACM certificate ARN",
        "arn:aws:acm:us-east-1:111111111111:certificate/abc-123",
    ),
]


# The predefined security policies of Elastic Load Balancing that aws-cdk-lib 2.275 knows
# (SslPolicy); an ALB takes no custom policy.
SslPolicyName = Literal[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-0-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
]
DEFAULT_SSL_POLICY: SslPolicyName = "ELBSecurityPolicy-TLS13-1-2-2021-06"


class LoadBalancer(Model):
    public: bool = Field(True, description="Default: true, internet-facing. false: internal.")
    certificate_arn: CertificateArn | None = Field(
        None,
        description="Default: none, HTTP on port 80. Set: HTTPS on 443, and 80 redirects to 443.",
    )
    allowed_cidrs: list[str] | None = Field(
        None, min_length=1, description="Default: everyone (0.0.0.0/0) when public, the VPC's range when internal."
    )
    idle_timeout_seconds: int = Field(60, ge=1, le=4000, description="Default: 60.")
    access_logs: bool = Field(True, description="Default: true, to an S3 bucket of this environment.")
    domain: Domain | None = Field(
        None,
        description="Default: none. A Route 53 public hosted zone: without certificate_arn, one DNS-validated "
        "certificate for the zone and every http.host (and http.hosts), HTTPS on 443 (80 redirects); with it, only "
        "the records. Every http.host (and http.hosts) gets an alias record to the load balancer.",
    )
    waf: Waf | None = Field(None, description="Default: none, no web application firewall.")
    ssl_policy: SslPolicyName = Field(
        DEFAULT_SSL_POLICY,
        description="Default: ELBSecurityPolicy-TLS13-1-2-2021-06 (TLS 1.3 and 1.2). The HTTPS listener's "
        "predefined security policy (needs certificate_arn or domain).",
    )

    @property
    def https(self) -> bool:
        """HTTPS on 443: a certificate given, or one managed for `domain`."""
        return self.certificate_arn is not None or self.domain is not None

    @property
    def cidrs(self) -> list[str]:
        """allowed_cidrs, with its default resolved (Manifest.resolve)."""
        assert self.allowed_cidrs is not None, "an internal load balancer in an imported VPC names its cidrs"
        return self.allowed_cidrs

    def check(self) -> Iterator[Rule]:
        yield from cidr_problems(self.allowed_cidrs, public=self.public, example="203.0.113.0/24")
        if "ssl_policy" in self.model_fields_set and not self.https:
            yield (
                ("ssl_policy",),
                f"{self.ssl_policy!r} is the policy of the HTTPS listener, and without certificate_arn or domain the "
                "load balancer has none; add one of them, or remove ssl_policy",
            )

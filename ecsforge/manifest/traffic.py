"""`load_balancer.domain` and `load_balancer.waf`: the shared ALB's own domain (an ACM certificate
validated through a Route 53 zone, alias records per host) and its web application firewall."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from .base import Model, Rule, matching

if TYPE_CHECKING:
    from .http import Http
    from .models import Manifest

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# ACM's default quota of domain names per certificate (adjustable up to 100).
DEFAULT_CERTIFICATE_NAMES = 10
MAX_CERTIFICATE_NAMES = 100
# A certificate's first name (its subject's common name) is at most 64 characters; aws-cdk
# raises at synth on a longer acm.Certificate domain_name. Later names may be longer.
CERTIFICATE_FIRST_NAME_MAX_LENGTH = 64

# AWS managed rule groups by their manifest name.
MANAGED_RULE_GROUPS = {
    "common": "AWSManagedRulesCommonRuleSet",
    "known_bad_inputs": "AWSManagedRulesKnownBadInputsRuleSet",
    "ip_reputation": "AWSManagedRulesAmazonIpReputationList",
    "anonymous_ip": "AWSManagedRulesAnonymousIpList",
    "sql_injection": "AWSManagedRulesSQLiRuleSet",
    "linux": "AWSManagedRulesLinuxRuleSet",
    "admin_protection": "AWSManagedRulesAdminProtectionRuleSet",
}
ManagedRule = Literal[
    "common", "known_bad_inputs", "ip_reputation", "anonymous_ip", "sql_injection", "linux", "admin_protection"
]
DEFAULT_MANAGED_RULES: list[ManagedRule] = ["common", "known_bad_inputs", "ip_reputation"]

ZoneId = Annotated[str, matching(r"^Z[A-Z0-9]{1,31}$", "Route 53 hosted zone id", "Z0123456789ABCDEFGHIJ")]
ZoneName = Annotated[
    str,
    Field(max_length=253),
    matching(
        r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$",
        "DNS zone name",
        "example.com (lower case, no trailing dot)",
    ),
]
WebAclArn = Annotated[
    str,
    matching(
        r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/[A-Za-z0-9_-]{1,128}/[a-f0-9-]{36}$",
        "regional WAFv2 web ACL ARN",
        "arn:aws:wafv2:us-east-1:111111111111:regional/webacl/shop/a1b2c3d4-5678-90ab-cdef-123456789012",
    ),
]


class Domain(Model):
    zone_id: ZoneId = Field(description="Required. The id of a Route 53 public hosted zone (never looked up).")
    zone_name: ZoneName = Field(description="Required. That zone's name, e.g. example.com.")
    max_certificate_names: int = Field(
        DEFAULT_CERTIFICATE_NAMES,
        ge=1,
        le=MAX_CERTIFICATE_NAMES,
        description="Default: 10, ACM's default quota of names per certificate. Raise it only after AWS raised "
        "the account's quota (at most 100).",
    )


class Waf(Model):
    managed_rules: list[ManagedRule] = Field(
        default_factory=lambda: list(DEFAULT_MANAGED_RULES),
        max_length=len(MANAGED_RULE_GROUPS),
        description="Default: [common, known_bad_inputs, ip_reputation] (AWSManagedRulesCommonRuleSet, "
        "AWSManagedRulesKnownBadInputsRuleSet, AWSManagedRulesAmazonIpReputationList).",
    )
    rate_limit_per_5min: int | None = Field(
        None,
        ge=10,
        le=2_000_000_000,
        description="Default: none. Requests per client IP in any 5 minutes above which WAF blocks that IP.",
    )
    web_acl_arn: WebAclArn | None = Field(
        None,
        description="Default: a web ACL of this environment. Set: associate this existing regional web ACL "
        "instead (then managed_rules and rate_limit_per_5min are not allowed).",
    )

    def check(self) -> Iterator[Rule]:
        if self.web_acl_arn is not None:
            for field in ("managed_rules", "rate_limit_per_5min"):
                if field in self.model_fields_set:
                    yield (
                        (field,),
                        f"{getattr(self, field)!r} is set together with web_acl_arn, whose own rules apply; "
                        f"remove {field} or web_acl_arn",
                    )
            return
        seen: set[str] = set()
        for index, rule in enumerate(self.managed_rules):
            if rule in seen:
                yield ("managed_rules", index), f"{rule!r} is listed twice; list each rule group once"
            seen.add(rule)
        if not self.managed_rules and self.rate_limit_per_5min is None:
            yield (
                ("managed_rules",),
                "[] and no rate_limit_per_5min: the web ACL would block nothing; list rule groups or set a rate limit",
            )


def domain_hosts(manifest: Manifest) -> list[str]:
    """Every http.host, lower case, each once, sorted: the names that get alias records and, with
    the zone's name, the managed certificate. Sorted because SubjectAlternativeNames is create-only:
    reordering services must not replace the certificate."""
    if manifest.load_balancer.domain is None:
        return []
    return sorted({host.lower() for s in manifest.http_services.values() if s.http for host in s.http.host_names})


def _host_problem(host: str, zone: str) -> str | None:
    name = host.lower()
    if name != zone and not name.endswith(f".{zone}"):
        return (
            f"{host!r} is not in load_balancer.domain.zone_name {zone!r}, so it can get no certificate name or "
            "record there; use a host under the zone, or another environment for the other domain"
        )
    labels = name.split(".")
    wildcard = any(c in name for c in "*?")
    if wildcard and (labels[0] != "*" or any(c in ".".join(labels[1:]) for c in "*?")):
        return (
            f"{host!r} has a wildcard that a certificate and a DNS record cannot hold; only a whole first label "
            f"is allowed (e.g. *.{zone})"
        )
    rest = labels[1:] if labels[0] == "*" else labels
    if not all(_LABEL.fullmatch(label) for label in rest):
        return (
            f"{host!r} has a label that a certificate cannot hold (empty, over 63 characters, or starting or "
            "ending with '-'); use letters, digits and inner hyphens"
        )
    return None


def domain_warnings(manifest: Manifest) -> Iterator[Rule]:
    """Legal, but probably not what was meant."""
    balancer = manifest.load_balancer
    if balancer.domain is None or not manifest.http_services:
        return
    if not domain_hosts(manifest):
        yield (
            ("load_balancer", "domain"),
            (
                f"{balancer.domain.zone_name!r}: no service has an http.host, so no DNS record is made; "
                "set http.host on the services that should be reachable by name"
            ),
        )
    if not balancer.public:
        yield (
            ("load_balancer", "domain"),
            (
                f"{balancer.domain.zone_name!r} gets records pointing at an internal load balancer: the public "
                "zone then publishes private addresses; use a private zone's names elsewhere, or public: true"
            ),
        )


def check_traffic(manifest: Manifest) -> Iterator[Rule]:
    """The rules of domain and waf that need the rest of the manifest."""
    waf = manifest.load_balancer.waf
    if waf is not None and waf.web_acl_arn is not None and waf.web_acl_arn.split(":")[3] != manifest.region:
        yield (
            ("load_balancer", "waf", "web_acl_arn"),
            (
                f"the web ACL is in {waf.web_acl_arn.split(':')[3]}, but a load balancer takes a regional web ACL "
                f"of its own region ({manifest.region}); use one there"
            ),
        )
    yield from _check_domain(manifest)


def _check_domain(manifest: Manifest) -> Iterator[Rule]:
    """Every host under the zone, representable, and all on one certificate."""
    domain = manifest.load_balancer.domain
    if domain is None:
        return
    if not manifest.http_services:
        yield (
            ("load_balancer", "domain"),
            "is set, but no service has `http`, so there is no load balancer to name; add `http` or remove domain",
        )
        return
    managed = manifest.load_balancer.certificate_arn is None
    if managed and len(domain.zone_name) > CERTIFICATE_FIRST_NAME_MAX_LENGTH:
        yield (
            ("load_balancer", "domain", "zone_name"),
            (
                f"{domain.zone_name!r} is {len(domain.zone_name)} characters long, but it is the first name of the "
                f"managed certificate, which ACM takes up to {CERTIFICATE_FIRST_NAME_MAX_LENGTH} characters; set "
                "load_balancer.certificate_arn to a certificate of your own, or use a shorter zone"
            ),
        )
    names = {domain.zone_name}
    for name, service in manifest.http_services.items():
        if service.http is None:
            continue
        for at, host in _hosts_at(service.http):
            path = ("services", name, "http", *at)
            problem = _host_problem(host, domain.zone_name)
            if problem:
                yield path, problem
                continue
            if host.lower() in names:
                continue
            names.add(host.lower())
            if len(names) == domain.max_certificate_names + 1 and managed:
                yield path, _too_many_names(host, len(names), domain)


def _hosts_at(http: Http) -> list[tuple[tuple[str | int, ...], str]]:
    """Each host of the rule, with where it was written."""
    if http.hosts:
        return [(("hosts", index), host) for index, host in enumerate(http.hosts)]
    return [(("host",), http.host)] if http.host else []


def _too_many_names(host: str, count: int, domain: Domain) -> str:
    return (
        f"{host!r} is name {count} of the managed certificate (the zone and every host), but a "
        f"certificate holds {domain.max_certificate_names} (ACM's quota, "
        "load_balancer.domain.max_certificate_names); use a wildcard host such as "
        f"*.{domain.zone_name}, or ask AWS for a higher quota and raise max_certificate_names"
    )

"""A Copilot environment manifest -> network, load balancer and cluster of that environment."""

from __future__ import annotations

import json
import math
import typing
from importlib import resources
from typing import Any

from ...manifest.http import SslPolicyName
from .context import Env
from .node import Node
from .notes import APPROXIMATE, Note


def certificates(node: Node | None) -> list[str]:
    """The certificates the environment's load balancer has (read before the workloads)."""
    if node is None or not isinstance(node.value, dict):
        return []
    http = node.value.get("http") or {}
    out: list[str] = []
    for side in ("public", "private"):
        block = http.get(side) if isinstance(http, dict) else None
        if isinstance(block, dict) and isinstance(block.get("certificates"), list):
            out.extend(str(c) for c in block["certificates"])
    return out


def environment(node: Node, env: Env) -> None:
    node.raw("name")
    node.raw("type")
    network = node.child("network")
    vpc = network.child("vpc") if network is not None else None
    if vpc is not None:
        _vpc(vpc, env)
    _http(node, env)
    observability = node.child("observability")
    if observability is not None:
        insights = observability.flag("container_insights")
        if insights is not None:
            env.section("cluster")["container_insights"] = "enabled" if insights else "disabled"
    if node.has("cdn"):
        node.skip("cdn", "ecsforge has no CloudFront distribution; put one in front of the load balancer yourself")


def _vpc(vpc: Node, env: Env) -> None:
    out = env.section("network")
    vpc_id = vpc.text("id")
    cidr = vpc.text("cidr")
    if cidr is not None:
        out["cidr"] = cidr
    subnets = vpc.child("subnets")
    public = _subnets(subnets.child("public") if subnets is not None else None)
    private = _subnets(subnets.child("private") if subnets is not None else None)
    if vpc_id is not None:
        private_ids = [s["id"] for s in private if "id" in s]
        public_ids = [s["id"] for s in public if "id" in s]
        if not private_ids and public_ids and subnets is not None:
            private_ids = public_ids
            subnets.approx(
                None,
                "no private subnets: tasks go into the public subnets, where they need a route out "
                "(a NAT gateway or VPC endpoints) to pull images",
            )
        out["import"] = {"vpc_id": vpc_id, "private_subnet_ids": private_ids, "public_subnet_ids": public_ids}
    zones = [s["az"] for s in (private or public) if "az" in s]
    known = zones_for(env.region, every=True)
    if zones and all(zone in known for zone in zones):
        out["availability_zones"] = zones
    elif zones and subnets is not None:
        subnets.approx(None, f"zones {', '.join(zones)} are not zones of {env.region}; ecsforge picks the region's own")
    if any("cidr" in s for s in public + private) and subnets is not None:
        subnets.approx(None, "ecsforge divides network.cidr into subnets itself; the subnet CIDRs were not kept")
    flow = vpc.raw("flow_logs")
    if flow is False:
        out["flow_logs"] = False
    elif isinstance(flow, dict):
        vpc.approx("flow_logs", "ecsforge keeps flow logs 30 days")
    if vpc.has("security_group"):
        vpc.skip("security_group", "ecsforge manages the environment's security groups; open access per service")


def _subnets(node: Node | None) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for item in node.elements() if node is not None else ():
        subnet = {k: v for k in ("id", "cidr", "az") if (v := item.text(k)) is not None}
        if subnet:
            out.append(subnet)
    return out


def _http(node: Node, env: Env) -> None:
    http = node.child("http")
    if http is None:
        return
    lb = env.section("load_balancer")
    for side in ("public", "private"):
        block = http.child(side)
        if block is None:
            continue
        certs = block.raw("certificates")
        if isinstance(certs, list) and certs:
            lb.setdefault("certificate_arn", str(certs[0]))
            if len(certs) > 1:
                block.approx("certificates", "ecsforge's listener takes one certificate; kept the first")
        ingress = block.child("ingress")
        if ingress is not None:
            ips = ingress.raw("source_ips")
            if isinstance(ips, list):
                lb["allowed_cidrs"] = [str(ip) for ip in ips]
            if ingress.has("cdn"):
                ingress.skip("cdn", "ecsforge has no CloudFront distribution")
            if ingress.has("vpc"):
                ingress.approx("vpc", "an internal ecsforge load balancer admits the VPC cidr by default")
        logs = block.raw("access_logs")
        if logs is False:
            lb["access_logs"] = False
        elif isinstance(logs, dict):
            block.approx("access_logs", "ecsforge writes access logs to a bucket of its own")
        _ssl_policy(block, lb)
        for key, why in (
            ("security_groups", "ecsforge manages the load balancer's security group; use ingress.source_ips"),
            ("subnets", "ecsforge places an internal load balancer in its private subnets"),
        ):
            if block.has(key):
                block.skip(key, why)


def _ssl_policy(block: Node, lb: dict[str, Any]) -> None:
    policy = block.text("ssl_policy")
    if policy is None:
        return
    if policy not in typing.get_args(SslPolicyName):
        block.skip(
            "ssl_policy", f"{policy!r} is not a predefined policy ecsforge knows; choose one of docs/manifest.md"
        )
    elif "certificate_arn" not in lb:
        block.skip(
            "ssl_policy",
            "ecsforge has an HTTPS listener only with load_balancer.certificate_arn or domain; add one, then set "
            "load_balancer.ssl_policy",
        )
    elif lb.get("ssl_policy", policy) != policy:
        block.approx("ssl_policy", "ecsforge has one HTTPS listener; kept the public side's policy")
    else:
        lb["ssl_policy"] = policy


def zones_for(region: str, every: bool = False) -> list[str]:
    """Two (or every) zones of the region from the data ecsforge ships (synth never looks them up)."""
    data: dict[str, Any] = json.loads(
        resources.files("ecsforge.manifest").joinpath("data/availability_zones.json").read_text(encoding="utf-8")
    )
    zones = list(data.get(region, []))
    return zones if every else zones[:2]


def choose_zones(env: Env, file: str | None) -> None:
    """Zones for an environment that lists none: needed with an account (synth never looks them
    up), and with an imported VPC whose subnets per tier are not two (one subnet per zone)."""
    network = env.doc.get("network", {})
    if network.get("availability_zones"):
        return
    per_tier = _subnets_per_tier(network.get("import", {}))
    if "account" not in env.doc and per_tier in (None, 2):
        return
    known = zones_for(env.region, every=True)
    count = per_tier or 2
    # The most zones, up to one per subnet, that every tier spreads over evenly.
    count = max((n for n in range(2, count + 1) if count % n == 0 and n <= len(known)), default=2)
    zones = known[:count]
    if len(zones) < 2:
        return
    network["availability_zones"] = zones
    env.doc["network"] = network
    why = f", as many as its imported subnets per tier ({per_tier})," if per_tier and per_tier == count else ""
    env.report.add(
        Note(file or "copilot/.workspace", 1, 1, "network", APPROXIMATE,
             f"zones {', '.join(zones)} chosen for {env.copilot_name}{why} (synth never looks them up); check that "
             "your account has them (and, with network.import, that its subnets are in them, in this order)")
    )  # fmt: skip


def _subnets_per_tier(imported: dict[str, Any]) -> int | None:
    """Subnets per zone that both tiers allow: 3 private and 3 public subnets are 3 zones."""
    counts = [len(imported.get(k) or []) for k in ("private_subnet_ids", "public_subnet_ids")]
    counts = [n for n in counts if n]
    return math.gcd(*counts) if counts else None

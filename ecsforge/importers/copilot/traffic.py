"""`http` (the environment's shared load balancer) and `nlb` of a Copilot service."""

from __future__ import annotations

from itertools import chain
from typing import Any

from ...manifest.http import MAX_HOST_HEADER_VALUES, derived_priority
from . import convert
from .context import Env
from .node import Doc, Node
from .notes import APPROXIMATE, Note

_HTTP_SKIP = {
    "alb": "an imported ALB; ecsforge creates the environment's load balancer itself",
    "version": "ecsforge's target groups speak HTTP/1.1; gRPC and HTTP/2 targets are not available",
    "additional_rules": "one listener rule per ecsforge service; split the extra rules into services of their own",
    "target_port": "the target group sends traffic to the container's `port`; set that port instead",
    "redirect_to_https": "with a certificate ecsforge always redirects 80 to 443",
    "targetContainer": "deprecated spelling; use target_container",
}


_NO_PORT = (
    "{what} sends traffic to a container port, and no container has one (see image.port); write the port as a "
    "number and import again"
)


def _has_port(spec: dict[str, Any]) -> bool:
    return any("port" in container for container in spec["containers"].values())


def http(node: Node, env: Env, name: str, service: dict[str, Any], spec: dict[str, Any], public: bool) -> bool:
    raw = node.peek("http")
    if raw is None and public:
        # A Load Balanced Web Service is behind the ALB unless `http: false`.
        raw = {}
        node.doc.visited.add((*node.path, "http"))
    if raw is None or raw is False:
        node.raw("http")
        return False
    block = node.child("http") or Node(node.doc, (*node.path, "http"), raw)
    if block is None or not isinstance(raw, dict):
        node.skip("http", "expected false or a mapping")
        return False
    if not _has_port(spec):
        node.skip("http", _NO_PORT.format(what="the load balancer"))
        return False
    if not public:
        # One shared ALB per ecsforge environment: internal only when no service is public.
        env.internal_http.append(name)
    else:
        env.public_http = True
    result: dict[str, Any] = {}
    path = block.text("path")
    if path is not None:
        result["path"] = _path(block, path)
    target = block.text("target_container") or block.text("targetContainer")
    if target is not None:
        result["container"] = convert.name(target)
    _health_check(block, result)
    _alias(block, env, result)
    sticky = block.flag("stickiness")
    if sticky:
        result["stickiness_seconds"] = 86400
        block.approx("stickiness", "load-balancer cookie for one day (Copilot's default duration)")
    delay = block.seconds("deregistration_delay")
    if delay is not None:
        result["deregistration_delay_seconds"] = max(0, min(3600, round(delay)))
    ips = block.raw("allowed_source_ips")
    if isinstance(ips, list):
        cidrs = env.section("load_balancer").setdefault("allowed_cidrs", [])
        cidrs.extend(str(ip) for ip in ips if str(ip) not in cidrs)
        block.approx(
            "allowed_source_ips",
            "ecsforge restricts the whole load balancer (load_balancer.allowed_cidrs), not one service's rule",
        )
    for key, why in _HTTP_SKIP.items():
        if block.has(key):
            block.skip(key, why)
    if block.has("hosted_zone"):
        block.approx("hosted_zone", _ZONE)
    service["http"] = result
    return True


_ZONE = (
    "ecsforge makes alias records with load_balancer.domain {zone_id, zone_name}; add it to the environment "
    "(with the zone's name) to get records and a certificate"
)


def _path(block: Node, path: str) -> str:
    if path in ("/", "", "*", "/*"):
        return "/*"
    clean = "/" + path.strip("/")
    if "*" in clean:
        return clean
    block.approx("path", f"Copilot matches {clean} and {clean}/*; ecsforge's rule matches {clean}*")
    return clean + "*"


def _health_check(block: Node, result: dict[str, Any]) -> None:
    raw = block.peek("healthcheck")
    if raw is None:
        return
    if isinstance(raw, str):
        block.raw("healthcheck")
        result["health_check"] = {"path": raw}
        return
    check = block.child("healthcheck")
    if check is None or not isinstance(raw, dict):
        block.skip("healthcheck", "expected a path or a mapping")
        return
    out: dict[str, Any] = {}
    path = check.text("path")
    if path is not None:
        out["path"] = path
    codes = check.text("success_codes")
    if codes is not None:
        out["success_codes"] = codes
    for key, low, high in (("healthy_threshold", 2, 10), ("unhealthy_threshold", 2, 10)):
        value = check.number(key)
        if value is not None:
            out[key] = max(low, min(high, value))
            if out[key] != value:
                check.approx(key, f"{value} is outside {low}..{high}; used {out[key]}")
    for key, target in (("interval", "interval_seconds"), ("timeout", "timeout_seconds")):
        seconds = check.seconds(key)
        if seconds is not None:
            out[target] = round(seconds)
    grace = check.seconds("grace_period")
    if grace is not None:
        result["grace_period_seconds"] = round(grace)
    port = check.number("port")
    if port is not None and 1 <= port <= 65535:
        out["port"] = port
    elif port is not None:
        check.skip("port", f"{port} is not a port (1..65535)")
    if out:
        result["health_check"] = out


def _alias(block: Node, env: Env, result: dict[str, Any]) -> None:
    raw = block.raw("alias")
    if raw is None:
        return
    names: list[str] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
            if item.get("hosted_zone"):
                block.approx("alias", _ZONE)
    if not names:
        block.skip("alias", "expected a domain name, a list, or {name, hosted_zone}")
        return
    hosts = list(dict.fromkeys(env.interpolate(name) for name in names))
    if len(hosts) == 1:
        result["host"] = hosts[0]
    else:
        result["hosts"] = hosts[:MAX_HOST_HEADER_VALUES]
    if len(hosts) > MAX_HOST_HEADER_VALUES:
        block.skip(
            "alias",
            f"a listener rule matches at most {MAX_HOST_HEADER_VALUES} hosts; kept the first ones, add a service "
            "(or a wildcard host) for the others",
        )
    elif not env.certificates:
        block.approx(
            "alias",
            "Copilot issued the certificate for its application domain; ecsforge serves the host over HTTP until "
            "the environment has load_balancer.certificate_arn or load_balancer.domain",
        )


def nlb(node: Node, env: Env, name: str, service: dict[str, Any], spec: dict[str, Any]) -> None:
    block = node.child("nlb")
    if block is None:
        return
    if not isinstance(block.value, dict):
        node.skip("nlb", "expected a mapping with `port`")
        return
    if not _has_port(spec):
        node.skip("nlb", _NO_PORT.format(what="the network load balancer"))
        return
    port = block.text("port")
    number, _, protocol = (port or "").partition("/")
    if not number.isdigit():
        block.skip("port" if port else None, "expected a port like 80/tcp")
        return
    result: dict[str, Any] = {"port": int(number), "public": True}
    protocol = protocol.lower() or "tcp"
    if protocol == "tcp_udp":
        protocol = "tcp"
        block.approx("port", "tcp_udp became tcp; add a second service for the UDP side")
    if protocol not in ("tcp", "tls", "udp"):
        block.skip("port", f"{protocol!r}: use tcp, tls or udp")
        return
    result["protocol"] = protocol
    if protocol == "tls":
        variable = "NLB_CERTIFICATE_ARN_" + env.name.upper().replace("-", "_")
        result["certificate_arn"] = (
            env.certificates[0]
            if env.certificates
            else env.report.variable(variable, f"the ACM certificate for {name}'s TLS listener in {env.copilot_name}")
        )
    skips = {
        "alias": "ecsforge makes no DNS record for an NLB; point a record at its DNS name",
        "additional_listeners": "ecsforge's NLB has one listener; add a service per extra port",
        "healthcheck": "ecsforge's NLB checks the target port with TCP",
        "target_port": "the NLB forwards to its `port` on the container; use the same port",
        "ssl_policy": "ecsforge uses the load balancer's default TLS policy",
        "stickiness": "not available on ecsforge's NLB",
        "deregistration_delay": "ecsforge's NLB uses its default deregistration delay",
    }
    target = block.text("target_container")
    if target is not None and convert.name(target) != name:
        block.approx("target_container", "ecsforge's NLB targets the first container with a port")
    for key, why in skips.items():
        if block.has(key):
            block.skip(key, why)
    service["nlb"] = result


def distinct_priorities(env: Env, docs: dict[str, Doc]) -> None:
    """Copilot deploys two services on one path and host (one rule shadows the other); ecsforge
    derives one priority for both and rejects that. The later one gets the nearest free priority
    after the first, and the shadowing is reported."""
    services = env.doc.get("services", {})
    wanted = {name: _priority(service["http"]) for name, service in services.items() if "http" in service}
    taken = set(wanted.values())
    owner: dict[int, str] = {}
    for name, priority in wanted.items():
        if priority not in owner:
            owner[priority] = name
            continue
        free = next(p for p in chain(range(priority + 1, 50001), range(priority - 1, 0, -1)) if p not in taken)
        taken.add(free)
        http = services[name]["http"]
        http["priority"] = free
        first = owner[priority]
        host = (
            f"host {http.get('host') or ', '.join(http['hosts'])}"
            if http.get("host") or http.get("hosts")
            else "no host"
        )
        doc = docs.get(name)
        if doc is None:
            continue
        line, column = doc.positions.of_key(("http", "path"))
        env.report.add(
            Note(doc.file, line, column, "http.path", APPROXIMATE,
                 f"Copilot deploys both {first} and {name} on {http.get('path', '/*')} with {host}: one listener rule "
                 "shadows the other (which one followed Copilot's rule order); ecsforge gives "
                 f"{name} http.priority {free}, after {first}'s {priority}, so {first} receives these requests; give "
                 "one of them another path or a host, or swap the priorities")
        )  # fmt: skip


def _priority(http: dict[str, Any]) -> int:
    explicit = http.get("priority")
    host = http.get("host") or next(iter(http.get("hosts", [])), None)
    return explicit if isinstance(explicit, int) else derived_priority(host, http.get("path", "/*"))

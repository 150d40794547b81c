"""Security group rules as EC2 identifies them: (direction, group, peer, protocol, from port, to port).

EC2 keeps one rule per tuple; the description is not part of it. Two CloudFormation resources that
declare the same tuple share one rule, and deleting either deletes it (aws-cdk#4437). So every
tuple of a platform must be declared once. A template names groups by GetAtt, by an import of
another stack's export or by an SSM-typed parameter another stack writes: each is followed to the
security group resource it ends at, so that declarations in different stacks compare.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .model import Templates
from .templates import NESTED_SUFFIX, exports, resources, ssm_parameter_name, ssm_writes

SECURITY_GROUP = "AWS::EC2::SecurityGroup"
RULE_TYPES = {"AWS::EC2::SecurityGroupIngress": "in", "AWS::EC2::SecurityGroupEgress": "out"}
PEERS = {
    "in": ("SourceSecurityGroupId", "CidrIp", "CidrIpv6", "SourcePrefixListId"),
    "out": ("DestinationSecurityGroupId", "CidrIp", "CidrIpv6", "DestinationPrefixListId"),
}
PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
MAX_HOPS = 5  # an export of a parameter of an export ... never goes this deep

Key = tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One declared rule: the resource (or inline entry) that declares it, and its EC2 identity."""

    stack: str
    logical_id: str  # with "[n]" for the n-th inline entry of a security group
    key: tuple[Any, ...]


class Resolver:
    """Follows a group reference across the templates of one platform to a comparable key."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.exports = {name: (stack, value) for stack, t in templates.items() for name, value in exports(t).items()}
        self.parameters = {
            name: (stack, value) for stack, t in templates.items() for name, (_, value) in ssm_writes(t).items()
        }

    def key(self, stack: str, value: Any, hops: int = 0) -> Key:
        """("group", stack, logical ID) for a security group of the platform, ("literal", text) for a
        literal, ("unresolved", ...) for anything else (so that it never compares equal by accident)."""
        if isinstance(value, str | int):
            return ("literal", str(value))
        if not isinstance(value, dict) or len(value) != 1 or hops > MAX_HOPS:
            return ("unresolved", stack, json.dumps(value, sort_keys=True))
        (function, argument), *_ = value.items()
        template = self.templates[stack]
        if function in ("Ref", "Fn::GetAtt"):
            target = argument if function == "Ref" else argument[0]
            if resources(template).get(target, {}).get("Type") == SECURITY_GROUP:
                return ("group", stack, target)
            parameter = template.get("Parameters", {}).get(target)
            name = ssm_parameter_name(parameter) if parameter is not None else None
            if name is not None and name in self.parameters:
                return self.key(*self.parameters[name], hops + 1)
            if parameter is not None and "Default" in parameter and name is None:
                return ("literal", str(parameter["Default"]))
        if function == "Fn::ImportValue" and argument in self.exports:
            return self.key(*self.exports[argument], hops + 1)
        return ("unresolved", stack, json.dumps(value, sort_keys=True))


def _protocol(value: Any) -> str:
    text = str(value).lower()
    return PROTOCOLS.get(text, text)


def _rule_key(resolver: Resolver, stack: str, direction: str, group: Key, entry: dict[str, Any]) -> tuple[Any, ...]:
    peer_field = next((f for f in PEERS[direction] if f in entry), None)
    peer = resolver.key(stack, entry[peer_field]) if peer_field else ("unresolved", stack, "no peer")
    protocol = _protocol(entry.get("IpProtocol"))
    # Ports mean nothing for "all protocols": EC2 stores -1/-1 whatever the template says.
    ports = (-1, -1) if protocol == "-1" else (entry.get("FromPort"), entry.get("ToPort"))
    return (direction, group, peer, protocol, *ports)


def declared_rules(templates: Templates) -> Iterator[Rule]:
    """Every security group rule the templates declare: rule resources and groups' inline rules."""
    resolver = Resolver(templates)
    for stack, template in templates.items():
        for logical_id, resource in resources(template).items():
            properties = resource.get("Properties", {})
            direction = RULE_TYPES.get(resource["Type"])
            if direction is not None:
                group = resolver.key(stack, properties.get("GroupId", properties.get("GroupName")))
                yield Rule(stack, logical_id, _rule_key(resolver, stack, direction, group, properties))
            elif resource["Type"] == SECURITY_GROUP:
                for direction, field in (("in", "SecurityGroupIngress"), ("out", "SecurityGroupEgress")):
                    for index, entry in enumerate(properties.get(field, [])):
                        key = _rule_key(resolver, stack, direction, ("group", stack, logical_id), entry)
                        yield Rule(stack, f"{logical_id}[{index}]", key)


def duplicates(templates: Templates) -> dict[tuple[Any, ...], list[Rule]]:
    """The rule tuples declared more than once, with every declaration."""
    found: dict[tuple[Any, ...], list[Rule]] = {}
    for rule in declared_rules(templates):
        found.setdefault(rule.key, []).append(rule)
    return {key: rules for key, rules in found.items() if len(rules) > 1}


def unresolved(templates: Templates) -> list[Rule]:
    """Rules of ecsforge's own stacks whose group or peer could not be followed to a group or a
    literal. An addon's nested template (`*.nested`) is the user's, and its rules may name its own
    parameters: they still count in duplicates(), but need not resolve."""
    return [
        r
        for r in declared_rules(templates)
        if not r.stack.endswith(NESTED_SUFFIX) and "unresolved" in (r.key[1][0], r.key[2][0])
    ]

"""Security group rules that several workloads need alike (ecsforge/constructs/shared_rules.py).

EC2 keeps one rule per (group, peer, protocol, ports) and CloudFormation deletes it when any
resource declaring it is deleted (aws-cdk#4437). So no tuple is declared twice anywhere in a
platform (the gates check every example, this module every lifecycle manifest), removing one of
two workloads leaves the other the rules it needs, and the upgrade from the previous version moves
the shared rules into the cluster stack in one deploy. "Survives" follows that model: a rule that
NEW declares is there after the deploy and the destroys unless a declaration of the same tuple is
deleted on the way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ecsforge import names
from ecsforge.diff import DiffResult, Templates, diff_templates
from ecsforge.diff.rule_hazards import KIND
from ecsforge.diff.rules import Resolver, declared_rules, duplicates, unresolved
from ecsforge.manifest import load_manifest
from ecsforge.manifest.instances import instance_ports

from .helpers import ROOT

LIFECYCLE = ROOT / "tests" / "manifests" / "lifecycle"
LIFECYCLE_MANIFESTS = sorted(p.stem for p in LIFECYCLE.glob("*.yml"))
# shared-rules.yml synthesized by the previous ecsforge version (commit c7b26b7), cut down by
# security_view(): what the rules are, where they are declared, and what their references name.
PREVIOUS = LIFECYCLE / "previous-version" / "shared-rules.json"
KEPT_TYPES = {
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::SSM::Parameter",
}
CLUSTER = "life-shared-cluster"
Key = tuple[Any, ...]


def security_view(templates: Templates) -> Templates:
    """The security groups, their rules and SSM parameters, the SSM-typed template parameters, the
    exports and the services' network configuration of every stack: all that rules.py follows."""
    view = {}
    for stack, template in templates.items():
        kept = {k: v for k, v in template.get("Resources", {}).items() if v["Type"] in KEPT_TYPES}
        view[stack] = {
            "Parameters": {
                k: v for k, v in template.get("Parameters", {}).items() if "SSM::Parameter" in str(v.get("Type"))
            },
            "Outputs": {k: v for k, v in template.get("Outputs", {}).items() if "Export" in v},
            "Resources": {k: {p: x for p, x in v.items() if p != "Metadata"} for k, v in kept.items()},
        }
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::ECS::Service":  # which groups its tasks join
                network = resource["Properties"].get("NetworkConfiguration", {})
                view[stack]["Resources"][logical_id] = {
                    "Type": resource["Type"],
                    "Properties": {"NetworkConfiguration": network},
                }
    return view


def surviving(old: Templates, new: Templates) -> set[Key]:
    """The rules NEW declares that still exist after deploying NEW over OLD and destroying the
    stacks NEW no longer has: none of whose OLD declarations is deleted (its stack destroyed, or
    its resource gone from the stack or declaring another tuple)."""
    declared_new = {(r.key, r.stack, r.logical_id) for r in declared_rules(new)}
    deleted = {r.key for r in declared_rules(old) if (r.key, r.stack, r.logical_id) not in declared_new}
    return {r.key for r in declared_rules(new)} - deleted


def covers(rules: set[Key], *, group: Key, peer: Key, ports: tuple[int, int]) -> bool:
    """Whether the TCP rules from peer into group admit every port of the range."""
    low, high = ports
    ranges = sorted((k[4], k[5]) for k in rules if k[:4] == ("in", group, peer, "tcp"))
    for start, end in ranges:
        if start <= low <= end:
            low = end + 1
        if low > high:
            return True
    return False


def imported(new: Templates, what: str) -> Key:
    return Resolver(new).key(CLUSTER, {"Fn::ImportValue": f"life-shared-{what}"})


def volume_group(new: Templates, manifest: Any, volume: str) -> Key:
    resolver = Resolver(new)
    stack, value = resolver.parameters[names.volume_security_group_parameter(manifest, volume)]
    return resolver.key(stack, value)


def task_groups(new: Templates, service: str) -> list[Key]:
    """The security groups of an awsvpc service's tasks, as rules.py names them."""
    stack = f"life-shared-service-{service}"
    (ecs,) = [r for r in new[stack]["Resources"].values() if r["Type"] == "AWS::ECS::Service"]
    groups = ecs["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    return [Resolver(new).key(stack, g) for g in groups]


def assert_reachable(old: Templates, new: Templates, manifest_name: str) -> None:
    """Every bridge service behind the load balancer, every bridge workload mounting the volume and
    every awsvpc service behind the load balancer of NEW keeps the rules it needs."""
    manifest = load_manifest(LIFECYCLE / f"{manifest_name}.yml").manifest
    rules = surviving(old, new)
    alb, general = imported(new, names.ALB_SECURITY_GROUP), imported(new, names.capacity_security_group("general"))
    checked = 0
    for name, spec in manifest.http_services.items():
        container = spec.http_container or ""
        port = spec.containers[container].port or 0
        if spec.network_mode == "bridge":
            assert covers(rules, group=general, peer=alb, ports=instance_ports(spec, container, port)), name
        else:
            assert any(covers(rules, group=g, peer=alb, ports=(port, port)) for g in task_groups(new, name)), name
        checked += 1
    shared = volume_group(new, manifest, "shared")
    assert covers(rules, group=shared, peer=general, ports=(2049, 2049))
    assert checked == len(manifest.http_services) >= 2


# --- (a) no tuple declared twice, in every lifecycle manifest -------------------------------------


@pytest.mark.parametrize("name", LIFECYCLE_MANIFESTS)
def test_no_rule_is_declared_twice(templates: Callable[[str], Templates], name: str) -> None:
    found = templates(name)
    assert unresolved(found) == []
    assert {repr(k): [(r.stack, r.logical_id) for r in rules] for k, rules in duplicates(found).items()} == {}


def test_the_shared_manifest_declares_each_shared_rule_once_in_the_cluster_stack(templates) -> None:
    new = templates("shared-rules")
    general = imported(new, names.capacity_security_group("general"))
    shared = volume_group(new, load_manifest(LIFECYCLE / "shared-rules.yml").manifest, "shared")
    owners = {(r.stack, r.key[1], r.key[2]) for r in declared_rules(new) if r.key[0] == "in" and general in r.key[1:3]}
    assert owners == {
        (CLUSTER, general, imported(new, names.ALB_SECURITY_GROUP)),
        (CLUSTER, shared, general),
    }


# --- (b) one of two workloads removed ---------------------------------------------------------------


def test_removing_one_of_two_bridge_services_keeps_the_other_reachable(
    templates: Callable[[str], Templates], diff: Callable[[str, str], DiffResult]
) -> None:
    old, new = templates("shared-rules"), templates("shared-rules-one-removed")
    result = diff("shared-rules", "shared-rules-one-removed")
    assert {s.name for s in result.stacks if s.status == "removed"} == {
        "life-shared-service-admin",
        "life-shared-service-payments",
    }
    assert_reachable(old, new, "shared-rules-one-removed")
    assert [h for h in result.hazards if h.kind == KIND] == []
    assert {s.name for s in result.stacks if s.status not in ("removed", "unchanged")} == set()


# --- the upgrade from the previous version ------------------------------------------------------


def test_upgrading_from_the_previous_version_moves_the_shared_rules_in_one_deploy(templates) -> None:
    old, new = json.loads(PREVIOUS.read_text()), security_view(templates("shared-rules"))
    # The previous version declared the shared rules in every workload stack.
    assert len(duplicates(old)) == 3 and duplicates(new) == {}
    assert_reachable(old, new, "shared-rules")
    result = diff_templates(old, new, old_manifest="previous", new_manifest="shared-rules", region="eu-west-1")
    assert [h for h in result.hazards if h.kind == KIND] == []


def test_a_shared_rule_with_the_previous_tuple_would_not_survive_the_upgrade(templates) -> None:
    """The check above can fail: the cluster's dynamic-port rules as one 32768-65535 rule, the
    tuple each bridge service's stack declared before."""
    old, new = json.loads(PREVIOUS.read_text()), security_view(templates("shared-rules"))
    cluster = new[CLUSTER]["Resources"]
    dynamic = sorted(k for k in cluster if k.startswith("LoadBalancerToDynamicPorts"))
    cluster[dynamic[0]]["Properties"]["ToPort"] = 65535
    del cluster[dynamic[1]]
    with pytest.raises(AssertionError):
        assert_reachable(old, new, "shared-rules")
    result = diff_templates(old, new, old_manifest="previous", new_manifest="shared-rules", region="eu-west-1")
    assert {h.stack for h in result.hazards if h.kind == KIND and "32768-65535" in h.what} == {CLUSTER}


# --- what cannot be made safe: `ecsforge diff` flags it --------------------------------------------


def test_a_fixed_host_port_moved_to_another_service_is_a_hazard(diff: Callable[[str, str], DiffResult]) -> None:
    result = diff("bridge-alb-host-port", "bridge-alb-host-port-moved")
    (hazard,) = [h for h in result.hazards if h.kind == KIND]
    assert hazard.stack == "life-bridge-service-admin" and "port 8080" in hazard.what
    assert "life-bridge-service-web/ServiceFromAlbTogeneral" in hazard.what


def test_the_last_bridge_service_leaving_a_group_is_a_hazard(diff: Callable[[str, str], DiffResult]) -> None:
    """The cluster stack deletes the group's dynamic-port rules before the service's stack moves it."""
    result = diff("bridge-alb", "bridge-alb-awsvpc")
    flagged = [h for h in result.hazards if h.kind == KIND]
    removed = [c.logical_id for c in result.stack("life-bridge-cluster").by_action("removed")]
    assert len(removed) == 2 and sorted(h.what.split(" ")[0] for h in flagged) == sorted(removed)
    assert all(h.stack == "life-bridge-cluster" and "life-bridge-service-web" in h.what for h in flagged)


def test_a_fixed_host_port_on_a_dynamic_port_service_keeps_the_cluster_rules(
    diff: Callable[[str, str], DiffResult],
) -> None:
    """The cluster's rules stay while a bridge service is on the group, fixed port or not: neither
    direction waits for the cluster stack."""
    for old, new in (("bridge-alb", "bridge-alb-host-port"), ("bridge-alb-host-port", "bridge-alb")):
        result = diff(old, new)
        assert result.stack("life-bridge-cluster").status == "unchanged"
        assert [h for h in result.hazards if h.kind == KIND] == []

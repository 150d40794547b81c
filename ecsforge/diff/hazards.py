"""The hazards of a deploy: one rule, one function, each returning its Hazard or None.

Rules in one group run change by change (or service by service); groups run in order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from .model import ADDED, REMOVED, REPLACED, UPDATED, Hazard, ResourceChange
from .nested import addon_of, deleted_with_addon
from .remedies import export_remedy
from .services import NLB_PROTOCOLS, pinned_count
from .templates import refs
from .view import DeployView, StackView, is_released_tag, is_stateful

README_RULE_PROCEDURE = 'README "ecsforge diff: listener rules of blue/green services"'
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
# A service's own NLB: ECS shifts its listener's default action the way it shifts an ALB rule.
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
WEB_ACL_ASSOCIATION = "AWS::WAFv2::WebACLAssociation"

ChangeRule = Callable[[StackView, ResourceChange], Hazard | None]
ServiceRule = Callable[[StackView, str], Hazard | None]


def show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- across stacks ---------------------------------------------------------------------------


def export_still_imported(deploy: DeployView, name: str) -> Hazard | None:
    """An export changes or goes while an OLD stack imports it: CloudFormation refuses."""
    users = deploy.users(name)
    if not users:
        return None
    gone = name not in deploy.new_exports
    still = [u for u in users if u not in deploy.removed_stacks]
    removed_users = [u for u in users if u in deploy.removed_stacks]
    steps = []
    if removed_users:
        steps.append("destroy " + ", ".join(removed_users) + " first (see below)")
    if still:
        steps.append(export_remedy(name, still, deploy.old, deploy.old_manifest))
    return Hazard(
        deploy.old_exports[name][0],
        "export",
        f"export {name} is {'removed' if gone else 'changed'} while {', '.join(users)} import it: "
        "the deploy would fail",
        "; ".join(steps),
    )


def stack_left_behind(deploy: DeployView, stack: str) -> Hazard:
    """A stack gone from the manifest stays deployed until someone destroys it."""
    command = f"cdk destroy {stack} -c manifest={deploy.old_manifest}"
    if stack in deploy.destroy_first:
        return Hazard(
            stack,
            "stack-removed",
            "gone from the manifest, and it imports exports that this deploy changes or removes",
            f"run `{command}` BEFORE deploying",
        )
    return Hazard(
        stack, "stack-removed", "gone from the manifest, but `cdk deploy` never deletes stacks", f"run `{command}`"
    )


def stateful_destroyed_with_stack(stack: str, logical_id: str, resource: dict[str, Any]) -> Hazard | None:
    """Destroying a removed stack deletes its stateful resources that are not retained."""
    if not is_stateful(logical_id, resource["Type"]) or resource.get("DeletionPolicy") == "Retain":
        return None
    return Hazard(
        stack,
        "stateful",
        f"{logical_id} ({resource['Type']}) is deleted with the stack, and its data",
        "back it up first or set DeletionPolicy Retain",
    )


def deploy_hazards(deploy: DeployView) -> Iterator[Hazard]:
    """Exports first, then each removed stack and its stateful resources."""
    for name in sorted(deploy.changed_exports):
        hazard = export_still_imported(deploy, name)
        if hazard is not None:
            yield hazard
    for stack in deploy.removed_stacks:
        yield stack_left_behind(deploy, stack)
        for logical_id, resource in sorted(deploy.old_resources(stack).items()):
            hazard = stateful_destroyed_with_stack(stack, logical_id, resource)
            if hazard is not None:
                yield hazard


# --- one common stack: stateful resources ----------------------------------------------------


def stateful_replaced(view: StackView, change: ResourceChange) -> Hazard | None:
    """A stateful resource is replaced: the new one starts empty."""
    if change.action != REPLACED or not is_stateful(change.logical_id, change.type):
        return None
    return Hazard(
        view.stack,
        "stateful",
        f"{change.logical_id} ({change.type}) is replaced ({', '.join(change.replaced_by)}): the new one starts empty",
        "keep the create-only properties as they are, or migrate the data by hand",
    )


def stateful_deleted(view: StackView, change: ResourceChange) -> Hazard | None:
    """A stateful resource that is not retained is removed, and its data with it."""
    if change.action != REMOVED or not is_stateful(change.logical_id, change.type):
        return None
    if view.old_resources[change.logical_id].get("DeletionPolicy") == "Retain":
        return None  # a note
    addon = addon_of(change.logical_id)
    if addon is not None and addon in view.removed_addons:
        return deleted_with_addon(view.stack, change, addon)
    return Hazard(
        view.stack,
        "stateful",
        f"{change.logical_id} ({change.type}) is deleted, and its data{view.successor(change)}",
        "keep its logical ID (construct ID) or back the data up first",
    )


def released_tag_overwritten(view: StackView, change: ResourceChange) -> Hazard | None:
    """An SSM parameter the pipeline writes: any update of it puts the template's Value again."""
    if change.type != "AWS::SSM::Parameter" or change.action != UPDATED:
        return None
    properties = view.new_resources[change.logical_id].get("Properties", {})
    name = properties.get("Name")
    if not is_released_tag(f"{change.logical_id}{name}"):
        return None
    return Hazard(
        view.stack,
        "released-tag",
        f"{change.logical_id} ({name}) is updated ({', '.join(change.properties)}): CloudFormation "
        f"writes its template value {show(properties.get('Value'))} back over the tag the pipeline released",
        f"right after the deploy, put the released tag back (`aws ssm put-parameter --name {name} "
        "--value <tag> --overwrite`) or re-run the pipeline",
    )


# --- one common stack: desired count ---------------------------------------------------------


def scaled_count_reset(view: StackView, service: str) -> Hazard | None:
    """An updated service pins DesiredCount while auto scaling scales it: the count is reset."""
    change = view.updated.get(service)
    pinned = pinned_count(view.desired_count(service))
    if change is None or pinned is None or service not in view.scaled:
        return None
    return Hazard(
        view.stack,
        "desired-count",
        f"{service} is updated ({', '.join(change.properties)}) with DesiredCount {pinned} while "
        "Application Auto Scaling scales it: the running count is reset to that",
        "deploy when the service runs at about that count, or leave DesiredCount out of the template",
    )


def desired_count_set(view: StackView, service: str) -> Hazard | None:
    """An unscaled service's pinned DesiredCount changes: the running count is set to it."""
    change = view.updated.get(service)
    count = view.desired_count(service)
    if change is None or "DesiredCount" not in change.properties or service in view.scaled:
        return None
    if pinned_count(count) is None:
        return None
    return Hazard(
        view.stack,
        "desired-count",
        f"{service} DesiredCount changes ({show(view.desired_count(service, old=True))} -> {show(count)}): "
        "the running count is set to it",
        "make sure that is the count you want running now",
    )


# --- one common stack: load balancing --------------------------------------------------------


def listener_rule_rewritten(view: StackView, change: ResourceChange) -> Hazard | None:
    """CloudFormation rewrites a listener rule that ECS owns after a blue/green, canary or linear swap."""
    # A rule under a new logical ID is a replacement too: removed and another one added.
    renamed = any(c.type == change.type and c.action == ADDED for c in view.changes)
    # Any update rewrites the whole rule, a tags-only one included.
    rewritten = change.action in (REPLACED, UPDATED) or (change.action == REMOVED and renamed)
    if change.type not in (LISTENER_RULE, LISTENER) or not view.shifting or not rewritten:
        return None
    what = "listener rule" if change.type == LISTENER_RULE else "NLB listener"
    return Hazard(
        view.stack,
        "listener-rule",
        f"{what} {change.logical_id} is {change.action} ({', '.join(change.properties)}) "
        f"while {', '.join(view.shifting)} deploys blue/green, canary or linear: ECS owns this rule "
        "after a swap; CloudFormation would point it back at the primary target group",
        f"follow {README_RULE_PROCEDURE} before `cdk deploy`",
    )


def load_balancer_replaced(view: StackView, change: ResourceChange) -> Hazard | None:
    """A replaced or removed load balancer takes its DNS name, listeners and rules with it."""
    if change.type != "AWS::ElasticLoadBalancingV2::LoadBalancer" or change.action not in (REPLACED, REMOVED):
        return None
    why = f" ({', '.join(change.replaced_by)})" if change.replaced_by else ""
    return Hazard(
        view.stack,
        "load-balancer",
        f"load balancer {change.logical_id} is {change.action}{why}: it gets a new DNS name, its "
        "listeners and every service's listener rule are replaced with it",
        (
            "the load_balancer.domain records follow it in the same deploy; point any other DNS record"
            if any(r["Type"] == "AWS::Route53::RecordSet" for r in view.new_resources.values())
            else "point DNS records (CNAME/alias)"
        )
        + " at the new DNS name after the deploy; expect downtime "
        "until the service stacks have been deployed too (`cdk deploy --all`)",
    )


def nlb_target_group_replaced(view: StackView, change: ResourceChange) -> Hazard | None:
    """A service's NLB target group replaced (its protocol changed): the listener and the
    service move to a new, empty group."""
    if change.type != TARGET_GROUP or change.action != REPLACED:
        return None
    before = view.old_resources.get(change.logical_id, {}).get("Properties", {})
    if before.get("Protocol") not in NLB_PROTOCOLS:
        return None
    return Hazard(
        view.stack,
        "target-group",
        f"NLB target group {change.logical_id} is replaced ({', '.join(change.replaced_by)}): ECS "
        "registers the tasks in the new group while the listener moves to it; open connections drop and "
        "clients are refused until the new targets pass their health checks",
        "deploy in a maintenance window, or run a second service with the new protocol and move clients over",
    )


def https_listener_lost(view: StackView, change: ResourceChange) -> Hazard | None:
    """An HTTPS listener stops being HTTPS, and its certificate goes."""
    if change.type != "AWS::ElasticLoadBalancingV2::Listener" or change.action not in (REMOVED, REPLACED, UPDATED):
        return None
    before = view.old_resources.get(change.logical_id, {}).get("Properties", {})
    after = view.new_resources.get(change.logical_id, {}).get("Properties", {}) if change.action != REMOVED else {}
    protocol = before.get("Protocol")
    # HTTPS: the shared ALB's listener; TLS: a service's own NLB listener.
    if protocol not in ("HTTPS", "TLS") or after.get("Protocol") == protocol:
        return None
    field = "load_balancer.certificate_arn" if protocol == "HTTPS" else "nlb.protocol: tls"
    return Hazard(
        view.stack,
        "https",
        f"{protocol} listener {change.logical_id} is {change.action} and its certificate with it: "
        f"{protocol} clients lose service",
        f"keep {field}, or tell the clients to use {'HTTP' if protocol == 'HTTPS' else 'plain TCP'} first",
    )


def dns_record_removed(view: StackView, change: ResourceChange) -> Hazard | None:
    """An alias record of load_balancer.domain goes: its name stops resolving to the load balancer."""
    if change.type != "AWS::Route53::RecordSet" or change.action != REMOVED:
        return None
    properties = view.old_resources[change.logical_id].get("Properties", {})
    name, kind = properties.get("Name"), properties.get("Type")
    return Hazard(
        view.stack,
        "dns",
        f"{kind} record {name} is deleted: clients of that name no longer reach the load balancer",
        "make sure nobody uses the name any more, or keep a service with that http.host",
    )


def discovery_name_removed(view: StackView, change: ResourceChange) -> Hazard | None:
    """A service's Cloud Map service (`discovery`) goes: its DNS name stops resolving."""
    if change.type != "AWS::ServiceDiscovery::Service" or change.action != REMOVED:
        return None
    name = view.old_resources[change.logical_id].get("Properties", {}).get("Name")
    return Hazard(
        view.stack,
        "dns",
        f"Cloud Map service {name} is deleted: callers that resolve {name}.<namespace> get no answer",
        "move them to the load balancer or to Service Connect (`connect: true` on both sides) before deploying",
    )


def web_acl_switched(view: StackView, change: ResourceChange) -> Hazard | None:
    """The load balancer's web ACL association is replaced by one for another ACL (managed rules
    <-> web_acl_arn): DisassociateWebACL takes only the load balancer, so deleting either association
    detaches whatever ACL is attached then."""
    if change.type != WEB_ACL_ASSOCIATION or change.action != REPLACED or "WebACLArn" not in change.replaced_by:
        return None
    new = view.new_resources[change.logical_id]
    properties = new.get("Properties", {})
    balancer = next((name for kind, name in refs(properties.get("ResourceArn")) if kind == "ref"), "the load balancer")
    acl = properties.get("WebACLArn")
    named = [name for kind, name in refs(acl) if kind == "ref"]
    intended = acl if isinstance(acl, str) else f"<the ARN of {named[0] if named else 'the new web ACL'}>"
    # CloudFormation may apply the deployed template's UpdateReplacePolicy: say so when only NEW has it.
    retained = (
        "the replaced association is retained (UpdateReplacePolicy Retain), so its clean-up cannot detach the new "
        "ACL, but "
        if all(r.get("UpdateReplacePolicy") == "Retain" for r in (new, view.old_resources[change.logical_id]))
        else "the deployed template does not retain the replaced association, so its clean-up at the end of the "
        "update can detach the new ACL, and "
    )
    return Hazard(
        view.stack,
        "waf",
        f"web ACL association {change.logical_id} is replaced ({', '.join(change.replaced_by)}): CloudFormation "
        f"associates the new web ACL with {balancer} first; {retained}a rollback of this update deletes the new "
        f"association, which can leave {balancer} without a web ACL",
        f"after `cdk deploy`, and after any rollback, run `aws wafv2 get-web-acl-for-resource --resource-arn <ARN>` "
        f"(the ARN: `aws cloudformation describe-stack-resource --stack-name {view.stack} --logical-resource-id "
        f"{balancer}`); if it names no web ACL, run `aws wafv2 associate-web-acl --resource-arn <ARN> "
        f"--web-acl-arn {intended}` (after a rollback: the ACL of the deployed manifest)",
    )


# --- one common stack: the network ----------------------------------------------------------


def endpoint_removed_without_nat(view: StackView, change: ResourceChange) -> Hazard | None:
    """Without NAT gateways a VPC endpoint is the tasks' only way to its service. `cdk deploy --all`
    updates the network stack first, so it goes while the workloads that used it still run."""
    if change.type != "AWS::EC2::VPCEndpoint" or change.action not in (REMOVED, REPLACED):
        return None
    if any(r.get("Type") == "AWS::EC2::NatGateway" for r in view.new_resources.values()):
        return None
    name = json.dumps(view.old_resources[change.logical_id].get("Properties", {}).get("ServiceName"))
    service = name.rsplit(".", 1)[-1].strip('"]}')
    return Hazard(
        view.stack,
        "endpoint",
        f"VPC endpoint {change.logical_id} ({service}) is {change.action}, and the network has no NAT gateway: "
        f"tasks still calling {service} lose it, those of workload stacks until their own update after the "
        "network stack, and those of removed stacks until they are destroyed",
        "first deploy the workload stacks that stop using it (`cdk deploy --exclusively <stack>...`) and destroy "
        "the removed ones, then `cdk deploy --all`",
    )


# --- running the rules -----------------------------------------------------------------------

STATEFUL_RULES: tuple[ChangeRule, ...] = (stateful_replaced, stateful_deleted)
RELEASED_TAG_RULES: tuple[ChangeRule, ...] = (released_tag_overwritten,)
COUNT_RULES: tuple[ServiceRule, ...] = (scaled_count_reset, desired_count_set)
LOAD_BALANCER_RULES: tuple[ChangeRule, ...] = (
    listener_rule_rewritten,
    load_balancer_replaced,
    https_listener_lost,
    dns_record_removed,
    discovery_name_removed,
    nlb_target_group_replaced,
    web_acl_switched,
)
NETWORK_RULES: tuple[ChangeRule, ...] = (endpoint_removed_without_nat,)


def _by_change(view: StackView, rules: tuple[ChangeRule, ...]) -> Iterator[Hazard]:
    for change in view.changes:
        for rule in rules:
            hazard = rule(view, change)
            if hazard is not None:
                yield hazard


def _by_service(view: StackView, rules: tuple[ServiceRule, ...]) -> Iterator[Hazard]:
    for service in view.kept_services():
        for rule in rules:
            hazard = rule(view, service)
            if hazard is not None:
                yield hazard


def stateful_hazards(view: StackView) -> list[Hazard]:
    return [*_by_change(view, STATEFUL_RULES), *_by_change(view, RELEASED_TAG_RULES)]


def service_hazards(view: StackView) -> list[Hazard]:
    return [*_by_service(view, COUNT_RULES), *_by_change(view, LOAD_BALANCER_RULES), *_by_change(view, NETWORK_RULES)]

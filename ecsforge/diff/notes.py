"""What a deploy does that is worth knowing but needs no action: one rule, one function."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .model import ADDED, CHANGED, REMOVED, REPLACED, UNCHANGED, UPDATED, Note, ResourceChange, StackDiff
from .services import pinned_count
from .view import DeployView, StackView, is_stateful


def name_taken(resource: dict[str, Any]) -> str:
    """For a named secret left behind: creating one of that name again fails while it exists."""
    name = resource.get("Properties", {}).get("Name")
    if resource["Type"] != "AWS::SecretsManager::Secret" or not isinstance(name, str):
        return ""
    return (
        f"; deploying a secret named {name} again fails while it exists: first run `aws secretsmanager "
        f"delete-secret --secret-id {name} --force-delete-without-recovery` (its value is lost; a plain "
        "delete-secret keeps the name taken for its 7 to 30 day recovery window)"
    )


def retained_with_stack(stack: str, logical_id: str, resource: dict[str, Any]) -> Note | None:
    """A retained stateful resource of a removed stack outlives its destroy."""
    if not is_stateful(logical_id, resource["Type"]) or resource.get("DeletionPolicy") != "Retain":
        return None
    return Note(
        stack, f"{logical_id} ({resource['Type']}) is kept (Retain) and orphaned on destroy{name_taken(resource)}"
    )


def count_pinned_while_scaled(view: StackView, service: str) -> Note | None:
    """A scaled service that this deploy leaves alone pins DesiredCount: a later update resets it."""
    pinned = pinned_count(view.desired_count(service))
    if service in view.updated or pinned is None or service not in view.scaled:
        return None
    return Note(view.stack, f"{service} pins DesiredCount {pinned} while scaled: any later update resets it")


def retained_and_orphaned(view: StackView, change: ResourceChange) -> Note | None:
    """A removed stateful resource that is retained stays, outside the stack."""
    if change.action != REMOVED or not is_stateful(change.logical_id, change.type):
        return None
    if view.old_resources[change.logical_id].get("DeletionPolicy") != "Retain":
        return None
    resource = view.old_resources[change.logical_id]
    return Note(
        view.stack,
        f"{change.logical_id} ({change.type}) is kept (Retain) and orphaned{view.successor(change)}"
        f"{name_taken(resource)}",
    )


def ebs_volume_dropped(view: StackView, change: ResourceChange) -> Note | None:
    """A service that stops mounting its EBS volume: ECS keeps a service's volume configuration unless
    UpdateService gets an empty list ("Configure a service to no longer utilize Amazon EBS volumes";
    terraform-provider-aws#49185 saw "no matching configuredAtLaunch volume" without one), and
    whether CloudFormation sends one when the property leaves the template is not verified."""
    if change.type != "AWS::ECS::Service" or change.action != UPDATED:
        return None
    if "VolumeConfigurations" not in change.properties:
        return None
    if "VolumeConfigurations" in view.new_resources[change.logical_id].get("Properties", {}):
        return None
    return Note(
        view.stack,
        f'{change.logical_id} stops attaching EBS volumes: if its deployment fails with "no matching '
        "configuredAtLaunch volume\", add an override setting the service's VolumeConfigurations to [] "
        "and deploy again",
    )


def certificate_replaced(view: StackView, change: ResourceChange) -> Note | None:
    """A managed certificate gets other names: replaced, without a gap (AWS::CertificateManager::Certificate
    has no name, so CloudFormation creates the new one first)."""
    if change.type != "AWS::CertificateManager::Certificate" or change.action != REPLACED:
        return None
    properties = view.new_resources[change.logical_id].get("Properties", {})
    names = [properties.get("DomainName"), *properties.get("SubjectAlternativeNames", [])]
    validated = any("HostedZoneId" in o for o in properties.get("DomainValidationOptions", []))
    how = "validated through the hosted zone (the deploy waits until ACM has issued it, usually minutes)"
    return Note(
        view.stack,
        f"{change.logical_id} is replaced ({', '.join(change.replaced_by)}) by a certificate for "
        f"{', '.join(str(n) for n in names)}, {how if validated else 'validated as its options say'}; "
        "the listeners move to it, and the old certificate is deleted only at the end, so HTTPS never lacks one",
    )


def waf_log_group_created(view: StackView, change: ResourceChange) -> Note | None:
    """WAF's log group has a fixed name (WAF takes only aws-waf-logs-*) and is kept when its ACL goes,
    so creating it again fails while the kept one exists."""
    if change.type != "AWS::Logs::LogGroup" or change.action != ADDED:
        return None
    name = view.new_resources[change.logical_id].get("Properties", {}).get("LogGroupName")
    if not isinstance(name, str) or not name.startswith("aws-waf-logs-"):
        return None
    return Note(
        view.stack,
        f"{change.logical_id} creates the log group {name}: if a web ACL of an earlier deploy left it behind "
        f"(it is kept when the ACL goes), the deploy fails; export what you need and delete it first "
        f"(`aws logs delete-log-group --log-group-name {name}`)",
    )


def stack_status(diff: StackDiff) -> Note | None:
    """A stack that is unchanged, changes only tags, or is new."""
    if diff.status == UNCHANGED:
        return Note(diff.name, "unchanged")
    if diff.tags_only:
        return Note(diff.name, "tags only")
    if diff.status == ADDED:
        return Note(diff.name, f"new stack, {len(diff.changes)} resources")
    return None


def removed_stack_notes(deploy: DeployView) -> Iterator[Note]:
    for stack in deploy.removed_stacks:
        for logical_id, resource in sorted(deploy.old_resources(stack).items()):
            note = retained_with_stack(stack, logical_id, resource)
            if note is not None:
                yield note


def service_notes(view: StackView) -> Iterator[Note]:
    for service in view.kept_services():
        note = count_pinned_while_scaled(view, service)
        if note is not None:
            yield note


def stack_notes(diff: StackDiff, view: StackView | None) -> Iterator[Note]:
    """The notes of one stack of the result; view is None for a stack that is not in both."""
    if diff.status == CHANGED and view is not None:
        for change in view.changes:
            for rule in (retained_and_orphaned, certificate_replaced, waf_log_group_created, ebs_volume_dropped):
                note = rule(view, change)
                if note is not None:
                    yield note
    note = stack_status(diff)
    if note is not None:
        yield note

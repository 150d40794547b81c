"""What to do when a deploy changes an export that deployed stacks import: steps a user can follow.

CloudFormation refuses to change or remove an export while a stack imports it. Whether a
deploy order gets around that depends on why the stack imports it: a service imports the
namespace only for `connect` or `discovery`, which can be taken out for a while; every
workload imports the VPC and the cluster for as long as it exists.
"""

from __future__ import annotations

import re
from typing import Any

from .. import names
from .templates import refs, resources

# Exports that every service and task stack imports for as long as it exists.
ALWAYS_IMPORTED = (
    names.VPC_ID,
    names.VPC_CIDR,
    names.PRIVATE_SUBNETS,
    names.PUBLIC_SUBNETS,
    names.PRIVATE_ROUTE_TABLES,
    names.PUBLIC_ROUTE_TABLES,
    names.CLUSTER_NAME,
    names.CLUSTER_ARN,
    names.ALB_SECURITY_GROUP,
)
# Exports a service imports only for these fields, which it can drop for a deploy.
OPTIONAL = {names.NAMESPACE_ARN: "cluster.namespace", names.NAMESPACE_ID: "cluster.namespace"}
CONNECT_IMPORTS = (names.CONNECT_SECURITY_GROUP,)
SERVICE = re.compile(r": ECS service (?P<name>\S+)$")
CAPACITY = re.compile(r"-capacity-(?P<key>[a-z0-9-]+)-security-group-id$")
MANAGED_INSTANCES = re.compile(r"-capacity-(?P<key>[a-z0-9-]+)-provider-name$")


def _importing_fields(template: dict[str, Any], export: str) -> set[str]:
    """The manifest fields (`connect`, `discovery`) for which a service stack imports the export;
    "?" for an import that is for something else."""
    fields = set()
    for resource in resources(template).values():
        properties = resource.get("Properties", {})
        for key, value in properties.items() if isinstance(properties, dict) else []:
            if ("import", export) not in set(refs(value)):
                continue
            if resource["Type"] == "AWS::ServiceDiscovery::Service":
                fields.add("discovery")
            elif resource["Type"] == "AWS::ECS::Service" and key in (
                "ServiceConnectConfiguration",
                "NetworkConfiguration",
            ):
                fields.add("connect")
            else:
                fields.add("?")
    return fields


def _service_name(template: dict[str, Any]) -> str | None:
    found = SERVICE.search(str(template.get("Description", "")))
    return found.group("name") if found else None


def _temporary_removal(export: str, still: list[str], old: dict[str, dict[str, Any]]) -> str | None:
    """Three deploys, when every importer is a service that imports the export only for `connect`
    or `discovery`: take those out, change the value, put them back."""
    removals = []
    for stack in still:
        service = _service_name(old[stack])
        fields = _importing_fields(old[stack], export)
        if service is None or not fields or "?" in fields:
            return None
        removals += [f"services.{service}.{field}" for field in sorted(fields)]
    setting = next((field for suffix, field in OPTIONAL.items() if export.endswith(f"-{suffix}")), None)
    keep = f"; or keep {setting} as it is" if setting else ""
    return (
        f"a deploy order alone cannot do it, these stacks import it for as long as they use it: change it in three "
        f"deploys: (1) set {', '.join(removals)} to false and `cdk deploy --all` with the current value (those "
        "services cannot be reached by their names until step 3); (2) deploy the new value; (3) set them back to "
        f"true and deploy again{keep}"
    )


def export_remedy(export: str, still: list[str], old: dict[str, dict[str, Any]], old_manifest: str) -> str:
    """The steps for an export that OLD stacks `still` import (stacks that stay deployed)."""
    if export.endswith(tuple(f"-{suffix}" for suffix in (*OPTIONAL, *CONNECT_IMPORTS))):
        steps = _temporary_removal(export, still, old)
        if steps is not None:
            return steps
    if export.endswith(tuple(f"-{suffix}" for suffix in ALWAYS_IMPORTED)):
        destroy = f"cdk destroy {' '.join(still)} -c manifest={old_manifest}"
        return (
            "no deploy order avoids it, these stacks need it (network, cluster, load balancer) for as long as they "
            f"exist: undo the change that replaces it, or run `{destroy}`, deploy, and deploy them again (they are "
            "down in between)"
        )
    group = CAPACITY.search(export)
    if group:
        return (
            f"change it in two deploys: first move the services of {', '.join(still)} off EC2 group "
            f"{group.group('key')!r} (their `capacity`) and deploy them, then the rest"
        )
    managed = MANAGED_INSTANCES.search(export)
    if managed:
        return (
            f"change it in two deploys: first move the workloads of {', '.join(still)} off managed instances "
            f"{managed.group('key')!r} (their `capacity`) and deploy them, then remove the provider"
        )
    if export.endswith((f"-{names.LISTENER_ARN}", f"-{names.ALB_FULL_NAME}")):
        return (
            f"change it in two deploys: first deploy {', '.join(still)} with this ecsforge version, which reads the "
            "SSM parameter instead, then the rest"
        )
    return f"change it in two deploys: first deploy {', '.join(still)} so that they no longer import it, then the rest"

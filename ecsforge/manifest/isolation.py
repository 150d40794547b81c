"""What a network without NAT gateways (`network.nat_gateways: 0`) can run.

Its private subnets have no route out: tasks reach AWS only through the network stack's VPC
endpoints. So every image comes from Amazon ECR of the manifest's region, and every AWS API
that a workload uses through the manifest gets an endpoint. ECR's pull through cache is no
way around the first: AWS documents that an image's first pull through a cache rule needs a
NAT gateway even with the ECR endpoints in place ("Considerations for using pull through
cache"). `isolation_rules` rejects what no endpoint serves, at the line that needs the
internet; `isolated_endpoints` names the endpoints the network stack adds for the rest.

An imported VPC (`network.import`) is used as given: its routes and endpoints are not known here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .base import Rule
from .runtime import COLLECTOR_IMAGE
from .tasks import TaskSpec

if TYPE_CHECKING:
    from .models import Manifest

# <account>.dkr.ecr.<region>.amazonaws.com: the name the ecr.dkr endpoint's private DNS serves,
# for any account, in the VPC's own region only.
ECR_IMAGE = re.compile(r"^[0-9]{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/")
ECR_PUBLIC = "public.ecr.aws"

# The interface (and, for DynamoDB, gateway) endpoints added on use, by construct ID, in the
# order the network stack creates them. ECR, CloudWatch Logs, Secrets Manager, SSM and the S3
# gateway are there whenever vpc_endpoints is true.
ENDPOINTS = (
    "Sqs",
    "Sns",
    "Kms",
    "Sts",
    "KinesisFirehose",
    "KinesisStreams",
    "XRay",
    "StepFunctions",
    "Lambda",
    "EventBridge",
    "Monitoring",
    "DynamoDb",
)
# Fluent Bit outputs of the AWS for Fluent Bit image (C and Go plugin names) whose destination
# an endpoint serves: None for one that is always there.
FIRELENS_OUTPUTS: dict[str, str | None] = {
    "cloudwatch": None,
    "cloudwatch_logs": None,
    "s3": None,
    "firehose": "KinesisFirehose",
    "kinesis_firehose": "KinesisFirehose",
    "kinesis": "KinesisStreams",
    "kinesis_streams": "KinesisStreams",
}
# IAM service prefixes of `permissions` actions whose API an endpoint serves.
PERMISSION_ENDPOINTS: dict[str, str | None] = {
    "ecr": None,
    "logs": None,
    "s3": None,
    "secretsmanager": None,
    "ssm": None,
    "sqs": "Sqs",
    "sns": "Sns",
    "kms": "Kms",
    "sts": "Sts",
    "firehose": "KinesisFirehose",
    "kinesis": "KinesisStreams",
    "xray": "XRay",
    "states": "StepFunctions",
    "lambda": "Lambda",
    "events": "EventBridge",
    "cloudwatch": "Monitoring",
    "dynamodb": "DynamoDb",
}
# Grants that are no API call of the task's own.
NOT_CALLS = {"iam:passrole"}
WITHOUT_NAT = "network.nat_gateways: 1"


def isolated(manifest: Manifest) -> bool:
    """A new VPC whose private subnets have no route to the internet."""
    return manifest.network.import_ is None and manifest.network.nat_gateways == 0


def isolated_endpoints(manifest: Manifest) -> list[str]:
    """The endpoints (construct IDs of ENDPOINTS) that the workloads of an isolated network use."""
    if not isolated(manifest):
        return []
    used: set[str | None] = set()
    for _, spec in manifest.workloads():
        if spec.access is not None:
            used.update(["Sqs"] if spec.access.queues else [])
            used.update(["Sns"] if spec.access.topics else [])
        for container in spec.containers.values():
            firelens = container.logging.firelens if container.logging is not None else None
            if firelens is not None:
                used.add(FIRELENS_OUTPUTS.get(firelens.name.lower()))
                # An AWS output that assumes another role calls STS first.
                if any(option.lower() == "role_arn" for option in firelens.options):
                    used.add("Sts")
        for permission in spec.permissions:
            if permission.effect == "Allow":
                used.update(PERMISSION_ENDPOINTS.get(_service(action)) for action in permission.actions)
    return [endpoint for endpoint in ENDPOINTS if endpoint in used]


def isolation_rules(manifest: Manifest) -> Iterator[Rule]:
    if not isolated(manifest):
        return
    for at, spec in manifest.workloads():
        for name, container in spec.containers.items():
            reference = container.image.reference
            problem = _image_problem(reference, manifest.region) if reference is not None else None
            if problem is not None:
                yield (*at, "containers", name, "image"), problem
            firelens = container.logging.firelens if container.logging is not None else None
            if firelens is not None and firelens.name.lower() not in FIRELENS_OUTPUTS:
                yield (
                    (*at, "containers", name, "logging", "firelens", "name"),
                    (
                        f"{firelens.name!r} sends logs to a destination that tasks cannot reach without NAT "
                        "gateways (no VPC endpoint serves it); send them to cloudwatch_logs, kinesis_firehose, "
                        f"kinesis_streams or s3, whose endpoints the network has, or set {WITHOUT_NAT}"
                    ),
                )
        if spec.tracing is not None:
            yield (
                (*at, "tracing"),
                (
                    f"{spec.tracing!r} adds a collector sidecar whose image ({COLLECTOR_IMAGE}) AWS publishes only "
                    "on ECR Public, which tasks cannot pull without NAT gateways; remove tracing, or set "
                    f"{WITHOUT_NAT}"
                ),
            )


def isolation_warnings(manifest: Manifest) -> Iterator[Rule]:
    if not isolated(manifest):
        return
    for at, spec in manifest.workloads():
        yield from (((*at, *path), message) for path, message in _grant_warnings(spec))


def _grant_warnings(spec: TaskSpec) -> Iterator[Rule]:
    warned: set[str] = set()
    for index, permission in enumerate(spec.permissions):
        for position, action in enumerate(permission.actions):
            service = _service(action)
            if permission.effect != "Allow" or service in PERMISSION_ENDPOINTS or service in warned:
                continue
            if action == "*" or action.lower() in NOT_CALLS:
                continue
            warned.add(service)
            yield (
                ("permissions", index, "actions", position),
                (
                    f"{action!r}: ecsforge adds no VPC endpoint for {service}, and without NAT gateways tasks reach "
                    f"AWS only through endpoints; if this task calls {service}, set {WITHOUT_NAT}"
                ),
            )
    if spec.managed_policies:
        yield (
            ("managed_policies", 0),
            (
                f"{spec.managed_policies[0]!r}: without NAT gateways tasks reach only the AWS APIs that the VPC "
                "endpoints serve, and ecsforge cannot tell which services a managed policy is for; grant the calls "
                f"in `permissions` (ecsforge adds the endpoints it knows), or set {WITHOUT_NAT}"
            ),
        )


def _service(action: str) -> str:
    return action.split(":", 1)[0].lower()


def _image_problem(reference: str, region: str) -> str | None:
    """Why a task in an isolated network cannot pull this image, or None when it can."""
    fix = f"push it to a registry of this manifest (`registries`) and use {{registry: <key>}}, or set {WITHOUT_NAT}"
    match = ECR_IMAGE.match(reference)
    if match is not None:
        if match["region"] == region:
            return None
        return (
            f"{reference!r} is in Amazon ECR of {match['region']}, but without NAT gateways tasks reach only "
            f"{region}'s (through the VPC endpoints); replicate it to {region}, {fix}"
        )
    first = reference.split("/", 1)[0]
    named_host = "/" in reference and ("." in first or ":" in first or first == "localhost")
    if named_host and first == ECR_PUBLIC:
        where = (
            "on ECR Public, which no VPC endpoint serves (and ECR's pull through cache needs the internet for an "
            "image's first pull)"
        )
    else:
        host = first if named_host else "Docker Hub"
        where = (
            f"on {host}, which tasks cannot reach without NAT gateways (they pull only from Amazon ECR of {region}, "
            "through the VPC endpoints)"
        )
    return f"{reference!r} is {where}; {fix}"

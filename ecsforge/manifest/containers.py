"""A task's containers: image, secrets, health check and the rest of a container definition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from .addons import AddonValue, CfnExportValue, EnvironmentValue, shape
from .base import Model, Name, Rule, matching, pattern
from .problems import show
from .runtime import EnvFileArn, Logging, env_file_location
from .s3_names import bucket_name_problems, object_key_problem
from .wiring import Mount

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip
SECRET_NAME_HINTS = ("PASSWORD", "SECRET", "TOKEN", "KEY")


def _plain_image_to_mapping(value: Any) -> Any:
    return {"reference": value} if isinstance(value, str) else value


# Docker's reference grammar (distribution/reference): [registry[:port]/]path[:tag][@digest], path
# components in lowercase. ECS takes only sha256 digests (64 hex digits), and no [IPv6] registry
# (its image characters have no brackets). ASCII classes, no look-arounds: the JSON Schema
# carries the same regex.
_HOST_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_REGISTRY = rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = pattern(
    rf"^(?:{_REGISTRY}/)?{_PATH_PART}(?:/{_PATH_PART})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@sha256:[A-Fa-f0-9]{64})?$",
    "image reference",
    "nginx:1.27 or public.ecr.aws/nginx/nginx:1.27",
)
_IMAGE_REFERENCE = re.compile(IMAGE_REFERENCE[:-1] + r"\Z")
# ECS: up to 255 characters, before the @ of a digest.
MAX_IMAGE_NAME = 255


def _repository(name: str) -> str:
    """The repository path of `[registry/]path[:tag]` (a first part with . or : or localhost is a registry)."""
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts).split(":", 1)[0]


def image_reference_problem(reference: str) -> str | None:
    name = reference.split("@", 1)[0]
    # The length first: it also bounds the regex's backtracking over a registry host.
    if len(name) > MAX_IMAGE_NAME:
        fix = f"it is {len(name)} characters long before any @digest, and ECS takes at most {MAX_IMAGE_NAME}"
    elif _IMAGE_REFERENCE.match(reference):
        return None
    elif any(c.isspace() for c in reference):
        fix = "it has a space: write the tag after a colon, like nginx:latest"
    elif "@" in reference:
        fix = "ECS takes a digest as @sha256: and 64 hex digits, like nginx@sha256:<64 hex digits>"
    elif any(c.isupper() for c in _repository(name)):
        fix = "repository names are lowercase, like nginx or library/nginx"
    else:
        fix = "write [registry/]repository[:tag][@sha256:digest], like nginx:1.27 or public.ecr.aws/nginx/nginx:1.27"
    return f"{show(reference)} is not an image reference; {fix}"


# The plain form of `image` as the JSON Schema shows it to an editor (Image.check() decides).
ImageReferenceText = Annotated[str, Field(pattern=IMAGE_REFERENCE)]


class Image(Model):
    """A plain reference (`nginx:1.27`), `{registry: r, tag: t}`, or `{registry: r}`: the image the
    pipeline last released to registry r."""

    reference: str | None = Field(
        None,
        min_length=1,
        description="Default: none; a plain image reference.",
        json_schema_extra={"pattern": IMAGE_REFERENCE},
    )
    registry: Name | None = Field(None, description="Default: none; a key of `registries`.")
    tag: Annotated[str, matching(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", "image tag", "v1.2.3")] | None = Field(
        None,
        description="Default: the tag the pipeline last released to the registry.",
    )

    @property
    def released(self) -> bool:
        """True when the image follows the pipeline's releases."""
        return self.registry is not None and self.tag is None

    def check(self) -> Iterator[Rule]:
        if self.reference is None and self.registry is None:
            yield (), "give an image: a reference like nginx:1.27, or {registry: <key>}"
        if self.reference is not None and (self.registry is not None or self.tag is not None):
            yield (), "a plain image reference takes no registry or tag; use one form"
        if self.reference is not None and "${" in self.reference:
            # Only `$${` gets here (the loader replaces `${NAME}`), and ECS allows no $ { } in an image.
            yield (
                (),
                (
                    f"{self.reference!r}: an image reference cannot hold ${{ (ECS allows letters, digits and - _ . : / "
                    "# @); write the tag itself, or ${NAME} to take it from an environment variable"
                ),
            )
            return
        # A rule rather than a pattern: a malformed value would be taken out of the second pass
        # (manifest/second_pass.py), and with the required image the rest of the service's rules.
        problem = image_reference_problem(self.reference) if self.reference is not None else None
        if problem is not None:
            yield (), problem


SecretSource = Annotated[str, Field(min_length=1)]
SecretValue = Annotated[
    Annotated[SecretSource, Tag("(value)")]
    | Annotated[AddonValue, Tag("(mapping)")]
    | Annotated[CfnExportValue, Tag("(export)")],
    Discriminator(shape),
]
CredentialsSource = Annotated[
    str, matching(r"^secretsmanager:[A-Za-z0-9/_+=.@-]+$", "credentials source", "secretsmanager:dockerhub")
]
VariableName = Annotated[str, matching(r"^[A-Za-z_][A-Za-z0-9_]*$", "variable name", "LOG_LEVEL")]
# SSM: a plain name, or a path that starts with / (AWS needs the slash once the name has one).
# A JSON key holds no `${`: aws-cdk writes it into valueFrom's Fn::Join, where its template
# validation (E1029) would take it for a reference.
_SECRET_SOURCE = re.compile(
    r"^(ssm:(/[A-Za-z0-9_.\-/]+|[A-Za-z0-9_.\-]+)|secretsmanager:([A-Za-z0-9/_+=.@-]+)(:((?:(?!\$\{)[^:])+))?"
    r"|generate)$"
)


# Secrets Manager's longest secret name (CreateSecret: Name, 1 to 512 characters).
SECRET_NAME_MAX_LENGTH = 512


def generated_secret_name(app: str, environment: str, unit: str, container: str, variable: str) -> str:
    """The name of a `generate`d secret: a known one, so that another container can read the same
    value with secretsmanager:<this name> (wordpress reading mysql's root password)."""
    return f"{app}/{environment}/{unit}/{container}/{variable}"


def parse_secret(source: str) -> tuple[str, str, str | None]:
    """("ssm", name, None) | ("secretsmanager", name, json_key) | ("generate", "", None)."""
    match = _SECRET_SOURCE.match(source)
    if not match:
        raise ValueError(source)
    if source == "generate":
        return ("generate", "", None)
    if match.group(2):
        return ("ssm", match.group(2), None)
    return ("secretsmanager", match.group(3), match.group(5))


def _secret_source_problem(source: str) -> str:
    if source.startswith("secretsmanager:") and "${" in source:
        return (
            f"{source!r}: a secret's JSON key cannot hold ${{ (aws-cdk's template validation would take it for "
            "a reference); rename the key in the secret"
        )
    return (
        f"{source!r} is not a secret source; use ssm:<parameter>, secretsmanager:<secret>, "
        "secretsmanager:<secret>:<json key> or generate"
    )


class ContainerHealthCheck(Model):
    command: str = Field(min_length=1, description="Required. Run with CMD-SHELL; exit 0 means healthy.")
    interval_seconds: int = Field(30, ge=5, le=300, description="Default: 30.")
    timeout_seconds: int = Field(5, ge=2, le=60, description="Default: 5.")
    retries: int = Field(3, ge=1, le=10, description="Default: 3.")
    start_period_seconds: int = Field(0, ge=0, le=300, description="Default: 0.")


class Container(Model):
    image: Annotated[
        Image, BeforeValidator(_plain_image_to_mapping, json_schema_input_type=ImageReferenceText | Image)
    ] = Field(description="Required. A reference string, {registry: r, tag: t}, or {registry: r}.")
    credentials: (
        Annotated[
            str, matching(r"^secretsmanager:[A-Za-z0-9/_+=.@-]+$", "credentials source", "secretsmanager:dockerhub")
        ]
        | None
    ) = Field(
        None,
        description="Default: none. secretsmanager:<name> with the private registry's login (plain images only).",
    )
    port: int | None = Field(None, ge=1, le=65535, description="Default: no port mapping.")
    host_port: int | None = Field(
        None, ge=0, le=65535, description="Bridge only. Default: 0 (dynamic); in host mode the port itself."
    )
    essential: bool = Field(True, description="Default: true; the task stops when this container stops.")
    cpu: int | None = Field(None, ge=0, le=16384, description="Default: unset (shares the task's CPU).")
    memory: int | None = Field(None, ge=6, description="Default: unset. Hard limit in MiB.")
    memory_reservation: int | None = Field(None, ge=6, description="Default: unset. Soft limit in MiB.")
    gpu: int = Field(
        0,
        ge=0,
        le=16,
        description="Default: 0. GPUs reserved for this container (EC2 groups or managed instances whose instance "
        "types have them; not Fargate).",
    )
    command: list[str] | None = Field(None, description="Default: the image's CMD.")
    entrypoint: list[str] | None = Field(None, description="Default: the image's ENTRYPOINT.")
    environment: dict[VariableName, EnvironmentValue] = Field(
        default_factory=dict,
        description="Default: none. Plain settings; secrets go in `secrets`. {addon: <Output>}: an output of an "
        "environment addon, read from its SSM parameter at deploy time. {cfn_export: <Name>}: the value of an "
        "existing CloudFormation export.",
    )
    secrets: dict[VariableName, SecretValue] = Field(
        default_factory=dict,
        description="Default: none. NAME: ssm:<name> | secretsmanager:<name>[:<json key>] | generate, or "
        "{addon: <Output>}: an environment addon's output holding a Secrets Manager secret's ARN, or "
        "{cfn_export: <Name>}: an existing CloudFormation export holding one.",
    )
    health_check: ContainerHealthCheck | None = Field(None, description="Default: no container health check.")
    depends_on: dict[Name, Literal["start", "complete", "success", "healthy"]] = Field(
        default_factory=dict, description="Default: none. Containers that must reach a state first."
    )
    links: list[Name] = Field(default_factory=list, description="Bridge only. Default: none.")
    readonly_root_filesystem: bool = Field(False, description="Default: false.")
    user: str | None = Field(None, min_length=1, description="Default: the image's USER.")
    privileged: bool = Field(False, description="EC2 only. Default: false.")
    stop_timeout_seconds: int = Field(
        30,
        ge=1,
        le=3600,
        description="Default: 30; in a service scaling on queue_backlog_per_task, the consumed queue's visibility "
        "timeout when longer (at most 120 on Fargate). Fargate allows at most 120.",
    )
    log_retention_days: int = Field(30, description="Default: 30 days, awslogs driver.")
    env_files: list[EnvFileArn] = Field(
        default_factory=list,
        max_length=10,
        description="Default: none. S3 object ARNs of .env files (environmentFiles); the execution role may read "
        "exactly these objects.",
    )
    logging: Logging | None = Field(
        None, description="Default: awslogs to the task's log group. firelens: a Fluent Bit log router instead."
    )
    app_protocol: Literal["http", "http2", "grpc", "tcp"] = Field(
        "http",
        description="Default: http. What `port` speaks, for Service Connect (services with connect): http, "
        "http2 and grpc get request metrics and retries; tcp is proxied as plain TCP.",
    )
    mounts: list[Mount] = Field(
        default_factory=list,
        max_length=10,
        description="Default: none. Volumes of `volumes`: EFS through an access point per service (uid/gid 1000), "
        "with IAM authorization and TLS; an `ebs` volume is the task's own EBS volume (services only, one per task).",
    )

    def check(self) -> Iterator[Rule]:
        for name, source in self.secrets.items():
            if isinstance(source, AddonValue | CfnExportValue):
                continue
            try:
                parse_secret(source)
            except ValueError:
                yield ("secrets", name), _secret_source_problem(source)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            yield (
                ("log_retention_days",),
                (
                    f"{self.log_retention_days} is not a CloudWatch Logs retention; use one of "
                    + ", ".join(map(str, LOG_RETENTION_DAYS))
                ),
            )
        if self.memory and self.memory_reservation and self.memory_reservation > self.memory:
            yield (
                ("memory_reservation",),
                (f"{self.memory_reservation} MiB is above the hard limit memory ({self.memory}); lower it"),
            )
        for index, arn in enumerate(self.env_files):
            if arn in self.env_files[:index]:
                yield ("env_files", index), f"{arn!r} is listed twice; list each file once"
            bucket, key = env_file_location(arn)
            problems = [*bucket_name_problems(bucket), object_key_problem(key)]
            yield from ((("env_files", index), problem) for problem in problems if problem)
        paths = [mount.path for mount in self.mounts]
        for index, path in enumerate(paths):
            if path in paths[:index]:
                yield ("mounts", index, "path"), f"{path!r} is mounted twice; give each mount its own path"
        if set(self.environment) & set(self.secrets):
            name = sorted(set(self.environment) & set(self.secrets))[0]
            yield ("environment", name), f"{name!r} is also in secrets; keep it in one of them"

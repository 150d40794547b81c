"""How a task runs (manifest v1.1, application wiring): its CPU platform, ephemeral storage,
environment files, log routing through FireLens and tracing through X-Ray.

The sidecars these add (a Fluent Bit log router, an OpenTelemetry collector) are not
containers of the manifest, but they count against ECS's 10 containers per task and take
a memory reservation within the task's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from .base import Model, Rule, matching
from .catalog import ARM64, X86_64

if TYPE_CHECKING:
    from .containers import Container

Platform = Literal["linux/amd64", "linux/arm64"]
Tracing = Literal["xray"]
ARCHITECTURES: dict[str, str] = {"linux/amd64": X86_64, "linux/arm64": ARM64}
PLATFORMS = {architecture: platform for platform, architecture in ARCHITECTURES.items()}

# Pinned, not `stable`/`latest`: a redeploy must not change what runs. AWS for Fluent Bit's
# AWS_FOR_FLUENT_BIT_STABLE_VERSION and aws-otel-collector's VERSION when this was written;
# both images are multi-architecture (amd64 and arm64).
LOG_ROUTER_VERSION = "2.34.3.20260623"
LOG_ROUTER_IMAGE = f"public.ecr.aws/aws-observability/aws-for-fluent-bit:{LOG_ROUTER_VERSION}"
# The same image in Amazon ECR of each region, for networks without NAT gateways: AWS publishes
# its URI (an account of AWS's, which differs between regions) as this public SSM parameter.
LOG_ROUTER_REGIONAL_PARAMETER = f"/aws/service/aws-for-fluent-bit/{LOG_ROUTER_VERSION}"
LOG_ROUTER_REGIONAL_REPOSITORY = "aws-for-fluent-bit"
COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.45.1"
# The collector's bundled configuration: OTLP (4317/4318) in, X-Ray out.
COLLECTOR_CONFIG = "/etc/ecs/ecs-xray.yaml"
LOG_ROUTER = "log-router"
COLLECTOR = "otel-collector"
# Soft limits within the task's size (AWS's FireLens guidance starts Fluent Bit at 50 MiB).
LOG_ROUTER_MEMORY_RESERVATION = 50
COLLECTOR_MEMORY_RESERVATION = 64
MAX_CONTAINERS = 10

# An S3 object ARN (no account or region in S3 ARNs) whose key ends in .env, as ECS requires.
ENV_FILE_ARN = r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^*?]*\.env$"
EnvFileArn = Annotated[
    str,
    Field(max_length=1100),
    matching(
        ENV_FILE_ARN,
        "environment file ARN",
        "arn:aws:s3:::shop-config/worker.env",
        "use an S3 object ARN like arn:aws:s3:::shop-config/worker.env (ECS reads only files ending in .env)",
    ),
]
OptionName = Annotated[str, matching(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$", "Fluent Bit option name", "dd_service")]
OutputName = Annotated[str, matching(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", "Fluent Bit output name", "datadog")]


def env_file_location(arn: str) -> tuple[str, str]:
    """(bucket, key) of an environment file's object ARN."""
    bucket, _, key = arn.split(":::", 1)[1].partition("/")
    return bucket, key


class FireLens(Model):
    """A Fluent Bit log router sidecar that sends this container's output to `name`."""

    name: OutputName = Field(
        description="Required. The Fluent Bit output plugin: cloudwatch | firehose | kinesis | opensearch | "
        "datadog | any Fluent Bit output name."
    )
    options: dict[OptionName, str] = Field(
        default_factory=dict, description="Default: none. The output's options (logConfiguration options)."
    )
    secret_options: dict[OptionName, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Default: none. OPTION: ssm:<name> | secretsmanager:<name>[:<json key>], read by the "
        "execution role when the task starts.",
    )

    def check(self) -> Iterator[Rule]:
        from .containers import parse_secret

        for option, source in self.secret_options.items():
            try:
                kind = parse_secret(source)[0]
            except ValueError:
                kind = ""
            if kind not in ("ssm", "secretsmanager"):
                yield (
                    ("secret_options", option),
                    (
                        f"{source!r} is not a secret to read; use ssm:<parameter>, secretsmanager:<secret> or "
                        "secretsmanager:<secret>:<json key>"
                    ),
                )
        for option in sorted(set(self.options) & set(self.secret_options)):
            yield ("options", option), f"{option!r} is also in secret_options; keep it in one of them"
        if "Name" in self.options or "Name" in self.secret_options:
            yield ("options", "Name"), "'Name' is set from `name`; remove it"


class Logging(Model):
    firelens: FireLens | None = Field(None, description="Default: none, awslogs to the task's log group.")


def uses_firelens(containers: dict[str, Container]) -> bool:
    return any(c.logging is not None and c.logging.firelens is not None for c in containers.values())


def sidecars(containers: dict[str, Container], tracing: str | None) -> dict[str, int]:
    """The containers ecsforge adds to a task, with their memory reservations."""
    added: dict[str, int] = {}
    if uses_firelens(containers):
        added[LOG_ROUTER] = LOG_ROUTER_MEMORY_RESERVATION
    if tracing is not None:
        added[COLLECTOR] = COLLECTOR_MEMORY_RESERVATION
    return added


def check_runtime(
    containers: dict[str, Container],
    *,
    tracing: str | None,
    on_fargate: bool,
    network_mode: str,
    ephemeral_storage_gib: int | None,
    task_memory: int | None,
) -> Iterator[Rule]:
    """The task-level rules of this module's fields (TaskSpec.check calls it)."""
    if ephemeral_storage_gib is not None and not on_fargate:
        yield (
            ("ephemeral_storage_gib",),
            (
                f"{ephemeral_storage_gib}: ephemeral storage is a Fargate setting; on EC2 tasks use the instance's "
                "disk, so raise the group's root_volume_gib instead and remove it"
            ),
        )
    added = sidecars(containers, tracing)
    if added and len(containers) + len(added) > MAX_CONTAINERS:
        path = ("tracing",) if tracing is not None else _first_firelens(containers)
        yield (
            path,
            (
                f"adds the {' and '.join(added)} container(s) to this task's {len(containers)}, making "
                f"{len(containers) + len(added)}; ECS runs at most {MAX_CONTAINERS} containers per task: use fewer"
            ),
        )
    if added and task_memory is not None:
        # ECS adds up each container's reservation (its hard limit where it has none).
        reserved = sum(c.memory_reservation or c.memory or 0 for c in containers.values()) + sum(added.values())
        if reserved > task_memory:
            path = ("tracing",) if tracing is not None else _first_firelens(containers)
            yield (
                path,
                (
                    f"the {' and '.join(added)} sidecar(s) reserve {sum(added.values())} MiB within the task, and "
                    f"with the containers' memory that makes {reserved} MiB, above the task's memory "
                    f"({task_memory}); raise the task's memory or lower the containers'"
                ),
            )
    for name in added:
        if name in containers:
            yield (
                ("containers", name),
                (f"{name!r} is the name of the container ecsforge adds for {_feature(name)}; rename this one"),
            )
    if tracing is not None and network_mode == "bridge":
        yield (
            ("tracing",),
            (
                f"{tracing!r}: containers send traces to the collector on localhost, which bridge mode does not "
                "share between containers; use network_mode awsvpc or host"
            ),
        )


def _feature(sidecar: str) -> str:
    return "logging.firelens" if sidecar == LOG_ROUTER else "tracing"


def _first_firelens(containers: dict[str, Container]) -> tuple[str, ...]:
    name = next(n for n, c in containers.items() if c.logging is not None and c.logging.firelens is not None)
    return ("containers", name, "logging", "firelens")

"""`services`, `scheduled_tasks` and `load_balancer` of the manifest (contract v1).

Rules that need only the service live here; rules that need the rest of the manifest
(registries, cluster providers, other services) are in Manifest.check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from .base import Model, Name, Rule, pattern, reject

FARGATE_PROVIDERS = ("fargate", "fargate_spot")
MAX_TASKS_PER_SERVICE = 1000
# ECS task definition size limit (container definitions and all), in bytes.
MAX_TASK_DEFINITION_BYTES = 32 * 1024
FARGATE_STOP_TIMEOUT_MAX = 120
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip
SECRET_NAME_HINTS = ("PASSWORD", "SECRET", "TOKEN", "KEY")
MAX_GENERATED_SECRETS = 50
# Modelled on top of bake and step times: starting the new tasks and passing health checks.
DEPLOYMENT_MARGIN_MINUTES = 5
# CloudFormation rejects a canary or linear ECS service whose bake plus step bake times
# exceed 33 hours (its operations time out at 36); see AWS::ECS::Service CanaryConfiguration.
CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES = 33 * 60


def fargate_memory_choices(cpu: int) -> list[int]:
    """Valid Fargate task memory (MiB) for a task CPU value, from the Fargate table."""
    ranges = {
        256: [512, 1024, 2048],
        512: list(range(1024, 4097, 1024)),
        1024: list(range(2048, 8193, 1024)),
        2048: list(range(4096, 16385, 1024)),
        4096: list(range(8192, 30721, 1024)),
        8192: list(range(16384, 61441, 4096)),
        16384: list(range(32768, 122881, 8192)),
    }
    return ranges.get(cpu, [])


FARGATE_CPU = (256, 512, 1024, 2048, 4096, 8192, 16384)


def _one_provider_to_list(value: Any) -> Any:
    # `capacity: fargate` is shorthand for `[{provider: fargate}]`.
    return [{"provider": value}] if isinstance(value, str) else value


def _plain_image_to_mapping(value: Any) -> Any:
    return {"reference": value} if isinstance(value, str) else value


class CapacityItem(Model):
    provider: str = Field(description="Required. fargate, fargate_spot, or a key of cluster.ec2.")
    base: int | None = Field(None, ge=0, le=100000, description="Default: no base; tasks placed here first.")
    weight: int = Field(1, ge=0, le=1000, description="Default: 1. Relative share of tasks beyond the bases.")


class Image(Model):
    """A plain reference (`nginx:1.27`), `{registry: r, tag: t}`, or `{registry: r}`: the image the
    pipeline last released to registry r."""

    reference: str | None = Field(None, min_length=1, description="Default: none; a plain image reference.")
    registry: Name | None = Field(None, description="Default: none; a key of `registries`.")
    tag: str | None = Field(
        None,
        pattern=pattern(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", "image tag", "v1.2.3"),
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


SecretSource = Annotated[str, Field(min_length=1)]
# SSM: a plain name, or a path that starts with / (AWS needs the slash once the name has one).
_SECRET_SOURCE = re.compile(
    r"^(ssm:(/[A-Za-z0-9_.\-/]+|[A-Za-z0-9_.\-]+)|secretsmanager:([A-Za-z0-9/_+=.@-]+)(:([^:]+))?|generate)$"
)


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


class ContainerHealthCheck(Model):
    command: str = Field(min_length=1, description="Required. Run with CMD-SHELL; exit 0 means healthy.")
    interval_seconds: int = Field(30, ge=5, le=300, description="Default: 30.")
    timeout_seconds: int = Field(5, ge=2, le=60, description="Default: 5.")
    retries: int = Field(3, ge=1, le=10, description="Default: 3.")
    start_period_seconds: int = Field(0, ge=0, le=300, description="Default: 0.")


class Container(Model):
    image: Annotated[Image, BeforeValidator(_plain_image_to_mapping, json_schema_input_type=str | Image)] = Field(
        description="Required. A reference string, {registry: r, tag: t}, or {registry: r}."
    )
    credentials: str | None = Field(
        None,
        pattern=pattern(r"^secretsmanager:[A-Za-z0-9/_+=.@-]+$", "credentials source", "secretsmanager:dockerhub"),
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
    command: list[str] | None = Field(None, description="Default: the image's CMD.")
    entrypoint: list[str] | None = Field(None, description="Default: the image's ENTRYPOINT.")
    environment: dict[
        Annotated[str, Field(pattern=pattern(r"^[A-Za-z_][A-Za-z0-9_]*$", "variable name", "LOG_LEVEL"))], str
    ] = Field(default_factory=dict, description="Default: none. Plain settings; secrets go in `secrets`.")
    secrets: dict[
        Annotated[str, Field(pattern=pattern(r"^[A-Za-z_][A-Za-z0-9_]*$", "variable name", "LOG_LEVEL"))], SecretSource
    ] = Field(
        default_factory=dict,
        description="Default: none. NAME: ssm:<name> | secretsmanager:<name>[:<json key>] | generate.",
    )
    health_check: ContainerHealthCheck | None = Field(None, description="Default: no container health check.")
    depends_on: dict[Name, Literal["start", "complete", "success", "healthy"]] = Field(
        default_factory=dict, description="Default: none. Containers that must reach a state first."
    )
    links: list[Name] = Field(default_factory=list, description="Bridge only. Default: none.")
    readonly_root_filesystem: bool = Field(False, description="Default: false.")
    user: str | None = Field(None, min_length=1, description="Default: the image's USER.")
    privileged: bool = Field(False, description="EC2 only. Default: false.")
    stop_timeout_seconds: int = Field(30, ge=1, le=3600, description="Default: 30; Fargate allows at most 120.")
    log_retention_days: int = Field(30, description="Default: 30 days, awslogs driver.")

    def check(self) -> Iterator[Rule]:
        for name, source in self.secrets.items():
            try:
                parse_secret(source)
            except ValueError:
                yield (
                    ("secrets", name),
                    (
                        f"{source!r} is not a secret source; use ssm:<parameter>, secretsmanager:<secret>, "
                        "secretsmanager:<secret>:<json key> or generate"
                    ),
                )
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
        if set(self.environment) & set(self.secrets):
            name = sorted(set(self.environment) & set(self.secrets))[0]
            yield ("environment", name), f"{name!r} is also in secrets; keep it in one of them"


class HttpHealthCheck(Model):
    path: str = Field(
        "/", pattern=pattern(r"^/", "health check path", "/health"), max_length=1024, description='Default: "/".'
    )
    interval_seconds: int = Field(10, ge=5, le=300, description="Default: 10.")
    timeout_seconds: int = Field(5, ge=2, le=120, description="Default: 5.")
    healthy_threshold: int = Field(2, ge=2, le=10, description="Default: 2.")
    unhealthy_threshold: int = Field(3, ge=2, le=10, description="Default: 3.")
    success_codes: str = Field(
        "200-399",
        pattern=pattern(r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$", "list of HTTP codes", "200-399 or 200,204"),
        description='Default: "200-399".',
    )

    def check(self) -> Iterator[Rule]:
        for part in self.success_codes.split(","):
            low, _, high = part.partition("-")
            # ALB matchers for HTTP take codes from 200 to 499.
            if not 200 <= int(low) <= 499 or (high and not int(low) < int(high) <= 499):
                yield (
                    ("success_codes",),
                    (f"{part!r} is not a range of HTTP codes an ALB accepts; use codes from 200 to 499, e.g. 200-399"),
                )
        if self.timeout_seconds >= self.interval_seconds:
            yield (
                ("timeout_seconds",),
                (f"{self.timeout_seconds} is not below interval_seconds ({self.interval_seconds}); lower it"),
            )


# ALB path patterns: up to 128 characters of A-Z a-z 0-9 _ - . $ / ~ " ' @ : + & ( ) ! , ; = * ?
PATH_PATTERN = pattern(r"^/[A-Za-z0-9_\-.$/~\"'@:+&()!,;=*?]{0,127}$", "ALB path pattern", "/api/*")
HOST_PATTERN = pattern(r"^[A-Za-z0-9*?]([A-Za-z0-9*?.-]{0,126}[A-Za-z0-9*?])?$", "host name", "api.example.com")


class Http(Model):
    container: Name | None = Field(None, description="Default: the first container with a port.")
    path: str = Field("/*", pattern=PATH_PATTERN, description='Default: "/*", every path.')
    host: str | None = Field(None, pattern=HOST_PATTERN, description="Default: any host.")
    priority: int | None = Field(
        None,
        ge=1,
        le=50000,
        description="Default: derived from this service's own path and host, so longer paths win and "
        "adding a service never renumbers another; two equal priorities are an error.",
    )
    deregistration_delay_seconds: int = Field(30, ge=0, le=3600, description="Default: 30.")
    grace_period_seconds: int = Field(60, ge=0, le=2147483647, description="Default: 60.")
    stickiness_seconds: int = Field(0, ge=0, le=604800, description="Default: 0, off.")
    health_check: HttpHealthCheck = Field(default_factory=HttpHealthCheck, description="Default: as below.")

    @property
    def rule_priority(self) -> int:
        if self.priority is not None:
            return self.priority
        return derived_priority(self.host, self.path)


# Derived listener priorities: host rules in 1..25000, the others in 25001..50000; within
# a band longer paths first (lengths above 32 count as 32); within a length a position
# from the rule's own text. A polynomial hash modulo a prime: two paths that differ in
# one character never share a priority.
_LENGTH_CAP = 32
_SLOTS = 780
_PRIME = 773


def derived_priority(host: str | None, path: str) -> int:
    text = f"{host or ''}{path}"
    position = 0
    for character in text:
        position = (position * 31 + ord(character)) % _PRIME
    band = 0 if host else 25000
    return 1 + band + (_LENGTH_CAP - min(len(path), _LENGTH_CAP)) * _SLOTS + position


class RollbackAlarms(Model):
    http_5xx_percent: int | None = Field(None, ge=1, le=100, description="Default: none. http only.")
    cpu_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")
    memory_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")


class Deployment(Model):
    strategy: Literal["rolling", "blue_green", "canary", "linear"] = Field(
        "rolling", description="Default: rolling. blue_green, canary and linear are ECS-native and need http."
    )
    minimum_healthy_percent: int | None = Field(None, ge=0, le=100, description="Default: 100 (0 for daemon services).")
    maximum_percent: int | None = Field(None, ge=1, le=200, description="Default: 200 (100 for daemon services).")
    circuit_breaker: bool = Field(True, description="Default: true, with rollback.")
    bake_minutes: int = Field(10, ge=0, le=1440, description="Default: 10. blue_green/canary/linear.")
    canary_percent: int = Field(10, ge=1, le=99, description="Default: 10. canary.")
    # ECS LinearConfiguration takes stepPercent 3.0..100.0.
    linear_step_percent: int = Field(20, ge=3, le=99, description="Default: 20. linear, 3..99.")
    step_minutes: int = Field(5, ge=0, le=1440, description="Default: 5. canary/linear.")
    rollback_alarms: RollbackAlarms | None = Field(None, description="Default: none.")


class TargetTracking(Model):
    cpu_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")
    memory_percent: int | None = Field(None, ge=1, le=100, description="Default: none.")
    requests_per_target: int | None = Field(None, ge=1, le=1000000, description="Default: none. http only.")


class ScaleOutStep(Model):
    at: int = Field(ge=1, le=100, description="Required. Percent at which this step starts.")
    add: int = Field(ge=1, le=1000, description="Required. Tasks to add.")


class ScaleInStep(Model):
    below: int = Field(ge=1, le=100, description="Required. Percent below which this step applies.")
    remove: int = Field(ge=1, le=1000, description="Required. Tasks to remove.")


class StepScaling(Model):
    metric: Literal["cpu", "memory"] = Field(description="Required. cpu or memory utilization.")
    scale_out: list[ScaleOutStep] = Field(min_length=1, description="Required. Ascending thresholds.")
    scale_in: list[ScaleInStep] = Field(default_factory=list, description="Default: no scale-in steps.")

    def check(self) -> Iterator[Rule]:
        for index in range(1, len(self.scale_out)):
            if self.scale_out[index].at <= self.scale_out[index - 1].at:
                yield (
                    ("scale_out", index, "at"),
                    (
                        f"{self.scale_out[index].at} is not above the previous step "
                        f"({self.scale_out[index - 1].at}); list scale_out thresholds in ascending order"
                    ),
                )
        for index in range(1, len(self.scale_in)):
            if self.scale_in[index].below >= self.scale_in[index - 1].below:
                yield (
                    ("scale_in", index, "below"),
                    (
                        f"{self.scale_in[index].below} is not below the previous step "
                        f"({self.scale_in[index - 1].below}); list scale_in thresholds in descending order"
                    ),
                )
        lowest = min(step.at for step in self.scale_out)
        for index, step in enumerate(self.scale_in):
            if step.below >= lowest:
                yield (
                    ("scale_in", index, "below"),
                    (f"{step.below} is not below the lowest scale_out threshold ({lowest}); lower it"),
                )


@cache
def _zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise reject(f"{value!r} is not an IANA time zone; write it like Europe/Berlin or UTC")
    return value


TimeZoneName = Annotated[str, AfterValidator(_timezone)]


_CRON_FIELDS = 6
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def cron_problem(fields: str) -> str | None:
    """What AWS rejects in six cron fields that the field count does not show."""
    parts = fields.split()
    if len(parts) != _CRON_FIELDS:
        return None
    day_of_month, day_of_week = parts[2], parts[4]
    if day_of_month != "?" and day_of_week != "?":
        return (
            f"{fields!r} sets both day-of-month ({day_of_month}) and day-of-week ({day_of_week}); AWS needs one "
            'of them to be ?, e.g. "0 8 ? * MON-FRI *"'
        )
    return None


def rate_problem(expression: str) -> str | None:
    match = _RATE.match(expression)
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        return f"{expression!r}: a rate runs at least every 1 {unit.rstrip('s')}; use 1 or more"
    if (value == 1) == unit.endswith("s"):
        right = unit.rstrip("s") if value == 1 else unit + "s"
        return f"{expression!r}: AWS wants the singular for 1 and the plural otherwise; write rate({value} {right})"
    return None


class ScheduledScaling(Model):
    cron: str = Field(description='Required. Six fields, e.g. "0 8 ? * MON-FRI *".')
    timezone: TimeZoneName = Field("UTC", description="Default: UTC. An IANA time zone.")
    min: int | None = Field(None, ge=0, le=MAX_TASKS_PER_SERVICE, description="Default: unchanged.")
    max: int | None = Field(None, ge=0, le=MAX_TASKS_PER_SERVICE, description="Default: unchanged.")

    def check(self) -> Iterator[Rule]:
        if re.match(r"^\s*(cron|rate|at)\(", self.cron):
            yield ("cron",), f'{self.cron!r}: write only the six fields, without cron(...), e.g. "0 8 ? * MON-FRI *"'
            return
        problem = cron_problem(self.cron)
        if problem:
            yield ("cron",), problem
        if len(self.cron.split()) != _CRON_FIELDS:
            yield (
                ("cron",),
                (
                    f"{self.cron!r} has {len(self.cron.split())} fields; write six: minutes hours day-of-month "
                    'month day-of-week year, e.g. "0 8 ? * MON-FRI *"'
                ),
            )
        if self.min is None and self.max is None:
            yield (), "a schedule changes min, max or both; give at least one"
        if self.min is not None and self.max is not None and self.min > self.max:
            yield ("min",), f"{self.min} is above max ({self.max}); lower min or raise max"


class Cooldowns(Model):
    scale_in: int = Field(60, ge=0, le=86400, description="Default: 60 seconds.")
    scale_out: int = Field(60, ge=0, le=86400, description="Default: 60 seconds.")


class Scaling(Model):
    min: int = Field(ge=0, le=MAX_TASKS_PER_SERVICE, description="Required. Fewest tasks.")
    max: int = Field(ge=1, le=MAX_TASKS_PER_SERVICE, description="Required. Most tasks (at most 1000).")
    target_tracking: TargetTracking | None = Field(None, description="Default: none.")
    step_scaling: list[StepScaling] = Field(
        default_factory=list, max_length=10, description="Default: none. At most 10 (two policies each)."
    )
    schedules: list[ScheduledScaling] = Field(
        default_factory=list, max_length=200, description="Default: none. At most 200 per service."
    )
    cooldown_seconds: Cooldowns = Field(default_factory=Cooldowns, description="Default: 60 s each way.")

    def check(self) -> Iterator[Rule]:
        if self.min > self.max:
            yield ("min",), f"{self.min} is above max ({self.max}); lower min or raise max"


class PlacementStrategyItem(Model):
    spread: str | None = Field(
        None,
        pattern=pattern(
            r"^(instanceId|host|attribute:[A-Za-z0-9_.\-]+)$",
            "spread field",
            "attribute:ecs.availability-zone or instanceId",
        ),
        description="Default: not this kind.",
    )
    binpack: Literal["cpu", "memory"] | None = Field(None, description="Default: not this kind.")
    random: Literal[True] | None = Field(None, description="Default: not this kind.")

    def check(self) -> Iterator[Rule]:
        if len(self.model_fields_set) != 1:
            yield (), "each strategy has exactly one key: spread, binpack or random"


class PlacementConstraintItem(Model):
    member_of: str | None = Field(None, min_length=1, max_length=2000, description="Default: not this kind.")
    distinct_instance: Literal[True] | None = Field(None, description="Default: not this kind.")

    def check(self) -> Iterator[Rule]:
        if len(self.model_fields_set) != 1:
            yield (), "each constraint has exactly one key: member_of or distinct_instance"


DEFAULT_PLACEMENT = [{"spread": "attribute:ecs.availability-zone"}, {"binpack": "memory"}]


class Placement(Model):
    strategies: list[PlacementStrategyItem] = Field(
        default_factory=lambda: [PlacementStrategyItem.model_validate(s) for s in DEFAULT_PLACEMENT],
        max_length=5,
        description="Default: spread across attribute:ecs.availability-zone, then binpack memory. At most 5.",
    )
    constraints: list[PlacementConstraintItem] = Field(
        default_factory=list, max_length=10, description="Default: none. At most 10."
    )


class TaskSpec(Model):
    """What services and scheduled tasks share: where and how their task runs."""

    capacity: Annotated[
        list[CapacityItem], BeforeValidator(_one_provider_to_list, json_schema_input_type=str | list[CapacityItem])
    ] = Field(
        default_factory=lambda: [CapacityItem(provider="fargate")],
        min_length=1,
        description="Default: fargate. A provider name or a strategy list; Fargate and EC2 never mix.",
    )
    cpu: int | None = Field(None, ge=128, le=196608, description="Default: 256 on Fargate, unset on EC2.")
    memory: int | None = Field(None, ge=128, le=1048576, description="Default: 512 on Fargate, unset on EC2.")
    network_mode: Literal["awsvpc", "bridge", "host"] = Field(
        "awsvpc", description="Default: awsvpc. Fargate: awsvpc only."
    )
    containers: dict[Name, Container] = Field(min_length=1, description="Required. 1..10 containers.")
    placement: Placement | None = Field(
        None, description="EC2 only. Default: spread across zones, then binpack memory."
    )

    @property
    def on_fargate(self) -> bool:
        return any(item.provider in FARGATE_PROVIDERS for item in self.capacity)

    def resolve(self) -> None:
        if self.on_fargate:
            if self.cpu is None:
                self.cpu = 256
            if self.memory is None:
                self.memory = 512
        elif self.placement is None:
            self.placement = Placement()

    def check(self) -> Iterator[Rule]:
        yield from self._check_capacity()
        yield from self._check_containers()
        if self.on_fargate:
            yield from self._check_fargate()

    def _check_capacity(self) -> Iterator[Rule]:
        kinds = {item.provider in FARGATE_PROVIDERS for item in self.capacity}
        if len(kinds) > 1:
            yield ("capacity",), "mixes Fargate and EC2 providers; use either fargate/fargate_spot or EC2 groups"
        with_base = [i for i, item in enumerate(self.capacity) if item.base is not None]
        if len(with_base) > 1:
            yield ("capacity", with_base[1], "base"), "only one provider of a strategy may have a base; remove it"
        if all(item.weight == 0 for item in self.capacity):
            yield ("capacity",), "all weights are 0, so no task could be placed; give one provider weight 1 or more"
        names = [item.provider for item in self.capacity]
        for index, name in enumerate(names):
            if name in names[:index]:
                yield ("capacity", index, "provider"), f"{name!r} is listed twice; list each provider once"

    def _check_containers(self) -> Iterator[Rule]:
        if len(self.containers) > 10:
            yield ("containers",), f"has {len(self.containers)} containers; a task holds at most 10"
        if not any(c.essential for c in self.containers.values()):
            yield ("containers",), "no container is essential; mark at least one `essential: true`"
        for name, container in self.containers.items():
            for other in container.depends_on:
                if other not in self.containers or other == name:
                    yield (
                        ("containers", name, "depends_on", other),
                        (f"{other!r} is not another container of this task; use one of {', '.join(self.containers)}"),
                    )
            for index, other in enumerate(container.links):
                if other not in self.containers or other == name:
                    yield (
                        ("containers", name, "links", index),
                        (f"{other!r} is not another container of this task; use one of {', '.join(self.containers)}"),
                    )
            if container.links and self.network_mode != "bridge":
                yield (
                    ("containers", name, "links"),
                    (
                        f"links work only with network_mode: bridge (this task uses {self.network_mode}); "
                        "use localhost instead"
                    ),
                )
            if container.host_port is not None and self.network_mode != "bridge":
                yield (
                    ("containers", name, "host_port"),
                    (f"{container.host_port}: host_port is for network_mode: bridge only; remove it"),
                )
            if container.host_port is not None and container.port is None:
                yield ("containers", name, "host_port"), "host_port needs a container `port`; add it"
            if self.memory is not None and container.memory is not None and container.memory > self.memory:
                yield (
                    ("containers", name, "memory"),
                    (
                        f"{container.memory} MiB is above the task's memory ({self.memory}); "
                        "lower it or raise the task's"
                    ),
                )
        yield from self._check_container_resources()
        yield from self._check_ports()
        yield from self._check_dependencies()
        if not self.on_fargate and self.memory is None:
            for name, container in self.containers.items():
                if container.memory is None and container.memory_reservation is None:
                    yield (
                        ("containers", name),
                        ("on EC2 without task memory, each container needs memory or memory_reservation; add one"),
                    )
        generated = sum(1 for c in self.containers.values() for s in c.secrets.values() if s == "generate")
        if generated > MAX_GENERATED_SECRETS:
            yield (
                ("containers",),
                (
                    f"{generated} secrets are `generate`d; a task takes at most {MAX_GENERATED_SECRETS} (each is a "
                    "resource of the task's stack): generate fewer and let containers share one through "
                    "secretsmanager:<its name>"
                ),
            )
        size = _estimated_task_definition_bytes(self)
        if size > MAX_TASK_DEFINITION_BYTES:
            yield (
                ("containers",),
                (
                    f"the task definition would be about {size} bytes; ECS allows {MAX_TASK_DEFINITION_BYTES}: "
                    "move large environment values into SSM parameters or secrets"
                ),
            )

    def _check_container_resources(self) -> Iterator[Rule]:
        for name, container in self.containers.items():
            if self.cpu is not None and container.cpu is not None and container.cpu > self.cpu:
                yield (
                    ("containers", name, "cpu"),
                    (f"{container.cpu} is above the task's cpu ({self.cpu}); lower it or raise the task's"),
                )
        if self.memory is not None:
            # ECS rejects a task whose containers' hard limits (or reservations) add up past the task's memory.
            for field_name in ("memory", "memory_reservation"):
                values = [getattr(c, field_name) or 0 for c in self.containers.values()]
                if len([v for v in values if v]) > 1 and sum(values) > self.memory:
                    yield (
                        ("containers",),
                        (
                            f"the containers' {field_name} add up to {sum(values)} MiB, above the task's memory "
                            f"({self.memory}); lower them or raise the task's"
                        ),
                    )
        if self.cpu is not None:
            total_cpu = sum(c.cpu or 0 for c in self.containers.values())
            if len([c for c in self.containers.values() if c.cpu]) > 1 and total_cpu > self.cpu:
                yield (
                    ("containers",),
                    (f"the containers' cpu add up to {total_cpu}, above the task's cpu ({self.cpu}); lower them"),
                )

    def _check_ports(self) -> Iterator[Rule]:
        # In awsvpc and host mode all containers share one network namespace (or the host's);
        # in bridge mode only fixed host ports can clash.
        seen: dict[int, str] = {}
        for name, container in self.containers.items():
            if container.port is None:
                continue
            port = container.port if self.network_mode != "bridge" else container.host_port
            if not port:
                continue
            if port in seen:
                field_name = "port" if self.network_mode != "bridge" else "host_port"
                yield (
                    ("containers", name, field_name),
                    (f"{port} is already used by container {seen[port]!r}; containers of one task need distinct ports"),
                )
            seen.setdefault(port, name)

    def _check_dependencies(self) -> Iterator[Rule]:
        for name, container in self.containers.items():
            for other, condition in container.depends_on.items():
                target = self.containers.get(other)
                if target is None or other == name:
                    continue
                if condition in ("success", "complete") and target.essential:
                    yield (
                        ("containers", name, "depends_on", other),
                        (
                            f"{condition!r}: ECS waits for {other!r} to exit, but it is essential (the task would "
                            f"stop with it); set `essential: false` on {other!r} or use start/healthy"
                        ),
                    )
                if condition == "healthy" and target.health_check is None:
                    yield (
                        ("containers", name, "depends_on", other),
                        (f"'healthy', but {other!r} has no health_check; add one to it or use start"),
                    )
        cycle = _dependency_cycle({n: list(c.depends_on) for n, c in self.containers.items()})
        if cycle:
            yield (
                ("containers", cycle[0], "depends_on"),
                (f"containers wait for each other in a circle ({' -> '.join(cycle)}); break the cycle"),
            )

    def _check_fargate(self) -> Iterator[Rule]:
        if self.network_mode != "awsvpc":
            yield ("network_mode",), f"{self.network_mode!r}: Fargate tasks use awsvpc only; remove network_mode"
        if self.placement is not None:
            yield ("placement",), "Fargate places tasks itself; placement is for EC2 capacity only, remove it"
        assert self.cpu is not None and self.memory is not None
        if self.cpu not in FARGATE_CPU:
            yield ("cpu",), f"{self.cpu} is not a valid Fargate CPU; use one of {', '.join(map(str, FARGATE_CPU))}"
        elif self.memory not in fargate_memory_choices(self.cpu):
            choices = fargate_memory_choices(self.cpu)
            yield (
                ("memory",),
                (
                    f"{self.memory} MiB is not valid with {self.cpu} CPU on Fargate; use {choices[0]} to "
                    f"{choices[-1]} in steps of {choices[1] - choices[0]}"
                ),
            )
        for name, container in self.containers.items():
            if container.privileged:
                yield ("containers", name, "privileged"), "Fargate runs no privileged containers; remove it"
            if container.stop_timeout_seconds > FARGATE_STOP_TIMEOUT_MAX:
                yield (
                    ("containers", name, "stop_timeout_seconds"),
                    (
                        f"{container.stop_timeout_seconds} is above Fargate's maximum of {FARGATE_STOP_TIMEOUT_MAX}; "
                        "lower it"
                    ),
                )

    def warnings(self) -> Iterator[Rule]:
        for name, container in self.containers.items():
            if container.credentials is not None and container.image.reference is None:
                yield (
                    ("containers", name, "credentials"),
                    (
                        f"{container.credentials!r} is ignored: ECR images are pulled with the execution role; "
                        "credentials are for plain private image references"
                    ),
                )
            for variable in container.environment:
                if any(hint in variable.upper() for hint in SECRET_NAME_HINTS):
                    yield (
                        ("containers", name, "environment", variable),
                        (
                            f"{variable!r} looks like a secret; plain environment values show in the console and the "
                            "template: move it to `secrets`"
                        ),
                    )


def _dependency_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """The first cycle of container dependencies, as a path that returns to its start."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in graph:
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def _estimated_task_definition_bytes(task: TaskSpec) -> int:
    """A close upper estimate of the registered task definition's JSON size."""
    import json

    per_container_overhead = 600  # log configuration, names, ARNs of roles and secrets
    body = [c.model_dump(exclude_defaults=True) for c in task.containers.values()]
    return len(json.dumps(body)) + per_container_overhead * len(task.containers)


class Service(TaskSpec):
    count: int | None = Field(
        None, ge=0, le=MAX_TASKS_PER_SERVICE, description="Default: scaling.min when scaling is set, else 1."
    )
    scheduling: Literal["replica", "daemon"] = Field(
        "replica", description="Default: replica. daemon: one task per EC2 instance (EC2 only, no count, no scaling)."
    )
    exec: bool = Field(False, description="Default: false, ECS Exec off.")
    http: Http | None = Field(None, description="Default: not load balanced.")
    discovery: bool = Field(False, description="Default: false. true: <service>.<namespace> in Cloud Map.")
    deployment: Deployment = Field(default_factory=Deployment, description="Default: rolling, as below.")
    scaling: Scaling | None = Field(None, description="Default: a fixed count.")

    @property
    def desired_count(self) -> int:
        assert self.count is not None or self.scheduling == "daemon"
        return self.count or 0

    @property
    def http_container(self) -> str | None:
        if self.http is None:
            return None
        return self.http.container or next((n for n, c in self.containers.items() if c.port), None)

    def resolve(self) -> None:
        super().resolve()
        daemon_defaults = self.scheduling == "daemon" and self.placement is not None
        if daemon_defaults and "strategies" not in self.placement.model_fields_set:  # type: ignore[union-attr]
            self.placement.strategies = []  # type: ignore[union-attr]  # ECS takes no strategies for daemons
        if self.scheduling == "replica" and self.count is None:
            self.count = self.scaling.min if self.scaling else 1
        deployment = self.deployment
        daemon = self.scheduling == "daemon"
        if deployment.minimum_healthy_percent is None:
            deployment.minimum_healthy_percent = 0 if daemon else 100
        if deployment.maximum_percent is None:
            deployment.maximum_percent = 100 if daemon else 200

    def check(self) -> Iterator[Rule]:
        yield from super().check()
        yield from self._check_http()
        yield from self._check_discovery()
        yield from self._check_scheduling()
        yield from self._check_deployment()
        yield from self._check_request_scaling()

    def warnings(self) -> Iterator[Rule]:
        yield from super().warnings()
        if self.exec:
            for name, container in self.containers.items():
                if container.readonly_root_filesystem:
                    yield (
                        ("containers", name, "readonly_root_filesystem"),
                        (
                            "true, with exec: true: ECS Exec runs an SSM agent inside the container, which needs a "
                            "writable root file system, so `aws ecs execute-command` cannot open a session in "
                            f"{name!r}; set readonly_root_filesystem: false on the container you need a shell in, "
                            "or turn exec off"
                        ),
                    )
        if self.scaling is not None and "count" in self.model_fields_set and self.count != self.scaling.min:
            yield (
                ("count",),
                (
                    f"{self.count}: with scaling, Application Auto Scaling owns the running count: it keeps it "
                    f"between scaling.min ({self.scaling.min}) and max, and deployments leave it as it is, so count "
                    "is never applied; raise scaling.min instead, or remove count"
                ),
            )

    def _check_request_scaling(self) -> Iterator[Rule]:
        tracking = self.scaling.target_tracking if self.scaling else None
        strategy = self.deployment.strategy
        if self.http is None or tracking is None or not tracking.requests_per_target or strategy == "rolling":
            return
        yield (
            ("scaling", "target_tracking", "requests_per_target"),
            (
                f"{tracking.requests_per_target}: requests per target are counted on one target group, but a "
                f"{strategy} deployment moves production to the other group, and ECS does not support "
                "ALBRequestCountPerTarget scaling with these deployments; scale on cpu_percent or memory_percent "
                "instead, or use strategy: rolling"
            ),
        )

    def _check_http(self) -> Iterator[Rule]:
        needs_http: list[tuple[tuple[str, ...], str]] = []
        if self.deployment.strategy != "rolling":
            needs_http.append((("deployment", "strategy"), f"{self.deployment.strategy!r}"))
        if self.scaling and self.scaling.target_tracking and self.scaling.target_tracking.requests_per_target:
            needs_http.append((("scaling", "target_tracking", "requests_per_target"), "requests_per_target"))
        alarms = self.deployment.rollback_alarms
        if alarms and alarms.http_5xx_percent:
            needs_http.append((("deployment", "rollback_alarms", "http_5xx_percent"), "http_5xx_percent"))
        if self.http is None:
            for path, what in needs_http:
                yield path, f"{what} needs the service to be load balanced; add `http` or remove it"
            return
        name = self.http_container
        if name is None:
            yield ("http",), "no container has a port for the load balancer; give a container a `port`"
        elif name not in self.containers:
            yield (
                ("http", "container"),
                f"{name!r} is not a container of this service; use one of {', '.join(self.containers)}",
            )
        elif self.containers[name].port is None:
            yield ("http", "container"), f"{name!r} has no port; give it a `port` for the load balancer"
        if self.network_mode == "host" and name in self.containers:
            container = self.containers[name]
            if container.host_port not in (None, container.port):
                yield ("containers", name, "host_port"), "in host mode the host port is the container port; remove it"

    def _check_discovery(self) -> Iterator[Rule]:
        if self.discovery and self.network_mode != "awsvpc" and not any(c.port for c in self.containers.values()):
            yield (
                ("discovery",),
                (
                    f"true, but in {self.network_mode} mode Cloud Map publishes SRV records, which need a port; "
                    "give a container a `port`"
                ),
            )

    def _check_scheduling(self) -> Iterator[Rule]:
        if self.scheduling != "daemon":
            if self.scaling and self.count is not None and not self.scaling.min <= self.count <= self.scaling.max:
                yield (
                    ("count",),
                    (
                        f"{self.count} is outside scaling min..max ({self.scaling.min}..{self.scaling.max}); "
                        "change count or the bounds"
                    ),
                )
            return
        if self.on_fargate:
            yield ("scheduling",), "'daemon' places one task per EC2 instance; use EC2 capacity or replica"
        for name, container in self.containers.items():
            if container.image.released:
                # A replica service waits at 0 tasks for the first release; a daemon cannot.
                yield (
                    ("containers", name, "image"),
                    (
                        f"{{registry: {container.image.registry}}} follows the pipeline's releases, but a daemon "
                        "starts on every instance at once, before any release exists; pin a tag "
                        f"({{registry: {container.image.registry}, tag: ...}}) or use a plain image reference"
                    ),
                )
        if "count" in self.model_fields_set:
            yield ("count",), "a daemon service runs one task per instance; remove count"
        if self.scaling is not None:
            yield ("scaling",), "a daemon service runs one task per instance; remove scaling"
        if self.placement is not None and "strategies" in self.placement.model_fields_set and self.placement.strategies:
            yield ("placement", "strategies"), "daemon services take no placement strategies; use constraints only"

    def _check_deployment(self) -> Iterator[Rule]:
        baking = traffic_shift_minutes(self.deployment)
        if baking > CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES:
            strategy = self.deployment.strategy
            also = ", or raise linear_step_percent" if strategy == "linear" else ""
            yield (
                ("deployment", "strategy"),
                (
                    f"{strategy!r} with these bake_minutes and step_minutes bakes {baking} minutes per deployment; "
                    f"CloudFormation rejects an ECS service that bakes longer than "
                    f"{CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES} minutes (33 hours): lower bake_minutes or "
                    f"step_minutes{also}"
                ),
            )
        low = self.deployment.minimum_healthy_percent
        high = self.deployment.maximum_percent
        assert low is not None and high is not None
        if low > high:
            yield ("deployment", "minimum_healthy_percent"), (f"{low} is above maximum_percent ({high}); lower it")
            return
        if self.scheduling == "daemon":
            if high != 100:
                yield ("deployment", "maximum_percent"), f"{high}: daemon services deploy with 100; remove it"
            return
        count = self.desired_count
        # ECS keeps ceil(count*min%) tasks running and at most floor(count*max%): with no
        # room between the two it can neither start a new task nor stop an old one.
        if count and (count * high) // 100 - -((-count * low) // 100) < 1:
            yield (
                ("deployment", "maximum_percent"),
                (
                    f"{high} with minimum_healthy_percent {low} and {count} task(s) leaves no room to replace a "
                    "task, so a deployment could never proceed; raise maximum_percent or lower the minimum"
                ),
            )


def traffic_shift_minutes(deployment: Deployment) -> int:
    """Bake and step bake minutes of one deployment, added up as CloudFormation does for
    its 33-hour limit: blue_green bakes once after the shift; canary after the canary step
    and again after the rest; linear between each two of its ceil(100 / step) shifts
    (never after the last, which reaches 100 %) and once more at the end."""
    if deployment.strategy == "rolling":
        return 0
    if deployment.strategy == "blue_green":
        return deployment.bake_minutes
    if deployment.strategy == "canary":
        return deployment.step_minutes + deployment.bake_minutes
    steps = math.ceil(100 / deployment.linear_step_percent) - 1
    return steps * deployment.step_minutes + deployment.bake_minutes


def deployment_minutes(service: Service) -> int:
    """How long one deployment of the service is modelled to take: its bake and step times
    plus a margin for starting tasks and passing health checks."""
    return traffic_shift_minutes(service.deployment) + DEPLOYMENT_MARGIN_MINUTES


class ScheduledTask(TaskSpec):
    schedule: str = Field(description='Required. "cron(...)" or "rate(...)" (EventBridge Scheduler).')
    timezone: TimeZoneName = Field("UTC", description="Default: UTC. An IANA time zone.")
    count: int = Field(1, ge=1, le=10, description="Default: 1 task per run (at most 10).")

    def check(self) -> Iterator[Rule]:
        yield from super().check()
        cron = re.fullmatch(r"cron\((.+)\)", self.schedule)
        rate = _RATE.fullmatch(self.schedule)
        problem = rate_problem(self.schedule) if rate else cron_problem(cron.group(1)) if cron else None
        if problem:
            yield ("schedule",), problem
        if cron and len(cron.group(1).split()) != _CRON_FIELDS:
            yield (
                ("schedule",),
                (f"{self.schedule!r}: cron(...) takes six fields: minutes hours day-of-month month day-of-week year"),
            )
        elif not cron and not rate:
            yield (
                ("schedule",),
                (
                    f"{self.schedule!r} is neither cron(...) nor rate(...); write e.g. cron(0 3 ? * TUE,THU *) "
                    "or rate(15 minutes)"
                ),
            )


class LoadBalancer(Model):
    public: bool = Field(True, description="Default: true, internet-facing. false: internal.")
    certificate_arn: str | None = Field(
        None,
        pattern=pattern(
            r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$",
            "ACM certificate ARN",
            "arn:aws:acm:us-east-1:111111111111:certificate/abc-123",
        ),
        description="Default: none, HTTP on port 80. Set: HTTPS on 443, and 80 redirects to 443.",
    )
    allowed_cidrs: list[str] | None = Field(
        None, min_length=1, description="Default: everyone (0.0.0.0/0) when public, the VPC's range when internal."
    )
    idle_timeout_seconds: int = Field(60, ge=1, le=4000, description="Default: 60.")
    access_logs: bool = Field(True, description="Default: true, to an S3 bucket of this environment.")

    def check(self) -> Iterator[Rule]:
        import ipaddress

        for index, cidr in enumerate(self.allowed_cidrs or []):
            try:
                # IPv4 with an explicit mask: the load balancer's security group rules are IPv4.
                ipaddress.IPv4Network(cidr, strict=True)
                valid = "/" in cidr
            except ValueError:
                valid = False
            if not valid:
                yield ("allowed_cidrs", index), f"{cidr!r} is not an IPv4 CIDR block; write it like 203.0.113.0/24"

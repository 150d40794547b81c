"""What services and scheduled tasks share: a task, its containers and where it runs.

Rules that need only the task live here; rules that need the rest of the manifest
(registries, cluster providers) are in checks.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from .addons import Addon
from .base import Model, Name, Rule
from .containers import SECRET_NAME_HINTS, Container
from .placement import (
    FARGATE_CPU,
    FARGATE_PROVIDERS,
    CapacityItem,
    Placement,
    fargate_memory_choices,
    one_provider_to_list,
)
from .runtime import Platform, Tracing, check_runtime, sidecars
from .security_groups import SecurityGroupId, security_group_rules
from .wiring import Access, ManagedPolicyArn, Permission

# ECS task definition size limit (container definitions and all), in bytes.
MAX_TASK_DEFINITION_BYTES = 32 * 1024
FARGATE_STOP_TIMEOUT_MAX = 120
MAX_GENERATED_SECRETS = 50


class TaskSpec(Model):
    """What services and scheduled tasks share: where and how their task runs."""

    capacity: Annotated[
        list[CapacityItem], BeforeValidator(one_provider_to_list, json_schema_input_type=str | list[CapacityItem])
    ] = Field(
        default_factory=lambda: [CapacityItem(provider="fargate")],
        min_length=1,
        description="Default: fargate. A provider name or a strategy list; Fargate, EC2 groups and managed "
        "instances never mix.",
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
    platform: Platform | None = Field(
        None,
        description="linux/amd64 | linux/arm64. Default: the architecture of the task's EC2 groups, linux/amd64 "
        "on Fargate (no runtime platform is written). On Fargate an explicit platform becomes the task's runtime "
        "platform (linux/arm64: Graviton, on Fargate and Fargate Spot); on EC2 it must match the groups' "
        "architecture. One its groups don't match, or groups of both architectures, is an error.",
    )
    ephemeral_storage_gib: int | None = Field(
        None, ge=21, le=200, description="Fargate only, 21..200. Default: 20 GiB, Fargate's own (not written)."
    )
    tracing: Tracing | None = Field(
        None,
        description="Default: none. xray: an AWS Distro for OpenTelemetry collector sidecar (OTLP on localhost:4317 "
        "and 4318) that sends traces to X-Ray, and the X-Ray permissions on the task role.",
    )
    access: Access | None = Field(
        None,
        description="Default: none. Least-privilege grants to the task role for the environment's queues, topics "
        "and buckets, and QUEUE_<NAME>_URL, TOPIC_<NAME>_ARN, BUCKET_<NAME>_NAME in every container.",
    )
    permissions: list[Permission] = Field(
        default_factory=list, max_length=50, description="Default: none. Extra task-role statements."
    )
    managed_policies: list[ManagedPolicyArn] = Field(
        default_factory=list, max_length=10, description="Default: none. Managed policies for the task role."
    )
    addons: list[Addon] = Field(
        default_factory=list,
        max_length=20,
        description="Default: none. CloudFormation templates deployed inside this workload's stack, each as a nested "
        "stack (deleted with it; resources the template retains stay). Outputs: a Ref to an AWS::IAM::ManagedPolicy "
        "is attached to the task role, to an AWS::EC2::SecurityGroup added to the tasks (awsvpc), to an "
        "AWS::SecretsManager::Secret a secret of every container; any other output an environment variable of every "
        "container, in upper snake case (OrdersTableName: ORDERS_TABLE_NAME).",
    )
    security_groups: list[SecurityGroupId] = Field(
        default_factory=list,
        description="awsvpc only. Default: none. Existing security groups the tasks join besides their own (e.g. "
        "the group a database admits); ECS allows 5 per task, counting the task's own, the Service Connect group "
        "and addons' groups.",
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
        yield from security_group_rules(self.security_groups, self.network_mode, getattr(self, "connect", False))
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
        yield from check_runtime(
            self.containers,
            tracing=self.tracing,
            on_fargate=self.on_fargate,
            network_mode=self.network_mode,
            ephemeral_storage_gib=self.ephemeral_storage_gib,
            task_memory=self.memory,
        )
        if not any(c.essential for c in self.containers.values()):
            yield ("containers",), "no container is essential; mark at least one `essential: true`"
        yield from self._check_container_wiring()
        yield from self._check_container_resources()
        yield from self._check_ports()
        yield from self._check_dependencies()
        yield from self._check_task_size()

    def _check_container_wiring(self) -> Iterator[Rule]:
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

    def _check_task_size(self) -> Iterator[Rule]:
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
    # The sidecars (log router, collector) are about one overhead each.
    containers = len(task.containers) + len(sidecars(task.containers, task.tracing))
    return len(json.dumps(body)) + per_container_overhead * containers

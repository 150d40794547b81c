"""Rules for managed instances capacity and GPUs, which need the cluster and the workloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .base import Rule
from .catalog import instance_architecture, instance_gpus, instance_type_problem
from .managed_instances import ManagedInstances
from .tasks import TaskSpec

if TYPE_CHECKING:
    from .models import Manifest


def check_compute(manifest: Manifest) -> Iterator[Rule]:
    for key, provider in manifest.cluster.managed_instances.items():
        where = ("cluster", "managed_instances", key)
        for index, name in enumerate(provider.instance_types or []):
            if problem := instance_type_problem(name, manifest.region):
                yield (*where, "instance_types", index), problem
        architectures = {instance_architecture(t) for t in provider.instance_types or []}
        if len(architectures) > 1:
            yield (
                (*where, "instance_types"),
                "mixes x86_64 and arm64 instance types, but a task's image runs on one; use types of one architecture",
            )
    for at, task in manifest.workloads():
        yield from _check_managed_capacity(manifest, at, task)
        yield from _check_gpus(manifest, at, task)


def uses_managed_instances(manifest: Manifest, task: TaskSpec) -> bool:
    return any(item.provider in manifest.cluster.managed_instances for item in task.capacity)


def _check_managed_capacity(manifest: Manifest, at: tuple[str, str], task: TaskSpec) -> Iterator[Rule]:
    managed = [i.provider for i in task.capacity if i.provider in manifest.cluster.managed_instances]
    if not managed:
        return
    others = [i.provider for i in task.capacity if i.provider in manifest.cluster.ec2]
    if others:
        yield (
            (*at, "capacity"),
            (
                f"mixes managed instances ({', '.join(managed)}) with EC2 groups ({', '.join(others)}); a strategy "
                "holds one kind of capacity provider: use managed instances only, or EC2 groups only"
            ),
        )
    if task.network_mode != "awsvpc":
        # ECS also runs host mode there; ecsforge's services on managed instances are awsvpc ones.
        yield (
            (*at, "network_mode"),
            f"{task.network_mode}: tasks on managed instances use awsvpc here; use awsvpc (the default)",
        )
    if getattr(task, "scheduling", None) == "daemon":
        yield (
            (*at, "scheduling"),
            "'daemon' runs one task per container instance of EC2 groups; on managed instances use replica",
        )
    elif task.placement is not None and task.placement.model_fields_set:
        # resolve() gives every non-Fargate task a default placement, whose fields are not set.
        yield (
            (*at, "placement"),
            "ECS places tasks on managed instances itself; remove placement, or run on an EC2 group",
        )


def _check_gpus(manifest: Manifest, at: tuple[str, str], task: TaskSpec) -> Iterator[Rule]:
    asking = [name for name, container in task.containers.items() if container.gpu]
    if not asking:
        return
    total = sum(container.gpu for container in task.containers.values())
    here = (*at, "containers", asking[0], "gpu")
    if task.on_fargate:
        yield here, f"{total} GPU(s), but Fargate has no GPUs; run it on an EC2 group or managed instances with GPUs"
        return
    for item in task.capacity:
        if item.provider in manifest.cluster.ec2:
            yield from _type_gpus(here, item.provider, [manifest.cluster.ec2[item.provider].instance_type], total)
        elif item.provider in manifest.cluster.managed_instances:
            yield from _managed_gpus(here, item.provider, manifest.cluster.managed_instances[item.provider], total)


def _managed_gpus(here: tuple[str, ...], key: str, provider: ManagedInstances, total: int) -> Iterator[Rule]:
    if provider.instance_types is not None:
        yield from _type_gpus(here, key, provider.instance_types, total)
        return
    gpus = provider.instance_requirements.gpus if provider.instance_requirements else None
    if gpus is None or gpus.min < total:
        yield (
            here,
            (
                f"the task asks for {total} GPU(s), but managed instances {key!r} may launch instances with fewer; "
                f"set its instance_requirements.gpus.min to {total} or more"
            ),
        )


def _type_gpus(here: tuple[str, ...], key: str, types: list[str], total: int) -> Iterator[Rule]:
    for name in types:
        count = instance_gpus(name)
        if count == 0:
            yield (
                here,
                (
                    f"{total} GPU(s), but {name} (capacity provider {key!r}) has no GPUs; use a GPU instance type "
                    "such as g6.xlarge, or remove gpu"
                ),
            )
        elif count < total:
            yield (
                here,
                (
                    f"the task's containers ask for {total} GPUs, but {name} (capacity provider {key!r}) has "
                    f"{count}; ask for {count} or fewer, or use a larger type"
                ),
            )

"""Rules of application wiring that need the whole manifest: names that must exist, variables
that must not clash, queue-backlog scaling and EFS mounts against the task that uses them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from .base import Rule
from .tasks import FARGATE_STOP_TIMEOUT_MAX, TaskSpec
from .wiring import DEAD_LETTER_SUFFIX, access_variables

if TYPE_CHECKING:
    from .models import Manifest

AWS_MANAGED_POLICY = ":iam::aws:policy/"
# containers.*.stop_timeout_seconds' upper limit.
EC2_STOP_TIMEOUT_MAX = 3600


def wiring_rules(manifest: Manifest) -> Iterator[Rule]:
    yield from _check_queues(manifest)
    for path, spec in manifest.workloads():
        yield from (((*path, *p), m) for p, m in _check_access(manifest, spec))
        scheduled = path[0] == "scheduled_tasks"
        yield from (((*path, *p), m) for p, m in _check_mounts(manifest, spec, scheduled=scheduled))
    for name, service in manifest.services.items():
        yield from ((("services", name, *p), m) for p, m in _check_backlog_scaling(manifest, service))


def _one_of(names: Iterable[str]) -> str:
    listed = ", ".join(names)
    return f"use one of {listed}" if listed else "declare it first"


def _check_queues(manifest: Manifest) -> Iterator[Rule]:
    for name, queue in manifest.queues.items():
        if name.endswith(DEAD_LETTER_SUFFIX) and name.removesuffix(DEAD_LETTER_SUFFIX) in manifest.queues:
            yield (
                ("queues", name),
                (
                    f"{name!r} is the name of the dead-letter queue of {name.removesuffix(DEAD_LETTER_SUFFIX)!r}; "
                    "rename this queue"
                ),
            )
        for index, subscription in enumerate(queue.subscribe):
            topic = manifest.topics.get(subscription.topic)
            path = ("queues", name, "subscribe", index, "topic")
            if topic is None:
                yield path, f"{subscription.topic!r} is not a topic of this environment; {_one_of(manifest.topics)}"
            elif queue.fifo and not topic.fifo:
                yield (
                    path,
                    (
                        f"{subscription.topic!r} is a standard topic, and SNS delivers to a FIFO queue only from a "
                        "FIFO topic; set fifo: true on the topic, or fifo: false on the queue"
                    ),
                )
            if subscription.topic in [s.topic for s in queue.subscribe[:index]]:
                yield path, f"{subscription.topic!r} is subscribed twice; merge the two filters into one"


def _check_access(manifest: Manifest, spec: TaskSpec) -> Iterator[Rule]:
    access = spec.access
    if access is not None:
        for kind, granted, declared in (
            ("queues", access.queues, manifest.queues),
            ("topics", access.topics, manifest.topics),
            ("buckets", access.buckets, manifest.buckets),
        ):
            for name in granted:
                if name not in declared:
                    yield (
                        ("access", kind, name),
                        f"{name!r} is not one of the environment's {kind}; {_one_of(list(declared))}",
                    )
    variables = access_variables(access)
    for container_name, container in spec.containers.items():
        for field_name in ("environment", "secrets"):
            for variable in getattr(container, field_name):
                if variable in variables:
                    kind, name = variables[variable]
                    yield (
                        ("containers", container_name, field_name, variable),
                        (
                            f"{variable!r} is set by ecsforge from access.{kind}.{name}; remove it here (the "
                            "container gets it anyway) or rename it"
                        ),
                    )


def _check_mounts(manifest: Manifest, spec: TaskSpec, *, scheduled: bool) -> Iterator[Rule]:
    ebs_volumes: list[str] = []
    for container_name, container in spec.containers.items():
        for index, mount in enumerate(container.mounts):
            path = ("containers", container_name, "mounts", index)
            volume = manifest.volumes.get(mount.volume)
            if volume is None:
                yield (
                    (*path, "volume"),
                    f"{mount.volume!r} is not a volume of this environment; {_one_of(list(manifest.volumes))}",
                )
            elif volume.ebs is not None:
                yield from _check_ebs_mount(mount.volume, (*path, "volume"), ebs_volumes, scheduled=scheduled)
                ebs_volumes.append(mount.volume)
                continue
            if spec.network_mode == "host":
                # EFS IAM authorization mounts with the task role; in host mode a task gets its role
                # only with ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST on the instance, which ecsforge does not set.
                yield (
                    (*path, "volume"),
                    (
                        f"{mount.volume!r}: EFS mounts use the task role (IAM authorization), which tasks in host "
                        "network mode do not get; use network_mode awsvpc or bridge"
                    ),
                )


def _check_ebs_mount(volume: str, path: tuple[str | int, ...], seen: list[str], *, scheduled: bool) -> Iterator[Rule]:
    if scheduled:
        # EventBridge Scheduler's ECS target takes no volume configuration, and a task definition
        # volume configured at launch needs one.
        yield (
            path,
            f"{volume!r} is an EBS volume, which ECS creates only for the tasks of a service; a scheduled task "
            "cannot mount it: use an EFS volume (no `ebs`), or make this a service",
        )
    elif seen and volume not in seen:
        yield (
            path,
            f"{volume!r}: a task gets at most one EBS volume (one volume configured at launch per task "
            f"definition), and this one already mounts {seen[0]!r}; mount one of them",
        )


def _check_backlog_scaling(manifest: Manifest, service: TaskSpec) -> Iterator[Rule]:
    scaling = getattr(service, "scaling", None)
    if scaling is None or scaling.queue_backlog_per_task is None:
        return
    path = ("scaling", "queue_backlog_per_task")
    consumed = [n for n, how in (service.access.queues if service.access else {}).items() if how == "consume"]
    if len(consumed) != 1:
        yield (
            path,
            (
                f"{scaling.queue_backlog_per_task}: backlog per task needs the one queue this service consumes, "
                f"but it consumes {len(consumed)} ({', '.join(consumed) or 'none'}); give it exactly one "
                "`access.queues.<name>: consume`"
            ),
        )
        return
    if manifest.cluster.container_insights == "disabled":
        yield (
            path,
            (
                f"{scaling.queue_backlog_per_task}: the running task count comes from Container Insights "
                "(ECS/ContainerInsights RunningTaskCount), which cluster.container_insights: disabled turns off; "
                "enable it or scale on something else"
            ),
        )
    queue = manifest.queues.get(consumed[0])
    if queue is None:
        return
    # Scale-in sends SIGTERM and waits stop_timeout: a message received just before must be
    # finished (or given back) within that time, so the wait covers its visibility timeout.
    needed = min(queue.visibility_timeout_seconds, _stop_timeout_ceiling(service))
    for name, container in service.containers.items():
        if container.essential and container.stop_timeout_seconds < needed:
            yield (
                ("containers", name, "stop_timeout_seconds"),
                (
                    f"{container.stop_timeout_seconds}: on scale-in ECS stops this container after "
                    f"{container.stop_timeout_seconds}s, while a message of {consumed[0]!r} may be in flight for "
                    f"{queue.visibility_timeout_seconds}s (visibility_timeout_seconds); set stop_timeout_seconds "
                    f"to {needed} or more"
                ),
            )


def resolve_stop_timeouts(manifest: Manifest) -> None:
    """A service scaling on the backlog of the queue it consumes: containers whose stop timeout
    the user did not write wait out the queue's visibility timeout on scale-in (up to the
    limit), so that a message received just before is finished rather than processed twice."""
    for service in manifest.services.values():
        scaling = service.scaling
        if scaling is None or scaling.queue_backlog_per_task is None or service.access is None:
            continue
        consumed = [q for q, how in service.access.queues.items() if how == "consume"]
        queue = manifest.queues.get(consumed[0]) if len(consumed) == 1 else None
        if queue is None:
            continue
        needed = min(queue.visibility_timeout_seconds, _stop_timeout_ceiling(service))
        for container in service.containers.values():
            if container.essential and "stop_timeout_seconds" not in container.model_fields_set:
                container.stop_timeout_seconds = max(container.stop_timeout_seconds, needed)


def wiring_warnings(manifest: Manifest) -> Iterator[Rule]:
    """What cdk-nag would flag in a user's own statements; the finding is acknowledged with
    this warning's location (compliance/wiring.py), never silently."""
    for path, spec in manifest.workloads():
        for index, permission in enumerate(spec.permissions):
            if permission.effect == "Allow" and permission.has_wildcard():
                yield (
                    (*path, "permissions", index),
                    (
                        "grants with a wildcard (cdk-nag AwsSolutions-IAM5, acknowledged because you wrote it): "
                        "list exact actions and resource ARNs where you can"
                    ),
                )
        for index, arn in enumerate(spec.managed_policies):
            if AWS_MANAGED_POLICY in arn:
                yield (
                    (*path, "managed_policies", index),
                    (
                        f"{arn.rsplit('/', 1)[-1]} is an AWS managed policy (cdk-nag AwsSolutions-IAM4, acknowledged "
                        "because you wrote it); AWS managed policies are broad: prefer `access` or `permissions`"
                    ),
                )
        for path_in, message in _backlog_warnings(manifest, spec):
            yield (*path, *path_in), message


def _stop_timeout_ceiling(spec: TaskSpec) -> int:
    """The longest stop timeout a container may have (the manifest's limit on EC2)."""
    return FARGATE_STOP_TIMEOUT_MAX if spec.on_fargate else EC2_STOP_TIMEOUT_MAX


def _backlog_warnings(manifest: Manifest, spec: TaskSpec) -> Iterator[Rule]:
    scaling = getattr(spec, "scaling", None)
    if scaling is None or scaling.queue_backlog_per_task is None or spec.access is None:
        return
    ceiling = _stop_timeout_ceiling(spec)
    for name, how in spec.access.queues.items():
        queue = manifest.queues.get(name)
        if how == "consume" and queue is not None and queue.visibility_timeout_seconds > ceiling:
            yield (
                ("scaling", "queue_backlog_per_task"),
                (
                    f"{scaling.queue_backlog_per_task}: messages of {name!r} may be in flight for "
                    f"{queue.visibility_timeout_seconds}s, longer than ECS can wait on scale-in "
                    f"({ceiling}s): protect busy tasks through the task scale-in protection "
                    "endpoint ($ECS_AGENT_URI/task-protection/v1/state), or such messages are processed twice"
                ),
            )

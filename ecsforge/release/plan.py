"""What a release of one registry touches, computed from the manifest (runner.py does it)."""

from __future__ import annotations

from .. import names
from ..manifest.models import Manifest
from ..manifest.pipelines import Pipeline
from .runner import Follower, ReleasePlan


def follower_tasks(manifest: Manifest, registry: str) -> list[Follower]:
    """The scheduled tasks with a container following the registry's releases."""
    return [
        Follower(
            stack=manifest.stack_name(f"task-{name}"),
            family=manifest.stack_name(name),
            containers=[n for n, c in task.containers.items() if c.image.released and c.image.registry == registry],
        )
        for name, task in manifest.release_followers(registry).items()
    ]


def following_services(manifest: Manifest, registry: str) -> list[str]:
    """The services with a container following the registry's releases."""
    return [
        name
        for name, service in manifest.services.items()
        if any(c.image.released and c.image.registry == registry for c in service.containers.values())
    ]


def release_plan(manifest: Manifest, registry: str, services: list[str] | None = None) -> ReleasePlan:
    """The plan for releasing to `registry`: its services (`services`, or every service that
    follows it) and the scheduled tasks that follow it take their first release from it."""
    chosen = following_services(manifest, registry) if services is None else services
    followers = follower_tasks(manifest, registry)
    return ReleasePlan(
        parameter=names.released_tag_parameter(manifest, registry),
        repository=names.repository_name(manifest, registry),
        stacks=[*(manifest.stack_name(f"service-{name}") for name in chosen), *(f.stack for f in followers)],
        followers=followers,
        released_prefix=names.RELEASED_TAG_PREFIX,
        not_released=names.NOT_RELEASED,
    )


def pipeline_plan(manifest: Manifest, pipeline: Pipeline) -> ReleasePlan:
    """The pipeline's release step: the services it deploys, and the scheduled tasks."""
    return release_plan(manifest, pipeline.build.pushed_registry, list(pipeline.deploy.services))

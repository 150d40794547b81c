"""Workloads that move to another CPU architecture while their image follows a released tag.

Read from the manifests, not the templates: on EC2 the architecture is the group's instance type,
in another stack. The released image is the one the deployed (OLD) manifest's pipeline built; a
workload placed on an architecture that image lacks cannot start its tasks ("exec format error"),
and the service stack's failed deployment stops `cdk deploy --all` before the pipeline stack,
which deploys after it, could build for the new architecture.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..manifest.models import Manifest
from ..manifest.pipeline_images import image_views
from ..manifest.runtime import PLATFORMS
from ..manifest.tasks import TaskSpec
from .model import Hazard, Note

WORKLOAD_UNITS = {"services": "service", "scheduled_tasks": "task"}
WORKLOAD_WORDS = {"services": "service", "scheduled_tasks": "scheduled task"}


def _platforms(architectures: set[str] | list[str]) -> str:
    return ", ".join(sorted(PLATFORMS[a] for a in architectures))


def _followed(spec: TaskSpec) -> list[str]:
    """The registries whose released tag a workload's containers run."""
    return sorted({c.image.registry for c in spec.containers.values() if c.image.released and c.image.registry})


def _builders(manifest: Manifest, registry: str) -> dict[str, list[str]]:
    """Pipeline name -> the architectures it builds, for the pipelines that build a registry."""
    return {
        name: manifest.build_architectures(view)
        for name, pipeline in manifest.pipelines.items()
        for view in image_views(manifest, pipeline).values()
        if view.build.registry == registry
    }


def _remedy(new: Manifest, registry: str, needed: set[str]) -> str:
    builders = _builders(new, registry)
    if not builders:
        return (
            f"before deploying this change, release to registry {registry!r} an image index that also holds "
            f"{_platforms(needed)} (e.g. `docker buildx build --platform {_platforms(needed)} --push`, then "
            "`python -m ecsforge release`), or deploy it from the environment that releases it"
        )
    name = next(iter(builders))
    return (
        f"deploy it in two steps: first set `build.platforms: [{_platforms(needed)}]` on pipeline {name!r} "
        f"(keeping the workloads where they run), `cdk deploy --all`, and let the pipeline release once (a push, "
        f"or `aws codepipeline start-pipeline-execution --name {new.stack_name(name)}`); then move the workload"
    )


def architecture_changes(old: Manifest, new: Manifest) -> Iterator[Hazard | Note]:
    """A hazard for each workload that moves to an architecture the released image may lack; a note
    when the deployed pipeline builds it already (true once it has released since)."""
    for (kind, name), spec in new.workloads():
        before = getattr(old, kind).get(name)
        if before is None:
            continue
        was, now = old.architectures(before), new.architectures(spec)
        added = now - was
        if not added:
            continue
        stack = new.stack_name(f"{WORKLOAD_UNITS[kind]}-{name}")
        what = f"{WORKLOAD_WORDS[kind]} {name} moves from {_platforms(was)} to {_platforms(now)}"
        for registry in _followed(spec):
            built = {a for archs in _builders(old, registry).values() for a in archs}
            if added <= built:
                yield Note(
                    stack,
                    f"{what}; the deployed pipeline builds registry {registry!r} for {_platforms(built)}, so its "
                    "released image holds them once it has released since build.platforms was deployed",
                )
                continue
            source = (
                f"which the deployed pipeline builds for {_platforms(built)} only"
                if built
                else "which no pipeline of the deployed manifest builds, so its architectures are unknown"
            )
            failure = (
                "its tasks would fail to start (exec format error), the deployment roll back, and `cdk deploy --all` "
                "stop before the pipeline stack"
                if kind == "services"
                else "its runs would fail to start (exec format error)"
            )
            yield Hazard(
                stack,
                "architecture",
                f"{what}, but its image is the tag released to registry {registry!r}, {source}: once a release "
                f"has happened, {failure}",
                _remedy(new, registry, was | now),
            )


def architecture_findings(old: Manifest, new: Manifest) -> tuple[list[Hazard], list[Note]]:
    found = list(architecture_changes(old, new))
    return [f for f in found if isinstance(f, Hazard)], [f for f in found if isinstance(f, Note)]

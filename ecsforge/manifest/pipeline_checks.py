"""The rules that tie pipelines to the rest of the manifest: the registries they build,
the services they deploy, and how long a deployment may take."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

from annotated_types import Le

from .base import Rule
from .deployment import deployment_minutes, deployment_minutes_explained
from .pipeline_image_checks import check_build_registry, check_image_deploys, check_images, unknown_service
from .pipeline_images import image_views
from .pipelines import Deploy, Pipeline
from .runtime import ARCHITECTURES, PLATFORMS
from .services import Service

if TYPE_CHECKING:
    from .models import Manifest


def check_pipelines(manifest: Manifest) -> Iterator[Rule]:
    created_by: dict[str, str] = {}
    deployed_by: dict[str, str] = {}
    built_by: dict[str, str] = {}
    for name, pipeline in manifest.pipelines.items():
        yield from _check_created_repositories(name, pipeline, created_by)
        if pipeline.build.images is not None:
            yield from _check_images_pipeline(manifest, name, pipeline, (built_by, deployed_by))
            continue
        registry = pipeline.build.registry
        if registry is None:
            continue  # the build's own check says what is missing
        at = ("pipelines", name, "build", "registry")
        yield from check_build_registry(manifest, at, name, registry, built_by)
        for index, service_name in enumerate(pipeline.deploy.services):
            yield from _check_deployed_service(manifest, (name, pipeline, index, service_name), deployed_by)
        yield from _check_pipeline_architecture(manifest, name, pipeline)


def _check_images_pipeline(
    manifest: Manifest, name: str, pipeline: Pipeline, seen: tuple[dict[str, str], dict[str, str]]
) -> Iterator[Rule]:
    built_by, deployed_by = seen
    yield from check_images(manifest, name, pipeline, built_by)
    for index, service_name in enumerate(pipeline.deploy.services):
        yield from check_image_deploys(manifest, name, pipeline, index, service_name)
        service = manifest.services.get(service_name)
        if service is not None:
            yield from _check_deploy_timeout(manifest, name, pipeline, service_name, service)
        at = ("pipelines", name, "deploy", "services", index)
        yield from _check_deployed_once(at, name, service_name, deployed_by)
    for image_name, view in image_views(manifest, pipeline).items():
        image = (pipeline.build.images or {})[str(image_name)]
        build_at = ("pipelines", name, "build", *(("images", str(image_name)) if image.platforms else ()))
        if view.deploy.services:
            yield from _check_pipeline_architecture(manifest, name, view, build_at)


def _check_created_repositories(name: str, pipeline: Pipeline, created_by: dict[str, str]) -> Iterator[Rule]:
    for index, source in enumerate(pipeline.source):
        codecommit = source.codecommit
        if codecommit is None or not codecommit.create:
            continue
        if codecommit.repository in created_by:
            yield (
                ("pipelines", name, "source", index, "codecommit", "repository"),
                (
                    f"{codecommit.repository!r} is already created by pipeline "
                    f"{created_by[codecommit.repository]!r}; set `create: false` here to use it"
                ),
            )
        created_by.setdefault(codecommit.repository, name)


def _check_deployed_service(
    manifest: Manifest, deploy: tuple[str, Pipeline, int, str], deployed_by: dict[str, str]
) -> Iterator[Rule]:
    name, pipeline, index, service_name = deploy
    registry = pipeline.build.pushed_registry
    at = ("pipelines", name, "deploy", "services", index)
    service = manifest.services.get(service_name)
    if service is None:
        yield at, unknown_service(manifest, service_name)
        return
    if not any(c.image.released and c.image.registry == registry for c in service.containers.values()):
        yield (
            at,
            (
                f"{service_name!r} has no container with `image: {{registry: {registry}}}`, so this "
                "pipeline's image would never reach it; point a container at the registry or remove it"
            ),
        )
    yield from _check_deploy_timeout(manifest, name, pipeline, service_name, service)
    yield from _check_deployed_once(at, name, service_name, deployed_by)


def _check_deployed_once(
    at: tuple[str | int, ...], name: str, service_name: str, deployed_by: dict[str, str]
) -> Iterator[Rule]:
    if service_name in deployed_by:
        yield (
            at,
            (
                f"{service_name!r} is already deployed by pipeline {deployed_by[service_name]!r}; "
                "two pipelines would overwrite each other's image, keep it in one"
            ),
        )
    deployed_by.setdefault(service_name, name)


def _check_pipeline_architecture(
    manifest: Manifest, name: str, pipeline: Pipeline, build_at: tuple[str, ...] = ()
) -> Iterator[Rule]:
    build_at = build_at or ("pipelines", name, "build")
    by_architecture: dict[str, list[str]] = {}
    for service_name in pipeline.deploy.services:
        if service_name in manifest.services:
            for architecture in manifest.architectures(manifest.services[service_name]):
                by_architecture.setdefault(architecture, []).append(service_name)
    if pipeline.build.platforms is not None:
        yield from _check_platforms(manifest, (name, pipeline, build_at), by_architecture)
        return
    if len(by_architecture) > 1:
        runs = "; ".join(f"{', '.join(names)} on {arch}" for arch, names in sorted(by_architecture.items()))
        yield (
            ("pipelines", name, "deploy", "services"),
            (
                f"mixes CPU architectures ({runs}), but the pipeline builds one image for one architecture; "
                "deploy each architecture from its own registry and pipeline"
            ),
        )
        return
    platform = pipeline.build.platform
    if platform is not None and by_architecture and ARCHITECTURES[platform] not in by_architecture:
        ((architecture, names),) = by_architecture.items()
        yield (
            (*build_at, "platform"),
            (
                f"{platform!r}, but the services it deploys ({', '.join(names)}) run {architecture}, where this "
                f"image cannot start; remove build.platform (it follows the services) or set the services' "
                f"platform to {platform}"
            ),
        )
        return
    yield from _check_followers(manifest, name, pipeline)


def _check_platforms(
    manifest: Manifest, built_by: tuple[str, Pipeline, tuple[str, ...]], by_architecture: dict[str, list[str]]
) -> Iterator[Rule]:
    """build.platforms: every service it deploys runs on one of them (they may differ)."""
    name, pipeline, build_at = built_by
    built = manifest.build_architectures(pipeline)
    for architecture, names in sorted(by_architecture.items()):
        if architecture not in built:
            yield (
                (*build_at, "platforms"),
                (
                    f"{', '.join(pipeline.build.platforms or [])} does not include {PLATFORMS[architecture]}, "
                    f"where the services it deploys ({', '.join(names)}) run, and the image would not start "
                    f"there; add {PLATFORMS[architecture]}"
                ),
            )
    yield from _check_followers(manifest, name, pipeline)


def _check_followers(manifest: Manifest, name: str, pipeline: Pipeline) -> Iterator[Rule]:
    """Scheduled tasks that follow the registry run on an architecture the pipeline builds for."""
    built = manifest.build_architectures(pipeline)
    fix = "add its platform to build.platforms" if pipeline.build.platforms is not None else "run it on {}"
    registry = pipeline.build.pushed_registry
    for task_name, task in manifest.release_followers(registry).items():
        task_runs = manifest.architectures(task)
        if len(task_runs) == 1 and not task_runs <= set(built):
            written = [f for f in ("platform", "capacity") if f in task.model_fields_set]
            yield (
                ("scheduled_tasks", task_name, *written[:1]),
                (
                    f"runs on {task_runs.pop()}, but follows the releases of registry {registry!r}, "
                    f"which pipeline {name!r} builds for {', '.join(built)}; " + fix.format(PLATFORMS[built[0]])
                ),
            )


def _check_deploy_timeout(
    manifest: Manifest, name: str, pipeline: Pipeline, service_name: str, service: Service
) -> Iterator[Rule]:
    timeout = pipeline.deploy.timeout_minutes
    needed = deployment_minutes(service)
    if timeout >= needed:
        return
    # The deploy action's longest wait, as the Deploy model bounds it.
    limit = cast(int, next(m.le for m in Deploy.model_fields["timeout_minutes"].metadata if isinstance(m, Le)))
    shorten = "shorten the service's bake_minutes or step_minutes"
    if any(hook.pause is not None for hook in service.deployment.hooks):
        shorten += (
            ", or its pause hooks' timeout_minutes (or deploy it outside the pipeline, gated with `ecsforge continue`)"
        )
    fix = (
        f"raise timeout_minutes to {needed} or more, or {shorten}"
        if needed <= limit
        else f"the deploy action waits at most {limit} minutes: {shorten}"
    )
    yield (
        ("pipelines", name, "deploy", "timeout_minutes"),
        (
            f"{timeout}: service {service_name!r} ({service.deployment.strategy}) takes about {needed} minutes "
            f"to deploy ({deployment_minutes_explained(service)}), so the deploy action would time out and fail "
            f"the release while ECS is still deploying; {fix}"
        ),
    )

"""The rules of `build.images` (manifest v1.2): what each image pushes to, who follows it, and what
the pipeline deploys; the one-image form's rules live in pipeline_checks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .base import Rule
from .pipeline_images import follows, image_views
from .pipelines import Image, Pipeline
from .runtime import ARCHITECTURES, PLATFORMS

if TYPE_CHECKING:
    from .models import Manifest

# The sources whose build input carries the commit history `paths` compares against.
HISTORY_SOURCES = ("codecommit", "github")


def check_build_registry(
    manifest: Manifest, at: tuple[str | int, ...], name: str, registry: str, built_by: dict[str, str]
) -> Iterator[Rule]:
    if registry in built_by:
        yield (
            at,
            (
                f"{registry!r} is already built by pipeline {built_by[registry]!r}; each registry has one "
                "released tag, so two pipelines would hand each other's image to their services: give each "
                "pipeline its own registry"
            ),
        )
    built_by.setdefault(registry, name)
    if registry not in manifest.registries:
        known = ", ".join(manifest.registries) or "none defined"
        yield at, f"{registry!r} is not a key of `registries` ({known}); add it there or fix the name"


def check_images(manifest: Manifest, name: str, pipeline: Pipeline, built_by: dict[str, str]) -> Iterator[Rule]:
    """Each image: its own registry, used by a workload, on platforms a workload runs on."""
    images = pipeline.build.images or {}
    if pipeline.promote:
        yield (
            ("pipelines", name, "promote"),
            "promoting several images (build.images) is not supported yet: each promotion copies one registry; "
            "promote from a one-image pipeline (build.registry) or remove promote",
        )
    pushed: dict[str, str] = {}
    for image_name, image in images.items():
        at = ("pipelines", name, "build", "images", image_name)
        if image.registry in pushed:
            yield (
                (*at, "registry"),
                f"{image.registry!r} is pushed by image {pushed[image.registry]!r} too; two images under one "
                "commit tag would overwrite each other: give each image its own registry",
            )
            continue
        pushed[image.registry] = image_name
        yield from check_build_registry(manifest, (*at, "registry"), name, image.registry, built_by)
        users = _users(manifest, pipeline, image.registry)
        if not users and image.registry in manifest.registries:
            yield (
                (*at, "registry"),
                f"{image.registry!r}: no service in deploy.services and no scheduled task follows this registry "
                "(`image: {registry: ...}`), so the image would be built and never run; remove the image or point "
                "a workload at it",
            )
        yield from _check_paths(pipeline, at, image)
        if image.platforms is not None:
            yield from _unused_platforms(manifest, (*at, "platforms"), image.platforms, users)
    if pipeline.build.platforms is not None:
        everyone = [u for image in images.values() for u in _users(manifest, pipeline, image.registry)]
        at_build = ("pipelines", name, "build", "platforms")
        yield from _unused_platforms(manifest, at_build, pipeline.build.platforms, everyone)


def _users(manifest: Manifest, pipeline: Pipeline, registry: str) -> list[str]:
    """The deployed services and the scheduled tasks following a registry."""
    return [
        *(s for s in pipeline.deploy.services if follows(manifest, s, registry)),
        *manifest.release_followers(registry),
    ]


def _unused_platforms(
    manifest: Manifest, at: tuple[str | int, ...], platforms: Sequence[str], users: list[str]
) -> Iterator[Rule]:
    runs: set[str] = set()
    for user in users:
        runs |= manifest.architectures(manifest.services.get(user) or manifest.scheduled_tasks[user])
    whom = "these images" if at[-2] == "build" else "this image"
    for index, platform in enumerate(platforms):
        if users and ARCHITECTURES[platform] not in runs:
            on = ", ".join(PLATFORMS[a] for a in sorted(runs))
            yield (
                (*at, index),
                f"{platform!r}: no workload following {whom} runs there ({', '.join(users)}: {on}), so "
                "the build would be wasted; remove it",
            )


def unknown_service(manifest: Manifest, service_name: str) -> str:
    """What a pipeline's deploy.services entry naming no service of the manifest is told."""
    known = ", ".join(manifest.services) or "none defined"
    return f"{service_name!r} is not a service of this manifest ({known}); fix the name"


def check_image_deploys(
    manifest: Manifest, name: str, pipeline: Pipeline, index: int, service_name: str
) -> Iterator[Rule]:
    """A deployed service follows exactly one of the registries the pipeline builds."""
    at = ("pipelines", name, "deploy", "services", index)
    service = manifest.services.get(service_name)
    if service is None:
        yield at, unknown_service(manifest, service_name)
        return
    built = [view.build.pushed_registry for view in image_views(manifest, pipeline).values()]
    followed = sorted({c.image.registry for c in service.containers.values() if c.image.released and c.image.registry})
    mine = [r for r in followed if r in built]
    if not mine:
        yield (
            at,
            f"{service_name!r} follows {', '.join(followed) or 'no registry'}, which this pipeline does not build "
            f"(it builds {', '.join(built)}); add an image for its registry or deploy it from the pipeline that "
            "builds it",
        )
    elif len(mine) > 1:
        yield (
            at,
            f"{service_name!r} follows {' and '.join(mine)}, two images of this pipeline, but one deploy action "
            "takes one image per service; give the service one of them (the other from its own pipeline)",
        )


def _check_paths(pipeline: Pipeline, at: tuple[str | int, ...], image: Image) -> Iterator[Rule]:
    """paths compares the released commit with this one, in the primary source's git history."""
    if image.paths is None:
        return
    if pipeline.source[0].kind not in HISTORY_SOURCES:
        yield (
            (*at, "paths"),
            f"the primary source is {pipeline.source[0].kind}, which has no commit history to compare paths "
            f"against; only {' and '.join(HISTORY_SOURCES)} sources carry it: remove paths",
        )
    elif len(pipeline.source) > 1:
        yield (
            (*at, "paths"),
            f"the pipeline has {len(pipeline.source)} sources, and paths compares commits of the first only, so a "
            "change in another source would not rebuild the image; remove paths, or keep one source",
        )
    elif len(image.platforms or pipeline.build.platforms or ()) > 1:
        yield (
            (*at, "paths"),
            "a multi-architecture image (several platforms) is always rebuilt for now: its image index and platform "
            "images are not re-tagged; remove paths, or build one platform",
        )

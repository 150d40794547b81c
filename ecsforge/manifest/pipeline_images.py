"""`build.images` (manifest v1.2): each image of a pipeline seen as the one-image pipeline that
builds, deploys and releases it, so the build, release and checks of one image serve each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .pipelines import Build, Deploy, Image, Pipeline

if TYPE_CHECKING:
    from .models import Manifest


def follows(manifest: Manifest, workload: str, registry: str) -> bool:
    spec = manifest.services.get(workload) or manifest.scheduled_tasks.get(workload)
    return spec is not None and any(c.image.released and c.image.registry == registry for c in spec.containers.values())


def image_view(manifest: Manifest, pipeline: Pipeline, image: Image) -> Pipeline:
    """The one-image pipeline of one image: its registry, its build, the deployed services following it."""
    build = pipeline.build
    return Pipeline.model_construct(
        source=pipeline.source,
        build=Build.model_construct(
            registry=image.registry,
            images=None,
            dockerfile=image.dockerfile,
            context=image.context,
            buildspec=None,
            compute=build.compute,
            platform=None,
            platforms=image.platforms or build.platforms,
            cache=build.cache,
            args=image.args,
            target=image.target,
        ),
        test=None,
        approval=None,
        deploy=Deploy.model_construct(
            services=[s for s in pipeline.deploy.services if follows(manifest, s, image.registry)],
            timeout_minutes=pipeline.deploy.timeout_minutes,
        ),
        promote=pipeline.promote,
        notify=None,
    )


def image_views(manifest: Manifest, pipeline: Pipeline) -> dict[str | None, Pipeline]:
    """Image name -> its one-image pipeline; the one-image form is {None: pipeline}."""
    if pipeline.build.images is None:
        return {None: pipeline}
    return {name: image_view(manifest, pipeline, image) for name, image in pipeline.build.images.items()}


def built_registries(manifest: Manifest, pipeline: Pipeline) -> list[str]:
    return [view.build.pushed_registry for view in image_views(manifest, pipeline).values()]

"""How long a commit takes through a pipeline before it runs in the pipeline's own environment,
modelled from its stages: Source, Build (its images in parallel, each platform on its own host, then
the image index), Test, Approval (a person: not counted), Deploy (its services in parallel, each as
deployment.modelled_minutes models it). The build and test figures are assumptions, not measurements:
change the constants below to your own build logs' figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .deployment import modelled_minutes
from .pipeline_images import image_views

if TYPE_CHECKING:
    from .models import Manifest
    from .pipelines import Pipeline

# Assumed minutes (not measured). CodeBuild queues and provisions a host before each build
# (its QUEUED and PROVISIONING phases), for every action alike.
SOURCE_MINUTES = 1.0
PROVISION_MINUTES = 1.5
BUILD_CACHE_MISS_MINUTES = 6.0  # every layer built anew
BUILD_CACHE_HIT_MINUTES = 2.0  # only the layers the commit changed
IMAGE_INDEX_MINUTES = 0.5  # pushing the image index of several platforms' images
TEST_MINUTES = 3.0


@dataclass(frozen=True)
class Timing:
    """Minutes from a push to the first environment running the commit, stage by stage, and the
    CodeBuild minutes billed on the way (every host, also those running in parallel)."""

    source: float
    build: float
    test: float
    deploy: float
    codebuild: float

    @property
    def total(self) -> float:
        return self.source + self.build + self.test + self.deploy


def image_minutes(platforms: int, *, cached: bool) -> tuple[float, float]:
    """(elapsed, CodeBuild) minutes of one image: one host per platform in parallel, then the index."""
    one = PROVISION_MINUTES + (BUILD_CACHE_HIT_MINUTES if cached else BUILD_CACHE_MISS_MINUTES)
    index = PROVISION_MINUTES + IMAGE_INDEX_MINUTES if platforms > 1 else 0.0
    return one + index, platforms * one + index


def deploy_minutes(manifest: Manifest, services: list[str]) -> float:
    """The Deploy stage: its services in parallel, so the longest; pause hooks wait for a person or a
    check, like the approval, and are left out."""
    longest = 0
    for name in services:
        deployment = manifest.services[name].deployment
        minutes = modelled_minutes(
            deployment.strategy,
            bake_minutes=deployment.bake_minutes,
            step_minutes=deployment.step_minutes,
            linear_step_percent=deployment.linear_step_percent,
            nlb=manifest.services[name].nlb is not None,
        )
        longest = max(longest, minutes)
    return float(longest)


def _test_minutes(pipeline: Pipeline) -> float:
    return PROVISION_MINUTES + TEST_MINUTES if pipeline.test is not None else 0.0


def after(manifest: Manifest, name: str) -> Timing:
    """The pipeline as written: its images in parallel, each from the cache when build.cache is on."""
    pipeline = manifest.pipelines[name]
    views = image_views(manifest, pipeline).values()
    builds = [image_minutes(len(manifest.build_architectures(view)), cached=pipeline.build.cache) for view in views]
    test = _test_minutes(pipeline)
    return Timing(
        source=SOURCE_MINUTES,
        build=max(elapsed for elapsed, _ in builds),
        test=test,
        deploy=deploy_minutes(manifest, pipeline.deploy.services),
        codebuild=sum(billed for _, billed in builds) + test,
    )


def before(manifest: Manifest, name: str) -> Timing:
    """The same images as before issue 22: a pipeline per image (each with the source, the test and
    the approval), every layer built anew. With an approval, a person approves the pipelines one after
    another, each once the previous one has deployed, so their deployments add up; without, they
    run side by side. The platforms are those written."""
    pipeline = manifest.pipelines[name]
    views = image_views(manifest, pipeline).values()
    builds = [image_minutes(len(manifest.build_architectures(view)), cached=False) for view in views]
    deploys = [deploy_minutes(manifest, view.deploy.services) for view in views]
    test = _test_minutes(pipeline)
    return Timing(
        source=SOURCE_MINUTES,
        build=max(elapsed for elapsed, _ in builds),
        test=test,
        deploy=sum(deploys) if pipeline.approval is not None else max(deploys),
        codebuild=sum(billed for _, billed in builds) + test * len(builds),
    )

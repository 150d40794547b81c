"""Manifest -> stacks. The only place that decides which stacks exist."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from . import compliance
from .constructs.promotion_plan import plans
from .manifest.instances import volume_clients
from .manifest.models import Manifest
from .manifest.pipeline_images import built_registries
from .stacks import Platform
from .stacks.addons import AddonsStack, depend_on_addons
from .stacks.cluster import ClusterStack
from .stacks.handles import ClusterHandles, PlatformHandles, ScheduledTaskHandles, ServiceHandles, WorkloadHandles
from .stacks.network import NetworkStack
from .stacks.overrides import start_run
from .stacks.promotion import PromotionTrustStack
from .stacks.registries import RegistriesStack
from .stacks.resources import ResourcesStack, depend_on_resources
from .stacks.workloads import PipelineStack, ServiceStack, TaskStack

# What a team's own app.py uses (README "ecsforge as a library"): build, then platform.handles, then synthesize.
__all__ = [
    "ClusterHandles",
    "Platform",
    "PlatformHandles",
    "ScheduledTaskHandles",
    "ServiceHandles",
    "WorkloadHandles",
    "build",
    "synthesize",
]


def build(app: App, manifest: Manifest) -> Platform:
    # Once on the app, not on each stack: every stack and resource below gets them.
    for key, value in {**manifest.own_tags, **manifest.tags}.items():
        Tags.of(app).add(key, value)
    network = NetworkStack(app, manifest) if manifest.network.import_ is None else None
    cluster = ClusterStack(app, manifest, network)
    addons = AddonsStack(app, manifest, network) if manifest.addons else None
    # CloudFormation rejects a stack with no resources: no registries, no stack.
    registries = RegistriesStack(app, manifest) if manifest.registries else None
    services = {
        name: ServiceStack(app, manifest, name, cluster=cluster, registries=registries) for name in manifest.services
    }
    tasks = {
        name: TaskStack(app, manifest, name, cluster=cluster, registries=registries)
        for name in manifest.scheduled_tasks
    }
    pipelines = {
        name: PipelineStack(
            app,
            manifest,
            name,
            cluster=cluster,
            registries=registries,
            services=[services[s] for s in pipeline.deploy.services],
            tasks=[tasks[t] for r in built_registries(manifest, pipeline) for t in manifest.release_followers(r)],
        )
        for name, pipeline in manifest.pipelines.items()
    }
    promotions = {
        plan.trust_stack: PromotionTrustStack(app, plan)
        for name in manifest.pipelines
        for plan in plans(manifest, name)
    }
    resources = ResourcesStack(app, manifest, network) if manifest.has_resources else None
    if resources is not None and volume_clients(manifest):
        cluster.add_stack_dependency(resources, reason="admits NFS into the volumes' security groups")
    platform = Platform(network, cluster, registries, services, tasks, pipelines, promotions, resources, addons=addons)
    depend_on_addons(addons, [*services.values(), *tasks.values()])
    depend_on_resources(platform, manifest)
    platform.overrides = start_run([s.overrides for s in platform.stacks if s.overrides is not None])
    compliance.acknowledge(platform, manifest)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return platform


def synthesize(app: App, platform: Platform) -> None:
    """app.synth(). A failed override raises the ManifestError that names its lines (jsii hands
    CDK, and so app.synth(), only the error's text), as does a value an override wrote that CDK's
    CloudFormation validation rejects: CDK raises that at synth in a test or in-process, and only
    reports it (for the CLI to fail) under `cdk synth`."""
    run = platform.overrides
    try:
        app.synth()
    except Exception:
        error = None if run is None else run.error or run.schema_errors(Path(app.outdir))
        if error is None:
            raise
        raise error from None
    error = None if run is None else run.schema_errors(Path(app.outdir))
    if error is not None:
        raise error

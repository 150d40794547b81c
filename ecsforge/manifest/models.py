"""The manifest v1 (../shared/manifest-v1.md) as pydantic models: `Manifest`, the whole file.

Its parts have a module each (network, cluster, services with tasks, containers, http,
deployment, scaling, placement, pipelines); rules that span parts are in checks.py and
pipeline_checks.py. Defaults live in the models and nowhere else: a stack reads
`capacity.min`, never `min or 2`; a default that depends on other fields is set by a
`resolve()`. Each field's description states what happens when it is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PrivateAttr

from .addons import Addon
from .base import DeployedMayBreak, Model, Name, Rule, matching, reject
from .catalog import X86_64, instance_architecture
from .checks import rules
from .cluster import Cluster, Registry
from .http import LoadBalancer
from .isolation import isolation_rules, isolation_warnings
from .network import Network, Region
from .nlb import resolve_nlb_cidrs
from .overrides import Override, UnitName, override_rules
from .pipeline_images import built_registries
from .pipelines import Pipeline
from .problems import Path, Problem
from .runtime import ARCHITECTURES
from .services import ScheduledTask, Service
from .tasks import TaskSpec
from .traffic import domain_warnings
from .wiring import Bucket, Queue, Topic, Volume
from .wiring_checks import resolve_stop_timeouts, wiring_rules, wiring_warnings


def _no_boolean_version(value: object) -> object:
    # YAML 1.1 reads `version: yes` as true, and Python's true equals 1.
    if isinstance(value, bool):
        raise reject(f"{str(value).lower()} is not a manifest version; write version: 1")
    return value


class Manifest(Model):
    """One environment of one application."""

    extends: Annotated[str, Field(min_length=1)] | None = Field(
        None,
        description=(
            "Default: none. A base manifest this file overlays, as a path relative to this file (chains "
            "allowed, no cycles): maps merge key by key, lists and scalars replace, `null` removes a key so "
            "that its default applies again. `app` must be the same along the chain."
        ),
    )
    version: Annotated[Literal[1], BeforeValidator(_no_boolean_version)] = Field(
        description="Required. The manifest format version: 1."
    )
    app: Annotated[Name, Field(max_length=20)] = Field(description="Required. The application name (max 20).")
    environment: Annotated[Name, Field(max_length=12)] = Field(
        description="Required. The environment name, e.g. prod (max 12)."
    )
    account: Annotated[str, matching(r"^[0-9]{12}$", "AWS account id", '"111111111111" (12 digits, quoted)')] | None = (
        Field(None, description="Default: env-agnostic stacks, deployed to the account of the credentials in use.")
    )
    region: Region = Field(description="Required. The AWS region, e.g. us-east-1.")
    tags: dict[Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict,
        description="Default: no extra tags. Every resource also gets `app` and `environment` tags, so neither "
        "key may be used here, in any case; nor may two keys differ only in case, or start with aws:.",
    )
    network: Network = Field(default_factory=Network, description="Default: a new VPC with the defaults below.")
    cluster: Cluster = Field(default_factory=Cluster, description="Default: a Fargate-only cluster.")
    registries: dict[Name, Registry] = Field(default_factory=dict, description="Default: no ECR repositories.")
    load_balancer: LoadBalancer = Field(
        default_factory=LoadBalancer,
        description="Default: an internet-facing ALB on HTTP 80, created only when a service has `http`.",
    )
    topics: dict[Name, Topic] = Field(
        default_factory=dict, description="Default: none. SNS topics of this environment (KMS-encrypted, SSL only)."
    )
    queues: dict[Name, Queue] = Field(
        default_factory=dict, description="Default: none. SQS queues of this environment (KMS-encrypted, SSL only)."
    )
    buckets: dict[Name, Bucket] = Field(
        default_factory=dict,
        description="Default: none. S3 buckets (encrypted, SSL only, public access blocked, retained on deletion).",
    )
    volumes: dict[Name, Volume] = Field(
        default_factory=dict,
        description="Default: none. EFS file systems (encrypted, retained, mount targets in the private subnets), "
        "or with `ebs` one EBS volume per task of each service that mounts it.",
    )
    services: dict[Name, Service] = Field(default_factory=dict, description="Default: none. At most 500.")
    scheduled_tasks: dict[Name, ScheduledTask] = Field(
        default_factory=dict, description="Default: none. Tasks run on a schedule (EventBridge Scheduler)."
    )
    pipelines: dict[Name, Pipeline] = Field(
        default_factory=dict, description="Default: none. One CodePipeline (V2) each, keyed by name."
    )
    addons: list[Addon] = Field(
        default_factory=list,
        max_length=20,
        description="Default: none. CloudFormation templates deployed with the environment as nested stacks of the "
        "stack <app>-<env>-addons (after the network, before the workloads); each output is published as the SSM "
        "parameter /ecsforge/<app>/<env>/addons/<Output> (never an export) and read with {addon: <Output>}.",
    )
    overrides: dict[UnitName, list[Override]] = Field(
        default_factory=dict,
        description=(
            "Default: none. RFC 6902 JSON Patch operations applied, in order and last, to the template synthesized "
            "for one stack, keyed by its unit: network, cluster, registries, resources, addons, service-<name>, "
            "task-<name>, pipeline-<name>. A path that is not in the template stops synthesis at its line."
        ),
    )

    # file:line:col of the values warnings() is about, set by load_manifest: an acknowledgement
    # of a finding the user asked for cites the line that asked for it.
    _locations: dict[tuple[str | int, ...], str] = PrivateAttr(default_factory=dict)
    # Where each value of `overrides` was written (file, line, column), set by load_manifest: a
    # path missing from a synthesized template is reported at its line.
    _anchors: dict[Path, Problem] = PrivateAttr(default_factory=dict)

    def remember_locations(self, locations: dict[tuple[str | int, ...], str]) -> None:
        self._locations = dict(locations)

    def location(self, path: tuple[str | int, ...]) -> str:
        from .problems import dotted

        return self._locations.get(path) or dotted(path)

    def remember_anchors(self, anchors: dict[Path, Problem]) -> None:
        self._anchors = dict(anchors)

    def problem_at(self, path: Path, message: str) -> Problem:
        """A problem found after loading (at synthesis), placed where the value at path was written."""
        anchor = self._anchors.get(path) or Problem(1, 1, path, "", file="manifest")
        return Problem(anchor.line, anchor.column, path, message, anchor.file, anchor.via)

    @property
    def own_tags(self) -> dict[str, str]:
        """The tags ecsforge puts on every resource, besides `tags`."""
        return {"app": self.app, "environment": self.environment}

    @property
    def http_services(self) -> dict[str, Service]:
        return {name: service for name, service in self.services.items() if service.http is not None}

    def resolve(self) -> None:
        if self.cluster.namespace is None:
            self.cluster.namespace = f"{self.environment}.{self.app}.local"
        balancer = self.load_balancer
        if balancer.allowed_cidrs is None:
            if balancer.public:
                balancer.allowed_cidrs = ["0.0.0.0/0"]
            elif self.network.import_ is None:
                balancer.allowed_cidrs = [self.network.cidr]
            # An internal load balancer in an imported VPC: checks.py asks for allowed_cidrs.
        resolve_nlb_cidrs(self)
        resolve_stop_timeouts(self)

    @property
    def namespace(self) -> str:
        assert self.cluster.namespace is not None  # set by resolve()
        return self.cluster.namespace

    @property
    def partition(self) -> str:
        """The AWS partition of the region, as ARNs name it."""
        region = self.region
        return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if "-gov-" in region else "aws"

    def stack_name(self, unit: str) -> str:
        return f"{self.app}-{self.environment}-{unit}"

    def workloads(self) -> Iterator[tuple[tuple[str, str], TaskSpec]]:
        """Every service and scheduled task, with its path in the manifest."""
        yield from ((("services", n), s) for n, s in self.services.items())
        yield from ((("scheduled_tasks", n), t) for n, t in self.scheduled_tasks.items())

    def pinned_tags(self, registry: str) -> list[str]:
        """The tags of a registry that services and scheduled tasks pin, each once, in manifest order."""
        tags = [
            c.image.tag
            for _, spec in self.workloads()
            for c in spec.containers.values()
            if c.image.registry == registry and c.image.tag is not None
        ]
        return list(dict.fromkeys(tags))

    def architectures(self, spec: TaskSpec) -> set[str]:
        """The CPU architectures a task may be placed on: Fargate runs its `platform` (x86_64 when
        unset); EC2 groups run what their instance type is."""
        types = [self.cluster.ec2[i.provider].instance_type for i in spec.capacity if i.provider in self.cluster.ec2]
        for item in spec.capacity:
            if item.provider in self.cluster.managed_instances:
                # instance_requirements: x86_64 only (the provider asks for Intel or AMD CPUs).
                types.extend(self.cluster.managed_instances[item.provider].instance_types or ["m7i.large"])
        if not types:
            return {ARCHITECTURES[spec.platform or "linux/amd64"]}
        return {instance_architecture(name) for name in types}

    def pipeline_architecture(self, name: str) -> str:
        """The architecture a pipeline builds (and tests) on first: build.platforms' first,
        build.platform, else that of the services it deploys (validation rejects a mix)."""
        return self.pipeline_architectures(name)[0]

    def pipeline_architectures(self, name: str) -> list[str]:
        """Every architecture a pipeline's image is built for, in build.platforms' order."""
        return self.build_architectures(self.pipelines[name])

    def build_architectures(self, pipeline: Pipeline) -> list[str]:
        """Every architecture a (one image's) pipeline builds: its platforms, else that of the services
        it deploys, else (an image only scheduled tasks follow) that of those tasks."""
        if pipeline.build.architectures is not None:
            return pipeline.build.architectures
        deployed = [self.services[s] for s in pipeline.deploy.services if s in self.services]
        found = set().union(*(self.architectures(service) for service in deployed))
        if not deployed and pipeline.build.registry is not None:
            followers = self.release_followers(pipeline.build.registry).values()
            found = set().union(*(self.architectures(task) for task in followers))
        return [found.pop() if len(found) == 1 else X86_64]

    def release_followers(self, registry: str) -> dict[str, TaskSpec]:
        """Scheduled tasks with a container following the releases of a registry."""
        return {
            name: task
            for name, task in self.scheduled_tasks.items()
            if any(c.image.released and c.image.registry == registry for c in task.containers.values())
        }

    @property
    def has_resources(self) -> bool:
        """Whether the environment has a resources stack (topics, queues, buckets, created volumes, or
        EBS volumes, whose infrastructure role and key it holds)."""
        created_volumes = any(v.creates_file_system or v.ebs is not None for v in self.volumes.values())
        return bool(self.topics or self.queues or self.buckets or created_volumes)

    def check(self) -> Iterator[Rule]:
        yield from rules(self)
        yield from wiring_rules(self)
        yield from isolation_rules(self)
        yield from override_rules(self)

    def warnings(self) -> Iterator[Rule]:
        """Legal but worth a second look; printed, never fatal."""
        for name, service in self.services.items():
            for path, message in service.warnings():
                yield ("services", name, *path), message
        for name, task in self.scheduled_tasks.items():
            for path, message in task.warnings():
                yield ("scheduled_tasks", name, *path), message
        yield from self._release_warnings()
        yield from domain_warnings(self)
        yield from wiring_warnings(self)
        yield from isolation_warnings(self)
        for name, pipeline in self.pipelines.items():
            for index, source in enumerate(pipeline.source):
                if source.codecommit is not None and source.codecommit.create:
                    yield (
                        ("pipelines", name, "source", index, "codecommit"),
                        (
                            f"creates CodeCommit repository {source.codecommit.repository!r}: AWS creates new "
                            "CodeCommit repositories only in accounts that already use CodeCommit; elsewhere use "
                            "github or s3, or an existing repository (create: false)"
                        ),
                    )

    def deployed_may_break(self) -> Iterator[Rule]:
        """The broken rules that a deployed manifest may keep (base.DeployedMayBreak); all are services'."""
        for name, service in self.services.items():
            for path, message in service.check():
                if isinstance(message, DeployedMayBreak):
                    yield ("services", name, *path), message

    def _release_warnings(self) -> Iterator[Rule]:
        built = {r: name for name, p in self.pipelines.items() for r in built_registries(self, p)}
        deployed = {s for p in self.pipelines.values() for s in p.deploy.services}
        for name, service in self.services.items():
            for container_name, container in service.containers.items():
                registry = container.image.registry
                if not container.image.released or registry is None:
                    continue
                path = ("services", name, "containers", container_name, "image")
                if registry not in built:
                    yield (
                        path,
                        (
                            f"{{registry: {registry}}}: no pipeline of this environment builds {registry!r}, so this "
                            "service runs no task until its released-tag parameter is set (by another environment's "
                            "promote, or `python -m ecsforge release`); add a pipeline, promote into this "
                            "environment, or pin a tag"
                        ),
                    )
                elif name not in deployed:
                    yield (
                        path,
                        (
                            f"{{registry: {registry}}}: pipeline {built[registry]!r} builds it but does not deploy "
                            f"{name!r}, which takes a release only at the next cdk deploy; add it to deploy.services"
                        ),
                    )
                break
        for name, group in self.cluster.ec2.items():
            if group.min < 2:
                yield (
                    ("cluster", "ec2", name, "min"),
                    (
                        f"{group.min}: with fewer than 2 instances a deployment or an instance replacement leaves "
                        "no capacity to serve from; 2 is recommended"
                    ),
                )

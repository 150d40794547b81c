"""The manifest v1 (../shared/manifest-v1.md) as pydantic models.

Defaults live here and nowhere else: a stack reads `capacity.min`, never `min or 2`.
Each field's description states what happens when it is left out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal, cast

from annotated_types import Le
from pydantic import AfterValidator, BeforeValidator, Field

from .base import Model, Name, NonEmptyStr, Rule, pattern, reject
from .catalog import (
    X86_64,
    instance_architecture,
    instance_type_problem,
    missing_resource_types,
    region_problem,
    zone_problem,
)
from .pipelines import Deploy, Pipeline
from .problems import show
from .services import (
    DEPLOYMENT_MARGIN_MINUTES,
    FARGATE_PROVIDERS,
    LoadBalancer,
    ScheduledTask,
    Service,
    TaskSpec,
    deployment_minutes,
)

REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)?-[a-z]+-[0-9]+$"
ZONE_PATTERN = r"^[a-z]{2}(-[a-z]+)?-[a-z]+-[0-9]+[a-z]$"
# ECS rejects capacity provider names with these prefixes; `fargate` and `fargate_spot`
# are also the built-in providers' names in a service's `capacity`.
RESERVED_PROVIDER_PREFIXES = ("aws", "ecs", "fargate")
MAX_CONTAINER_INSTANCES = 1000
# AWS resource ids: 8 hex digits (old) or 17 (current).
VPC_ID_PATTERN = r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$"
SUBNET_ID_PATTERN = r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
DEFAULT_ZONE_COUNT = 2


def _pattern(regex: str, what: str, example: str) -> Any:
    pattern(regex, what, example)

    def validate(value: str) -> str:
        if not re.match(regex, value):
            raise reject(f"{value!r} is not a valid {what}; write it like {example}")
        return value

    return AfterValidator(validate)


Region = Annotated[str, _pattern(REGION_PATTERN, "AWS region", "us-east-1"), Field(pattern=REGION_PATTERN)]
Zone = Annotated[str, _pattern(ZONE_PATTERN, "availability zone", "us-east-1a"), Field(pattern=ZONE_PATTERN)]


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise reject(f"{value!r} is not an IPv4 CIDR block ({error}); write it like 10.0.0.0/16") from None
    if not 16 <= network.prefixlen <= 24:
        raise reject(f"{value!r} is a /{network.prefixlen}; use a block from /16 (largest) to /24 (smallest)")
    return value


def _provider_name(value: str) -> str:
    if value.startswith(RESERVED_PROVIDER_PREFIXES):
        raise reject(
            f"{value!r} starts with a prefix ECS reserves (aws, ecs, fargate); rename it, for example 'general'"
        )
    return value


ProviderName = Annotated[Name, AfterValidator(_provider_name)]


class VpcImport(Model):
    """An existing VPC: ecsforge creates no VPC and uses these ids as given."""

    vpc_id: Annotated[str, _pattern(VPC_ID_PATTERN, "VPC id", "vpc-0a1b2c3d4e5f67890")] = Field(
        description="Required. The id of the existing VPC."
    )
    private_subnet_ids: list[Annotated[str, _pattern(SUBNET_ID_PATTERN, "subnet id", "subnet-0a1b2c3d4e5f67890")]] = (
        Field(
            min_length=1,
            description="Required. Subnets for tasks and instances, one per availability zone, in zone order.",
        )
    )
    public_subnet_ids: list[Annotated[str, _pattern(SUBNET_ID_PATTERN, "subnet id", "subnet-0a1b2c3d4e5f67890")]] = (
        Field(
            description="Required (may be empty for an internal-only VPC). Subnets for an internet-facing load "
            "balancer, one per availability zone, in zone order."
        )
    )


class Network(Model):
    cidr: Annotated[str, AfterValidator(_cidr)] = Field(
        "10.0.0.0/16", description="IPv4 range of the new VPC, /16 to /24. Default: 10.0.0.0/16."
    )
    availability_zones: list[Zone] | None = Field(
        None,
        min_length=2,
        description="Zones to spread subnets over (at least 2). Default: the region's first two zones, picked "
        "at deploy time (Fn::GetAZs). Required when `account` is set, so synth never calls AWS.",
    )
    nat_gateways: int = Field(
        1,
        ge=0,
        description="NAT gateways, 0 up to the number of zones. Default: 1, one NAT gateway shared by all zones. "
        "0 requires vpc_endpoints: true.",
    )
    vpc_endpoints: bool = Field(
        False,
        description="Default: false, no endpoints. true adds an S3 gateway endpoint and interface endpoints for "
        "ECR (api, dkr), CloudWatch Logs, Secrets Manager and SSM; with nat_gateways: 0 also ECS (ecs, ecs-agent, "
        "ecs-telemetry) when cluster.ec2 has groups, and SSM Messages when a service has exec: true.",
    )
    flow_logs: bool = Field(True, description="Default: true, VPC flow logs go to CloudWatch Logs, kept for 30 days.")
    import_: VpcImport | None = Field(
        None,
        alias="import",
        description="Default: a new VPC is created. With import: no VPC is created; the ids are used as given.",
    )

    @property
    def zone_count(self) -> int:
        return len(self.availability_zones) if self.availability_zones else DEFAULT_ZONE_COUNT

    def check(self) -> Iterator[Rule]:
        zones = self.availability_zones
        if zones and len(set(zones)) != len(zones):
            yield ("availability_zones",), f"{show(zones)} lists a zone twice; list each zone once"
        if self.import_ is not None:
            for name in ("cidr", "nat_gateways", "vpc_endpoints", "flow_logs"):
                if name in self.model_fields_set:
                    yield (
                        (name,),
                        (
                            f"{show(getattr(self, name))}: has no effect with network.import, which creates no VPC; "
                            "remove it"
                        ),
                    )
            seen: set[str] = set()
            for name in ("private_subnet_ids", "public_subnet_ids"):
                for index, subnet in enumerate(getattr(self.import_, name)):
                    if subnet in seen:
                        yield ("import", name, index), f"{subnet!r} is listed twice; list each subnet once"
                    seen.add(subnet)
            for name in ("private_subnet_ids", "public_subnet_ids"):
                subnets = getattr(self.import_, name)
                if len(subnets) % self.zone_count:
                    yield (
                        ("import", name),
                        (
                            f"{len(subnets)} subnet(s) do not spread evenly over {self.zone_count} availability zones; "
                            "list one subnet per zone, in the order of network.availability_zones"
                        ),
                    )
            return
        if self.nat_gateways > self.zone_count:
            yield (
                ("nat_gateways",),
                (
                    f"{self.nat_gateways} NAT gateways for {self.zone_count} availability zones; "
                    f"use at most one per zone (0 to {self.zone_count})"
                ),
            )
        if self.nat_gateways == 0 and not self.vpc_endpoints:
            yield (
                ("nat_gateways",),
                (
                    "0: without NAT gateways tasks reach ECR, logs and secrets only through VPC endpoints; "
                    "set network.vpc_endpoints: true"
                ),
            )


class Ec2Capacity(Model):
    """One Auto Scaling group capacity provider."""

    instance_type: Annotated[NonEmptyStr, _pattern(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$", "instance type", "t3.medium")] = (
        Field(description="Required. The EC2 instance type, e.g. t3.medium or m7g.large (Graviton gets ARM AMIs).")
    )
    min: int = Field(
        2, ge=0, description="Default: 2 instances, so one can serve while the other deploys. Below 2 warns."
    )
    max: int | None = Field(
        None, ge=1, description="Default: max(min, 4). The total of all groups' max is at most 1000 instances."
    )
    spot: bool = Field(
        False,
        description="Default: false, on-demand. true: spot instances, with capacity rebalance and ECS spot "
        "instance draining on.",
    )
    machine_image: Literal["amazon-linux-2023", "bottlerocket"] = Field(
        "amazon-linux-2023",
        description="ECS-optimized image, read from its public SSM parameter at deploy time. "
        "Default: amazon-linux-2023.",
    )
    target_capacity_percent: int = Field(
        100, ge=1, le=100, description="Managed scaling target utilization, 1..100. Default: 100."
    )
    managed_termination_protection: bool = Field(
        True, description="Default: true, instances running tasks are protected from scale-in."
    )
    managed_draining: bool = Field(
        True, description="Default: true, tasks are drained before an instance is terminated."
    )
    root_volume_gib: int = Field(
        30,
        ge=20,
        le=16384,
        description="Default: 30 GiB, encrypted gp3. On Bottlerocket this sizes the data volume (/dev/xvdb) "
        "that holds images and containers.",
    )

    def resolve(self) -> None:
        if self.max is None:
            self.max = max(self.min, 4)

    @property
    def max_size(self) -> int:
        assert self.max is not None  # set by resolve()
        return self.max

    def check(self) -> Iterator[Rule]:
        if self.min > self.max_size:
            yield ("min",), f"{self.min} is above max ({self.max_size}); lower min or raise max"
        if self.machine_image == "amazon-linux-2023" and self.root_volume_gib < 30:
            yield (
                ("root_volume_gib",),
                (
                    f"{self.root_volume_gib} GiB is smaller than the Amazon Linux 2023 ECS image (30 GiB); "
                    "use 30 or more"
                ),
            )


class Cluster(Model):
    container_insights: Literal["enhanced", "enabled", "disabled"] = Field(
        "enhanced", description="CloudWatch Container Insights. Default: enhanced (task and container metrics)."
    )
    fargate: bool = Field(
        True, description="Default: true, the FARGATE and FARGATE_SPOT capacity providers are enabled."
    )
    namespace: (
        Annotated[
            str,
            _pattern(
                r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
                "DNS namespace",
                "prod.shop.local",
            ),
        ]
        | None
    ) = Field(None, description='Cloud Map private DNS namespace. Default: "<environment>.<app>.local".')
    ec2: dict[ProviderName, Ec2Capacity] = Field(
        default_factory=dict,
        description="Default: no EC2 capacity. Auto Scaling group capacity providers, keyed by provider name.",
    )

    def check(self) -> Iterator[Rule]:
        total = sum(group.max_size for group in self.ec2.values())
        if total > MAX_CONTAINER_INSTANCES:
            yield (
                ("ec2",),
                (
                    f"the groups' max add up to {total} instances; keep the total at or below "
                    f"{MAX_CONTAINER_INSTANCES} container instances per cluster"
                ),
            )


class Registry(Model):
    """An ECR repository. A stack's deletion never deletes it."""

    scan_on_push: bool = Field(True, description="Default: true, images are scanned for CVEs when pushed.")
    immutable_tags: bool = Field(True, description="Default: true, a pushed tag can never point at another image.")
    keep_images: int = Field(30, ge=1, le=10000, description="Default: the 30 newest images are kept; older expire.")
    untagged_days: int = Field(7, ge=1, le=3650, description="Default: untagged images expire after 7 days.")
    encryption: Literal["kms", "aes256"] = Field(
        "kms", description="Default: kms, with the AWS-managed key. aes256: S3-managed keys."
    )


MAX_SERVICES = 500
# One stack each; beyond this a single app is better split.
MAX_SCHEDULED_TASKS = 500
# An ALB takes 100 listener rules; beyond that the manifest is rejected (one shared ALB).
MAX_HTTP_SERVICES = 100
# One output per registry, and CloudFormation allows 200 outputs per stack.
MAX_REGISTRIES = 150
# About 8 resources per EC2 group in the cluster stack; CloudFormation allows 500.
MAX_EC2_GROUPS = 50
# Rules per ECR lifecycle policy: ecsforge writes one per pinned tag, plus these three
# (released images, untagged images, any image). ECR caps a policy at 50 rules (and
# 30,720 characters, which 50 rules with 128-character tags stay well under).
MAX_LIFECYCLE_RULES = 50
OWN_LIFECYCLE_RULES = 3


def _tag_character(character: str) -> bool:
    """AWS tags allow Unicode letters, digits and spaces, and _ . : / = + - @."""
    return character.isalnum() or character.isspace() or character in "_.:/=+-@"


def _no_boolean_version(value: object) -> object:
    # YAML 1.1 reads `version: yes` as true, and Python's true equals 1.
    if isinstance(value, bool):
        raise reject(f"{str(value).lower()} is not a manifest version; write version: 1")
    return value


class Manifest(Model):
    """One environment of one application."""

    version: Annotated[Literal[1], BeforeValidator(_no_boolean_version)] = Field(
        description="Required. The manifest format version: 1."
    )
    app: Annotated[Name, Field(max_length=20)] = Field(description="Required. The application name (max 20).")
    environment: Annotated[Name, Field(max_length=12)] = Field(
        description="Required. The environment name, e.g. prod (max 12)."
    )
    account: Annotated[str, _pattern(r"^[0-9]{12}$", "AWS account id", '"111111111111" (12 digits, quoted)')] | None = (
        Field(None, description="Default: env-agnostic stacks, deployed to the account of the credentials in use.")
    )
    region: Region = Field(description="Required. The AWS region, e.g. us-east-1.")
    tags: dict[Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict,
        description="Default: no extra tags. Every resource also gets `app` and `environment` tags.",
    )
    network: Network = Field(default_factory=Network, description="Default: a new VPC with the defaults below.")
    cluster: Cluster = Field(default_factory=Cluster, description="Default: a Fargate-only cluster.")
    registries: dict[Name, Registry] = Field(default_factory=dict, description="Default: no ECR repositories.")
    load_balancer: LoadBalancer = Field(
        default_factory=LoadBalancer,
        description="Default: an internet-facing ALB on HTTP 80, created only when a service has `http`.",
    )
    services: dict[Name, Service] = Field(default_factory=dict, description="Default: none. At most 500.")
    scheduled_tasks: dict[Name, ScheduledTask] = Field(
        default_factory=dict, description="Default: none. Tasks run on a schedule (EventBridge Scheduler)."
    )
    pipelines: dict[Name, Pipeline] = Field(
        default_factory=dict, description="Default: none. One CodePipeline (V2) each, keyed by name."
    )

    @property
    def http_services(self) -> dict[str, Service]:
        return {name: service for name, service in self.services.items() if service.http is not None}

    def resolve(self) -> None:
        if self.cluster.namespace is None:
            self.cluster.namespace = f"{self.environment}.{self.app}.local"

    @property
    def namespace(self) -> str:
        assert self.cluster.namespace is not None  # set by resolve()
        return self.cluster.namespace

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
        """The CPU architectures a task may be placed on: Fargate runs x86_64 (no runtime platform
        is set); EC2 groups run what their instance type is."""
        groups = [self.cluster.ec2[i.provider] for i in spec.capacity if i.provider in self.cluster.ec2]
        if not groups:
            return {X86_64}
        return {instance_architecture(group.instance_type) for group in groups}

    def pipeline_architecture(self, name: str) -> str:
        """The architecture a pipeline builds for: that of the services it deploys (validation
        rejects a mix)."""
        found = set().union(*(self.architectures(self.services[s]) for s in self.pipelines[name].deploy.services))
        return found.pop() if len(found) == 1 else X86_64

    def release_followers(self, registry: str) -> dict[str, TaskSpec]:
        """Scheduled tasks with a container following the releases of a registry."""
        return {
            name: task
            for name, task in self.scheduled_tasks.items()
            if any(c.image.released and c.image.registry == registry for c in task.containers.values())
        }

    def check(self) -> Iterator[Rule]:
        zones = self.network.availability_zones
        if self.account is not None and not zones:
            yield (
                ("account",),
                (
                    f"{self.account!r}: with an account set, CDK would look the region's zones up in that account "
                    "at synth; list them in network.availability_zones"
                ),
            )
        for index, zone in enumerate(zones or []):
            if not zone.startswith(self.region) or not re.fullmatch(r"[a-z]", zone[len(self.region) :]):
                yield (
                    ("network", "availability_zones", index),
                    (f"{zone!r} is not a zone of region {self.region}; use zones such as {self.region}a"),
                )
            elif problem := zone_problem(zone, self.region):
                yield ("network", "availability_zones", index), problem
        for key, group in self.cluster.ec2.items():
            problem = instance_type_problem(group.instance_type, self.region)
            if problem:
                yield ("cluster", "ec2", key, "instance_type"), problem
        for name in ("aws:", "app", "environment"):
            for key in self.tags:
                if key == name or (name.endswith(":") and key.lower().startswith(name)):
                    yield (
                        ("tags", key),
                        (f"{key!r} is set by ecsforge (or reserved by AWS) on every resource; use another tag key"),
                    )
        yield from self._check_tags()
        yield from self._check_registry_names()
        yield from self._check_region()
        yield from self._check_workloads()
        yield from self._check_pipelines()
        yield from self._check_sizes()
        certificate = self.load_balancer.certificate_arn
        if certificate and certificate.split(":")[3] != self.region:
            yield (
                ("load_balancer", "certificate_arn"),
                (
                    f"the certificate is in {certificate.split(':')[3]}, but a load balancer takes certificates "
                    f"of its own region ({self.region}); request or import one there"
                ),
            )

    def _check_registry_names(self) -> Iterator[Rule]:
        for key in self.registries:
            # The registries stack names registry r's URI output `r-uri`.
            if key.endswith("-uri") and key.removesuffix("-uri") in self.registries:
                yield (
                    ("registries", key),
                    (
                        f"{key!r} collides with the URI output of registry {key.removesuffix('-uri')!r}; "
                        "rename it (e.g. without the -uri ending)"
                    ),
                )

    def _check_tags(self) -> Iterator[Rule]:
        seen: dict[str, str] = {}
        for key, value in self.tags.items():
            if key.lower() in seen:
                yield (
                    ("tags", key),
                    (f"{key!r} differs from {seen[key.lower()]!r} only in case; AWS keeps one of them, keep one"),
                )
            seen.setdefault(key.lower(), key)
            for what, text in (("key", key), ("value", value)):
                bad = next((c for c in text if not _tag_character(c)), None)
                if bad is not None:
                    yield (
                        ("tags", key),
                        (
                            f"the tag {what} {text!r} has {bad!r}, which AWS does not allow in tags; use letters, "
                            "digits, spaces and _ . : / = + - @"
                        ),
                    )

    def _check_region(self) -> Iterator[Rule]:
        problem = region_problem(self.region)
        if problem:
            yield ("region",), problem
            return
        features: list[tuple[tuple[str | int, ...], str]] = [((), "environment")]
        if self.services:
            features.append((("services",), "services"))
        if self.scheduled_tasks:
            features.append((("scheduled_tasks",), "scheduled_tasks"))
        if self.registries:
            features.append((("registries",), "registries"))
        if self.cluster.ec2:
            features.append((("cluster", "ec2"), "ec2"))
        if self.http_services:
            features.append((("load_balancer",), "load_balancer"))
        for name, service in self.services.items():
            if service.scaling:
                features.append((("services", name, "scaling"), "scaling"))
            if service.discovery:
                features.append((("services", name, "discovery"), "discovery"))
            if service.deployment.rollback_alarms:
                features.append((("services", name, "deployment", "rollback_alarms"), "rollback_alarms"))
        for name, pipeline in self.pipelines.items():
            features.append((("pipelines", name), "pipelines"))
            for index, source in enumerate(pipeline.source):
                if source.codecommit is not None and source.codecommit.create:
                    features.append((("pipelines", name, "source", index, "codecommit"), "codecommit"))
        reported: set[str] = set()
        for path, feature in features:
            missing = [t for t in missing_resource_types(self.region, feature) if t not in reported]
            if missing:
                reported.update(missing)
                yield (
                    path,
                    (
                        f"{self.region} has no {', '.join(missing)} in CloudFormation, which this needs; use another "
                        "region or leave it out"
                    ),
                )

    def _check_workloads(self) -> Iterator[Rule]:
        if len(self.services) > MAX_SERVICES:
            yield ("services",), f"has {len(self.services)} services; a cluster runs at most {MAX_SERVICES}"
        if len(self.scheduled_tasks) > MAX_SCHEDULED_TASKS:
            yield (
                ("scheduled_tasks",),
                (
                    f"has {len(self.scheduled_tasks)} scheduled tasks; at most {MAX_SCHEDULED_TASKS} (one stack "
                    "each): run several jobs from one task's command, or split the environment"
                ),
            )
        for name in self.scheduled_tasks:
            if name in self.services:
                # Both would register the task family <app>-<environment>-<name>.
                yield (
                    ("scheduled_tasks", name),
                    (f"{name!r} is also a service; their task families would collide, rename one of them"),
                )
        pinned: dict[str, list[str]] = {}
        for at, task in self.workloads():
            yield from self._check_capacity(at, task)
            yield from self._check_architecture(at, task)
            for name, container in task.containers.items():
                image = container.image
                if image.registry is None or image.tag is None:
                    continue
                tags = pinned.setdefault(image.registry, [])
                if image.tag in tags:
                    continue
                tags.append(image.tag)
                if len(tags) == MAX_LIFECYCLE_RULES - OWN_LIFECYCLE_RULES + 1:
                    yield (
                        (*at, "containers", name, "image", "tag"),
                        (
                            f"{image.tag!r} is the {len(tags)}th distinct tag pinned in registry {image.registry!r}; "
                            f"each pinned tag takes one rule of the repository's lifecycle policy, which ECR caps "
                            f"at {MAX_LIFECYCLE_RULES} ({OWN_LIFECYCLE_RULES} are ecsforge's own): pin at most "
                            f"{MAX_LIFECYCLE_RULES - OWN_LIFECYCLE_RULES} distinct tags per registry"
                        ),
                    )
            for name, container in task.containers.items():
                registry = container.image.registry
                if registry is not None and registry not in self.registries:
                    known = ", ".join(self.registries) or "none defined"
                    yield (
                        (*at, "containers", name, "image", "registry"),
                        (f"{registry!r} is not a key of `registries` ({known}); add it there or fix the name"),
                    )
        yield from self._check_priorities()
        if self.http_services:
            imported = self.network.import_
            if self.load_balancer.public and imported is not None and not imported.public_subnet_ids:
                yield (
                    ("load_balancer", "public"),
                    ("true, but network.import has no public_subnet_ids; list them or set public: false"),
                )
            if not self.load_balancer.public and imported is not None and self.load_balancer.allowed_cidrs is None:
                yield (
                    ("load_balancer",),
                    (
                        "an internal load balancer in an imported VPC needs allowed_cidrs (the VPC's range is not "
                        "known here); add allowed_cidrs"
                    ),
                )

    def _check_sizes(self) -> Iterator[Rule]:
        http = list(self.http_services)
        if len(http) > MAX_HTTP_SERVICES:
            yield (
                ("services", http[MAX_HTTP_SERVICES], "http"),
                (
                    f"{len(http)} services have `http`, but the shared load balancer takes at most "
                    f"{MAX_HTTP_SERVICES} listener rules; reach the others through discovery, or split the "
                    "environment into two manifests"
                ),
            )
        if len(self.registries) > MAX_REGISTRIES:
            yield (
                ("registries",),
                (
                    f"has {len(self.registries)} registries; the registries stack holds at most {MAX_REGISTRIES} "
                    "(one output each, CloudFormation allows 200): split them across environments"
                ),
            )
        if len(self.cluster.ec2) > MAX_EC2_GROUPS:
            yield (
                ("cluster", "ec2"),
                (
                    f"has {len(self.cluster.ec2)} groups; the cluster stack holds at most {MAX_EC2_GROUPS} "
                    "(CloudFormation allows 500 resources per stack): use fewer, larger groups"
                ),
            )

    def _check_pipelines(self) -> Iterator[Rule]:
        deployed_by: dict[str, str] = {}
        built_by: dict[str, str] = {}
        created_by: dict[str, str] = {}
        for name, pipeline in self.pipelines.items():
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
            registry = pipeline.build.registry
            if registry in built_by:
                yield (
                    ("pipelines", name, "build", "registry"),
                    (
                        f"{registry!r} is already built by pipeline {built_by[registry]!r}; each registry has one "
                        "released tag, so two pipelines would hand each other's image to their services: give each "
                        "pipeline its own registry"
                    ),
                )
            built_by.setdefault(registry, name)
            if registry not in self.registries:
                known = ", ".join(self.registries) or "none defined"
                yield (
                    ("pipelines", name, "build", "registry"),
                    (f"{registry!r} is not a key of `registries` ({known}); add it there or fix the name"),
                )
            for index, service_name in enumerate(pipeline.deploy.services):
                at = ("pipelines", name, "deploy", "services", index)
                service = self.services.get(service_name)
                if service is None:
                    known = ", ".join(self.services) or "none defined"
                    yield at, f"{service_name!r} is not a service of this manifest ({known}); fix the name"
                    continue
                if not any(c.image.released and c.image.registry == registry for c in service.containers.values()):
                    yield (
                        at,
                        (
                            f"{service_name!r} has no container with `image: {{registry: {registry}}}`, so this "
                            "pipeline's image would never reach it; point a container at the registry or remove it"
                        ),
                    )
                yield from self._check_deploy_timeout(name, pipeline, service_name, service)
                if service_name in deployed_by:
                    yield (
                        at,
                        (
                            f"{service_name!r} is already deployed by pipeline {deployed_by[service_name]!r}; "
                            "two pipelines would overwrite each other's image, keep it in one"
                        ),
                    )
                deployed_by.setdefault(service_name, name)
            yield from self._check_pipeline_architecture(name, pipeline)

    def _check_pipeline_architecture(self, name: str, pipeline: Pipeline) -> Iterator[Rule]:
        by_architecture: dict[str, list[str]] = {}
        for service_name in pipeline.deploy.services:
            if service_name in self.services:
                for architecture in self.architectures(self.services[service_name]):
                    by_architecture.setdefault(architecture, []).append(service_name)
        if len(by_architecture) > 1:
            runs = "; ".join(f"{', '.join(names)} on {arch}" for arch, names in sorted(by_architecture.items()))
            yield (
                ("pipelines", name, "deploy", "services"),
                (
                    f"mixes CPU architectures ({runs}), but the pipeline builds one image for one architecture; "
                    "deploy each architecture from its own registry and pipeline"
                ),
            )

    def _check_deploy_timeout(
        self, name: str, pipeline: Pipeline, service_name: str, service: Service
    ) -> Iterator[Rule]:
        timeout = pipeline.deploy.timeout_minutes
        needed = deployment_minutes(service)
        if timeout >= needed:
            return
        # The deploy action's longest wait, as the Deploy model bounds it.
        limit = cast(int, next(m.le for m in Deploy.model_fields["timeout_minutes"].metadata if isinstance(m, Le)))
        fix = (
            f"raise timeout_minutes to {needed} or more, or shorten the service's bake_minutes or step_minutes"
            if needed <= limit
            else f"the deploy action waits at most {limit} minutes: shorten the service's bake_minutes or step_minutes"
        )
        yield (
            ("pipelines", name, "deploy", "timeout_minutes"),
            (
                f"{timeout}: service {service_name!r} ({service.deployment.strategy}) takes about {needed} minutes "
                f"to deploy (its bake and step times, plus {DEPLOYMENT_MARGIN_MINUTES} to start tasks and pass health "
                f"checks), so the deploy action would time out and fail the release while ECS is still deploying; "
                f"{fix}"
            ),
        )

    def _check_capacity(self, at: tuple[str, str], task: TaskSpec) -> Iterator[Rule]:
        for index, item in enumerate(task.capacity):
            if item.provider in FARGATE_PROVIDERS:
                if not self.cluster.fargate:
                    yield (
                        (*at, "capacity", index, "provider"),
                        (f"{item.provider!r}, but cluster.fargate is false; enable it or use an EC2 group"),
                    )
            elif item.provider not in self.cluster.ec2:
                known = ", ".join([*FARGATE_PROVIDERS, *self.cluster.ec2])
                yield (
                    (*at, "capacity", index, "provider"),
                    (f"{item.provider!r} is not a capacity provider; use one of {known}"),
                )

    def _check_architecture(self, at: tuple[str, str], task: TaskSpec) -> Iterator[Rule]:
        followed = sorted({c.image.registry for c in task.containers.values() if c.image.released and c.image.registry})
        architectures = self.architectures(task)
        if followed and len(architectures) > 1:
            yield (
                (*at, "capacity"),
                (
                    f"mixes {' and '.join(sorted(architectures))} EC2 groups, but follows the releases of registry "
                    f"{followed[0]!r}, whose pipeline builds one image for one architecture; use groups of one "
                    "architecture"
                ),
            )

    def _check_priorities(self) -> Iterator[Rule]:
        seen: dict[int, str] = {}
        for name, service in self.http_services.items():
            assert service.http is not None
            priority = service.http.rule_priority
            if priority in seen:
                where = "priority" if service.http.priority is not None else "path"
                yield (
                    ("services", name, "http", where),
                    (
                        f"listener rule priority {priority} is also service {seen[priority]!r}'s; "
                        "set a distinct http.priority on one of them"
                    ),
                )
            seen.setdefault(priority, name)

    def warnings(self) -> Iterator[Rule]:
        """Legal but worth a second look; printed, never fatal."""
        for name, service in self.services.items():
            for path, message in service.warnings():
                yield ("services", name, *path), message
        for name, task in self.scheduled_tasks.items():
            for path, message in task.warnings():
                yield ("scheduled_tasks", name, *path), message
        yield from self._release_warnings()
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

    def _release_warnings(self) -> Iterator[Rule]:
        built = {p.build.registry: name for name, p in self.pipelines.items()}
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
                            f"{{registry: {registry}}}: no pipeline builds {registry!r}, so this service runs no task "
                            "until its released-tag parameter is set; add a pipeline or pin a tag"
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

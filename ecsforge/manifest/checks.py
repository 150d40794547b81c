"""The rules of a manifest that span its parts: services against registries, cluster
providers and pipelines, the region against what CloudFormation offers there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .base import Rule
from .catalog import (
    instance_architecture,
    instance_type_problem,
    missing_resource_types,
    region_problem,
    zone_problem,
)
from .compute_checks import check_compute
from .containers import SECRET_NAME_MAX_LENGTH, generated_secret_name
from .deployment import test_rule_priority
from .instances import check_instance_ports
from .nlb import manifest_traffic_rules
from .pipeline_checks import check_pipelines
from .placement import FARGATE_PROVIDERS
from .runtime import ARCHITECTURES, PLATFORMS
from .tasks import TaskSpec
from .traffic import check_traffic

if TYPE_CHECKING:
    from .models import Manifest

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


def rules(manifest: Manifest) -> Iterator[Rule]:
    zones = manifest.network.availability_zones
    if manifest.account is not None and not zones:
        yield (
            ("account",),
            (
                f"{manifest.account!r}: with an account set, CDK would look the region's zones up in that account "
                "at synth; list them in network.availability_zones"
            ),
        )
    for index, zone in enumerate(zones or []):
        if not zone.startswith(manifest.region) or not re.fullmatch(r"[a-z]", zone[len(manifest.region) :]):
            yield (
                ("network", "availability_zones", index),
                (f"{zone!r} is not a zone of region {manifest.region}; use zones such as {manifest.region}a"),
            )
        elif problem := zone_problem(zone, manifest.region):
            yield ("network", "availability_zones", index), problem
    for key, group in manifest.cluster.ec2.items():
        problem = instance_type_problem(group.instance_type, manifest.region)
        if problem:
            yield ("cluster", "ec2", key, "instance_type"), problem
    yield from _check_tags(manifest)
    yield from _check_registry_names(manifest)
    yield from _check_region(manifest)
    yield from _check_workloads(manifest)
    yield from check_compute(manifest)
    yield from check_pipelines(manifest)
    yield from manifest_traffic_rules(manifest)
    yield from _check_sizes(manifest)
    yield from check_traffic(manifest)
    certificate = manifest.load_balancer.certificate_arn
    if certificate and certificate.split(":")[3] != manifest.region:
        yield (
            ("load_balancer", "certificate_arn"),
            (
                f"the certificate is in {certificate.split(':')[3]}, but a load balancer takes certificates "
                f"of its own region ({manifest.region}); request or import one there"
            ),
        )


def _check_registry_names(manifest: Manifest) -> Iterator[Rule]:
    for key in manifest.registries:
        # The registries stack names registry r's URI output `r-uri`.
        if key.endswith("-uri") and key.removesuffix("-uri") in manifest.registries:
            yield (
                ("registries", key),
                (
                    f"{key!r} collides with the URI output of registry {key.removesuffix('-uri')!r}; "
                    "rename it (e.g. without the -uri ending)"
                ),
            )


def _check_tags(manifest: Manifest) -> Iterator[Rule]:
    # IAM compares tag keys regardless of case and refuses a role with two that differ only in
    # case ("Duplicate tag keys found"), and every tag here lands on ecsforge's roles too.
    own = {key.lower(): key for key in manifest.own_tags}
    seen: dict[str, str] = {}
    for key, value in manifest.tags.items():
        if key.lower().startswith("aws:"):
            yield ("tags", key), f"{key!r}: AWS reserves tag keys that start with aws:; use another tag key"
        elif key.lower() in own:
            name = own[key.lower()]
            tagged = f"ecsforge tags every resource with {name}: {manifest.own_tags[name]}"
            if key != name:
                tagged += ", and IAM refuses a role with two tag keys that differ only in case"
            yield ("tags", key), f"{key!r}: {tagged}; remove it (the tag is there anyway) or use another key"
        elif key.lower() in seen:
            yield (
                ("tags", key),
                (
                    f"{key!r} differs from {seen[key.lower()]!r} only in case, and IAM refuses a role with both "
                    "(tag keys are case-insensitive there); keep one"
                ),
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


def _check_region(manifest: Manifest) -> Iterator[Rule]:
    problem = region_problem(manifest.region)
    if problem:
        yield ("region",), problem
        return
    features: list[tuple[tuple[str | int, ...], str]] = [((), "environment")]
    if manifest.services:
        features.append((("services",), "services"))
    if manifest.scheduled_tasks:
        features.append((("scheduled_tasks",), "scheduled_tasks"))
    if manifest.registries:
        features.append((("registries",), "registries"))
    if manifest.cluster.ec2:
        features.append((("cluster", "ec2"), "ec2"))
    if manifest.http_services:
        features.append((("load_balancer",), "load_balancer"))
    for name, service in manifest.services.items():
        if service.scaling:
            features.append((("services", name, "scaling"), "scaling"))
        if service.discovery:
            features.append((("services", name, "discovery"), "discovery"))
        if service.deployment.rollback_alarms:
            features.append((("services", name, "deployment", "rollback_alarms"), "rollback_alarms"))
    for name, pipeline in manifest.pipelines.items():
        features.append((("pipelines", name), "pipelines"))
        for index, source in enumerate(pipeline.source):
            if source.codecommit is not None and source.codecommit.create:
                features.append((("pipelines", name, "source", index, "codecommit"), "codecommit"))
    reported: set[str] = set()
    for path, feature in features:
        missing = [t for t in missing_resource_types(manifest.region, feature) if t not in reported]
        if missing:
            reported.update(missing)
            yield (
                path,
                (
                    f"{manifest.region} has no {', '.join(missing)} in CloudFormation, which this needs; use another "
                    "region or leave it out"
                ),
            )


def _check_workloads(manifest: Manifest) -> Iterator[Rule]:
    if len(manifest.services) > MAX_SERVICES:
        yield ("services",), f"has {len(manifest.services)} services; a cluster runs at most {MAX_SERVICES}"
    if len(manifest.scheduled_tasks) > MAX_SCHEDULED_TASKS:
        yield (
            ("scheduled_tasks",),
            (
                f"has {len(manifest.scheduled_tasks)} scheduled tasks; at most {MAX_SCHEDULED_TASKS} (one stack "
                "each): run several jobs from one task's command, or split the environment"
            ),
        )
    for name in manifest.scheduled_tasks:
        if name in manifest.services:
            # Both would register the task family <app>-<environment>-<name>.
            yield (
                ("scheduled_tasks", name),
                (f"{name!r} is also a service; their task families would collide, rename one of them"),
            )
    pinned: dict[str, list[str]] = {}
    for at, task in manifest.workloads():
        yield from _check_capacity(manifest, at, task)
        yield from _check_architecture(manifest, at, task)
        yield from _check_images(manifest, at, task, pinned)
        yield from _check_generated_secret_names(manifest, at, task)
    yield from _check_priorities(manifest)
    yield from _check_load_balancer(manifest)
    yield from check_instance_ports(manifest)


def _check_images(
    manifest: Manifest, at: tuple[str, str], task: TaskSpec, pinned: dict[str, list[str]]
) -> Iterator[Rule]:
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
        if registry is not None and registry not in manifest.registries:
            known = ", ".join(manifest.registries) or "none defined"
            yield (
                (*at, "containers", name, "image", "registry"),
                (f"{registry!r} is not a key of `registries` ({known}); add it there or fix the name"),
            )


def _check_generated_secret_names(manifest: Manifest, at: tuple[str, str], task: TaskSpec) -> Iterator[Rule]:
    unit = f"{'service' if at[0] == 'services' else 'task'}-{at[1]}"  # as the task definition's stack names it
    for name, container in task.containers.items():
        for variable, source in container.secrets.items():
            if source != "generate":
                continue
            secret = generated_secret_name(manifest.app, manifest.environment, unit, name, variable)
            if len(secret) > SECRET_NAME_MAX_LENGTH:
                yield (
                    (*at, "containers", name, "secrets", variable),
                    (
                        f"'generate': the secret would be named {secret[:60]}... ({len(secret)} characters), and "
                        f"Secrets Manager takes at most {SECRET_NAME_MAX_LENGTH}; shorten the variable's name to "
                        f"{len(variable) - len(secret) + SECRET_NAME_MAX_LENGTH} characters or fewer"
                    ),
                )


def _check_load_balancer(manifest: Manifest) -> Iterator[Rule]:
    if manifest.http_services:
        imported = manifest.network.import_
        if manifest.load_balancer.public and imported is not None and not imported.public_subnet_ids:
            yield (
                ("load_balancer", "public"),
                ("true, but network.import has no public_subnet_ids; list them or set public: false"),
            )
        if not manifest.load_balancer.public and imported is not None and manifest.load_balancer.allowed_cidrs is None:
            yield (
                ("load_balancer",),
                (
                    "an internal load balancer in an imported VPC needs allowed_cidrs (the VPC's range is not "
                    "known here); add allowed_cidrs"
                ),
            )


def _check_sizes(manifest: Manifest) -> Iterator[Rule]:
    http = list(manifest.http_services)
    if len(http) > MAX_HTTP_SERVICES:
        yield (
            ("services", http[MAX_HTTP_SERVICES], "http"),
            (
                f"{len(http)} services have `http`, but the shared load balancer takes at most "
                f"{MAX_HTTP_SERVICES} listener rules; reach the others through discovery, or split the "
                "environment into two manifests"
            ),
        )
    if len(manifest.registries) > MAX_REGISTRIES:
        yield (
            ("registries",),
            (
                f"has {len(manifest.registries)} registries; the registries stack holds at most {MAX_REGISTRIES} "
                "(one output each, CloudFormation allows 200): split them across environments"
            ),
        )
    if len(manifest.cluster.ec2) > MAX_EC2_GROUPS:
        yield (
            ("cluster", "ec2"),
            (
                f"has {len(manifest.cluster.ec2)} groups; the cluster stack holds at most {MAX_EC2_GROUPS} "
                "(CloudFormation allows 500 resources per stack): use fewer, larger groups"
            ),
        )


def _check_capacity(manifest: Manifest, at: tuple[str, str], task: TaskSpec) -> Iterator[Rule]:
    if "capacity" not in task.model_fields_set and not manifest.cluster.fargate:
        # The default the user did not write is not the place to point at: the workload is.
        groups = ", ".join([*manifest.cluster.ec2, *manifest.cluster.managed_instances]) or "none defined"
        yield (
            at,
            (
                "has no capacity, so it would run on fargate (the default), but cluster.fargate is false; "
                f"set capacity to an EC2 group ({groups})"
            ),
        )
        return
    for index, item in enumerate(task.capacity):
        if item.provider in FARGATE_PROVIDERS:
            if not manifest.cluster.fargate:
                yield (
                    (*at, "capacity", index, "provider"),
                    (f"{item.provider!r}, but cluster.fargate is false; enable it or use an EC2 group"),
                )
        elif item.provider not in manifest.cluster.ec2 and item.provider not in manifest.cluster.managed_instances:
            known = ", ".join([*FARGATE_PROVIDERS, *manifest.cluster.ec2, *manifest.cluster.managed_instances])
            yield (
                (*at, "capacity", index, "provider"),
                (f"{item.provider!r} is not a capacity provider; use one of {known}"),
            )


def _check_architecture(manifest: Manifest, at: tuple[str, str], task: TaskSpec) -> Iterator[Rule]:
    groups = {i.provider: manifest.cluster.ec2[i.provider] for i in task.capacity if i.provider in manifest.cluster.ec2}
    by_architecture: dict[str, list[str]] = {}
    for key, group in groups.items():
        by_architecture.setdefault(instance_architecture(group.instance_type), []).append(key)
    if len(by_architecture) > 1:
        runs = "; ".join(f"{', '.join(keys)} on {arch}" for arch, keys in sorted(by_architecture.items()))
        yield (
            (*at, "capacity"),
            (
                f"mixes EC2 groups of two CPU architectures ({runs}), but a task runs one platform, and the image "
                "built for it cannot start on the other; use groups of one architecture"
            ),
        )
    elif task.platform is not None and by_architecture and ARCHITECTURES[task.platform] not in by_architecture:
        ((architecture, keys),) = by_architecture.items()
        yield (
            (*at, "platform"),
            (
                f"{task.platform!r}, but its EC2 group(s) {', '.join(keys)} run {architecture}; use "
                f"{PLATFORMS[architecture]}, or groups of {ARCHITECTURES[task.platform]} instance types "
                f"({'e.g. m7g.large' if task.platform == 'linux/arm64' else 'e.g. m7i.large'})"
            ),
        )


def _check_priorities(manifest: Manifest) -> Iterator[Rule]:
    seen: dict[int, str] = {}
    for name, service in manifest.http_services.items():
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
    for name, service in manifest.http_services.items():
        assert service.http is not None
        if service.deployment.test_traffic is None:
            continue
        test_priority = test_rule_priority(service.http.rule_priority)
        if test_priority < 1 or test_priority in seen:
            taken = f"is also service {seen[test_priority]!r}'s" if test_priority in seen else "is below 1"
            yield (
                ("services", name, "deployment", "test_traffic"),
                (
                    f"the test listener rule takes priority {test_priority}, one below the service's own rule "
                    f"({service.http.rule_priority}), and that priority {taken}; set a distinct http.priority"
                ),
            )
        seen.setdefault(test_priority, f"{name} (test traffic)")

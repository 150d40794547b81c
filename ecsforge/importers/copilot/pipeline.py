"""A Copilot pipeline manifest -> one ecsforge pipeline building every image its first stage runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import convert
from .context import BuildInfo, Env
from .node import Node

ONLY = "_only"  # a stage's `deployments`, kept until the ecsforge entries are written
AT = "_at"  # the stage's index in `stages`, for the report
_REPO = re.compile(r"^(?:https?://[^/]+/|git@[^:]+:)?([^/\s]+)/([^/\s]+?)(?:\.git)?/?$")


@dataclass
class Placed:
    """Pipelines for the overlay of one environment (the first stage's)."""

    home: str  # Copilot environment name
    pipelines: dict[str, dict[str, Any]]


def pipeline(node: Node, name: str, envs: dict[str, Env], connection_arn: str | None) -> Placed | None:
    node.raw("name")
    node.raw("version")
    stages = _stages(node, envs)
    if not stages:
        node.skip(None, "no stage deploys to an environment of this workspace; nothing to import")
        node.use()
        return None
    source = _source(node, envs[stages[0][0]], connection_arn)
    _build_fields(node)
    home, first = stages[0]
    env = envs[home]
    images, services = _images(node, env, first)
    if images and not services:
        node.doc.note(
            ("stages",),
            "not imported",
            "the first stage deploys no service, and an ecsforge pipeline deploys at least one; push the images and "
            "run `python -m ecsforge release` (scheduled tasks run the released tag)",
        )
    if source is None or not services:
        return None
    key = _unique_key(convert.name(name), set(env.doc.get("pipelines", {})))
    if key != convert.name(name, 1000):
        node.doc.note(
            ("name",),
            "approximate",
            f"the pipeline is named {key!r} (ecsforge names are unique and at most 32 characters)",
        )
    entry: dict[str, Any] = {"source": source, "build": _build(images)}
    entry.update(_own(first))
    entry["deploy"] = {"services": services}
    promote = _promote(node, envs, stages[1:], services, several=len(images) > 1)
    if promote:
        entry["promote"] = promote
    return Placed(home, {key: entry})


def _build(images: dict[str, BuildInfo]) -> dict[str, Any]:
    """One image keeps the one-image form; several are `build.images`, keyed by workload."""
    shapes = {key: info.shape() for key, info in images.items()}
    return next(iter(shapes.values())) if len(shapes) == 1 else {"images": shapes}


def _images(node: Node, env: Env, first: dict[str, Any]) -> tuple[dict[str, BuildInfo], list[str]]:
    """Every image the first stage's workloads run (services, scheduled tasks, sidecars) and the
    services it deploys; what another Copilot pipeline placed already stays there."""
    owners = _owners(env.doc.get("pipelines", {}))
    workloads = {**env.doc.get("scheduled_tasks", {}), **env.doc.get("services", {})}
    scheduled = set(env.doc.get("scheduled_tasks", {}))
    images: dict[str, BuildInfo] = {}
    services: list[str] = []
    # a workload's own image before its sidecars': one deploy action takes one image per service
    for key, info in sorted(env.builds.items(), key=lambda item: item[0] not in workloads):
        users = [w for w, spec in workloads.items() if _follows(spec, info.registry) and _deploys(first, w)]
        if any(u in services for u in users):
            node.doc.note(
                ("stages",),
                "approximate",
                f"{key!r}: its service runs another image of this pipeline, and ecsforge deploys one image per "
                "service, so no ecsforge pipeline builds it; push it and run `python -m ecsforge release` (the "
                "container runs the released tag)",
            )
            continue
        if info.registry in owners or any(u in owners for u in users):
            owner = owners.get(info.registry) or next(owners[u] for u in users if u in owners)
            node.doc.note(
                ("stages",),
                "not imported",
                f"{key!r} is deployed by the ecsforge pipeline {owner!r} (from another Copilot pipeline) already; "
                "ecsforge builds a registry and deploys a service from one pipeline; merge the two pipelines by hand",
            )
            continue
        if not users:
            node.doc.note(
                ("stages",),
                "approximate",
                f"{key!r}: the first stage deploys no workload running this image, so no ecsforge pipeline builds it; "
                "push it and run `python -m ecsforge release`",
            )
            continue
        images[key] = info
        services += [u for u in users if u not in scheduled and u not in services]
    return images, services


def _owners(pipelines: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Registry or deployed service -> the ecsforge pipeline placed for it already."""
    out: dict[str, str] = {}
    for key, entry in pipelines.items():
        build = entry["build"]
        registries = [i["registry"] for i in build["images"].values()] if "images" in build else [build["registry"]]
        out.update(dict.fromkeys([*registries, *entry["deploy"]["services"]], key))
    return out


def _follows(spec: dict[str, Any], registry: str) -> bool:
    containers = spec.get("containers", {})
    return any(isinstance(c.get("image"), dict) and c["image"].get("registry") == registry for c in containers.values())


def _promote(
    node: Node, envs: dict[str, Env], later: list[tuple[str, dict[str, Any]]], services: list[str], *, several: bool
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for stage, extra in later:
        if several:
            node.doc.note(
                ("stages", extra[AT]),
                "not imported",
                f"promotion of several images: ecsforge promotes one image (build.registry) only, so this pipeline "
                f"stops after its first environment; deploy {stage!r} (and its approval) with its own pipeline or "
                "`python -m ecsforge release`",
            )
            continue
        names = [s for s in services if s in envs[stage].doc.get("services", {}) and _deploys(extra, s)]
        if names:
            out.append({"manifest": f"{stage}.yml", **_own(extra), "services": names})
    return out


def _own(extra: dict[str, Any]) -> dict[str, Any]:
    """What ecsforge writes of a stage (without the importer's bookkeeping)."""
    return {k: v for k, v in extra.items() if k not in (ONLY, AT)}


def _build_fields(node: Node) -> None:
    build_node = node.child("build")
    if build_node is None:
        return
    if build_node.has("buildspec"):
        build_node.skip(
            "buildspec",
            "Copilot's buildspec runs `copilot svc package`; ecsforge generates its own build (tag with the "
            "commit id, push, imagedefinitions.json); port custom steps into `build.buildspec` that does the same",
        )
    if build_node.has("image"):
        build_node.skip("image", "ecsforge builds on CodeBuild's standard image; use `build.compute` for its size")
    if build_node.has("additional_policy"):
        build_node.skip("additional_policy", "ecsforge's build role is fixed; ask for the permission as a field")


def _unique_key(wanted: str, taken: set[str]) -> str:
    """At most 32 characters, and unlike every pipeline already placed (two Copilot pipelines'
    names may cut to the same 32 characters)."""
    key = base = wanted
    number = 2
    while key in taken:
        ending = f"-{number}"
        key = convert.name(base, 32 - len(ending)) + ending
        number += 1
    return key


def _deploys(stage: dict[str, Any], workload: str) -> bool:
    """A stage with `deployments` deploys only the workloads it lists."""
    return ONLY not in stage or workload in stage[ONLY]


def _source(node: Node, env: Env, connection_arn: str | None) -> dict[str, Any] | None:
    source = node.child("source")
    if source is None:
        node.skip(None, "a pipeline needs `source`")
        return None
    provider = (source.text("provider") or "").lower()
    props = source.child("properties")
    if props is None:
        source.skip(None, "a source needs `properties` (repository, branch)")
        return None
    repository = props.text("repository") or ""
    branch = props.text("branch") or "main"
    if provider == "codecommit":
        repo = repository.rstrip("/").rsplit("/", 1)[-1]
        if props.has("output_artifact_format"):
            props.skip("output_artifact_format", "ecsforge's source action uses its default artifact format")
        return {"codecommit": {"repository": repo, "branch": branch, "create": False}}
    if provider not in ("github", "githubv1", "bitbucket"):
        source.skip("provider", f"{provider!r}: use GitHub, Bitbucket or CodeCommit")
        return None
    match = _REPO.match(repository)
    if not match:
        props.skip("repository", "expected https://github.com/<owner>/<repository>")
        return None
    connection = props.text("connection_name")
    if props.has("access_token_secret"):
        props.approx("access_token_secret", "ecsforge uses a CodeConnections connection, never a token")
    arn = connection_arn or env.report.variable(
        "CODECONNECTIONS_ARN",
        "the CodeConnections connection ARN"
        + (f" of the connection named {connection!r}" if connection else "")
        + " (or pass --connection-arn)",
    )
    if provider == "bitbucket":
        source.approx("provider", "Bitbucket through the same CodeConnections source action as GitHub")
    return {"github": {"connection_arn": arn, "owner": match.group(1), "repository": match.group(2), "branch": branch}}


def _stages(node: Node, envs: dict[str, Env]) -> list[tuple[str, dict[str, Any]]]:
    """(Copilot environment, what ecsforge adds for it) in order; the first one hosts the pipeline."""
    out: list[tuple[str, dict[str, Any]]] = []
    stages = node.child("stages")
    for stage in stages.elements() if stages is not None else ():
        name = stage.text("name")
        if name is None or name not in envs:
            stage.skip(None, f"{name!r} is not an environment of this workspace")
            continue
        extra: dict[str, Any] = {AT: stage.path[-1]}
        first = not out
        if stage.flag("requires_approval"):
            extra["approval"] = {}
        commands = stage.raw("test_commands")
        if isinstance(commands, list) and commands:
            if first:
                extra["test"] = {"commands": [str(c) for c in commands]}
                stage.approx("test_commands", "ecsforge's test stage runs after the build, before the deployment")
            else:
                stage.skip(
                    "test_commands",
                    "ecsforge runs tests once, before the first environment; move them there or into the image",
                )
        listed = _deployments(stage)
        if listed is not None:
            extra[ONLY] = listed
        for key in ("pre_deployments", "post_deployments"):
            if stage.has(key):
                stage.skip(key, "ecsforge has no pre/post-deployment actions; run them inside a scheduled task")
        out.append((name, extra))
    return out


def _deployments(stage: Node) -> set[str] | None:
    """The workloads a stage's `deployments` lists (None: every workload)."""
    block = stage.child("deployments")
    if block is None or not isinstance(block.value, dict):
        return None
    listed = {convert.name(str(key)) for key in block.value}
    for key in block.value:
        if block.value[key] is None:
            block.doc.used.add((*block.path, key))
    for _, deployment in block.items():
        if not isinstance(deployment.value, dict):
            deployment.use()
            continue
        for key in ("stack_name", "template_path", "template_config"):
            if deployment.has(key):
                deployment.skip(key, "ecsforge deploys only its own services; deploy other stacks separately")
        if deployment.has("depends_on"):
            deployment.approx("depends_on", "ecsforge deploys a stage's services in parallel")
    return listed

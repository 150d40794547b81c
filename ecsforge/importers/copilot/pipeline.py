"""A Copilot pipeline manifest -> ecsforge pipelines (one per built image) with promotion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import convert
from .context import Env
from .node import Node

ONLY = "_only"  # a stage's `deployments`, kept until the ecsforge entries are written
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
    services = env.doc.get("services", {})
    built = _not_deployed_yet(node, env, [w for w in env.builds if w in services and _deploys(first, w)])
    for workload in env.builds:
        if workload not in services:
            node.doc.note(
                ("stages",),
                "approximate",
                f"{workload!r} is not a service; its image is built by no ecsforge pipeline; push it and run "
                "`python -m ecsforge release` (its scheduled task runs the released tag)",
            )
    if source is None or not built:
        return None
    out: dict[str, dict[str, Any]] = {}
    taken = set(env.doc.get("pipelines", {}))
    for workload in built:
        info = env.builds[workload]
        key = _unique_key(name if len(built) == 1 else f"{name}-{workload}", workload, taken)
        taken.add(key)
        if key != convert.name(name if len(built) == 1 else f"{name}-{workload}", 1000):
            node.doc.note(
                ("name",),
                "approximate",
                f"the pipeline of {workload!r} is named {key!r} (ecsforge names are unique and at most 32 characters)",
            )
        build: dict[str, Any] = {"registry": info.registry, "dockerfile": info.dockerfile, "context": info.context}
        entry: dict[str, Any] = {"source": source, "build": build}
        entry.update({k: v for k, v in first.items() if k != ONLY})
        entry["deploy"] = {"services": [workload]}
        promote = [
            {"manifest": f"{stage}.yml", **{k: v for k, v in extra.items() if k != ONLY}, "services": [workload]}
            for stage, extra in stages[1:]
            if workload in envs[stage].doc.get("services", {}) and _deploys(extra, workload)
        ]
        if promote:
            entry["promote"] = promote
        out[key] = entry
    return Placed(home, out)


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


def _not_deployed_yet(node: Node, env: Env, built: list[str]) -> list[str]:
    """ecsforge deploys a service from one pipeline: a workload that an earlier Copilot pipeline
    deploys already stays with that one."""
    owners = {s: key for key, entry in env.doc.get("pipelines", {}).items() for s in entry["deploy"]["services"]}
    for workload in built:
        if workload in owners:
            node.doc.note(
                ("stages",),
                "not imported",
                f"{workload!r} is deployed by the ecsforge pipeline {owners[workload]!r} (from another Copilot "
                "pipeline) already; ecsforge deploys a service from one pipeline; merge the two pipelines by hand",
            )
    return [w for w in built if w not in owners]


def _unique_key(wanted: str, workload: str, taken: set[str]) -> str:
    """At most 32 characters, the workload's name kept whole (a plain cut makes two long names
    one), and unlike every pipeline already placed."""
    key = convert.name(wanted)
    if key != convert.name(wanted, 1000):
        suffix = convert.name(workload)
        prefix = convert.name(wanted, 31 - len(suffix)) if len(suffix) < 30 else ""
        key = convert.name(f"{prefix}-{suffix}" if prefix else suffix)
    base, number = key, 2
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
        extra: dict[str, Any] = {}
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

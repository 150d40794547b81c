"""`python -m ecsforge import copilot`: the whole import, from workspace to written files."""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...manifest.problems import Path as DataPath
from . import convert, layout
from .addons import Copies, environment_addons, workload_addons
from .context import Env
from .environment import certificates, choose_zones, environment
from .files import custom_buildspecs, report_files
from .node import Doc, Node, dotted
from .notes import APPROXIMATE, NOT_IMPORTED, Note, Report
from .patches import workload_overrides
from .pipeline import pipeline
from .reading import Workspace, WorkspaceError, read_workspace
from .traffic import distinct_priorities
from .workloads import workload


@dataclass
class Options:
    region: str
    accounts: dict[str, str] = field(default_factory=dict)
    connection_arn: str | None = None


@dataclass
class Result:
    report: Report
    base: dict[str, Any]
    overlays: dict[str, dict[str, Any]]  # file stem (the Copilot environment) -> overlay
    full: dict[str, dict[str, Any]]  # file stem -> the merged document it stands for
    copies: Copies = field(default_factory=dict)  # addon templates written next to the manifests


def for_environment(doc: Doc, env: str) -> Doc:
    """The workload as Copilot deploys it to env: `environments.<env>` merged over the rest."""
    data = copy.deepcopy(doc.data)
    data.pop("environments", None)
    origin: dict[DataPath, DataPath] = {}
    overrides = doc.data.get("environments")
    override = overrides.get(env) if isinstance(overrides, dict) else None
    if isinstance(override, dict):
        _apply(data, override, (), ("environments", env), origin)
    return Doc(doc.file, data, doc.positions, doc.report, origin)


_EXCLUSIVE = {"location": "build", "build": "location", "range": "spot", "spot": "range"}


def _apply(
    target: dict[str, Any], over: dict[str, Any], path: DataPath, at: DataPath, origin: dict[DataPath, DataPath]
) -> None:
    for key, value in over.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            for mine, other in _EXCLUSIVE.items():
                if mine in value:
                    target[key].pop(other, None)
            _apply(target[key], value, (*path, key), (*at, key), origin)
        else:
            target[key] = copy.deepcopy(value)
            origin[(*path, key)] = (*at, key)


def environment_names(ws: Workspace, options: Options) -> list[str]:
    """Environment manifests first; older workspaces keep environments outside their files,
    so pipeline stages, --account and `environments:` overrides name them too."""
    names = list(ws.environments)
    for doc in ws.pipelines.values():
        names.extend(stage for stage in _stage_names(doc) if stage not in names)
    for name in options.accounts:
        if name not in names:
            names.append(name)
    if ws.environments:
        return names  # an override for any other environment is stale: reported, not imported
    for doc in ws.workloads.values():
        overrides = doc.data.get("environments")
        for name in overrides if isinstance(overrides, dict) else ():
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def _stage_names(doc: Doc) -> list[str]:
    stages = doc.data.get("stages")
    items = stages if isinstance(stages, list) else []
    return [s["name"] for s in items if isinstance(s, dict) and isinstance(s.get("name"), str)]


def _topic_keys(ws: Workspace) -> dict[tuple[str, str], str]:
    published: list[tuple[str, str]] = []
    for folder, doc in ws.workloads.items():
        name = _workload_name(doc, folder)
        overrides = doc.data.get("environments")
        variants = [doc.data, *(overrides.values() if isinstance(overrides, dict) else [])]
        for variant in variants:
            publish = variant.get("publish") if isinstance(variant, dict) else None
            topics = publish.get("topics") if isinstance(publish, dict) else None
            for topic in topics if isinstance(topics, list) else []:
                named = isinstance(topic, dict) and isinstance(topic.get("name"), str)
                if named and (name, topic["name"]) not in published:
                    published.append((name, topic["name"]))
    counts: dict[str, int] = {}
    for _, topic in published:
        counts[topic] = counts.get(topic, 0) + 1
    return {(w, t): convert.name(t if counts[t] == 1 else f"{w}-{t}") for w, t in published}


def _workload_name(doc: Doc, folder: str) -> str:
    name = doc.data.get("name")
    return convert.name(name if isinstance(name, str) and name else folder)


def _env_order(names: list[str], ws: Workspace) -> list[str]:
    staged: list[str] = []
    for doc in ws.pipelines.values():
        staged.extend(stage for stage in _stage_names(doc) if stage in names and stage not in staged)
    return staged + [n for n in names if n not in staged]


def import_workspace(workspace: Path, options: Options) -> Result:
    report = Report()
    ws = read_workspace(workspace, report)
    names = environment_names(ws, options)
    if not names:
        raise WorkspaceError(
            [
                "copilot/environments:1:1: no environment found (no environments/<env>/manifest.yml, pipeline "
                "stage or --account ENV=...); name one with --account ENV=ACCOUNT"
            ]
        )
    app = convert.name(ws.app, 20)
    if app != ws.app:
        report.add(Note("copilot/.workspace", 1, 1, "application", APPROXIMATE, f"named {app!r} in ecsforge"))
    topic_keys = _topic_keys(ws)
    docs: list[Doc] = []
    envs: dict[str, Env] = {}
    copies: Copies = {}
    for name in names:
        env = Env(app, name, convert.name(name, 12), options.region, report)
        envs[name] = _environment(ws, env, options, topic_keys, docs, copies)
    for doc in ws.workloads.values():
        _unknown_overrides(doc, names)
    for key, doc in ws.pipelines.items():
        placed = pipeline(Node(doc, (), doc.data), str(doc.data.get("name") or key), envs, options.connection_arn)
        docs.append(doc)
        if placed is not None:
            envs[placed.home].section("pipelines").update(placed.pipelines)
            _accounts_for_promotion(envs, placed.home, placed.pipelines)
    for env in envs.values():
        choose_zones(env, ws.environments[env.copilot_name].file if env.copilot_name in ws.environments else None)
    for doc in docs:
        doc.leftovers()
        report.mapped.update((doc.file, dotted(doc.written(path))) for path in doc.used if path)
    report.application = ws.app
    custom_buildspecs(ws)
    report_files(ws, report)
    report.files_read, report.files_not_used = len(ws.read) + len(ws.others), len(ws.others)
    full = {name: _clean(layout.ordered(env.doc)) for name, env in envs.items()}
    order = _env_order(names, ws)
    base, overlays = layout.split(full, order[0])
    return Result(report, base, overlays, full, copies)


def _environment(
    ws: Workspace,
    env: Env,
    options: Options,
    topic_keys: dict[tuple[str, str], str],
    docs: list[Doc],
    copies: Copies,
) -> Env:
    """One Copilot environment: its environment manifest and every workload as deployed there."""
    name = env.copilot_name
    env.topic_keys = dict(topic_keys)
    env.doc.update({"version": 1, "app": env.app, "environment": env.name})
    if name in options.accounts:
        env.doc["account"] = options.accounts[name]
    env.doc["region"] = options.region
    written = ws.environments.get(name)
    if written is not None:
        env_doc = Doc(written.file, written.data, written.positions, env.report)
        env.certificates = certificates(Node(env_doc, (), env_doc.data))
        environment(Node(env_doc, (), env_doc.data), env)
        docs.append(env_doc)
    environment_addons(ws, env, copies)
    for folder, doc in ws.workloads.items():
        merged = for_environment(doc, name)
        workload(Node(merged, (), merged.data), env, _workload_name(doc, folder))
        workload_addons(ws, folder, env, _workload_name(doc, folder), copies)
        workload_overrides(ws, folder, merged, env, _workload_name(doc, folder))
        docs.append(merged)
    _load_balancer(env, ws)
    distinct_priorities(env, {_workload_name(doc, folder): doc for folder, doc in ws.workloads.items()})
    _namespace(env, ws)
    _insights_for_backlog(env, ws)
    return env


def _insights_for_backlog(env: Env, ws: Workspace) -> None:
    """Backlog per task divides by the running task count, which comes from Container Insights."""
    cluster = env.doc.get("cluster", {})
    scaled = [n for n, s in env.doc.get("services", {}).items() if "queue_backlog_per_task" in s.get("scaling", {})]
    if not scaled or cluster.get("container_insights") != "disabled":
        return
    cluster["container_insights"] = "enabled"
    doc = ws.environments[env.copilot_name]
    line, column = doc.positions.of_key(("observability", "container_insights"))
    env.report.add(
        Note(doc.file, line, column, "observability.container_insights", APPROXIMATE,
             f"kept on (enabled): {', '.join(scaled)} scale on queue backlog per task, which counts running "
             "tasks through Container Insights")
    )  # fmt: skip


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v != {}}


def _load_balancer(env: Env, ws: Workspace) -> None:
    if not env.internal_http:
        return
    if not env.public_http:
        env.section("load_balancer")["public"] = False
        return
    for name in env.internal_http:
        service = env.doc["services"][name]
        service.pop("http", None)
        tracking = service.get("scaling", {}).get("target_tracking", {})
        tracking.pop("requests_per_target", None)
        if not tracking:
            service.get("scaling", {}).pop("target_tracking", None)
        doc = ws.workloads.get(name)
        if doc is not None:
            line, column = doc.positions.of_key(("http",))
            env.report.add(
                Note(
                    doc.file,
                    line,
                    column,
                    "http",
                    NOT_IMPORTED,
                    "ecsforge has one load balancer per environment and it is internet-facing here; the "
                    "service stays reachable by service discovery (discovery: true)",
                )
            )


def _accounts_for_promotion(envs: dict[str, Env], home: str, pipelines: dict[str, dict[str, Any]]) -> None:
    """Promotion names concrete accounts (the pipeline's roles and each target's trust), so every
    environment along a pipeline needs `account`; one not given by --account becomes a ${VAR}."""
    names = {home}
    for entry in pipelines.values():
        names.update(str(p["manifest"]).removesuffix(".yml") for p in entry.get("promote", []))
    if len(names) < 2:
        return
    for name in sorted(names):
        env = envs.get(name)
        if env is not None and "account" not in env.doc:
            variable = "ACCOUNT_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
            env.doc["account"] = layout.Quoted(
                env.report.variable(variable, f"the AWS account id of {name} (or pass --account {name}=ID)")
            )


def _namespace(env: Env, ws: Workspace) -> None:
    """Copilot's environment owns the private DNS namespace <env>.<app>.local in its VPC; in a VPC
    both use, ecsforge's namespace needs another name while both run."""
    if "import" not in env.doc.get("network", {}) or not env.doc.get("services"):
        return
    copilot = f"{env.copilot_name}.{env.app}.local"
    ours = f"{env.name}.{env.app}.ecsforge.local"
    env.section("cluster")["namespace"] = ours
    file = ws.environments[env.copilot_name].file
    line, column = ws.environments[env.copilot_name].positions.of_key(("network", "vpc", "id"))
    env.report.add(
        Note(file, line, column, "network.vpc.id", APPROXIMATE,
             f"Copilot's namespace {copilot} is in this VPC, so ecsforge's is {ours}: services find each other as "
             f"<service>.{ours}; set cluster.namespace back to {copilot} after deleting Copilot's environment")
    )  # fmt: skip


def _unknown_overrides(doc: Doc, names: list[str]) -> None:
    overrides = doc.data.get("environments")
    if overrides is None:
        return
    if not isinstance(overrides, dict):
        line, column = doc.positions.of_key(("environments",))
        doc.report.add(Note(doc.file, line, column, "environments", NOT_IMPORTED, "expected a mapping"))
        return
    for name in overrides:
        if name not in names:
            line, column = doc.positions.of_key(("environments", name))
            why = (
                "no such environment in this workspace (no environment manifest or pipeline stage); "
                f"pass --account {name}=ID to import it too"
            )
            doc.report.add(Note(doc.file, line, column, f"environments.{name}", NOT_IMPORTED, why))


def write(result: Result, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    base_path = out_dir / f"{result.base['environment']}.yml"
    base_path.write_text(
        layout.render(
            result.base,
            out_dir,
            "Imported from AWS Copilot by `python -m ecsforge import copilot`: what every environment shares.\n"
            "Deploy the environment files (they extend this one), not this file.",
        ),
        encoding="utf-8",
    )
    written.append(base_path)
    for stem, overlay in result.overlays.items():
        path = out_dir / f"{stem}.yml"
        path.write_text(
            layout.render(overlay, out_dir, f"The Copilot environment {stem!r}: base.yml plus what differs here."),
            encoding="utf-8",
        )
        written.append(path)
    for relative, source in result.copies.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return written

"""A workload's containers: image, sidecars, variables, secrets, health checks, logging."""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from ...manifest.addons import CFN_EXPORT_NAME
from ...manifest.containers import LOG_RETENTION_DAYS
from . import convert
from .context import BuildInfo, Env
from .node import Node

_SECRETSMANAGER_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[^:]+:\d{12}:secret:([^:]+?)(?:-[A-Za-z0-9]{6})?(?::(.*))?$"
)
_SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[^:]+:\d{12}:parameter(/.+)$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXPORT_NAME = re.compile(CFN_EXPORT_NAME)


def image(node: Node, env: Env, workload: str, container: dict[str, Any], registry: str) -> None:
    """`image` of the main container (or a sidecar's `image` mapping): build or location."""
    build = node.peek("build")
    location = node.text("location")
    if build is not None:
        info = _build(node, build, registry)
        if info is not None:
            env.builds.setdefault(workload if registry == workload else registry, info)
            env.section("registries").setdefault(registry, {})
            container["image"] = {"registry": registry}
            return
    if location is not None:
        container["image"] = env.interpolate(location, workload)
        return
    if "image" not in container:
        variable = "IMAGE_" + re.sub(r"[^A-Z0-9]", "_", registry.upper())
        container["image"] = env.report.variable(variable, f"the image of {registry} (Copilot gave none)")


def _build(node: Node, build: Any, registry: str) -> BuildInfo | None:
    if isinstance(build, str):
        node.raw("build")
        dockerfile = build
        return BuildInfo(registry, dockerfile, posixpath.dirname(dockerfile) or ".")
    if not isinstance(build, dict):
        node.skip("build", "expected a Dockerfile path or a mapping; write it as Copilot documents it")
        return None
    spec = node.child("build")
    assert spec is not None
    written = spec.text("dockerfile")
    context = spec.text("context")
    if spec.has("cache_from"):
        spec.skip(
            "cache_from",
            "ecsforge's build caches from the newest image of its own registry (`build.cache`); bake other "
            "sources into the Dockerfile",
        )
    dockerfile = written if written is not None else posixpath.join(context or ".", "Dockerfile")
    # Copilot resolves the Dockerfile against the workspace root; ecsforge's build gives it
    # to `docker build -f` from the repository root too.
    info = BuildInfo(registry, dockerfile, context or (posixpath.dirname(dockerfile) or "."))
    info.args = _build_args(spec)
    target = spec.text("target")
    if target is not None and _TARGET.match(target):
        info.target = target
    elif target is not None:
        spec.skip("target", "not a build stage name ecsforge accepts (letters, digits, _ . -)")
    return info


_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _build_args(spec: Node) -> dict[str, str]:
    """`image.build.args`: the pipeline's `--build-arg`s (names a shell accepts)."""
    block = spec.child("args")
    if block is None:
        return {}
    if not isinstance(block.value, dict):
        spec.skip("args", "expected a mapping of argument names to values")
        return {}
    out: dict[str, str] = {}
    for name, value in block.value.items():
        if _ARG.match(str(name)) and not isinstance(value, (dict, list)):
            out[str(name)] = "" if value is None else str(value)
            block.doc.used.add((*block.path, name))
        else:
            block.skip(name, "a build argument is NAME: value, the name of letters, digits and _")
    return out


def health_check(node: Node, env: Env, workload: str, container: dict[str, Any]) -> None:
    check = node.child("healthcheck")
    if check is None:
        return
    command = check.raw("command")
    words = convert.split_command(command)
    words = [env.interpolate(word, workload) for word in words] if words else words
    if not words:
        check.skip(None, "a container health check needs `command`; add one")
        return
    if words[0] == "CMD-SHELL":
        text = " ".join(words[1:])
    elif words[0] == "CMD":
        text = shlex.join(words[1:])
        check.approx("command", "ecsforge runs health checks with CMD-SHELL; the command is run by a shell")
    else:
        text = shlex.join(words)
    result: dict[str, Any] = {"command": text}
    limits = {
        "interval": ("interval_seconds", 5, 300),
        "timeout": ("timeout_seconds", 2, 60),
        "start_period": ("start_period_seconds", 0, 300),
    }
    for key, (target, low, high) in limits.items():
        seconds = check.seconds(key)
        if seconds is not None:
            result[target] = _clamped(check, key, round(seconds), low, high)
    retries = check.number("retries")
    if retries is not None:
        result["retries"] = _clamped(check, "retries", retries, 1, 10)
    container["health_check"] = result


def _clamped(node: Node, key: str, value: int, low: int, high: int) -> int:
    if low <= value <= high:
        return value
    near = min(max(value, low), high)
    node.approx(key, f"{value} is outside ecsforge's {low}..{high}; used {near}")
    return near


def variables(node: Node, env: Env, workload: str, container: dict[str, Any]) -> None:
    block = node.child("variables")
    if block is None:
        return
    for name, value in block.items():
        if not _VARIABLE.match(name):
            block.skip(name, "not a valid environment variable name for ecsforge; rename it")
        elif isinstance(value.value, dict):
            export = _from_cfn(value, env, workload)
            if export is not None:
                container.setdefault("environment", {})[name] = {"cfn_export": export}
        elif isinstance(value.value, list):
            block.skip(name, "expected a string")
        else:
            value.use()
            text = value.value
            text = ("true" if text else "false") if isinstance(text, bool) else str(text)
            container.setdefault("environment", {})[name] = env.interpolate(text, workload)


def secrets(node: Node, env: Env, workload: str, container: dict[str, Any]) -> None:
    block = node.child("secrets")
    if block is None:
        return
    for name, value in block.items():
        from_cfn = isinstance(value.value, dict) and "from_cfn" in value.value
        export = _from_cfn(value, env, workload) if from_cfn else None
        if export is not None:
            value.approx(
                None,
                "ecsforge reads the export as a Secrets Manager secret's ARN (and lets the task read that secret); "
                "if it holds an SSM parameter, write ssm:<parameter name> instead",
            )
        source: str | dict[str, str] | None = {"cfn_export": export} if export else secret_source(value, env, workload)
        if source is None:
            continue
        if not _VARIABLE.match(name):
            block.skip(name, "not a valid environment variable name for ecsforge; rename it")
            continue
        container.setdefault("secrets", {})[name] = source


def _from_cfn(value: Node, env: Env, workload: str) -> str | None:
    """`{from_cfn: <export>}` -> the export's name, or None (reported)."""
    export = value.text("from_cfn")
    text = env.interpolate(export, workload) if export is not None else None
    if text is None or not (_EXPORT_NAME.match(text) or "${" in text):
        value.skip(None, "expected {from_cfn: <the name of a CloudFormation export>}")
        return None
    return text


def secret_source(value: Node, env: Env, workload: str) -> str | None:
    """`ssm:<name>` or `secretsmanager:<name>[:<key>]` for a Copilot secret, or None (reported)."""
    raw = value.value
    if isinstance(raw, dict):
        manager = value.text("secretsmanager")
        if manager is None:
            value.skip(None, "`from_cfn` reads another stack's export, which ecsforge cannot; use the secret's name")
            return None
        return _secretsmanager(value, env.interpolate(manager, workload))
    if not isinstance(raw, str):
        value.skip(None, "expected an SSM parameter name or {secretsmanager: <name>}")
        return None
    value.use()
    text = env.interpolate(raw, workload)
    if _SECRETSMANAGER_ARN.match(text):
        return _secretsmanager(value, text)
    ssm = _SSM_ARN.match(text)
    if ssm:
        return "ssm:" + ssm.group(1)
    return "ssm:" + text


def _secretsmanager(value: Node, text: str) -> str:
    arn = _SECRETSMANAGER_ARN.match(text)
    if arn:
        name, parts = arn.group(1), (arn.group(2) or "").split(":")
        value.approx(None, f"the secret's ARN became its name {name!r} (same account and region as the service)")
    else:
        # name:json-key:version-stage:version-id, as ECS reads it
        name, *parts = text.split(":")
    key = parts[0] if parts and parts[0] else None
    if any(parts[1:]):
        value.approx(None, "ecsforge reads the current version of the secret; the version stage/id was dropped")
    return f"secretsmanager:{name}" + (f":{key}" if key else "")


def log_retention(days: int) -> int:
    return next((d for d in LOG_RETENTION_DAYS if d >= days), LOG_RETENTION_DAYS[-1])


def depends_on(node: Node, container: dict[str, Any]) -> None:
    block = node.child("depends_on")
    if block is None:
        return
    for name, condition in block.items():
        text = str(condition.value).lower()
        if text not in ("start", "complete", "success", "healthy"):
            block.skip(name, "expected start, complete, success or healthy")
            continue
        condition.use()
        container.setdefault("depends_on", {})[convert.name(name)] = text


def command_and_entrypoint(node: Node, env: Env, workload: str, container: dict[str, Any]) -> None:
    """Copilot's own ${COPILOT_...} variables are replaced per environment, as in `variables`:
    ecsforge would read them from the shell at synth, where nothing sets them."""
    for key in ("command", "entrypoint"):
        raw = node.raw(key)
        if raw is None:
            continue
        words = convert.split_command(raw)
        if words is None:
            node.skip(key, "expected a string or a list of strings")
        else:
            container[key] = [env.interpolate(word, workload) for word in words]

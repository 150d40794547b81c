"""Per-environment documents -> a shared base.yml and one overlay per environment."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

ORDER = (
    "extends", "version", "app", "environment", "account", "region", "tags", "network", "cluster", "registries",
    "load_balancer", "topics", "queues", "buckets", "volumes", "addons", "services", "scheduled_tasks", "pipelines",
    "overrides",
)  # fmt: skip
BASE_NAME = "base"
_PER_ENVIRONMENT = ("environment", "account", "pipelines")
_SCHEMA = Path(__file__).resolve().parents[3] / "schema" / "manifest-v1.json"


def ordered(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in sorted(doc, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER))}


def diff(full: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """What an overlay writes so that `extends` (maps merge, lists and scalars replace, null
    removes) turns base into full."""
    out: dict[str, Any] = {}
    for key, value in full.items():
        if key not in base:
            out[key] = value
        elif isinstance(value, dict) and isinstance(base[key], dict):
            inner = diff(value, base[key])
            if inner:
                out[key] = inner
        elif value != base[key]:
            out[key] = value
    for key in base:
        if key not in full:
            out[key] = None
    return out


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """The contract's overlay rule (manifest v1.1, `extends`), for checking `diff`."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def base_name(environments: list[str]) -> str:
    """`base`, unless a Copilot environment already has that name (its file would be base.yml)."""
    return next(n for n in (BASE_NAME, "shared", "common", "defaults") if n not in environments)


def split(docs: dict[str, dict[str, Any]], first: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(base, {environment file stem: overlay}). The base is the first environment without what
    is one environment's own, so that it validates by itself."""
    name = base_name(list(docs))
    base = {k: copy.deepcopy(v) for k, v in docs[first].items() if k not in _PER_ENVIRONMENT}
    base["environment"] = name
    overlays = {}
    for stem, doc in docs.items():
        shared = {k: v for k, v in doc.items() if k not in _PER_ENVIRONMENT}
        overlay = {"extends": f"{name}.yml", "environment": doc["environment"]}
        if "account" in doc:
            overlay["account"] = doc["account"]
        overlay.update(diff(shared, {k: v for k, v in base.items() if k != "environment"}))
        if "pipelines" in doc:
            overlay["pipelines"] = doc["pipelines"]
        overlays[stem] = ordered(overlay)
    return ordered(base), overlays


def schema_line(out_dir: Path) -> str:
    try:
        target = os.path.relpath(_SCHEMA, out_dir.resolve())
    except ValueError:
        target = str(_SCHEMA)
    return f"# yaml-language-server: $schema={Path(target).as_posix()}"


class _Dumper(yaml.SafeDumper):
    """Values written out in place, never as &anchors and *aliases: it reads like hand-written YAML."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class Quoted(str):
    """Written in double quotes: `account: "${ACCOUNT_PROD}"` stays a string after substitution."""


_Dumper.add_representer(Quoted, lambda dumper, data: dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"'))


def render(doc: dict[str, Any], out_dir: Path, comment: str) -> str:
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=110)
    lines = [schema_line(out_dir), *(f"# {line}" for line in comment.splitlines())]
    return "\n".join(lines) + "\n" + body

"""Copilot addons -> ecsforge `addons`: each template of `<workload>/addons/` (and of
`environments/addons/`) is copied next to the written manifests and listed with the values of
its `addons.parameters.yml` that mean the same in ecsforge; the rest is reported at its line.

Copilot passes `App`, `Env` and `Name` to every addon, and so does ecsforge, so `copilot storage
init` templates (DynamoDB, S3, Aurora Serverless) deploy unchanged. Copilot merges a folder's
templates into one stack; ecsforge deploys each file as its own nested stack, keyed by its name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ...manifest.addon_templates import TemplateError, parse_template
from ...manifest.addons import upper_snake
from ...manifest.loader import decode
from .context import Env
from .notes import APPROXIMATE, NOT_IMPORTED, Note
from .reading import Workspace, label

PARAMETERS_FILE = "addons.parameters.yml"
ENVIRONMENTS = "environments"
OUT_FOLDER = "addons"
NETWORK_PARAMETERS = ("VpcId", "PrivateSubnets", "PublicSubnets")  # passed to environment addons
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")
# Copilot's environment stack exports, which an environment-level `storage init` template imports.
_COPILOT_EXPORT = re.compile(r"^\$\{App\}-\$\{Env\}-(\w+)$")
Copies = dict[str, Path]  # written path, relative to the output folder -> the Copilot file


def is_template(path: Path) -> bool:
    return path.suffix in (".yml", ".yaml") and path.name != PARAMETERS_FILE


def workload_addons(ws: Workspace, folder: str, env: Env, name: str, copies: Copies) -> None:
    """`copilot/<folder>/addons/` -> `addons` of the service or scheduled task it became."""
    directory = ws.root / folder / "addons"
    if not directory.is_dir():
        return
    section = next((s for s in ("services", "scheduled_tasks") if name in env.doc.get(s, {})), None)
    if section is None:
        return  # the workload itself was not imported (reported); addons/ stays reported as a file
    own = {"App": env.app, "Env": env.name, "Name": name}
    addons = _addons(ws, directory, folder, env, own, copies)
    if addons:
        env.doc[section][name]["addons"] = addons


def environment_addons(ws: Workspace, env: Env, copies: Copies) -> None:
    directory = ws.root / ENVIRONMENTS / "addons"
    if not directory.is_dir():
        return
    own = {"App": env.app, "Env": env.name}
    addons = _addons(ws, directory, ENVIRONMENTS, env, own, copies)
    if addons:
        env.doc["addons"] = addons


def _addons(
    ws: Workspace, directory: Path, folder: str, env: Env, own: dict[str, str], copies: Copies
) -> list[dict[str, Any]]:
    parameters = _parameters(ws, directory / PARAMETERS_FILE, env, own, folder)
    out: list[dict[str, Any]] = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and is_template(p)):
        where = label(ws.root, path)
        try:
            data, positions = parse_template(decode(path.read_bytes())[0] or "")
        except TemplateError as error:
            why = f"the template {error.message}; fix it and import again"
            env.report.add(Note(where, error.line, error.column, "addons", NOT_IMPORTED, why))
            _claim(ws, path)
            continue
        written = f"{OUT_FOLDER}/{folder}/{path.name}"
        copies[written] = path
        _claim(ws, path)
        declared = data.get("Parameters") if isinstance(data.get("Parameters"), dict) else {}
        passed = {k: v for k, v in parameters.items() if k in (declared or {})}
        entry: dict[str, Any] = {"template": written}
        if passed:
            entry["parameters"] = passed
        out.append(entry)
        _copilot_exports(data, positions, where, env)
    if out and (directory / PARAMETERS_FILE).is_file():
        _claim(ws, directory / PARAMETERS_FILE)
    return out


def _claim(ws: Workspace, path: Path) -> None:
    """Imported: counted among the files read, no longer among those not used."""
    if path in ws.others:
        ws.others.remove(path)
        ws.read.append(path)


def _parameters(
    ws: Workspace, path: Path, env: Env, own: dict[str, str], folder: str
) -> dict[str, str | int | float | bool]:
    """`Parameters:` of addons.parameters.yml: plain values, and references to what ecsforge
    also passes (`!Ref Env`, `!Sub '${App}-x'`), as values; anything of Copilot's own stack
    (`!GetAtt Service.Name`) becomes a ${VAR} to set, reported at its line."""
    if not path.is_file():
        return {}
    where = label(ws.root, path)
    entries = _read_parameters(path, where, env)
    values: dict[str, str | int | float | bool] = {}
    for name, (value, line, column) in entries.items():
        if name in own or (folder == ENVIRONMENTS and name in NETWORK_PARAMETERS):
            value = repr(own[name]) if name in own else "from its network"
            why = f"ecsforge passes its own {name} ({value}) to the addons that declare it"
            env.report.add(Note(where, line, column, f"Parameters.{name}", APPROXIMATE, why))
            continue
        plain = _plain(value, own)
        if plain is not None:
            values[name] = plain
            continue
        variable = upper_snake(f"Addon{folder.title().replace('-', '')}{name}")
        values[name] = env.report.variable(variable, f"the value of {name} for the addons of {folder}")
        why = (
            f"it refers to Copilot's own stack, which ecsforge does not have; written as ${{{variable}}}: export "
            "the value, or pass another one in the addon's `parameters`"
        )
        env.report.add(Note(where, line, column, f"Parameters.{name}", NOT_IMPORTED, why))
    return values


def _plain(value: Any, own: dict[str, str]) -> str | int | float | bool | None:
    if isinstance(value, str):
        return value.replace("${", "$${")  # a literal, not a variable the manifest reads
    if isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and argument in own:
            return own[str(argument)]
        if function == "Fn::Sub" and isinstance(argument, str):
            names = _SUB_VARIABLE.findall(argument)
            if all(name in own for name in names):
                return _SUB_VARIABLE.sub(lambda m: own[m.group(1)], argument).replace("${", "$${")
    return None


class TaggedLoader(yaml.SafeLoader):
    """Copilot's parameter files use CloudFormation's short forms (`!Ref X`)."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        inner: Any = node.value.split(".", 1) if suffix == "GetAtt" else node.value
    elif isinstance(node, yaml.SequenceNode):
        inner = loader.construct_sequence(node, deep=True)
    else:
        inner = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": inner}


TaggedLoader.add_multi_constructor("!", _tagged)


def _read_parameters(path: Path, where: str, env: Env) -> dict[str, tuple[Any, int, int]]:
    text = decode(path.read_bytes())[0] or ""
    try:
        root = yaml.compose(text, Loader=TaggedLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        env.report.add(Note(where, line, column, "Parameters", NOT_IMPORTED, "not valid YAML; fix it and import again"))
        return {}
    block = _member(root, "Parameters")
    if not isinstance(block, yaml.MappingNode):
        env.report.add(Note(where, 1, 1, "Parameters", NOT_IMPORTED, "expected `Parameters:` with a value per name"))
        return {}
    loader = TaggedLoader("")
    entries = {}
    for key, value in block.value:
        position = (key.start_mark.line + 1, key.start_mark.column + 1)
        entries[str(key.value)] = (loader.construct_object(value, deep=True), *position)
    return entries


def _member(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if name.value == key), None)


def _copilot_exports(data: dict[str, Any], positions: dict[Any, tuple[int, int]], where: str, env: Env) -> None:
    """A `storage init` template of an environment reads Copilot's environment exports; copied
    unchanged, it deploys only while Copilot's environment stack exists."""
    for logical_id, body in data["Resources"].items():
        found = sorted(set(_imports(body)))
        if not found:
            continue
        line, column = positions.get(("Resources", logical_id), (1, 1))
        why = (
            f"copied unchanged; it imports Copilot's environment exports ({', '.join(found)}), so it deploys only "
            "while Copilot's environment stack exists: declare VpcId, PrivateSubnets or PublicSubnets parameters "
            "instead (ecsforge passes them to environment addons)"
        )
        env.report.add(Note(where, line, column, f"Resources.{logical_id}", APPROXIMATE, why))


def _imports(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            inner = item.get("Fn::Sub") if key == "Fn::ImportValue" and isinstance(item, dict) else None
            match = _COPILOT_EXPORT.match(inner) if isinstance(inner, str) else None
            found.extend([f"${{App}}-${{Env}}-{match.group(1)}"] if match else _imports(item))
        return found
    if isinstance(value, list):
        return [name for item in value for name in _imports(item)]
    return []

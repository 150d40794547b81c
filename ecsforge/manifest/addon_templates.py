"""Reading addon templates (manifest v1.2, "Escape hatches"): a step of load_manifest.

The only place outside loader.py that reads a file for the manifest layer. A template is YAML
(with CloudFormation's short-form intrinsics, `!Ref X` read as `{"Ref": "X"}`) or JSON; the line
of every section entry is kept, so that a problem inside a template names the template's own
line. What the stacks need of it (parameters, the kind of each output, the resources) is
attached to the `Addon` model; aws-cdk's CfnInclude reads the file again at synth.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Any

import yaml

from .addons import OUTPUT_KINDS, VARIABLE, Addon, AddonTemplate, TemplateResource
from .problems import Path, Problem, show

# Short forms whose long form is not `Fn::<name>`.
_SPECIAL = {"Ref": "Ref", "Condition": "Condition"}
Where = dict[Path, tuple[int, int]]


class TemplateError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


class _Loader(yaml.SafeLoader):
    """Composes nodes only: the intrinsics' tags are turned into mappings by _convert."""


def _start(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _convert(loader: _Loader, node: yaml.Node, path: Path, where: Where) -> Any:
    if len(path) <= 2:  # Resources.X, Outputs.Y, Parameters.Z: where problems point
        where.setdefault(path, _start(node))
    if node.tag.startswith("!"):
        name = node.tag[1:]
        if isinstance(node, yaml.ScalarNode):
            inner: Any = node.value.split(".", 1) if name == "GetAtt" else node.value
        else:
            inner = _plain(loader, node, path, where)
        return {_SPECIAL.get(name, f"Fn::{name}"): inner}
    return _plain(loader, node, path, where)


def _plain(loader: _Loader, node: yaml.Node, path: Path, where: Where) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            if len(path) < 2:  # at the key that names the entry, not at its first property
                where[(*path, key)] = _start(key_node)
            result[key] = _convert(loader, value_node, (*path, key), where)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, index), where) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_template(text: str) -> tuple[dict[str, Any], Where]:
    """The template as plain data and the position of its sections' entries; TemplateError
    when it is not YAML or JSON, or not a CloudFormation template."""
    loader = _Loader(text)
    where: Where = {}
    try:
        node = loader.get_single_node()
        data = _convert(loader, node, (), where) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = f"is not valid YAML or JSON ({error.problem or error}); fix the template"
        raise TemplateError(line, column, message) from None
    except yaml.YAMLError as error:
        raise TemplateError(1, 1, f"is not valid YAML or JSON ({error}); fix the template") from None
    except RecursionError:
        raise TemplateError(1, 1, "nests too deeply (or an alias contains itself); fix the template") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict) or not data["Resources"]:
        raise TemplateError(
            1, 1, "is not a CloudFormation template: it has no Resources section; give it at least one resource"
        )
    return data, where


def _key(template: str) -> str:
    return os.path.splitext(os.path.basename(template))[0]


def _suppressions(resource: dict[str, Any]) -> dict[str, str]:
    metadata = resource.get("Metadata")
    nag = metadata.get("cdk_nag") if isinstance(metadata, dict) else None
    rules = nag.get("rules_to_suppress") if isinstance(nag, dict) else None
    found: dict[str, str] = {}
    for rule in rules if isinstance(rules, list) else []:
        if isinstance(rule, dict) and isinstance(rule.get("id"), str):
            found[rule["id"]] = str(rule.get("reason", "acknowledged in the addon template"))
    return found


def describe(path: str, data: dict[str, Any], where: Where) -> AddonTemplate:
    resources = {
        logical_id: TemplateResource(
            logical_id,
            str(body.get("Type", "")) if isinstance(body, dict) else "",
            *where.get(("Resources", logical_id), (1, 1)),
            _suppressions(body) if isinstance(body, dict) else {},
        )
        for logical_id, body in data["Resources"].items()
    }
    parameters = data.get("Parameters") if isinstance(data.get("Parameters"), dict) else {}
    outputs = data.get("Outputs") if isinstance(data.get("Outputs"), dict) else {}
    kinds: dict[str, str] = {}
    for name, output in (outputs or {}).items():
        value = output.get("Value") if isinstance(output, dict) else None
        target = value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None
        kinds[name] = OUTPUT_KINDS.get(resources[target].type, VARIABLE) if target in resources else VARIABLE
    return AddonTemplate(
        path=os.path.abspath(path),
        shown=path,
        key=_key(path),
        parameters={name: isinstance(body, dict) and "Default" in body for name, body in (parameters or {}).items()},
        outputs=kinds,
        resources=resources,
    )


def read_template(path: str) -> tuple[AddonTemplate, Where, list[tuple[int, int, str]]]:
    """The template, where its entries are, and its unknown references. Raises OSError when the
    file cannot be read, TemplateError when it is no template."""
    raw = FilePath(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TemplateError(1, 1, "is not UTF-8 text; save the template as UTF-8") from None
    data, where = parse_template(text)
    return describe(path, data, where), where, list(unknown_references(data, where))


def template_problems(addon: Addon, path: Path, shown: str, where: Where, automatic: set[str]) -> Iterator[Problem]:
    """Parameters passed that the template does not declare, or declared and passed by nobody."""
    template = addon.resolved
    for name in addon.parameters:
        if name in automatic & {"App", "Env", "Name"}:
            yield _manifest(path, ("parameters", name), f"{name!r} is passed by ecsforge; remove it from parameters")
        elif name not in template.parameters:
            yield _manifest(
                path,
                ("parameters", name),
                f"{name!r}: {shown} declares no such parameter, and CloudFormation rejects unknown parameters; "
                "remove it or declare it in the template",
            )
    for name, has_default in template.parameters.items():
        if not has_default and name not in addon.parameters and name not in automatic:
            yield _manifest(
                path,
                ("template",),
                f"{show(addon.template)}: parameter {name!r} has no default and nothing passes it; give it a value "
                "in parameters or a Default in the template",
            )


def _manifest(path: Path, rest: Path, message: str) -> Problem:
    # Placed at the manifest's line by the caller (positions are the manifest's).
    return Problem(0, 0, (*path, *rest), message)


_SUB_NAME = re.compile(r"\$\{(?!!)\s*([^}]+?)\s*\}")


def _references(value: Any) -> Iterator[str]:
    """The logical ids and parameters a value refers to (Ref, GetAtt, Sub)."""
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
        return
    if not isinstance(value, dict):
        return
    for key, inner in value.items():
        if key == "Ref" and isinstance(inner, str):
            yield inner
        elif key == "Fn::GetAtt":
            target = (
                inner.split(".", 1)[0]
                if isinstance(inner, str)
                else inner[0]
                if isinstance(inner, list) and inner
                else None
            )
            if isinstance(target, str):
                yield target
            continue
        elif key == "Fn::Sub":
            text, local = (
                (inner, {})
                if isinstance(inner, str)
                else (inner[0], inner[1])
                if isinstance(inner, list) and len(inner) == 2
                else ("", {})
            )
            for name in _SUB_NAME.findall(text if isinstance(text, str) else ""):
                if name.split(".", 1)[0] not in (local if isinstance(local, dict) else {}):
                    yield name.split(".", 1)[0]
            yield from _references(local)
            continue
        yield from _references(inner)


def unknown_references(data: dict[str, Any], where: Where) -> Iterator[tuple[int, int, str]]:
    """References to no parameter or resource of the template: CloudFormation (and aws-cdk's
    CfnInclude, at synth) rejects them."""
    known = {*data["Resources"], *(data.get("Parameters") or {})}
    for section in ("Resources", "Outputs"):
        entries = data.get(section)
        for name, body in (entries or {}).items() if isinstance(entries, dict) else ():
            if section == "Resources" and not (isinstance(body, dict) and isinstance(body.get("Type"), str)):
                line, column = where.get((section, name), (1, 1))
                yield line, column, f"Resources.{name} has no Type; give it one, like Type: AWS::S3::Bucket"
                continue
            missing = sorted({r for r in _references(body) if r not in known and not r.startswith("AWS::")})
            if missing:
                line, column = where.get((section, name), (1, 1))
                yield (
                    line,
                    column,
                    f"{section}.{name} refers to {', '.join(missing)}, which the template neither "
                    "declares as a parameter nor defines as a resource; fix the reference",
                )

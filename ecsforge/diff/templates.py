"""Reading a synthesized template: its resources, references, exports and SSM parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# The file name CDK gives a nested stack's template (an addon's), beside the stacks' own.
NESTED_SUFFIX = ".nested"

IGNORED_TYPES = frozenset({"AWS::CDK::Metadata"})


def refs(value: Any) -> Iterator[tuple[str, str]]:
    """("ref", id), ("attribute", "id.Attr"), ("import", name), ("condition", name) found in a value
    (a GetAtt yields both its ("ref", id) and its ("attribute", ...))."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), *_ = value.items()
            yield from _intrinsic_refs(key, arg)
        for item in value.values():
            yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def _intrinsic_refs(key: str, arg: Any) -> Iterator[tuple[str, str]]:
    """What one intrinsic function ({key: arg}) itself refers to, not what its arguments nest."""
    if key == "Ref" and isinstance(arg, str):
        yield ("ref", arg)
    elif key == "Fn::GetAtt":
        parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
        target = parts[0] if parts else None
        if isinstance(target, str):
            yield ("ref", target)
            # ("attribute", "Id.Outputs.Name"): which output of a nested stack a value reads.
            if len(parts) > 1 and isinstance(parts[1], str):
                yield ("attribute", f"{target}.{parts[1]}")
    elif key == "Fn::ImportValue" and isinstance(arg, str):
        yield ("import", arg)
    elif key == "Fn::If" and isinstance(arg, list) and arg and isinstance(arg[0], str):
        yield ("condition", arg[0])
    elif key == "Fn::Sub":
        text = arg[0] if isinstance(arg, list) and arg else arg
        if isinstance(text, str):
            for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                yield ("ref", name.split(".")[0])
                if "." in name:
                    yield ("attribute", name)


def resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") not in IGNORED_TYPES}


def ssm_parameter_name(parameter: dict[str, Any]) -> str | None:
    if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
        default = parameter.get("Default")
        return default if isinstance(default, str) else None
    return None


def exports(template: dict[str, Any]) -> dict[str, Any]:
    """Export name -> value expression (the names CDK writes are literal strings)."""
    result = {}
    for output in template.get("Outputs", {}).values():
        name = output.get("Export", {}).get("Name")
        if isinstance(name, str):
            result[name] = output.get("Value")
    return result


def ssm_writes(template: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """SSM parameter name -> (logical ID, Value) for the parameters a stack creates."""
    result = {}
    for logical_id, resource in resources(template).items():
        if resource["Type"] == "AWS::SSM::Parameter":
            properties = resource.get("Properties", {})
            if isinstance(properties.get("Name"), str):
                result[properties["Name"]] = (logical_id, properties.get("Value"))
    return result


def imports(template: dict[str, Any]) -> set[str]:
    return {name for kind, name in refs(template.get("Resources", {})) if kind == "import"} | {
        name for kind, name in refs(template.get("Outputs", {})) if kind == "import"
    }

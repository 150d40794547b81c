"""The JSON Schema of an overlay (a file with `extends`): the manifest's, where every mapping
that merges is partial (no required key) and any key may be `null` (which removes it).

Lists and scalars replace what the base says, so a list item is checked as in a full
manifest; only what merges key by key is partial.
"""

from __future__ import annotations

from typing import Any

_DEFS = "#/$defs/"
_PREFIX = "Overlay"
_NULL = {"type": "null"}


def _partial(node: Any) -> Any:
    """A value of a merging mapping: a model or map becomes partial, anything else stays as is."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node and node["$ref"].startswith(_DEFS):
        return {**node, "$ref": _DEFS + _PREFIX + node["$ref"].removeprefix(_DEFS)}
    if "anyOf" in node:
        return {**node, "anyOf": [_partial(member) for member in node["anyOf"]]}
    if node.get("type") == "object":
        return _partial_object(node)
    return node


def _partial_object(node: dict[str, Any]) -> dict[str, Any]:
    partial = {key: value for key, value in node.items() if key != "required"}
    if "properties" in node:
        partial["properties"] = {key: _nullable(value) for key, value in node["properties"].items()}
    if isinstance(node.get("additionalProperties"), dict):
        partial["additionalProperties"] = _nullable(node["additionalProperties"])
    return partial


def _nullable(node: Any) -> dict[str, Any]:
    return {"anyOf": [_partial(node), _NULL]}


def with_overlays(document: dict[str, Any]) -> dict[str, Any]:
    """The manifest's schema, accepting either a full manifest or an overlay of one."""
    definitions = document.pop("$defs", {})
    described: dict[str, Any] = {k: document.pop(k) for k in ("title", "description") if k in document}
    overlay = _partial_object(document)
    overlay["required"] = ["extends"]
    return {
        **described,
        "anyOf": [document, overlay],
        "$defs": {
            **definitions,
            **{_PREFIX + name: _partial(schema) for name, schema in definitions.items()},
        },
    }

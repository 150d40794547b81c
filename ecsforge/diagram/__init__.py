"""`python -m ecsforge diagram`: the environment of a manifest as Mermaid, DOT, SVG or an HTML page.

One format-neutral graph is built from the validated models (graph.py); text.py prints it as
Mermaid or Graphviz DOT; layout.py places it in pure Python and svg.py draws it, so SVG and HTML
need nothing installed and the same manifest always gives the same bytes.
"""

from __future__ import annotations

from typing import Literal

from ..manifest.models import Manifest
from .graph import Edge, Graph, Group, Node, build, node_id, service_node, source_text
from .svg import render_html, render_svg
from .text import render_dot, render_mermaid

Format = Literal["mermaid", "dot", "svg", "html"]
FORMATS: tuple[Format, ...] = ("mermaid", "dot", "svg", "html")

__all__ = [
    "FORMATS",
    "Edge",
    "Format",
    "Graph",
    "Group",
    "Node",
    "build",
    "node_id",
    "render",
    "render_dot",
    "render_html",
    "render_mermaid",
    "render_svg",
    "service_node",
    "source_text",
]


def render(manifest: Manifest, fmt: Format = "mermaid", source: str = "the manifest") -> str:
    graph = build(manifest)
    if fmt == "html":
        return render_html(graph, source)
    if fmt == "svg":
        return render_svg(graph)
    return render_dot(graph) if fmt == "dot" else render_mermaid(graph)

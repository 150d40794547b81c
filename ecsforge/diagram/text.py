"""Mermaid and Graphviz DOT text of a Graph: they only print it."""

from __future__ import annotations

from .graph import Graph, Group


def mermaid_text(text: str) -> str:
    # Inside a quoted label Mermaid reads #...; as an entity and HTML as markup; `#` goes first.
    for raw, entity in (("#", "#35;"), ('"', "#quot;"), ("&", "#amp;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, entity)
    return text.replace("`", "#96;").replace("|", "#124;")


def mermaid_label(lines: list[str]) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines) + '"'


MERMAID_SHAPES = {"box": ("[", "]"), "cylinder": ("[(", ")]"), "round": ("([", "])")}


def mermaid_group(group: Group, depth: int) -> list[str]:
    pad = "    " * depth
    lines = [f"{pad}subgraph sg_{group.id} [{mermaid_label([group.title])}]"]
    for node in group.nodes:
        opening, closing = MERMAID_SHAPES[node.shape]
        lines.append(f"{pad}    {node.id}{opening}{mermaid_label(node.lines)}{closing}")
    for child in group.groups:
        lines.extend(mermaid_group(child, depth + 1))
    lines.append(f"{pad}end")
    return lines


def render_mermaid(graph: Graph) -> str:
    lines = ["---", f"title: {mermaid_label([graph.title])}", "---", "flowchart LR"]
    for group in graph.groups:
        lines.extend(mermaid_group(group, 1))
    for edge in graph.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f"|{mermaid_label([edge.label])}|" if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    return "\n".join(lines) + "\n"


def dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


DOT_SHAPES = {"box": "shape=box", "cylinder": "shape=cylinder", "round": 'shape=box, style="rounded"'}


def dot_group(group: Group, depth: int) -> list[str]:
    pad = "    " * depth
    lines = [f"{pad}subgraph cluster_{group.id} {{", f"{pad}    label={dot_text(group.title)};"]
    for node in group.nodes:
        lines.append(f"{pad}    {node.id} [label={dot_text(chr(10).join(node.lines))}, {DOT_SHAPES[node.shape]}];")
    for child in group.groups:
        lines.extend(dot_group(child, depth + 1))
    lines.append(f"{pad}}}")
    return lines


def render_dot(graph: Graph) -> str:
    lines = [
        "digraph ecsforge {",
        f"    label={dot_text(graph.title)}; labelloc=t; rankdir=LR;",
        '    node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];',
    ]
    for group in graph.groups:
        lines.extend(dot_group(group, 1))
    for edge in graph.edges:
        attributes = [f"label={dot_text(edge.label)}"] if edge.label else []
        attributes += ["style=dashed"] if edge.dashed else []
        lines.append(f"    {edge.source} -> {edge.target} [{', '.join(attributes)}];")
    return "\n".join(lines) + "\n}\n"

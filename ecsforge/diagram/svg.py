"""SVG and a self-contained HTML page of a Graph, from the pure-Python layout: nothing to install.

Every node is a `<g class="node" id=...>` whose first `<rect>` is its box, inside the
`<g class="group" id="sg_...">` of its group, so a reader (and the tests) can check the geometry.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from .graph import Graph, Group, Node
from .layout import FONT_SIZE, LINE_HEIGHT, NODE_PAD, TITLE_HEIGHT, Box, Layout, Route
from .route import arrange

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
STYLE = f"""
svg.ecsforge {{ font-family: {FONT}; font-size: {FONT_SIZE}px; }}
.ecsforge .page {{ fill: #ffffff; }}
.ecsforge .title {{ font-size: 16px; font-weight: bold; }}
.ecsforge .group > rect {{ fill: #eef3fb; stroke: #7a8fb3; stroke-width: 1; }}
.ecsforge .group .group > rect {{ fill: #f8fafd; }}
.ecsforge .group-title {{ font-weight: bold; fill: #2b3a55; }}
.ecsforge .node > rect {{ fill: #ffffff; stroke: #2b3a55; stroke-width: 1.2; }}
.ecsforge .node.cylinder > rect {{ fill: #fff7e6; }}
.ecsforge .node > path {{ fill: none; stroke: #2b3a55; stroke-width: 1; }}
.ecsforge .node.round > rect {{ fill: #eefaf0; }}
.ecsforge .edge path {{ fill: none; stroke: #4a5a78; stroke-width: 1.2; }}
.ecsforge .edge.dashed path {{ stroke-dasharray: 5 4; }}
.ecsforge .edge text {{ font-size: 11px; fill: #2b3a55; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }}
"""
CORNERS = {"box": 2, "cylinder": 2, "round": 14}


def attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def rect(box: Box, corner: int = 0) -> str:
    rounded = f' rx="{corner}"' if corner else ""
    return f'<rect x="{box.x}" y="{box.y}" width="{box.width}" height="{box.height}"{rounded}/>'


def node_svg(node: Node, box: Box) -> list[str]:
    lines = [f'<g class="node {node.shape}" id="{attr(node.id)}">', rect(box, CORNERS[node.shape])]
    if node.shape == "cylinder":  # the lid of a drum: a registry stores
        lid = box.y + 8
        lines.append(f'<path d="M{box.x} {lid} Q{box.x + box.width // 2} {lid + 8} {box.right} {lid}"/>')
    lines.append(f'<text x="{box.x + NODE_PAD}" y="{box.y + NODE_PAD}">')
    for line in node.lines:
        lines.append(f'<tspan x="{box.x + NODE_PAD}" dy="{LINE_HEIGHT}">{escape(line)}</tspan>')
    lines.extend(["</text>", "</g>"])
    return lines


def group_svg(group: Group, drawn: Layout) -> list[str]:
    box = drawn.boxes[f"g:{group.id}"]
    lines = [f'<g class="group" id="sg_{attr(group.id)}">', rect(box, 6)]
    lines.append(
        f'<text class="group-title" x="{box.x + 10}" y="{box.y + TITLE_HEIGHT - 6}">{escape(group.title)}</text>'
    )
    for node in group.nodes:
        lines.extend(node_svg(node, drawn.boxes[f"n:{node.id}"]))
    for child in group.groups:
        lines.extend(group_svg(child, drawn))
    lines.append("</g>")
    return lines


def edge_svg(route: Route) -> list[str]:
    edge = route.edge
    kind = "edge dashed" if edge.dashed else "edge"
    path = " ".join(f"{'M' if i == 0 else 'L'}{x} {y}" for i, (x, y) in enumerate(route.points))
    lines = [f'<g class="{kind}" data-source="{attr(edge.source)}" data-target="{attr(edge.target)}">']
    lines.append(f'<path d="{path}" marker-end="url(#arrow)"/>')
    if edge.label:
        x, y = route.label_at
        lines.append(f'<text x="{x}" y="{y}">{escape(edge.label)}</text>')
    lines.append("</g>")
    return lines


def svg_document(graph: Graph) -> str:
    """The SVG element alone (no XML declaration), so that it can sit inline in the HTML page."""
    drawn = arrange(graph)
    page = drawn.boxes[""]
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ecsforge" width="{page.width}" height="{page.height}" '
        f'viewBox="0 0 {page.width} {page.height}" role="img">',
        f"<title>{escape(graph.title)}</title>",
        f"<style>{STYLE}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#4a5a78"/></marker></defs>',
        f'<rect class="page" x="0" y="0" width="{page.width}" height="{page.height}"/>',
        f'<text class="title" x="12" y="{TITLE_HEIGHT + 2}">{escape(graph.title)}</text>',
    ]
    for group in graph.groups:
        lines.extend(group_svg(group, drawn))
    for route in drawn.routes:
        lines.extend(edge_svg(route))
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def render_svg(graph: Graph) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg_document(graph)


LEGEND = """<ul class="legend">
<li><b>boxes in boxes</b>: the network, the cluster (capacity providers, services, scheduled tasks), the load
balancer and its routes, the registries, each pipeline's stages</li>
<li><b>solid arrow</b>: traffic or a release (<code>releases</code>: the workload follows the registry's
releases; <code>push</code>, <code>deploy</code>: what a pipeline does)</li>
<li><b>dashed arrow</b>: a pinned image tag (<code>tag ...</code>)</li>
<li><b>rounded green box</b>: a listener route; <b>yellow box</b>: a registry</li>
</ul>"""
PAGE_STYLE = """body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d2433; }
figure { margin: 1rem 0; overflow-x: auto; border: 1px solid #d5dbe6; }
.legend { font-size: 0.9rem; line-height: 1.5; }"""


def render_html(graph: Graph, source: str) -> str:
    """One self-contained page: the SVG inline, inline CSS, no script and no external URL."""
    title = escape(graph.title)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head>\n<meta charset="utf-8"/>',
            f"<title>ecsforge diagram: {title}</title>",
            f"<style>\n{PAGE_STYLE}\n</style>\n</head>",
            "<body>",
            f"<h1>{title}</h1>",
            f"<p>Drawn by <code>ecsforge diagram</code> from <code>{escape(source)}</code>.</p>",
            f"<figure>\n{svg_document(graph)}</figure>",
            LEGEND,
            "</body>",
            "</html>\n",
        ]
    )

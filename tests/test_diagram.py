"""`python -m ecsforge diagram`: what the diagram shows is computed from the manifest itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from itertools import combinations, pairwise

import pytest

from ecsforge import diagram
from ecsforge.manifest import load_manifest
from ecsforge.manifest.models import Manifest
from ecsforge.manifest.pipeline_images import built_registries

from .helpers import ROOT, default_manifests

MANIFESTS = default_manifests()
ID = r"[A-Za-z][A-Za-z0-9_]*"
LABEL = r'"[^"]*"'
NODE = re.compile(rf"^\s*({ID})(\[|\[\(|\(\[)({LABEL})(\]|\)\]|\]\))$")
SUBGRAPH = re.compile(rf"^\s*subgraph ({ID}) \[({LABEL})\]$")
EDGE = re.compile(rf"^\s*({ID}) (-->|-\.->)(?:\|({LABEL})\|)? ({ID})$")
SHAPES = {"[": "]", "[(": ")]", "([": "])"}


@pytest.fixture(scope="module", params=MANIFESTS)
def loaded(request) -> tuple[str, Manifest]:
    return request.param, load_manifest(ROOT / request.param, environ={}).manifest


@pytest.fixture(scope="module")
def drawn(loaded) -> tuple[Manifest, str]:
    _, manifest = loaded
    return manifest, diagram.render(manifest)


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, str, str, bool]]]:
    """Nodes (id -> label) and edges (source, target, label, dashed); fails on any line it does not know."""
    lines = text.splitlines()
    assert lines[:4] == ["---", lines[1], "---", "flowchart LR"] and lines[1].startswith("title: ")
    nodes: dict[str, str] = {}
    edges = []
    depth = 0
    for line in lines[4:]:
        if match := SUBGRAPH.match(line):
            depth += 1
            nodes[match[1]] = match[2]
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0, "`end` without its subgraph"
        elif match := NODE.match(line):
            assert SHAPES[match[2]] == match[4], line
            assert match[1] not in nodes, f"node id {match[1]} declared twice"
            nodes[match[1]] = match[3]
        elif match := EDGE.match(line):
            edges.append((match[1], match[4], match[3] or "", match[2] == "-.->"))
        else:
            raise AssertionError(f"not a line this renderer writes: {line!r}")
    assert depth == 0, "a subgraph is not closed"
    for label in [*nodes.values(), *(e[2] for e in edges)]:
        # Quoted once, and nothing Mermaid would read as markup or an entity but our own.
        inner = label[1:-1].replace("<br/>", "")
        assert '"' not in inner and "<" not in inner and ">" not in inner and "`" not in inner, label
        assert re.fullmatch(r"([^#]|#(35|quot|amp|lt|gt|96|124);)*", inner), label
    return nodes, edges


def unescape(label: str) -> str:
    text = label.strip('"').replace("<br/>", "\n")
    for entity, raw in (("#quot;", '"'), ("#amp;", "&"), ("#lt;", "<"), ("#gt;", ">"), ("#96;", "`")):
        text = text.replace(entity, raw)
    return text.replace("#124;", "|").replace("#35;", "#")


def test_every_part_of_the_manifest_is_drawn(drawn):
    manifest, text = drawn
    nodes, _ = parse(text)
    labels = {node: unescape(label) for node, label in nodes.items()}
    for name, service in manifest.services.items():
        label = labels[diagram.node_id("svc", name)]
        assert f"service {name}\n" in label and f"deployment: {service.deployment.strategy}" in label
        assert (f"discovery: {name}.{manifest.namespace}" in label) == service.discovery
        if service.http is not None:
            route = labels[diagram.node_id("route", name)]
            assert f"priority {service.http.rule_priority}" in route and f"path {service.http.path}" in route
            assert f"host {service.http.host or '(any)'}" in route
    for name, task in manifest.scheduled_tasks.items():
        assert f"schedule: {task.schedule} " in labels[diagram.node_id("task", name)]
    for name in manifest.registries:
        assert labels[diagram.node_id("reg", name)].startswith(f"registry {name}\n")
    for name, pipeline in manifest.pipelines.items():
        prefix = diagram.node_id("pl", name)
        built = ", ".join(built_registries(manifest, pipeline))
        assert f"Build → registry {built}" in labels[f"{prefix}_build"]
        assert (f"{prefix}_test" in labels) == (pipeline.test is not None)
        assert (f"{prefix}_approval" in labels) == (pipeline.approval is not None)
        sources = labels[f"{prefix}_source"].split("\n")[1:]
        assert [s.partition(": ")[2] if len(sources) > 1 else s for s in sources] == [
            f"{s.kind} {diagram.source_text(s, False).split(' ', 1)[1]}" for s in pipeline.source
        ]
        assert labels[f"{prefix}_deploy"].startswith(f"Deploy → {', '.join(pipeline.deploy.services)}\n")
    for name, group in manifest.cluster.ec2.items():
        label = labels[diagram.node_id("cap", name)]
        assert group.instance_type in label and f"{group.min}-{group.max_size} instances" in label
    for name, managed in manifest.cluster.managed_instances.items():
        label = labels[diagram.node_id("cap", name)]
        assert label.startswith(f"managed instances {name}\n")
        assert all(t in label for t in managed.instance_types or []) and ("spot" in label) == managed.spot
    assert ("cap_fargate_spot" in labels) == manifest.cluster.fargate
    assert ("lb_alb" in labels) == bool(manifest.http_services)


def test_registry_edges_are_exactly_the_followers(drawn):
    manifest, text = drawn
    _, edges = parse(text)
    drawn_edges = {(s, t) for s, t, label, dashed in edges if label == '"releases"' and not dashed}
    expected = {
        (diagram.node_id("reg", container.image.registry), diagram.node_id(kind, name))
        for kind, workloads in (("svc", manifest.services), ("task", manifest.scheduled_tasks))
        for name, spec in workloads.items()
        for container in spec.containers.values()
        if container.image.released and container.image.registry
    }
    assert drawn_edges == expected
    pushes = {(s, t) for s, t, label, _ in edges if label == '"push"'}
    assert pushes == {
        (f"{diagram.node_id('pl', n)}_build", diagram.node_id("reg", r))
        for n, p in manifest.pipelines.items()
        for r in built_registries(manifest, p)
    }
    deploys = {t for s, t, label, _ in edges if label == '"deploy"'}
    assert deploys == {diagram.node_id("svc", s) for p in manifest.pipelines.values() for s in p.deploy.services}


def test_every_edge_joins_declared_nodes(drawn):
    _, text = drawn
    nodes, edges = parse(text)
    for source, target, _, _ in edges:
        assert source in nodes and target in nodes, (source, target)


def test_labels_are_escaped():
    text = diagram.render_mermaid(
        diagram.Graph(
            "t", [diagram.Group("g", 'a "b" <c> & #d `e`|', [diagram.Node("end_x", ["/api/*", "x-y.example.com"])])]
        )
    )
    nodes, _ = parse(text)
    assert nodes["sg_g"] == '"a #quot;b#quot; #lt;c#gt; #amp; #35;d #96;e#96;#124;"'
    assert unescape(nodes["end_x"]) == "/api/*\nx-y.example.com"


def test_node_ids_stay_clear_of_keywords_and_punctuation():
    assert diagram.node_id("svc", "end") == "svc_end"
    assert diagram.node_id("task", "rotate-logs") == "task_rotate_logs"


def test_dot_declares_the_same_nodes_and_edges(drawn):
    manifest, text = drawn
    nodes, edges = parse(text)
    dot = diagram.render_dot(diagram.build(manifest))
    assert dot.startswith("digraph ecsforge {") and dot.count("{") == dot.count("}")
    declared = re.findall(rf"^\s*({ID}) \[label=", dot, re.MULTILINE)
    assert sorted(declared) == sorted(n for n in nodes if not n.startswith("sg_"))
    assert len(re.findall(rf"^\s*{ID} -> {ID} \[", dot, re.MULTILINE)) == len(edges)


def cli(*args: str, path: str | None = None, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed, **({"PATH": path} if path is not None else {})}
    return subprocess.run([sys.executable, "-m", "ecsforge", *args], capture_output=True, text=True, cwd=ROOT, env=env)


def test_cli_exit_codes(tmp_path):
    drawn = cli("diagram", "examples/minimal.yml", "--output", str(tmp_path / "d.mmd"))
    assert drawn.returncode == 0 and drawn.stdout == ""
    assert (tmp_path / "d.mmd").read_text().startswith("---\ntitle: ")
    invalid = "tests/manifests/invalid/pipeline-deploy-unknown-service.yml"
    refused, validated = cli("diagram", invalid), cli("validate", invalid)
    assert refused.returncode == validated.returncode == 1
    assert "pipelines.web.deploy.services[1]" in refused.stderr
    assert refused.stderr == validated.stderr and refused.stdout == ""
    dot = cli("diagram", "examples/minimal.yml", "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.startswith("digraph ecsforge {") and dot.stdout.endswith("}\n")


def test_the_readme_shows_the_current_diagram_of_platform_yml():
    from ecsforge.diagram import render
    from ecsforge.manifest import load_manifest

    from .helpers import ROOT

    drawn = render(load_manifest(ROOT / "platform.yml").manifest).strip()
    assert drawn in (ROOT / "README.md").read_text(), "paste `python -m ecsforge diagram platform.yml` into README"


# SVG and HTML: drawn in pure Python, so they must work on a machine without Graphviz.
SVG = "{http://www.w3.org/2000/svg}"
XHTML_SVG = f"{SVG}svg"


@pytest.fixture(scope="module")
def pictures(loaded, tmp_path_factory) -> tuple[diagram.Graph, str, str]:
    """(graph, svg, html) of one manifest, drawn with an empty directory as PATH: no `dot` anywhere."""
    name, manifest = loaded
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(tmp_path_factory.mktemp("no-graphviz")))
        assert shutil.which("dot") is None
        svg, html = diagram.render(manifest, "svg"), diagram.render(manifest, "html", source=name)
        assert diagram.render(manifest, "svg") == svg and diagram.render(manifest, "html", source=name) == html
    return diagram.build(manifest), svg, html


def box(element: ET.Element) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a node's or group's own rectangle, its first child."""
    rect = element[0]
    assert rect.tag == f"{SVG}rect", element.attrib
    x, y, width, height = (int(rect.attrib[k]) for k in ("x", "y", "width", "height"))
    assert width > 0 and height > 0
    return x, y, x + width, y + height


def inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def parts(element: ET.Element) -> list[ET.Element]:
    """The nodes and groups directly inside a group (or the page)."""
    return [c for c in element if c.tag == f"{SVG}g" and c.get("class", "").split()[0] in ("node", "group")]


def all_groups(groups: list[diagram.Group]) -> list[diagram.Group]:
    return [x for g in groups for x in (g, *all_groups(g.groups))]


def test_svg_draws_every_node_with_its_whole_label(pictures):
    graph, svg, _ = pictures
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG}svg" and root.findtext(f"{SVG}title") == graph.title
    drawn = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("node ")}
    nodes = {n.id: n for g in all_groups(graph.groups) for n in g.nodes}
    assert drawn.keys() == nodes.keys()
    for node_id, element in drawn.items():
        lines = [t.text for t in element.iter(f"{SVG}tspan")]
        assert lines == nodes[node_id].lines
        left, _, right, _ = box(element)
        # The box is as wide as its longest line in a monospace font at 12px (0.6 em a character).
        assert right - left >= max(len(line) for line in lines) * 7.2
    titles = {g.get("id"): g.find(f"{SVG}text") for g in root.iter(f"{SVG}g") if g.get("class") == "group"}
    assert {k: t.text for k, t in titles.items() if t is not None} == {
        f"sg_{g.id}": g.title for g in all_groups(graph.groups)
    }


def test_svg_boxes_do_not_overlap_and_stay_inside_their_group(pictures):
    _, svg, _ = pictures
    root = ET.fromstring(svg.encode())
    page = (0, 0, int(root.attrib["width"]), int(root.attrib["height"]))
    pending = [(page, parts(root))]
    checked = 0
    while pending:
        outer, members = pending.pop()
        boxes = [box(m) for m in members]
        for member, rectangle in zip(members, boxes, strict=True):
            assert inside(rectangle, outer), (member.get("id"), rectangle, outer)
            if member.get("class") == "group":
                pending.append((rectangle, parts(member)))
            checked += 1
        for (a, box_a), (b, box_b) in combinations(zip(members, boxes, strict=True), 2):
            assert not overlap(box_a, box_b), (a.get("id"), b.get("id"))
    assert checked == len(root.findall(f".//{SVG}g[@id]"))


def test_svg_edges_run_from_source_to_target(pictures):
    graph, svg, _ = pictures
    root = ET.fromstring(svg.encode())
    boxes = {g.get("id"): box(g) for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("node ")}
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("edge")]
    assert len(edges) == len(graph.edges)
    for element, edge in zip(edges, graph.edges, strict=True):
        assert (element.get("data-source"), element.get("data-target")) == (edge.source, edge.target)
        assert ("dashed" in element.get("class", "")) == edge.dashed
        assert (element.findtext(f"{SVG}text") or "") == edge.label
        path = element.find(f"{SVG}path")
        assert path is not None and path.get("marker-end") == "url(#arrow)"
        points = [tuple(map(int, p[1:].split())) for p in re.findall(r"[ML]-?\d+ -?\d+", path.attrib["d"])]
        (x0, y0), (x1, y1) = points[0], points[-1]
        source, target = boxes[edge.source], boxes[edge.target]
        assert x0 == source[2] and source[1] < y0 < source[3], (edge, points)
        assert x1 == target[0] and target[1] < y1 < target[3], (edge, points)
        # Orthogonal: every segment is horizontal or vertical.
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in pairwise(points))


def crosses(a: tuple[int, int], b: tuple[int, int], rectangle: tuple[int, int, int, int]) -> bool:
    """Whether an axis-parallel segment runs through the inside of a rectangle (its border is not inside)."""
    (low_x, high_x), (low_y, high_y) = sorted((a[0], b[0])), sorted((a[1], b[1]))
    left, top, right, bottom = rectangle
    return low_x < right and left < high_x + (low_x == high_x) and low_y < bottom and top < high_y + (low_y == high_y)


def test_svg_edges_go_around_other_nodes(pictures):
    # Not promised for every graph the layout could get, but true of every example: keep it so.
    _, svg, _ = pictures
    root = ET.fromstring(svg.encode())
    boxes = {g.get("id"): box(g) for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("node ")}
    for element in (g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("edge")):
        path = element.find(f"{SVG}path")
        assert path is not None
        points = [tuple(map(int, p[1:].split())) for p in re.findall(r"[ML]-?\d+ -?\d+", path.attrib["d"])]
        ends = (element.get("data-source"), element.get("data-target"))
        for node, rectangle in boxes.items():
            hits = [(a, b) for a, b in pairwise(points) if crosses(a, b, rectangle)]
            assert node in ends or not hits, (ends, node, hits)


def test_html_is_one_self_contained_page(pictures):
    graph, svg, html = pictures
    page = ET.fromstring(html.encode())  # written as well-formed XHTML-compatible HTML
    assert html.startswith("<!DOCTYPE html>") and page.tag == "html"
    assert page.findtext("head/title") == f"ecsforge diagram: {graph.title}"
    assert page.find("head/style") is not None and page.findtext("body/h1") == graph.title
    inline = page.find(f"body/figure/{XHTML_SVG}")
    assert inline is not None and svg.removeprefix('<?xml version="1.0" encoding="UTF-8"?>\n') in html
    # Nothing to fetch: no script, no link, no image, and the only URL is the SVG namespace.
    assert not [e.tag for e in page.iter() if e.tag in ("script", "link", "img", "iframe", "object")]
    assert re.findall(r"\w+://[^\s\"'<>)]*", html) == ["http://www.w3.org/2000/svg"]
    assert "src=" not in html and "@import" not in html


def test_svg_escapes_text():
    hostile = "a \"b\" <c> & 'd' ]]>"
    graph = diagram.Graph(hostile, [diagram.Group("g", hostile, [diagram.Node("n", [hostile, "x"])])])
    graph.edges.append(diagram.Edge("n", "n", hostile))
    root = ET.fromstring(diagram.render_svg(graph).encode())
    assert root.findtext(f"{SVG}title") == hostile
    assert [t.text for t in root.iter(f"{SVG}tspan")] == [hostile, "x"]
    assert hostile in [t.text for t in root.iter(f"{SVG}text")]
    page = ET.fromstring(diagram.render_html(graph, "<x>.yml").encode())
    assert page.findtext("body/h1") == hostile and "<x>.yml" in "".join(page.find("body/p").itertext())


def test_a_cycle_is_still_drawn():
    nodes = [diagram.Node(n, [n]) for n in ("a", "b", "c")]
    edges = [diagram.Edge("a", "b"), diagram.Edge("b", "c"), diagram.Edge("c", "a", "back")]
    root = ET.fromstring(diagram.render_svg(diagram.Graph("t", [diagram.Group("g", "g", nodes)], edges)).encode())
    lefts = [box(g)[0] for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("node ")]
    assert lefts[0] < lefts[1] < lefts[2]  # the edge closing the cycle does not move a column
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]) == 3


@pytest.mark.parametrize("fmt", ["svg", "html"])
def test_cli_draws_without_graphviz_and_always_the_same_bytes(tmp_path, fmt):
    # An empty directory as PATH: no `dot`, whatever this machine has installed.
    runs = [cli("diagram", "platform.yml", "--format", fmt, path=str(tmp_path), seed=seed) for seed in ("1", "2")]
    assert [r.returncode for r in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout and "service web" in runs[0].stdout
    ET.fromstring(runs[0].stdout.encode())

"""`python -m ecsforge diagram`: what the diagram shows is computed from the manifest itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

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
def drawn(request) -> tuple[Manifest, str]:
    manifest = load_manifest(ROOT / request.param, environ={}).manifest
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


def cli(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path} if path is not None else None
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
    # An empty directory as PATH: no `dot`, whatever this machine has installed.
    no_dot = cli("diagram", "examples/minimal.yml", "--format", "svg", path=str(tmp_path))
    assert no_dot.returncode == 2 and no_dot.stdout == ""
    assert no_dot.stderr.count("\n") == 1 and "install graphviz" in no_dot.stderr


def test_svg_pipes_dot_through_graphviz(tmp_path):
    # A stand-in `dot` that echoes its input: what reaches Graphviz is the DOT text, with -Tsvg.
    fake = tmp_path / "dot"
    fake.write_text(f"#!{sys.executable}\nimport sys\nprint(sys.argv[1:], sys.stdin.read())\n")
    fake.chmod(0o755)
    drawn = cli("diagram", "platform.yml", "--format", "svg", path=str(tmp_path))
    assert drawn.returncode == 0
    assert drawn.stdout.startswith("['-Tsvg'] digraph ecsforge {") and "svc_web [label=" in drawn.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_svg_with_graphviz(tmp_path):
    drawn = cli("diagram", "platform.yml", "--format", "svg", "--output", str(tmp_path / "d.svg"))
    assert drawn.returncode == 0
    svg = (tmp_path / "d.svg").read_text()
    assert "<svg" in svg and "service web" in svg and "registry api" in svg


def test_the_readme_shows_the_current_diagram_of_platform_yml():
    from ecsforge.diagram import render
    from ecsforge.manifest import load_manifest

    from .helpers import ROOT

    drawn = render(load_manifest(ROOT / "platform.yml").manifest).strip()
    assert drawn in (ROOT / "README.md").read_text(), "paste `python -m ecsforge diagram platform.yml` into README"

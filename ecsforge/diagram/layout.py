"""A small layered layout of a Graph, left to right, in pure Python (no Graphviz).

Each group is laid out on its own: its children (nodes and subgroups) get a column by the edges
between them (an edge between two nodes counts at the innermost group holding both, between the
two children of that group that hold them), and a column stacks its children top to bottom, so
no two boxes of a group can overlap. Sizes come from a fixed monospace metric and all coordinates
are integers: the same graph always gives the same geometry.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from .graph import Edge, Graph, Group, Node

FONT_SIZE = 12
CHAR_WIDTH = 7.2  # a monospace font's advance at 12px: 0.6 em
LINE_HEIGHT = 16
LABEL_CHAR_WIDTH = 6.6  # edge labels are 11px
TITLE_CHAR_WIDTH = 9.6  # the page title is 16px
NODE_PAD = 8
GROUP_PAD = 12
TITLE_HEIGHT = 22
ROW_GAP = 18
LANE = 10  # between two vertical edge segments in one channel
ROOT = ""


@dataclass
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height


@dataclass
class Column:
    keys: list[str]
    x: int = 0
    width: int = 0


@dataclass
class Route:
    edge: Edge
    points: list[tuple[int, int]]
    label_at: tuple[int, int]


@dataclass
class Layout:
    graph: Graph
    boxes: dict[str, Box] = field(default_factory=dict)  # "n:<id>" and "g:<id>" keys, ROOT for the page
    columns: dict[str, list[Column]] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)  # set by route.py
    where: dict[str, list[str]] = field(default_factory=dict)  # node id -> paths()


def text_width(text: str, char_width: float = CHAR_WIDTH) -> int:
    return math.ceil(len(text) * char_width)


def node_size(node: Node) -> tuple[int, int]:
    return max(text_width(line) for line in node.lines) + 2 * NODE_PAD, len(node.lines) * LINE_HEIGHT + 2 * NODE_PAD


def children(group: Group) -> list[str]:
    return [*(f"n:{n.id}" for n in group.nodes), *(f"g:{g.id}" for g in group.groups)]


def paths(graph: Graph) -> dict[str, list[str]]:
    """Node id -> the keys from the page down to the node: its groups, outermost first, then itself."""
    found: dict[str, list[str]] = {}

    def walk(group: Group, above: list[str]) -> None:
        here = [*above, f"g:{group.id}"]
        for node in group.nodes:
            found[node.id] = [*here, f"n:{node.id}"]
        for child in group.groups:
            walk(child, here)

    for group in graph.groups:
        walk(group, [])
    return found


def lift(edge: Edge, where: dict[str, list[str]]) -> tuple[str, str, str]:
    """(container, source child, target child): where the edge counts for the columns."""
    source, target = where[edge.source], where[edge.target]
    # A node's edge to itself counts in the node's own group.
    depth = next((i for i, (a, b) in enumerate(zip(source, target, strict=False)) if a != b), len(source) - 1)
    return (source[depth - 1] if depth else ROOT), source[depth], target[depth]


def ranks(keys: list[str], links: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the left; then each child moves right up to just before its first successor."""
    successors: dict[str, list[str]] = {k: [] for k in keys}
    state: dict[str, int] = {}

    def visit(key: str) -> None:  # drops the edges that would close a cycle, in declaration order
        state[key] = 1
        for target in [t for s, t in links if s == key]:
            if state.get(target) == 1:
                continue
            if target not in successors[key]:
                successors[key].append(target)
            if target not in state:
                visit(target)
        state[key] = 2

    for key in keys:
        if key not in state:
            visit(key)
    order: list[str] = []
    done: set[str] = set()

    def finish(key: str) -> None:
        if key not in done:
            done.add(key)
            for target in successors[key]:
                finish(target)
            order.append(key)

    for key in keys:
        finish(key)
    order.reverse()  # topological
    rank = dict.fromkeys(keys, 0)
    for key in order:
        for target in successors[key]:
            rank[target] = max(rank[target], rank[key] + 1)
    for key in reversed(order):
        if successors[key]:
            rank[key] = max(rank[key], min(rank[t] for t in successors[key]) - 1)
    return rank


def columns_of(keys: list[str], links: list[tuple[str, str, Edge]]) -> list[Column]:
    rank = ranks(keys, [(a, b) for a, b, _ in links])
    used = sorted(set(rank.values()))
    return [Column([k for k in keys if rank[k] == r]) for r in used]


def channel(columns: list[Column], index: int, links: list[tuple[str, str, Edge]]) -> int:
    """The room before a column for the labels and vertical segments of the edges entering it, and
    of those from the column before that leap over it (route.py puts them in these lanes)."""
    keys, before = columns[index].keys, columns[index - 1].keys
    entering = [edge for _, target, edge in links if target in keys]
    leaping = [edge for source, target, edge in links if source in before and target not in keys]
    labels = max((text_width(e.label, LABEL_CHAR_WIDTH) for e in [*entering, *leaping]), default=0)
    return max(3 * GROUP_PAD, labels + 16 + (len(entering) + len(leaping)) * LANE)


class Measure:
    """Sizes bottom-up, each child's offset inside its parent; then absolute boxes top-down."""

    def __init__(self, graph: Graph) -> None:
        self.where = paths(graph)
        self.links: dict[str, list[tuple[str, str, Edge]]] = defaultdict(list)
        for edge in graph.edges:
            container, source, target = lift(edge, self.where)
            self.links[container].append((source, target, edge))
        self.size: dict[str, tuple[int, int]] = {}
        self.offset: dict[str, tuple[int, int]] = {}
        self.layout = Layout(graph)

    def group(self, key: str, title: str, members: Group, top: int) -> tuple[int, int]:
        for node in members.nodes:
            self.size[f"n:{node.id}"] = node_size(node)
        for child in members.groups:
            self.size[f"g:{child.id}"] = self.group(f"g:{child.id}", child.title, child, TITLE_HEIGHT)
        links = self.links[key]
        columns = columns_of(children(members), links)
        x, bottom = GROUP_PAD, top
        for index, column in enumerate(columns):
            x += channel(columns, index, links) if index else 0
            column.x, column.width = x, max(self.size[k][0] for k in column.keys)
            y = top
            for member in column.keys:
                self.offset[member] = (x, y)
                y += self.size[member][1] + ROW_GAP
            bottom = max(bottom, y - ROW_GAP)
            x += column.width
        self.layout.columns[key] = columns
        title_width = text_width(title, TITLE_CHAR_WIDTH if key == ROOT else CHAR_WIDTH)
        return max(x, title_width + GROUP_PAD) + GROUP_PAD, bottom + GROUP_PAD

    def place(self, key: str, x: int, y: int, members: Group) -> None:
        self.layout.boxes[key] = Box(x, y, *self.size[key])
        for column in self.layout.columns[key]:
            column.x += x
        for node in members.nodes:
            dx, dy = self.offset[f"n:{node.id}"]
            self.layout.boxes[f"n:{node.id}"] = Box(x + dx, y + dy, *self.size[f"n:{node.id}"])
        for child in members.groups:
            dx, dy = self.offset[f"g:{child.id}"]
            self.place(f"g:{child.id}", x + dx, y + dy, child)


def layout(graph: Graph) -> Layout:
    measure = Measure(graph)
    page = Group(ROOT, graph.title, groups=graph.groups)
    measure.size[ROOT] = measure.group(ROOT, graph.title, page, 2 * TITLE_HEIGHT)
    measure.place(ROOT, 0, 0, page)
    measure.layout.where = measure.where
    return measure.layout

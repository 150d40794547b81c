"""Orthogonal connectors between the boxes of a layout: out of the source's right side, along a
free horizontal corridor, down or up in a lane of the channel before the target's column, into
the target's left side. Each edge gets its own port on both nodes and its own lane."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .graph import Edge, Graph
from .layout import LANE, ROW_GAP, Box, Column, Layout, Route, layout, lift

Point = tuple[int, int]


@dataclass
class Ends:
    edge: Edge
    container: str
    source_child: str
    target_child: str
    source: Box
    target: Box
    start_y: int
    end_y: int


def arrange(graph: Graph) -> Layout:
    """The layout of a graph with its edges routed."""
    result = layout(graph)
    result.routes = routes(result)
    return result


def port(box: Box, index: int, count: int) -> int:
    return box.y + box.height * (index + 1) // (count + 1)


def column_of(columns: list[Column], key: str) -> int:
    return next(i for i, c in enumerate(columns) if key in c.keys)


def routes(result: Layout) -> list[Route]:
    edges = result.graph.edges
    outgoing, incoming = defaultdict(list), defaultdict(list)
    for index, edge in enumerate(edges):
        outgoing[edge.source].append(index)
        incoming[edge.target].append(index)
    lanes: dict[tuple[str, int], int] = defaultdict(int)
    taken: set[int] = set()  # the y of every long horizontal run so far: two never share a line
    found = []
    for index, edge in enumerate(edges):
        container, source_child, target_child = lift(edge, result.where)
        source, target = result.boxes[f"n:{edge.source}"], result.boxes[f"n:{edge.target}"]
        start_y = port(source, outgoing[edge.source].index(index), len(outgoing[edge.source]))
        end_y = port(target, incoming[edge.target].index(index), len(incoming[edge.target]))
        ends = Ends(edge, container, source_child, target_child, source, target, start_y, end_y)
        columns = result.columns[container]
        first, last = column_of(columns, source_child), column_of(columns, target_child)
        if last > first:
            found.append(forward(result, ends, lanes, taken, (first, last)))
        else:
            lane = lanes[container, last]
            lanes[container, last] += 1
            found.append(around(result, ends, lane))
    return found


def forward(
    result: Layout, ends: Ends, lanes: dict[tuple[str, int], int], taken: set[int], span: tuple[int, int]
) -> Route:
    columns = result.columns[ends.container]
    first, last = span
    points: list[Point] = [(ends.source.right, ends.start_y)]
    points += escape(result, ends, taken)
    y = points[-1][1]
    # On the first run out of the node: edges of one node have their own ports, so labels stay apart.
    label_at = (points[-1][0] + 4, y - 4)
    blockers = [result.boxes[k] for c in columns[first + 1 : last] for k in c.keys]
    free = free_y(y, blockers, taken)
    taken.add(free)
    if free != y:  # leap over the columns in between, through a gap between their boxes
        leap = columns[first].x + columns[first].width + 4 + lanes[ends.container, -first - 1] * LANE
        lanes[ends.container, -first - 1] += 1
        points += [(leap, y), (leap, free)]
    middle = columns[last].x - 8 - lanes[ends.container, last] * LANE
    lanes[ends.container, last] += 1
    points += [(middle, free), (middle, ends.end_y), (ends.target.x, ends.end_y)]
    return Route(ends.edge, dedupe(points), label_at)


def escape(result: Layout, ends: Ends, taken: set[int]) -> list[Point]:
    """Out of the node's own group below its boxes, when other boxes of that group stand to its right."""
    group = result.where[ends.edge.source][-2]
    if group == ends.container:
        return []
    columns = result.columns[group]
    index = column_of(columns, f"n:{ends.edge.source}")
    if index == len(columns) - 1:
        return []
    column = columns[index]
    jog, below = column.x + column.width + 4, result.boxes[group].bottom + ROW_GAP // 2
    while below in taken:
        below += 5
    return [(jog, ends.start_y), (jog, below)]


def free_y(y: int, blockers: list[Box], taken: set[int]) -> int:
    """y itself when no box of the columns in between is in the way; otherwise the nearest gap
    between their boxes that no other edge runs along yet."""

    def blocked(at: int) -> bool:
        return any(b.y - 2 <= at <= b.bottom + 2 for b in blockers)

    if not blocked(y):
        return y
    middles = [b.y - ROW_GAP // 2 for b in blockers] + [b.bottom + ROW_GAP // 2 for b in blockers]
    gaps = [g + shift for g in middles for shift in (0, 5, -5)]
    return min((g for g in gaps if not blocked(g)), key=lambda g: (g in taken, abs(g - y), g))


def around(result: Layout, ends: Ends, lane: int) -> Route:
    """An edge that closed a cycle (or a node's edge to itself): around, below both children."""
    below = max(result.boxes[ends.source_child].bottom, result.boxes[ends.target_child].bottom) + 6 + lane * LANE
    out, back = ends.source.right + 8 + lane * LANE, ends.target.x - 8 - lane * LANE
    points = [(ends.source.right, ends.start_y), (out, ends.start_y), (out, below), (back, below)]
    points += [(back, ends.end_y), (ends.target.x, ends.end_y)]
    return Route(ends.edge, dedupe(points), (ends.source.right + 4, ends.start_y - 4))


def dedupe(points: list[Point]) -> list[Point]:
    return [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]

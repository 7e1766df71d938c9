"""Text renderings of a planned graph: Mermaid and Graphviz DOT."""

from __future__ import annotations

from localdlt.definitions import DatasetKind
from localdlt.graph import PipelineGraph

_MERMAID_SHAPES = {
    DatasetKind.STREAMING_TABLE: ('[("', '")]'),
    DatasetKind.MATERIALIZED_VIEW: ('[["', '"]]'),
    DatasetKind.VIEW: ('("', '")'),
    DatasetKind.SINK: ('>"', '"]'),
}


def _node_id(name: str) -> str:
    return "n_" + "".join(ch if ch.isalnum() else "_" for ch in name)


def to_mermaid(graph: PipelineGraph) -> str:
    """A Mermaid ``flowchart LR``: shapes by kind, one edge per read."""
    lines = ["flowchart LR"]
    for name in graph.dataset_order:
        kind = graph.datasets[name].kind
        left, right = _MERMAID_SHAPES.get(kind, ('["', '"]'))
        lines.append(f"  {_node_id(name)}{left}{name}<br/>{kind.value}{right}")
    for source, target in graph.edges():
        lines.append(f"  {_node_id(source)} --> {_node_id(target)}")
    return "\n".join(lines) + "\n"


def to_dot(graph: PipelineGraph) -> str:
    """A Graphviz ``digraph``: one node per dataset (labelled with its kind), one edge per read."""
    shapes = {DatasetKind.STREAMING_TABLE: "cylinder", DatasetKind.MATERIALIZED_VIEW: "box3d",
              DatasetKind.VIEW: "ellipse", DatasetKind.SINK: "cds"}
    lines = ["digraph pipeline {", "  rankdir=LR;"]
    for name in graph.dataset_order:
        kind = graph.datasets[name].kind
        lines.append(f'  "{name}" [shape={shapes.get(kind, "box")}, label="{name}\\n{kind.value}"];')
    for source, target in graph.edges():
        lines.append(f'  "{source}" -> "{target}";')
    lines.append("}")
    return "\n".join(lines) + "\n"

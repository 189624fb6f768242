"""Read graphs made by other tools: GraphML, GML, edge lists and networkx node-link JSON. Never pickles.

Researchers have graphs (and measured accuracies) from other tools; nasprior
reads them in the standard, non-executable formats networkx supports and
normalises them for :func:`nasprior.evaluation.graph_candidate_features`:

* ``.graphml`` (:func:`networkx.read_graphml`) and ``.gml``
  (:func:`networkx.read_gml`): directed or undirected as the file declares;
* ``.json``: node-link data (:func:`networkx.node_link_data`, ``"edges"`` or
  the older ``"links"`` key), directed as its ``"directed"`` field says;
* ``.edgelist``, ``.edges``, ``.txt``: one edge per line, ``u v``
  (whitespace-separated), ``#`` comments; read as *undirected* (give a DAG whose arcs do not all run from a lower
  to a higher node number as GraphML, GML or JSON, which carry direction).

Node labels: when every label is an integer (or a string of one) the integers
are kept, so an undirected graph is oriented lower -> higher number as
nasprior's own priors are (:func:`nasprior.dag.to_dag`); otherwise
nodes are numbered ``0 .. n - 1`` in the order the file lists them. Parallel
edges and self loops are dropped. Pickle files (``.pkl``, ``.pickle``,
``.gpickle``, or any file starting with a pickle header) are refused: loading
one can run arbitrary code.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import networkx as nx

from .errors import DataError

#: Graph file suffixes read by :func:`read_graph`, by format.
GRAPH_SUFFIXES = {
    ".graphml": "graphml",
    ".gml": "gml",
    ".json": "node-link",
    ".edgelist": "edgelist",
    ".edges": "edgelist",
    ".txt": "edgelist",
}
#: Suffixes of pickle files, always refused.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".gpickle", ".p", ".pck", ".joblib")
_INTEGER = re.compile(r"^[+-]?\d+$")


def read_graph(path: str | os.PathLike) -> nx.Graph | nx.DiGraph:
    """Read one graph file (see the module docstring for the formats).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    networkx.Graph or networkx.DiGraph
        Simple (no parallel edges, no self loops), integer node labels.

    Raises
    ------
    DataError
        If the file is missing, is a pickle, has an unknown suffix, cannot be
        parsed, or holds no node.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES or (path.is_file() and _starts_like_pickle(path)):
        raise DataError(
            f"{path} is a pickle file, which nasprior never loads (it can run arbitrary code): "
            "save the graph as GraphML, GML, an edge list or node-link JSON (e.g. nx.write_graphml)"
        )
    if not path.is_file():
        raise DataError(f"graph file {path} does not exist")
    kind = GRAPH_SUFFIXES.get(suffix)
    if kind is None:
        raise DataError(
            f"{path}: unknown graph format {suffix or '(no suffix)'!r}: use one of {', '.join(sorted(GRAPH_SUFFIXES))}"
        )
    try:
        if kind == "graphml":
            graph = nx.read_graphml(path)
        elif kind == "gml":
            graph = nx.read_gml(path, label=None)
        elif kind == "node-link":
            data = json.loads(path.read_text(encoding="utf-8"))
            edges = "links" if isinstance(data, dict) and "links" in data and "edges" not in data else "edges"
            graph = nx.node_link_graph(data, edges=edges)
        else:
            graph = nx.read_edgelist(path, nodetype=str, data=False, create_using=nx.Graph)
    except DataError:
        raise
    except Exception as exc:  # parsers raise assorted errors on malformed files
        raise DataError(f"{path} is not a readable {kind} file ({type(exc).__name__}: {exc})") from None
    if graph.number_of_nodes() == 0:
        raise DataError(f"{path} holds no node: a graph needs at least one")
    return _normalise(graph)


def graph_files(directory: str | os.PathLike) -> list[Path]:
    """The graph files of a folder, sorted by name (pickles included, so that reading them fails loudly).

    Raises
    ------
    DataError
        If the folder does not exist or holds no graph file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory: give the folder holding the graph files")
    files = sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and (p.suffix.lower() in GRAPH_SUFFIXES or p.suffix.lower() in PICKLE_SUFFIXES)
    )
    if not files:
        raise DataError(f"{directory} holds no graph file ({', '.join(sorted(GRAPH_SUFFIXES))})")
    return files


def _starts_like_pickle(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and head[1] <= 5  # PROTO opcode, protocols 2-5


def _normalise(graph: nx.Graph) -> nx.Graph | nx.DiGraph:
    """Simple graph of the same direction with integer node labels (kept when all are integers)."""
    nodes = list(graph.nodes)
    if all(isinstance(v, int) or (isinstance(v, str) and _INTEGER.match(v)) for v in nodes) and len(
        {int(v) for v in nodes}
    ) == len(nodes):
        label = {v: int(v) for v in nodes}
    else:
        label = {v: i for i, v in enumerate(nodes)}
    out = nx.DiGraph() if graph.is_directed() else nx.Graph()
    out.add_nodes_from(label[v] for v in nodes)
    out.add_edges_from((label[u], label[v]) for u, v in graph.edges() if u != v)
    return out

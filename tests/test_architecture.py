"""The package's layering: no import cycles, no imports hidden inside functions, no module over its line budget."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "nasprior"

#: Layers from the bottom up; a module may import only from its own layer or below.
LAYERS = [
    {
        "nasprior._version",
        "nasprior.compute.cores",
        "nasprior.errors",
        "nasprior.runs.outputs",
        "nasprior.genes",
        "nasprior.dag",
        "nasprior.schema",  # pydantic models of config tables, records and model cards (one validation layer)
        "nasprior.validation",
        "nasprior.cost",
        "nasprior.sparsity.nnstd",
        "nasprior.compute.progress",
        "nasprior.registry",
        "nasprior.graph_io",
        "nasprior.training.augment",
        "nasprior.training.recipe",
        "nasprior.training.schedules",
        "nasprior.names",
        "nasprior.cli.parsers",  # argparse only: --help must not import torch (tests/test_cli_startup.py)
    },
    {"nasprior.priors", "nasprior.features"},
    {"nasprior.networks", "nasprior.sparsity.set_rewiring", "nasprior.training"},
    {"nasprior.genome", "nasprior.tasks"},
    {"nasprior.space", "nasprior.runs.records", "nasprior.sparsity.pruning"},
    {"nasprior.evaluation"},
    {"nasprior.predictors", "nasprior.sparsity.experiments", "nasprior.compute.parallel", "nasprior.runs.tabular"},
    {"nasprior.search", "nasprior.runs.sampling"},
    {"nasprior.results.report", "nasprior.results.export"},
    {"nasprior.cli", "nasprior.__main__", "nasprior"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> tuple[set[str], list[str]]:
    """nasprior modules imported by a file at module level, and those imported inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top, nested = set(), []

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = package
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        mod = node.module or ""
        full = (f"{base}.{mod}" if mod else base) if node.level else mod
        return [full] + [f"{full}.{a.name}" for a in node.names]

    def visit(node: ast.AST, in_function: bool, in_type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and not in_type_checking:
                found = [t for t in targets(child) if t == "nasprior" or t.startswith("nasprior.")]
                (nested.extend if in_function else top.update)(found)
            function = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            checking = in_type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            visit(child, function, checking)

    visit(tree, False, False)
    return top, nested


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(target: str, known: dict[str, Path]) -> str | None:
    """The module a dotted import target names (``a.b.c`` may be module ``a.b`` importing ``c``)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def import_graph() -> nx.DiGraph:
    known = modules()
    graph = nx.DiGraph()
    for name, path in known.items():
        graph.add_node(name)
        for target in imports(path)[0]:
            dep = resolve(target, known)
            if dep and dep != name and not name.startswith(dep + "."):  # a submodule reading its package is fine
                graph.add_edge(name, dep)
    return graph


def layer_of(name: str) -> int:
    for i, layer in enumerate(LAYERS):
        if name in layer or any(name.startswith(m + ".") for m in layer if m != "nasprior"):
            return i
    raise AssertionError(f"module {name} is in no layer of tests/test_architecture.py: add it")


def test_no_import_cycles():
    graph = import_graph()
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_no_function_level_imports_of_nasprior():
    nested = {name: imports(path)[1] for name, path in modules().items()}
    assert {k: v for k, v in nested.items() if v} == {}


def test_modules_import_only_their_layer_or_below():
    graph = import_graph()
    upward = [(a, b) for a, b in graph.edges if layer_of(b) > layer_of(a)]
    assert not upward, f"imports that go up the layers: {upward}"


#: Most lines a module may have (ruff-formatted, 120 columns).
MAX_LINES = 600
#: Modules allowed past MAX_LINES, each with its own budget and the reason; shrink a budget when the module shrinks.
LINE_BUDGETS = {
    "nasprior.features.structural": (
        800,
        "Stier et al.'s 23 features, the spectral ones and their exact/sampled paths",
    ),
    "nasprior.networks.recurrent": (640, "the recurrent graph network and the packed layout of its fused recurrence"),
    "nasprior.networks.wavefront": (720, "the fused BPTT recurrence: forward and backward time loops of four cells"),
    "nasprior.predictors.fitting": (
        800,
        "fits from runs, data sets and graph files; curve columns; nested CV and model cards",
    ),
    "nasprior.search.ga": (
        720,
        "the DEAP GA: toolbox, strategies, skipping and screening, a stored predictor ranking generation 0, "
        "stored or own predictor, resumable run loop",
    ),
    "nasprior.tasks.image_files": (800, "readers of the official CIFAR-10 and MNIST distributions and their checks"),
    "nasprior.tasks.reber": (700, "the Reber grammar, its CSV reader with checks, and the hard-negative groups"),
}


def test_no_module_over_its_line_budget():
    over = {}
    for name, path in modules().items():
        n_lines = path.read_text(encoding="utf-8").count("\n")
        budget = LINE_BUDGETS.get(name, (MAX_LINES, ""))[0]
        if n_lines > budget:
            over[name] = (n_lines, budget)
    assert not over, f"modules over their line budget (lines, budget): {over}; split them or budget them here"


#: The modules at the top of the package: the data flow's own concepts and the infrastructure every layer reads.
#: Anything else belongs in a folder named for what it holds (training/, runs/, compute/, sparsity/, results/, ...).
TOP_LEVEL = {
    "__init__", "__main__", "_version",  # the package, `python -m nasprior`, the one version
    "genes", "genome", "space",  # a gene, a candidate, a search space
    "dag", "graph_io",  # a prior's graph as a DAG; graphs from other tools
    "evaluation",  # one candidate end to end
    "cost", "errors", "names", "registry", "validation",  # limits, errors, shared names, registries, file reading
}  # fmt: skip


def test_top_level_holds_only_the_listed_modules():
    found = {p.stem for p in PACKAGE.glob("*.py")}
    assert found - TOP_LEVEL == set(), f"new top-level modules {found - TOP_LEVEL}: put them in a folder or list them"


def test_every_folder_of_modules_is_a_regular_package():
    # a folder without __init__.py imports as a namespace package but is left out of the wheel
    # (setuptools' find) and of the API reference (griffe): nasprior/runs/ once was, hidden by .gitignore
    folders = {p.parent for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(PACKAGE)) for f in folders if not (f / "__init__.py").is_file())
    assert not missing, f"folders without __init__.py: {missing}"

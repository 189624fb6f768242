"""Subcommands that read a finished run: ``report`` (HTML with figures) and ``export`` (ONNX)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..export import TOLERANCE, export_onnx
from ..report import write_report
from .base import add_drop_bad_tail_option, command, drop_bad_tails


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` and ``export`` subcommands."""
    p = sub.add_parser(
        "report",
        help="write a run's HTML report with its figures",
        description="Write one self-contained HTML file (figures embedded) for a run: accuracy per "
        "generation, accuracy against size with the Pareto front, predicted against actual, skip and "
        "screen decisions, the best network's topology, feature importances, config and versions.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'nasprior search'")
    p.add_argument("--out", help="HTML file to write (default: RUN_DIR/report.html)")
    add_drop_bad_tail_option(p, "before reading the run")
    p = sub.add_parser(
        "export",
        help="export a run's network to ONNX (masks folded into the weights)",
        description="Export the best network of a run (or another trained candidate, retrained from "
        "its genome) to ONNX, checked against torch in onnxruntime.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'nasprior search'")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="export format (onnx)")
    p.add_argument("--key", help="candidate to export, e.g. a Pareto member (default: the best)")
    p.add_argument("--out", help="file to write (default: RUN_DIR/best/model.onnx)")
    add_drop_bad_tail_option(p, "with --key, before reading the run")


@command("report")
def cmd_report(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    drop_bad_tails([args.run_dir], args.drop_bad_tail)
    print(f"report written: {write_report(Path(args.run_dir), args.out)}")
    return 0


@command("export")
def cmd_export(args: argparse.Namespace) -> int:
    """Export to ONNX and print the path and the check against torch."""
    drop_bad_tails([args.run_dir], args.drop_bad_tail)
    path, diff = export_onnx(args.run_dir, args.out, key=args.key)
    print(f"exported {path}; onnxruntime matches torch to {diff:.1e} (tolerance {TOLERANCE:g}) on a check batch")
    return 0

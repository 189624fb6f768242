"""Subcommands that read a finished run: ``report`` (HTML with figures) and ``export`` (ONNX)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..results.export import TOLERANCE, export_onnx
from ..results.report import write_report
from .base import drop_bad_tails


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    drop_bad_tails([args.run_dir], args.drop_bad_tail)
    print(f"report written: {write_report(Path(args.run_dir), args.out)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export to ONNX and print the path and the check against torch."""
    drop_bad_tails([args.run_dir], args.drop_bad_tail)
    path, diff = export_onnx(args.run_dir, args.out, key=args.key)
    print(f"exported {path}; onnxruntime matches torch to {diff:.1e} (tolerance {TOLERANCE:g}) on a check batch")
    return 0

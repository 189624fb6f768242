"""Wall time of ``nasprior --help`` and ``nasprior search --help``: a checkout before and after the lazy CLI.

Each command runs as a fresh process (``python -m nasprior ...`` with
``PYTHONPATH`` set to the checkout and run in it, as the console script does), ``--repeats``
times, the checkouts and commands taking turns so that a change of the
machine's load hits them alike; the figure is the median wall time. For
reference, ``python -c "import torch"`` (what ``--help`` cost before: the CLI
imported torch, scikit-learn, skops, onnx...) and ``python -c pass`` (the
interpreter's own start). The machine's load average is printed at the start
and the end: on a shared machine every figure scales with it.

Usage (from the checkout after the change)::

    python benchmarks/bench_cli_help.py --before /work/main --after . --out benchmarks/results/cli_help_time.txt
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The commands timed in each checkout.
COMMANDS = {"nasprior --help": ["--help"], "nasprior search --help": ["search", "--help"]}


def wall_time(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds one process takes, start to exit; raises CalledProcessError if it fails."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def commit(checkout: Path) -> str:
    """The checkout's git commit (short), or ``?``."""
    done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--after", type=Path, required=True, help="checkout after the change")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--out", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    load_start = os.getloadavg()
    cases = {}
    for label, checkout in checkouts.items():
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        for name, argv in COMMANDS.items():
            # run in the checkout: ``python -m`` puts the working directory before PYTHONPATH on sys.path
            cases[f"{name} ({label})"] = ([sys.executable, "-m", "nasprior", *argv], env, checkout)
    for name, code in (('python -c "import torch"', "import torch"), ("python -c pass", "pass")):
        cases[name] = ([sys.executable, "-c", code], dict(os.environ), Path(tempfile.gettempdir()))
    times = {case: [] for case in cases}
    for _ in range(args.repeats):  # round robin: a load change hits every case alike
        for case, (argv, env, cwd) in cases.items():
            times[case].append(wall_time(argv, env, cwd))
    load_end = os.getloadavg()
    cache = (
        "off (PYTHONDONTWRITEBYTECODE: each process compiles nasprior's sources)"
        if sys.flags.dont_write_bytecode
        else "on"
    )
    lines = [
        f"nasprior CLI start-up, median of {args.repeats} fresh processes (python -m nasprior ...), wall seconds",
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; python {platform.python_version()}; "
        f"{os.cpu_count()} CPU(s); bytecode cache {cache}",
        f"load average (1, 5, 15 min) at start {', '.join(f'{x:.1f}' for x in load_start)}; "
        f"at end {', '.join(f'{x:.1f}' for x in load_end)}",
        f"before: {checkouts['before']} @ {commit(checkouts['before'])}; "
        f"after: {checkouts['after']} @ {commit(checkouts['after'])}",
        "",
        f"{'case':31}  {'median':>7}  {'min':>7}  {'max':>7}",
    ]
    for case, values in times.items():
        lines.append(f"{case:31}  {statistics.median(values):7.2f}  {min(values):7.2f}  {max(values):7.2f}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

"""The default ``nasprior search --task cifar10`` run as a new user runs it, over seeds, with its evidence kept.

Each seed runs the real command line in a subprocess (the installed
``nasprior`` entry point, so nothing of this script's process is shared):

    nasprior search --task cifar10 --data-dir DIR --seed S --run-id <label>-s<S> --runs-dir RUNS [EXTRA...]

timed by the wall clock from start to exit. Its printed log and its
``records.jsonl`` (gzip-compressed) are copied to ``OUT/<label>/s<S>.log`` and
``OUT/<label>/s<S>.records.jsonl.gz``, and one summary row per seed (wall
minutes, the survivor's test and validation accuracy, epochs, candidates
screened and skipped) is appended to ``OUT/<label>/summary.jsonl``; the mean
and sd over seeds are printed. A seed whose row is already in the summary is
not run again, so the benchmark can be stopped and resumed; a seed whose run
directory exists but has no summary row (an interrupted run) is resumed with
``nasprior search --resume`` (its wall time then counts only the resumed part
and the row says so).

Usage (the issue's three default runs, then random search at the same budget)::

    python benchmarks/cifar10_default_search.py --data-dir ../shared/data --seeds 0 1 2 --label default
    python benchmarks/cifar10_default_search.py --data-dir ../shared/data --seeds 0 1 2 --label random \\
        -- --strategy random

Arguments after ``--`` are passed to ``nasprior search`` unchanged.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nasprior.runs.records import RecordLog

ROOT = Path(__file__).resolve().parent.parent


def commit() -> str:
    """The repository's HEAD commit (short), with ``+dirty`` when tracked files differ from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return head.stdout.strip() + ("+dirty" if dirty else "")


def summary_row(label: str, seed: int, records: list[dict], wall_s: float, resumed: bool, extra: list[str]) -> dict:
    """One seed's figures from its records: the best final record (by validation accuracy) and the screening counts."""
    final = [r for r in records if r.get("fidelity") == "final" and r.get("status") == "trained"]
    screened = [r for r in records if r.get("fidelity") != "final"]
    best = max(final, key=lambda r: r["metrics"]["val_acc"], default=None)
    row = {
        "label": label,
        "seed": seed,
        "args": extra,
        "wall_min": round(wall_s / 60, 2),
        "resumed": resumed,
        "n_screened": sum(r.get("status") == "trained" for r in screened),
        "n_skipped": sum(r.get("status") == "skipped" for r in screened),
        "n_failed": sum(r.get("status") == "failed" for r in records),
        "commit": commit(),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if best is not None:
        row.update(
            {
                "key": best["key"],
                "genome": best["genome"],
                "test_acc": best["metrics"].get("test_acc"),
                "val_acc": best["metrics"]["val_acc"],
                "screen_val_acc": best.get("screen_val_acc"),
                "final_epochs": best.get("epochs_run"),
                "final_wall_min": round(best.get("wall_time_s", 0.0) / 60, 2),
                "width_multiplier": best.get("train", {}).get("width_multiplier", 1.0),
                "stem_pool": best.get("train", {}).get("stem_pool", 1),
            }
        )
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the seeds not yet in the summary; print every seed's row and the mean and sd of test accuracy and wall time."""
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--label", default="default", help="name of this setting (a folder under --out)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cifar10_search")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs", help="parent of the run directories")
    args = parser.parse_args(argv)
    out = args.out / args.label
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.jsonl"
    done = {json.loads(line)["seed"] for line in summary.read_text().splitlines()} if summary.exists() else set()
    nasprior = shutil.which("nasprior") or str(Path(sys.executable).with_name("nasprior"))
    for seed in args.seeds:
        if seed in done:
            print(f"seed {seed}: in {summary} already")
            continue
        run_id = f"cifar10-{args.label}-s{seed}"
        run_dir = args.runs_dir / run_id
        resumed = (run_dir / "records.jsonl").exists()
        if resumed:
            command = [nasprior, "search", "--resume", str(run_dir), "--data-dir", args.data_dir]
        else:
            command = [nasprior, "search", "--task", "cifar10", "--data-dir", args.data_dir, "--seed", str(seed)]
            command += ["--run-id", run_id, "--runs-dir", str(args.runs_dir), *extra]
        print("$ " + " ".join(command), flush=True)
        log_path = out / f"s{seed}.log"
        start = time.perf_counter()
        with log_path.open("a", encoding="utf-8") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in process.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
            code = process.wait()
        wall_s = time.perf_counter() - start
        if code != 0:
            print(f"seed {seed}: nasprior search exited with {code}; see {log_path}", file=sys.stderr)
            return code
        records = RecordLog(run_dir / "records.jsonl").read()
        with (run_dir / "records.jsonl").open("rb") as src, gzip.open(out / f"s{seed}.records.jsonl.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        row = summary_row(args.label, seed, records, wall_s, resumed, extra)
        with summary.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in summary.read_text().splitlines()]
    print(
        f"\n{args.label}: {'seed':>4s} {'test':>7s} {'val':>7s} {'screen':>7s} {'epochs':>6s} {'wall min':>8s}  genome"
    )
    for r in sorted(rows, key=lambda r: r["seed"]):
        print(
            f"{'':{len(args.label) + 1}s} {r['seed']:4d} {r.get('test_acc') or 0:7.4f} {r.get('val_acc') or 0:7.4f} "
            f"{r.get('screen_val_acc') or 0:7.4f} {r.get('final_epochs') or 0:6d} {r['wall_min']:8.1f}  "
            f"{json.dumps(r.get('genome'))}"
        )
    tests = [r["test_acc"] for r in rows if r.get("test_acc") is not None]
    walls = [r["wall_min"] for r in rows]
    if len(tests) >= 2:
        print(
            f"mean test {statistics.mean(tests):.4f} +- {statistics.stdev(tests):.4f} (sd over {len(tests)} seeds), "
            f"wall {statistics.mean(walls):.1f} min (max {max(walls):.1f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the predictor pay? Search strategies compared over seeds on a real, cheap task.

For each strategy (``ga``, ``ga-skip``, ``ga-screen``, ``random``) and each
seed, a full search on scikit-learn's digits (the default digits space and
budget: population 10, 5 generations, 20 epochs with early stopping) is run
and its trained candidates read in training order. Reported:

* trained candidates each strategy needed to reach the plain GA's final best
  validation accuracy (same seed), as a fraction of the plain GA's trained
  candidates: median and IQR over seeds (a strategy that never reaches it
  counts as its whole budget plus one, and the number of misses is shown);
* best validation accuracy after k trained candidates (anytime curves,
  median over seeds);
* for ``ga-skip``: the fraction of skipped offspring that would have entered
  the population, found by training them afterwards with the same budget and
  seed and comparing with the worst survivor of their generation.

Two worker processes with one torch thread each. Usage::

    python benchmarks/search_efficiency.py --seeds 10 --out benchmarks/results/search_efficiency.json

Table mode (``--table DIR``): the strategies search a tabular benchmark (a
``nasprior sample --all`` run or a shipped data set such as
``datasets/cifar10-cnn``) by lookup, no training
(:class:`nasprior.runs.tabular.TableEvaluator`), over many seeds: ``ga``,
``ga-skip`` and ``ga-screen`` (each with the run's own predictor, fitted on
the run's lookups only: a predictor fitted on the table would have seen the
answers), ``random`` (the project's random strategy), and ``local``: local
search as in White et al. (2020): from a random genome, look up every
neighbour (the genomes that differ in one gene), move to the best if it is
better, else restart from a random genome. Reported: lookups ("trainings")
until a genome of the table's top 1% is found (median and IQR over seeds, and
as a fraction of random search's median), and anytime regret (table best
minus best found, median and IQR over seeds after k lookups), written as JSON
and plotted::

    python benchmarks/search_efficiency.py --table datasets/cifar10-cnn --seeds 100 --transfer \
        --out benchmarks/results/search_efficiency_cifar10_table.json \
        --plot benchmarks/results/search_efficiency_cifar10_table.png \
        --runs-log benchmarks/results/search_efficiency_cifar10_table.runs.jsonl

(``--runs-log``: every finished search is appended there, and a rerun of the same command skips them, so
the benchmark of some hours can be stopped and resumed.)

References: C. White, W. Neiswanger, Y. Savani, "BANANAS" (AAAI 2021) and C. White,
S. Nolen, Y. Savani, "Exploring the loss landscape in neural architecture search"
(UAI 2021; local search), arXiv:2005.02960.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from nasprior.evaluation import Evaluator
from nasprior.genome import Genome
from nasprior.predictors import fit_predictor
from nasprior.runs.records import RecordLog
from nasprior.runs.tabular import Table, TableEvaluator, placeholder_data, table_config
from nasprior.search import SearchConfig, run_search
from nasprior.space import SearchSpace, default_space_path
from nasprior.tasks import load_task
from nasprior.training import TrainConfig

STRATEGIES = ("ga", "ga-skip", "ga-screen", "random")
CHECKPOINTS = (10, 20, 30, 40, 50, 60)


def one_run(job: tuple[str, int, str]) -> dict:
    """Run one search; return its trained accuracies in order, and ga-skip's counterfactuals."""
    strategy, seed, root = job
    torch.set_num_threads(1)
    space = SearchSpace.from_toml(default_space_path("digits"))
    config = SearchConfig(
        task="digits",
        space=space.to_dict(),
        population=10,
        generations=5,
        train={**space.train, "seed": seed},
        skip=dict(space.search.get("skip", {})),
        seed=seed,
        run_id=f"{strategy}-{seed}",
        strategy=strategy,
    )
    data = load_task("digits", seed=seed)
    start = time.perf_counter()
    run_dir = Path(root) / f"{strategy}-{seed}"
    result = run_search(config, run_dir, data=data, log=lambda _: None)
    records = RecordLog(run_dir / "records.jsonl").read()
    out = {
        "strategy": strategy,
        "seed": seed,
        "wall_s": time.perf_counter() - start,
        "trained": [r["metrics"]["val_acc"] for r in records if r["status"] == "trained"],
        "n_skipped": sum(r["status"] == "skipped" for r in records),
    }
    if strategy == "ga-skip" and out["n_skipped"]:
        evaluator = Evaluator(data, TrainConfig(**config.train), "counterfactual", seed)
        worst = {g["generation"]: min_survivor(g) for g in result.generations}
        entered = 0
        for r in records:
            if r["status"] == "skipped":
                actual = evaluator.evaluate(Genome.from_dict(r["genome"])).record["metrics"]["val_acc"] or 0.0
                entered += actual > worst[r["generation"]]
        out["skipped_would_enter"] = entered
    return out


def min_survivor(summary: dict) -> float:
    """Accuracy a candidate had to beat to enter the population of a generation (its worst survivor)."""
    return summary["worst_val_acc"]


def needed(trained: list[float], target: float) -> int | None:
    """Trained candidates until the running best reaches ``target`` (None if never)."""
    best = -1.0
    for i, acc in enumerate(trained, start=1):
        best = max(best, acc)
        if best >= target - 1e-12:
            return i
    return None


# -- table mode ---------------------------------------------------------------------------------
TABLE_STRATEGIES = ("ga", "ga-skip", "ga-screen", "random", "local")
REGRET_AT = (5, 10, 20, 30, 50, 75, 100)


def table_search(job: tuple) -> dict:
    """One search of a table by lookup; its looked-up validation accuracies in order.

    ``job`` is ``(strategy, table_dir, seed, population, generations, root)``, optionally followed by
    ``allowed`` (the keys the search may look up; others fail) and ``predictor`` (a stored predictor's folder).
    """
    strategy, table_dir, seed, population, generations, root = job[:6]
    allowed, predictor = (set(job[6]), job[7]) if len(job) > 6 else (None, None)
    label = f"{strategy}+stored" if predictor else strategy
    torch.set_num_threads(1)
    table = Table.read(table_dir)
    stored = table_config(table_dir)
    space = SearchSpace.from_dict(stored["space"])
    if strategy == "local":
        trained = local_search(table, space, seed, population * (generations + 1), allowed)
        return {"strategy": label, "seed": seed, "trained": trained, "n_skipped": 0}
    config = SearchConfig(
        task=table.task,
        space=stored["space"],
        population=population,
        generations=generations,
        train=dict(stored["train"]),
        skip=dict(space.search.get("skip", {})),
        seed=seed,
        run_id=f"{label}-{seed}-{len(allowed or ())}",
        strategy=strategy,
        predictor=predictor,
    )
    evaluator = TableEvaluator(
        table,
        placeholder_data(table.task),
        TrainConfig(**config.train),
        config.run_id,
        seed,
        fidelity="screen",
        allowed=allowed,
    )
    run_dir = Path(root) / config.run_id
    run_search(config, run_dir, evaluator=evaluator, log=lambda _: None)
    records = RecordLog(run_dir / "records.jsonl").read()
    return {
        "strategy": label,
        "seed": seed,
        "trained": [r["metrics"]["val_acc"] for r in records if r["status"] == "trained"],
        "n_skipped": sum(r["status"] == "skipped" for r in records),
    }


def local_search(
    table: Table, space: SearchSpace, seed: int, budget: int, allowed: set[str] | None = None
) -> list[float]:
    """Local search with restarts (White et al. 2021) on a table: validation accuracies in lookup order."""
    rng = random.Random(seed)
    genomes = {
        g.key: g.to_dict() for g in space.genomes() if g.key in table.by_key and (allowed is None or g.key in allowed)
    }
    accuracy = {k: float(table.by_key[k]["metrics"]["val_acc"]) for k in genomes}
    keys = sorted(genomes)
    seen: list[str] = []

    def look(key: str) -> float:
        seen.append(key)
        return accuracy[key]

    def neighbours(key: str) -> list[str]:
        a = genomes[key]
        return [
            k for k in keys if k != key and sum(a.get(g) != genomes[k].get(g) for g in set(a) | set(genomes[k])) == 1
        ]

    while len(seen) < min(budget, len(keys)):
        fresh = [k for k in keys if k not in set(seen)]
        current = rng.choice(fresh)
        best = look(current)
        while len(seen) < budget:
            around = [k for k in neighbours(current) if k not in set(seen)]
            rng.shuffle(around)
            scored = []
            for k in around:
                if len(seen) >= budget:
                    break
                scored.append((look(k), k))
            if not scored or max(scored)[0] <= best:
                break  # a local optimum: restart
            best, current = max(scored)
    return [accuracy[k] for k in seen[:budget]]


TRANSFER_STRATEGIES = ("random", "ga", "ga-screen", "ga-skip+stored", "ga-screen+stored")


def halves(table: Table) -> tuple[list[str], list[str]]:
    """The table's genomes split in two seeded halves (the transfer setting's folds)."""
    keys = sorted(table.by_key)
    random.Random(12345).shuffle(keys)
    return sorted(keys[: len(keys) // 2]), sorted(keys[len(keys) // 2 :])


def stored_predictor(table_dir: str, keys: list[str], root: str, name: str) -> str:
    """A predictor fitted (nasprior predictor fit, default features) on the table's records of ``keys``; its folder."""
    run = Path(root) / f"half-{name}"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(table_config(table_dir)), encoding="utf-8")
    log = RecordLog(run / "records.jsonl")
    table = Table.read(table_dir)
    for key in keys:
        log.append(table.by_key[key])
    predictor = fit_predictor([run], name, n_trials=10, folds=3, repeats=1)
    return str(predictor.save(Path(root) / "predictors" / name))


def report(
    runs: list[dict], labels: tuple[str, ...], targets: dict[int, tuple[float, float]], top: float, budget: int
) -> dict:
    """Print lookups to the top fraction and anytime regret per strategy; ``targets``: seed -> (best, threshold).

    A search that never reaches the top fraction counts as ``budget`` + 1 lookups (its whole budget and more),
    whether it stopped early or not.
    """
    by = {(r["strategy"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    print(f"Lookups (trainings) until a genome of the top {top:.0%} is found")
    print(f"{'strategy':<17} {'median':>7} {'IQR':>15} {'missed':>7} {'/ random':>9} {'lookups (mean)':>15}")
    summary: dict = {}
    for s in labels:
        counts, misses = [], 0
        for seed in seeds:
            trained = by[(s, seed)]["trained"]
            n = needed(trained, targets[seed][1])
            if n is None:
                misses += 1
                n = budget + 1
            counts.append(n)
        q1, med, q3 = np.percentile(counts, [25, 50, 75])
        summary[s] = {"median": med, "q1": q1, "q3": q3, "missed": misses, "counts": counts}
    for s in labels:
        row = summary[s]
        row["fraction_of_random"] = row["median"] / summary["random"]["median"]
        mean_lookups = statistics.fmean(len(by[(s, k)]["trained"]) for k in seeds)
        iqr = f"[{row['q1']:.1f}, {row['q3']:.1f}]"
        print(
            f"{s:<17} {row['median']:7.1f} {iqr:>15} {row['missed']:7d} "
            f"{row['fraction_of_random']:9.3f} {mean_lookups:15.1f}"
        )
    print("\nRegret (best of the genomes searched minus best found) after k lookups: median [IQR] over seeds")
    print("(a search that stopped earlier counts with its final best)")
    print(f"{'strategy':<17} " + " ".join(f"{f'k={k}':>21}" for k in REGRET_AT))
    regret: dict = {}
    for s in labels:
        rows = []
        regret[s] = {}
        for k in REGRET_AT:
            values = [targets[seed][0] - max(by[(s, seed)]["trained"][:k] or [0.0]) for seed in seeds]
            q1, med, q3 = np.percentile(values, [25, 50, 75])
            regret[s][k] = {"median": med, "q1": q1, "q3": q3}
            rows.append(f"{f'{med:.4f} [{q1:.4f}, {q3:.4f}]':>21}")
        print(f"{s:<17} " + " ".join(rows))
    return {"summary": summary, "regret": regret}


def job_id(job: tuple, setting: str) -> str:
    """Identity of a table search in the runs log: setting, strategy label and seed."""
    label = f"{job[0]}+stored" if len(job) > 7 and job[7] else job[0]
    return f"{setting}/{label}/{job[2]}"


def run_logged(jobs: list[tuple], n_whole: int, args: argparse.Namespace) -> list[dict]:
    """Run the table searches not yet in the runs log (``--runs-log``), appending each as it ends; all, in job order.

    Each search is seeded and looks up a committed table, so a search logged by an earlier call is the search
    this call would run: a stopped benchmark resumes where it stopped (same table, population, generations).
    """
    ids = [job_id(job, "whole" if i < n_whole else "transfer") for i, job in enumerate(jobs)]
    log = Path(args.runs_log) if args.runs_log else None
    done: dict[str, dict] = {}
    if log is not None and log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                run = json.loads(line)
            except ValueError:  # a line torn by a kill: that search runs again
                continue
            if run.get("settings") == [args.population, args.generations, str(args.table)]:
                done[run["id"]] = run
    todo = [(i, job) for i, (job, key) in enumerate(zip(jobs, ids)) if key not in done]
    print(
        f"{len(jobs)} searches: {len(jobs) - len(todo)} in the runs log, {len(todo)} to run on {args.workers} workers"
    )
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        for i, run in pool.imap_unordered(indexed_search, todo):
            run = {**run, "id": ids[i], "settings": [args.population, args.generations, str(args.table)]}
            done[ids[i]] = run
            if log is not None:
                with log.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(run) + "\n")
    return [done[key] for key in ids]


def indexed_search(item: tuple[int, tuple]) -> tuple[int, dict]:
    """:func:`table_search` of ``(index, job)``, with its index (for ``imap_unordered``)."""
    start = time.perf_counter()
    run = table_search(item[1])
    return item[0], {**run, "wall_s": round(time.perf_counter() - start, 2)}


def table_main(args: argparse.Namespace) -> None:
    """Run every table strategy over the seeds, print the efficiency and regret tables, write JSON and a plot.

    With ``--transfer`` also the transfer setting: the table split in two seeded halves; seed s searches half
    s % 2 only (other genomes fail), ``ga-skip+stored`` (the default search) and ``ga-screen+stored`` with a
    predictor fitted on the other half (so it has seen none of the genomes it ranks; it ranks generation 0
    too, ``initial_factor``), beside ``random``, ``ga`` and ``ga-screen`` on the same half.
    """
    start = time.perf_counter()
    table = Table.read(args.table)
    values = table.values()
    best = max(values.values())
    threshold = table.top_threshold(args.top)
    n_top = sum(v >= threshold for v in values.values())
    budget = args.population * (args.generations + 1)
    with tempfile.TemporaryDirectory() as root:
        jobs = [
            (s, str(args.table), seed, args.population, args.generations, root)
            for seed in range(args.seeds)
            for s in TABLE_STRATEGIES
        ]
        if args.transfer:
            parts = halves(table)
            stored = [stored_predictor(str(args.table), parts[1 - f], root, f"half{1 - f}") for f in (0, 1)]
            for seed in range(args.seeds):
                f = seed % 2
                jobs += [
                    (s, str(args.table), seed, args.population, args.generations, root, parts[f], None)
                    for s in ("random", "ga", "ga-screen")
                ]
                jobs += [
                    (s, str(args.table), seed, args.population, args.generations, root, parts[f], stored[f])
                    for s in ("ga-skip", "ga-screen")
                ]
        runs = run_logged(jobs, len(TABLE_STRATEGIES) * args.seeds, args)
    whole = runs[: len(TABLE_STRATEGIES) * args.seeds]
    print(
        f"table {args.table}: {len(table)} genomes (fidelity {table.fidelity}), best val_acc {best:.4f}; "
        f"top {args.top:.0%}: val_acc >= {threshold:.4f} ({n_top} genomes)"
    )
    print(
        f"{len(runs)} searches by lookup in {time.perf_counter() - start:.0f} s: {args.seeds} seeds per strategy, "
        f"population {args.population}, {args.generations} generations (at most {budget} lookups)\n"
    )
    out = {
        "table": str(args.table),
        "n_genomes": len(table),
        "best": best,
        "top_fraction": args.top,
        "threshold": threshold,
        "seeds": args.seeds,
        "population": args.population,
        "generations": args.generations,
        "whole": report(whole, TABLE_STRATEGIES, {s: (best, threshold) for s in range(args.seeds)}, args.top, budget),
        "runs": runs,
    }
    if args.transfer:
        targets = {}
        for seed in range(args.seeds):
            part = [values[k] for k in parts[seed % 2] if k in values]
            targets[seed] = (max(part), sorted(part, reverse=True)[max(1, round(args.top * len(part))) - 1])
        print(
            f"\nTransfer setting: each seed searches one half of the table ({len(parts[0])} / {len(parts[1])} genomes); "
            "ga-skip+stored and ga-screen+stored rank with a predictor fitted on the other half"
        )
        out["transfer"] = report(runs[len(whole) :], TRANSFER_STRATEGIES, targets, args.top, budget)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    if args.plot:
        plot_regret(whole, best, args.seeds, budget, args.plot)


def plot_regret(runs: list[dict], best: float, seeds: int, budget: int, path: str) -> None:
    """Anytime regret curves (median and IQR band over seeds) per strategy, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    ks = np.arange(1, budget + 1)
    for s in TABLE_STRATEGIES:
        curves = []
        for r in (r for r in runs if r["strategy"] == s):
            acc = np.maximum.accumulate(np.array(r["trained"] or [0.0]))
            acc = np.concatenate([acc, np.full(budget - len(acc), acc[-1])]) if len(acc) < budget else acc[:budget]
            curves.append(best - acc)
        curves = np.array(curves)
        q1, med, q3 = np.percentile(curves, [25, 50, 75], axis=0)
        ax.plot(ks, med, label=s)
        ax.fill_between(ks, q1, q3, alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("trained candidates (table lookups)")
    ax.set_ylabel("regret: table best - best found (val acc)")
    ax.set_title(f"Anytime regret, median and IQR over {seeds} seeds")
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="write the per-run results as JSON")
    parser.add_argument("--table", help="search this tabular benchmark by lookup (a sample --all run or data set)")
    parser.add_argument("--population", type=int, default=8, help="table mode: population (default 8)")
    parser.add_argument("--generations", type=int, default=15, help="table mode: generations (default 15)")
    parser.add_argument("--top", type=float, default=0.01, help="table mode: the top fraction to reach (0.01)")
    parser.add_argument("--plot", help="table mode: write the regret curves to this PNG")
    parser.add_argument(
        "--runs-log",
        help="table mode: append each finished search to this JSON-lines file and skip the searches it holds "
        "(resume a stopped benchmark)",
    )
    parser.add_argument(
        "--transfer", action="store_true", help="table mode: also the half-table transfer setting (stored predictor)"
    )
    args = parser.parse_args()
    if args.table:
        table_main(args)
        return
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        jobs = [(s, seed, root) for seed in range(args.seeds) for s in STRATEGIES]
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.workers) as pool:
            runs = pool.map(one_run, jobs, chunksize=1)
    by = {(r["strategy"], r["seed"]): r for r in runs}
    print(f"{len(runs)} searches in {time.perf_counter() - start:.0f} s ({args.workers} workers, 1 thread each)\n")
    print("Trained candidates to reach the plain GA's final best, as a fraction of the plain GA's trained candidates")
    print(f"{'strategy':<10} {'median':>7} {'IQR':>15} {'missed':>7} {'trained (mean)':>15} {'skipped (mean)':>15}")
    table = {}
    for s in STRATEGIES:
        fractions, misses = [], 0
        for seed in range(args.seeds):
            ga = by[("ga", seed)]["trained"]
            target, n_ga = max(ga), len(ga)
            n = needed(by[(s, seed)]["trained"], target)
            if n is None:
                misses += 1
                n = len(by[(s, seed)]["trained"]) + 1
            fractions.append(n / n_ga)
        q1, med, q3 = np.percentile(fractions, [25, 50, 75])
        table[s] = {"median": med, "q1": q1, "q3": q3, "missed": misses}
        print(
            f"{s:<10} {med:7.3f} {f'[{q1:.3f}, {q3:.3f}]':>15} {misses:7d} "
            f"{statistics.fmean(len(by[(s, k)]['trained']) for k in range(args.seeds)):15.1f} "
            f"{statistics.fmean(by[(s, k)]['n_skipped'] for k in range(args.seeds)):15.1f}"
        )
    print(
        "\nBest validation accuracy after k trained candidates (median over the seeds that trained k; "
        "in brackets how many of the seeds that is where not all)"
    )
    print(f"{'strategy':<10} " + " ".join(f"{f'k={k}':>14}" for k in CHECKPOINTS))
    for s in STRATEGIES:
        row = []
        for k in CHECKPOINTS:
            vals = [
                max(by[(s, seed)]["trained"][:k]) for seed in range(args.seeds) if len(by[(s, seed)]["trained"]) >= k
            ]
            cell = f"{statistics.median(vals):.4f}" if vals else "-"
            if vals and len(vals) < args.seeds:
                cell += f" ({len(vals)}/{args.seeds})"
            row.append(f"{cell:>14}")
        print(f"{s:<10} " + " ".join(row))
    skipped = [by[("ga-skip", seed)] for seed in range(args.seeds)]
    total = sum(r["n_skipped"] for r in skipped)
    entered = sum(r.get("skipped_would_enter", 0) for r in skipped)
    print(
        f"\nga-skip: {total} offspring skipped over {args.seeds} seeds; trained afterwards, {entered} "
        f"({entered / total if total else 0:.1%}) would have entered the population (beat its worst survivor)"
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"runs": runs, "table": table}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Export a sample's run directory as a shipped data set: config, compressed records and a summary for its card.

Writes into ``DATASET_DIR`` (created if new; only the three files below are
written, so a hand-written ``README.md`` data card beside them is kept):

* ``config.json``: the sample's config, as ``nasprior sample`` stored it
  (restore it into a run directory to resume the sample, see the card);
* ``records.jsonl.gz``: every record of the log, in log order, gzip with
  a zero timestamp (the same records give the same bytes); for a table
  (``--all``), one record per network its space lists and seed;
* ``summary.json``: the counts, seeds, timings and versions the data card
  quotes (genomes trained and failed, second seeds, worker seconds, first and
  last record times, package versions), computed from the records.

Usage::

    python scripts/ship_dataset.py runs/cifar10-cnn datasets/cifar10-cnn
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import shutil
import statistics
import sys
from collections import Counter
from pathlib import Path

from nasprior.priors import network_key
from nasprior.runs.records import CONFIG_FILE, RECORDS_FILE, RecordLog
from nasprior.runs.tabular import record_network
from nasprior.space import SearchSpace

DATASET_RECORDS = RECORDS_FILE + ".gz"
SUMMARY_FILE = "summary.json"


def summary(records: list[dict], config: dict) -> dict:
    """Counts, seeds, timings and versions of a sample's records (what a data card quotes)."""
    seed = int(config.get("seed", 0))
    first = [r for r in records if int(r.get("seed", seed)) == seed]
    second = [r for r in records if int(r.get("seed", seed)) != seed]
    trained = [r for r in first if r["status"] == "trained"]
    walls = [float(r.get("wall_time_s") or 0.0) for r in records]
    times = sorted(str(r["timestamp"]) for r in records if r.get("timestamp"))
    versions = Counter(json.dumps(r.get("versions", {}), sort_keys=True) for r in records)
    val = [float(r["metrics"]["val_acc"]) for r in trained]
    return {
        "n_records": len(records),
        "n_genomes": len(first),
        "n_trained": len(trained),
        "n_failed": sum(r["status"] == "failed" for r in first),
        "n_second_seed": len(second),
        "n_second_seed_trained": sum(r["status"] == "trained" for r in second),
        "seed": seed,
        "by_prior": dict(sorted(Counter(r["genome"]["prior"] for r in first).items())),
        "val_acc": {"min": min(val), "median": statistics.median(val), "max": max(val)} if val else None,
        "worker_hours": round(sum(walls) / 3600, 2),
        "wall_time_s": {
            "min": round(min(walls), 1),
            "median": round(statistics.median(walls), 1),
            "max": round(max(walls), 1),
        }
        if walls
        else None,
        "first_record": times[0] if times else None,
        "last_record": times[-1] if times else None,
        "versions": [json.loads(v) for v, _ in versions.most_common()],
        "fidelity": sorted({str(r.get("fidelity")) for r in records}),
    }


def one_per_network(records: list[dict], space: SearchSpace) -> list[dict]:
    """The records of a table, one per network of ``space`` and seed, in log order.

    A record whose genome builds no network the space lists (a repair since merged it away) is left out; of
    several records of one network and seed (genomes listed before the space listed one genome per network,
    :func:`nasprior.priors.network_key`) the one of the genome that stands for the network is kept, else the
    first. The others are the same network trained with the same seeds: the same accuracies.
    """
    listed = {network_key(g): g.key for g in space.genomes()}
    chosen: dict[tuple[str, int], dict] = {}
    for record in records:
        network = record_network(record)
        if network not in listed:
            continue
        slot = (network, int(record.get("seed", 0)))
        if slot not in chosen or (record["key"] == listed[network] and chosen[slot]["key"] != listed[network]):
            chosen[slot] = record
    kept = [r for r in records if any(r is c for c in chosen.values())]
    if len(kept) < len(records):
        print(
            f"left out {len(records) - len(kept)} record(s): genomes the space no longer lists, or a second record "
            "of one network and seed",
            file=sys.stderr,
        )
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="the sample's run directory (runs/<run-id>)")
    parser.add_argument("dataset_dir", type=Path, help="the data set folder to write (datasets/<name>)")
    args = parser.parse_args()
    if not (args.run_dir / CONFIG_FILE).is_file():
        print(f"error: {args.run_dir} holds no {CONFIG_FILE}: give a sample's run directory", file=sys.stderr)
        return 2
    config = json.loads((args.run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    if config.get("kind") != "sample":
        print(f"error: {args.run_dir} is a {config.get('kind')!r} run, not a sample", file=sys.stderr)
        return 2
    records = RecordLog(args.run_dir / RECORDS_FILE).read()
    if config.get("exhaustive"):  # a table: one record per network of its space and seed
        records = one_per_network(records, SearchSpace.from_dict(config["space"]))
    args.dataset_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.run_dir / CONFIG_FILE, args.dataset_dir / CONFIG_FILE)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as fh:
        for record in records:
            fh.write((json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
    (args.dataset_dir / DATASET_RECORDS).write_bytes(buffer.getvalue())
    info = summary(records, config)
    (args.dataset_dir / SUMMARY_FILE).write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in info.items() if k != "versions"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

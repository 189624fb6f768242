"""Dask-distributed evaluation: a 2-worker LocalCluster search equals a single-process one, survives a killed worker."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time

import pytest
import torch

from nasprior.compute.parallel import START_TOPIC, close_client, start_client
from nasprior.errors import ConfigError
from nasprior.runs.records import RECORDS_FILE, RecordLog
from nasprior.search import SearchConfig, run_search
from nasprior.space import SearchSpace, default_space_path
from nasprior.tasks import load_task

pytestmark = pytest.mark.distributed

TIMING_FIELDS = ("wall_time_s", "train_time_s", "timing", "timestamp")


def without_timings(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMING_FIELDS}


def config(**overrides) -> SearchConfig:
    space = SearchSpace.from_toml(default_space_path("digits"))
    space.genes.update({"n_nodes": (8, 24), "width": (32, 64), "n_layers": (1, 2)})
    values = dict(
        task="digits",
        space=space.to_dict(),
        population=4,
        generations=1,
        train={"epochs": 3, "batch_size": 64, "lr": 0.003, "patience": 0, "seed": 4},
        skip={"enabled": False},
        seed=4,
        run_id="dask",
    )
    values.update(overrides)
    return SearchConfig(**values)


@pytest.fixture(scope="module")
def client():
    client = start_client(2)
    yield client
    close_client(client)


def _single_process_search(run_dir: str) -> None:
    """The reference run: one fresh process with one torch thread, as each worker."""
    torch.set_num_threads(1)
    run_search(config(), run_dir, data=load_task("digits", seed=4), log=lambda _: None)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    # A fresh (spawned) process, so no state an earlier test left in this pytest worker enters the reference.
    run_dir = tmp_path_factory.mktemp("local") / "run"
    process = multiprocessing.get_context("spawn").Process(target=_single_process_search, args=(str(run_dir),))
    process.start()
    process.join()
    assert process.exitcode == 0
    return run_dir


def first_difference(remote: list[dict], local: list[dict]) -> str:
    """Where two record lists first differ: the record index and the fields (for a readable failure)."""
    if len(remote) != len(local):
        return f"{len(remote)} remote records, {len(local)} local"
    for i, (a, b) in enumerate(zip(remote, local)):
        a, b = without_timings(a), without_timings(b)
        if a != b:
            fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            detail = {k: (a.get(k), b.get(k)) for k in fields if k != "curve"}
            if "features" in fields:
                detail["features"] = {
                    k: (a["features"].get(k), b["features"].get(k))
                    for k in set(a["features"]) | set(b["features"])
                    if a["features"].get(k) != b["features"].get(k)
                }
            return f"record {i} differs in {fields}: {detail}"[:3000]
    return ""


def test_two_worker_search_equals_single_process(client, local_run, tmp_path):
    assert len(client.scheduler_info()["workers"]) == 2
    run_search(config(), tmp_path / "run", log=lambda _: None, client=client)
    local = RecordLog(local_run / RECORDS_FILE).read()
    remote = RecordLog(tmp_path / "run" / RECORDS_FILE).read()
    assert not first_difference(remote, local), first_difference(remote, local)
    a = json.loads((local_run / "best" / "record.json").read_text())
    b = json.loads((tmp_path / "run" / "best" / "record.json").read_text())
    assert without_timings(a) == without_timings(b)


def test_a_worker_killed_mid_candidate_is_rerun_elsewhere_and_logged_once(client, local_run, tmp_path):
    pids = client.run(os.getpid)  # worker address -> pid
    seen = len(client.get_events(START_TOPIC))
    killed: list[str] = []

    def kill_first_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            events = client.get_events(START_TOPIC)[seen:]
            if events:
                address = events[0][1]["worker"]
                os.kill(pids[address], signal.SIGKILL)
                killed.append(events[0][1]["key"])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_busy_worker)
    killer.start()
    lines: list[str] = []
    run_search(config(), tmp_path / "run", log=lines.append, client=client)
    killer.join()
    assert killed
    reruns = [line for line in lines if "was started" in line]
    assert len(reruns) == 1 and killed[0] in reruns[0]
    local = RecordLog(local_run / RECORDS_FILE).read()
    remote = RecordLog(tmp_path / "run" / RECORDS_FILE).read()
    assert not first_difference(remote, local), first_difference(remote, local)


def test_cluster_options_are_checked():
    with pytest.raises(ConfigError, match="not both"):
        start_client(2, "tcp://127.0.0.1:1")
    with pytest.raises(ConfigError, match="invalid"):
        start_client(-1)

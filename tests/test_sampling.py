"""Sampling a search space: stratified draws, logging, resume, parallel workers (digits task)."""

from __future__ import annotations

import json

import pytest

from nasprior.errors import ConfigError, RecordError
from nasprior.runs.records import RecordLog
from nasprior.runs.sampling import SampleConfig, draw_genomes, run_sample
from nasprior.space import SearchSpace, default_space_path


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return SearchSpace.from_toml(default_space_path("digits"))


def _config(space: SearchSpace, **kw) -> SampleConfig:
    base = dict(task="digits", space=space.to_dict(), n=3, train={**space.train, "epochs": 1}, seed=0, run_id="s")
    base.update(kw)
    return SampleConfig(**base)


def test_draw_genomes_stratified_counts_and_fixed_genes():
    space = SearchSpace.from_toml(default_space_path("reber"))  # cells are genes of the recurrent mapping
    drawn = draw_genomes(space, 5, priors=["barabasi_albert", "watts_strogatz"], cells=["gru", "lstm"], seed=3)
    assert len(drawn) == 20
    assert len({g.key for _, g in drawn}) == 20
    for stratum, genome in drawn:
        assert stratum == f"{genome.prior}/{genome.cell}"
    strata = [s for s, _ in drawn]
    assert {s: strata.count(s) for s in strata} == {
        "barabasi_albert/gru": 5,
        "barabasi_albert/lstm": 5,
        "watts_strogatz/gru": 5,
        "watts_strogatz/lstm": 5,
    }
    # numeric genes stay inside the space's ranges
    low, high = space.genes["n_nodes"]
    assert all(low <= g.n_nodes <= high for _, g in drawn)


def test_draw_genomes_is_seeded_and_strata_are_independent(space):
    a = draw_genomes(space, 4, priors=["gnp"], seed=1)
    b = draw_genomes(space, 4, priors=["gnp", "complete"], seed=1)
    c = draw_genomes(space, 4, priors=["gnp"], seed=2)
    assert [g.key for _, g in a] == [g.key for _, g in b[:4]]  # adding a prior leaves gnp's draws alone
    assert [g.key for _, g in a] != [g.key for _, g in c]
    unstratified = draw_genomes(space, 30, seed=0)
    assert len(unstratified) == 30 and {s for s, _ in unstratified} == {"all"}
    assert len({g.prior for _, g in unstratified}) > 1  # the prior gene is drawn too


def test_sample_config_rejects_bad_options(space):
    with pytest.raises(ConfigError, match="unknown prior"):
        _config(space, priors=["no_such_prior"])
    with pytest.raises(ConfigError, match="cell"):
        _config(space, cells=["transformer"])
    with pytest.raises(ConfigError, match="at least 1"):
        _config(space, n=0)


def test_run_sample_logs_records_and_resumes(space, tmp_path):
    run_dir = tmp_path / "s"
    config = _config(space, priors=["gnp", "complete"], n=2)
    lines: list[str] = []
    result = run_sample(config, run_dir, workers=1, log=lines.append)
    assert result.n_new == 4 and len(result.records) == 4
    assert sum(line.lstrip().startswith("[") for line in lines) == 4  # one progress line per candidate
    logged = RecordLog(run_dir / "records.jsonl").read()
    assert len(logged) == 4
    assert {r["status"] for r in logged} <= {"trained", "failed"}
    assert all(r["task"] == "digits" and r["run_id"] == "s" for r in logged)
    assert sorted(r["sample"]["stratum"] for r in logged) == ["complete", "complete", "gnp", "gnp"]
    trained = [r for r in logged if r["status"] == "trained"]
    assert trained and all(0.0 <= r["metrics"]["val_acc"] <= 1.0 and "n_edges" in r["features"] for r in trained)
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["kind"] == "sample" and stored["n_inputs"] == 64 and stored["n_classes"] == 10
    assert not (run_dir / "best").exists()  # samples keep records only

    again = run_sample(_config(space, priors=["gnp", "complete"], n=2), run_dir, workers=1, log=lambda s: None)
    assert again.n_new == 0 and len(RecordLog(run_dir / "records.jsonl").read()) == 4
    assert [r["key"] for r in again.records] == [r["key"] for r in result.records]
    by_prior = again.mean_by("prior")
    assert set(by_prior) <= {"gnp", "complete"} and sum(v[2] for v in by_prior.values()) == len(trained)

    with pytest.raises(RecordError, match="other n"):
        run_sample(_config(space, priors=["gnp", "complete"], n=3), run_dir, workers=1, log=lambda s: None)


def test_parallel_workers_match_serial(space, tmp_path):
    config = _config(space, n=2, run_id="p")
    serial = run_sample(config, tmp_path / "serial", workers=1, log=lambda s: None)
    parallel = run_sample(_config(space, n=2, run_id="p"), tmp_path / "parallel", workers=2, log=lambda s: None)
    assert [r["key"] for r in parallel.records] == [r["key"] for r in serial.records]
    for a, b in zip(serial.records, parallel.records):
        assert a["status"] == b["status"]
        assert a["metrics"]["val_acc"] == pytest.approx(b["metrics"]["val_acc"])
        assert a["features"]["n_params"] == b["features"]["n_params"]
    assert len(RecordLog(tmp_path / "parallel" / "records.jsonl").read()) == 2

"""The one validation layer (nasprior.schema): the shipped data sets' JSON schemas are current and their files
validate; configs, records and cards are refused in one clear line, never with a raw pydantic error."""

from __future__ import annotations

import copy
import dataclasses
import gzip
import json
import sys
from pathlib import Path

import pydantic
import pytest

from nasprior.errors import ConfigError, NaspriorError, PredictorError, RecordError
from nasprior.predictors import SkipRule
from nasprior.runs.records import Record, RecordLog
from nasprior.runs.sampling import SampleConfig
from nasprior.schema import (
    ModelCard,
    RunRecord,
    check_card,
    check_record,
    check_value,
    config_model,
    field_docs,
    field_path,
    from_mapping,
)
from nasprior.search import SearchConfig
from nasprior.space import SearchSpace, default_space_path
from nasprior.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import write_schemas  # noqa: E402

SETS = write_schemas.data_sets()
CARD = ROOT / "predictors" / "reber-gru" / "model_card.json"


# -- the shipped data sets -------------------------------------------------------------------------------


def test_every_shipped_data_set_has_a_schema():
    assert {p.name for p in SETS} >= {"reber-rnn", "cifar10-cnn"}


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_the_committed_schema_is_what_the_models_give(folder):
    committed = json.loads((folder / write_schemas.SCHEMA_FILE).read_text(encoding="utf-8"))
    assert committed == write_schemas.schema_for(folder), "run python scripts/write_schemas.py"
    assert set(committed["$defs"]) >= {"RunRecord", "TrainConfig"}


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_every_record_and_the_config_of_a_shipped_set_validate(folder):
    with gzip.open(folder / "records.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    assert lines
    for number, line in enumerate(lines, start=1):
        RunRecord.model_validate(line)
        assert check_record(line, f"line {number}") is line  # returned unchanged
    assert len(RecordLog(folder / "records.jsonl.gz").read()) == len(lines)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config_model(SampleConfig).model_validate(config)
    config_model(TrainConfig).model_validate(config["train"])
    assert from_mapping(SampleConfig, config, "config.json").train == config["train"]


def test_the_shipped_predictor_cards_validate():
    cards = sorted((ROOT / "predictors").glob("*/model_card.json")) + sorted(
        (ROOT / "nasprior" / "pretrained").glob("*/model_card.json")
    )
    assert cards
    for path in cards:
        card = json.loads(path.read_text(encoding="utf-8"))
        ModelCard.model_validate(card)
        check_card(card, path)


# -- config tables ---------------------------------------------------------------------------------------


def test_config_models_follow_the_dataclasses():
    model = config_model(TrainConfig)
    assert list(model.model_fields) == [f.name for f in dataclasses.fields(TrainConfig)]
    assert model().model_dump() == dataclasses.asdict(TrainConfig())  # the same defaults
    assert config_model(SearchConfig).model_fields["objectives"].default == ["accuracy"]
    assert "Crossover and mutation probabilities" in field_docs(SearchConfig)["mutpb"]


def test_a_table_is_passed_to_the_dataclass_as_given():
    config = from_mapping(TrainConfig, {"lr": 1, "epochs": 2}, "t")
    assert config.lr == 1 and isinstance(config.lr, int) and config.to_dict()["lr"] == 1  # not made 1.0
    assert from_mapping(SkipRule, {}, "skip rule") == SkipRule()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"epocs": 3}, "x.toml [train]: unknown key 'epocs': did you mean 'epochs'? known keys are epochs, batch_size"),
        ({"zzzz": 1}, "x.toml [train]: unknown key 'zzzz': known keys are epochs,"),
        ({1: 2}, "x.toml [train]: unknown key '1': known keys are"),
        ({"lr": "0.1"}, "x.toml [train]: 'lr' = '0.1' has the wrong type: it must be float"),
        ({"lr": True}, "x.toml [train]: 'lr' = True has the wrong type: it must be float"),
        ({"epochs": 1.5}, "x.toml [train]: 'epochs' = 1.5 has the wrong type: it must be int"),
        ({"amp": 1}, "x.toml [train]: 'amp' = 1 has the wrong type: it must be bool"),
        ({"lr": float("inf")}, "x.toml [train]: 'lr' = inf is not a finite number: give a finite value"),
        ({"lr": float("nan")}, "x.toml [train]: 'lr' = nan is not a finite number: give a finite value"),
        ({"epochs": 0}, "x.toml [train]: training option 'epochs' = 0 is invalid: use an integer >= 1"),
        ({"epochs": 2, "lr": "x", "zz": 1}, "'lr' = 'x' has the wrong type"),  # the first bad key in file order
        ({"zz": 1, "lr": "x"}, "unknown key 'zz'"),
        ([1, 2], "x.toml [train]: expected a table of settings, got list"),
    ],
)
def test_bad_train_tables_give_one_message(data, message):
    with pytest.raises(ConfigError) as info:
        from_mapping(TrainConfig, data, "x.toml [train]")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_sample_and_search_configs_give_one_message():
    config = json.loads((ROOT / "datasets" / "reber-rnn" / "config.json").read_text(encoding="utf-8"))
    with pytest.raises(
        ConfigError, match=r"^c.json: 'priors' = \[1\] has the wrong type: it must be list\[str\] or None"
    ):
        from_mapping(SampleConfig, {**config, "priors": [1]}, "c.json")  # was a raw TypeError
    with pytest.raises(ConfigError, match="^c.json: required key 'task' is missing: add it"):
        from_mapping(SampleConfig, {k: v for k, v in config.items() if k != "task"}, "c.json")
    with pytest.raises(ConfigError, match="^c.json: unknown key 'nn': did you mean 'n'?"):
        from_mapping(SampleConfig, {**config, "nn": 1}, "c.json")
    with pytest.raises(ConfigError, match="^s.json: 'data_dir' = 3 has the wrong type: it must be str or None"):
        SearchConfig.from_dict({"task": "digits", "space": {}, "data_dir": 3}, "s.json")


def test_check_value_reads_annotations_as_text():
    assert check_value("n", 3, "int", "w") == 3
    assert check_value("o", ("a",), "list", "w") == ("a",)  # a tuple is a list
    assert check_value("x", object, "SomeClass", "w") is object  # an unknown name accepts anything
    with pytest.raises(ConfigError, match="^w: 'p' = 3 has the wrong type: it must be str or None$"):
        check_value("p", 3, "str | None", "w")
    with pytest.raises(ConfigError, match="not a finite number"):
        check_value("q", float("inf"), float, "w")


# -- records ---------------------------------------------------------------------------------------------

GOOD = {
    "key": "k",
    "status": "trained",
    "task": "digits",
    "genome": {"prior": "complete", "mapping": "layered", "n_nodes": 2, "n_layers": 2, "width": 16},
    "metrics": {"val_acc": 0.5, "test_acc": None},
    "features": {"n_weights": 100},
    "curve": [{"epoch": 1}],
    "anything": {"else": "kept"},
}
TAIL = ": this is not a record nasprior wrote; remove the line (or restore the file) and resume"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task": ...}, "field 'task' is missing"),
        ({"key": 3}, "field 'key' must be a string, got 3"),
        ({"status": "weird"}, "field 'status' = 'weird' is not one of trained, skipped, failed"),
        ({"genome": [1]}, "field 'genome' must be a JSON object, got [1]"),
        ({"metrics": "high"}, "field 'metrics' must be a JSON object, got 'high'"),
        ({"metrics": {"val_acc": True}}, "field 'metrics.val_acc' must be a finite number or null, got True"),
        ({"metrics": {"val_acc": float("nan")}}, "field 'metrics.val_acc' must be a finite number or null, got nan"),
        ({"metrics": {"zz": "a", "val_acc": float("nan")}}, "field 'metrics.zz' must be a finite number or null"),
        ({"features": {"a": "x"}}, "field 'features.a' must be a finite number or null, got 'x'"),
        ({"generation": "1"}, "field 'generation' must be an integer or null, got '1'"),
        ({"metrics": {"test_acc": 0.4}}, "field 'metrics.val_acc' must be a finite number for a trained record"),
        ({"status": "skipped"}, "field 'metrics.predicted_val_acc' must be a finite number for a skipped record"),
        ({"genome": {"prior": ["gnp"]}}, "field 'genome' is invalid (genome field 'prior' = ['gnp'] is unknown"),
    ],
)
def test_bad_records_give_one_message(change, message):
    record = {k: v for k, v in {**copy.deepcopy(GOOD), **change}.items() if v is not ...}
    with pytest.raises(RecordError) as info:
        Record.check(record, "runs/r/records.jsonl, line 3")
    text = str(info.value)
    assert text.startswith("runs/r/records.jsonl, line 3: " + message) and text.endswith(TAIL), text


def test_a_record_keeps_its_other_fields_and_values_as_they_are():
    record = {**copy.deepcopy(GOOD), "generation": None}
    checked = Record.check(record, "w")
    assert checked["anything"] == {"else": "kept"} and checked["features"]["n_weights"] == 100
    assert isinstance(checked["features"]["n_weights"], int)  # not made a float
    assert checked["legacy_key"] == "k" and checked["key"] != "k"  # the key is recomputed, as before
    assert Record.check({**GOOD, "status": "failed", "metrics": {}}, "w")["status"] == "failed"


# -- model cards -----------------------------------------------------------------------------------------


def _card(change) -> dict:
    card = json.loads(CARD.read_text(encoding="utf-8"))
    change(card)
    return card


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(schema=99), "c.json has schema version 99; this nasprior reads versions 1, 2: refit"),
        (lambda c: c.pop("schema"), "c.json has schema version None"),
        (lambda c: c.pop("target"), "c.json: field 'target' is missing or not a str: the card is damaged"),
        (lambda c: c["task"].update(n_classes=True), "field 'task.n_classes' is missing or not a int"),
        (lambda c: c["features"]["min"].pop("n_layers"), "field 'features' lacks the training range of n_layers"),
        (lambda c: c["features"]["max"].update(n_layers=None), "field 'features.max.n_layers' = None is not a finite"),
        (lambda c: c["features"].update(genes={"cell": "gru"}), "field 'features.genes' must map each gene to a list"),
        (lambda c: c.update(model_file="../../etc/passwd"), "field 'model_file' = '../../etc/passwd' is not a file"),
        (lambda c: c.update(where={"cell": 1}), "field 'where' must map genes to values (text) (cell = 1)"),
        (lambda c: c.update(source="x"), "field 'source' = 'x' is not 'runs' or 'graphs'"),
        (lambda c: c["task"].update(vocab_size=-1), "field 'task.vocab_size' = -1 is not a count"),
        (lambda c: c["scores"]["structural"]["r2"].update(mean="x"), "field 'scores.structural.r2.mean' = 'x' is not"),
        (lambda c: c.update(intervals={"half_width": {"1.5": 0.1}}), "field 'intervals' must be a table whose"),
    ],
)
def test_bad_cards_give_one_message(change, message):
    with pytest.raises(PredictorError) as info:
        check_card(_card(change), "c.json")
    assert message in str(info.value) and "refit the predictor with 'nasprior predictor fit'" in str(info.value)


def test_a_schema_1_card_still_reads():
    check_card(_card(lambda c: c.update(schema=1)), "c.json")


# -- never a raw pydantic error --------------------------------------------------------------------------

ODD = [None, True, 0, -1, 1.5, float("nan"), "", "x", [], [1], {}, {"a": None}, {"": [None]}, (1,)]


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_no_input_reaches_the_user_as_a_pydantic_error(value):
    card = json.loads(CARD.read_text(encoding="utf-8"))
    calls = [lambda: check_record(value, "w"), lambda: check_card(value, "w")]
    calls += [lambda f=f: check_record({**GOOD, f: value}, "w") for f in ("key", "status", "metrics", "generation")]
    calls += [lambda f=f: check_card({**card, f: value}, "w") for f in ("task", "features", "intervals", "where")]
    calls += [lambda f=f.name: from_mapping(TrainConfig, {f: value}, "w") for f in dataclasses.fields(TrainConfig)]
    search = {"task": "digits", "space": SearchSpace.from_toml(default_space_path("digits")).to_dict()}
    calls += [lambda f=f: from_mapping(SearchConfig, {**search, f: value}, "w") for f in ("final", "train", "skip")]
    for call in calls:
        try:
            call()
        except NaspriorError as exc:
            assert "\n" not in str(exc) and "pydantic" not in str(exc)
        except pydantic.ValidationError as exc:  # pragma: no cover - the failure this test is for
            pytest.fail(f"a raw pydantic error: {exc}")


def test_field_paths():
    assert field_path(("features", "names", 3)) == "features.names[3]"
    assert field_path(("intervals", "half_width", "1.5", "[key]")) == "intervals.half_width.1.5"

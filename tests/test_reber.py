"""Reber grammar: acceptor, generator, released data, tensors."""

import numpy as np
import pytest
import torch

from nasprior.errors import ConfigError, DataError
from nasprior.tasks import TASKS, load_task
from nasprior.tasks.reber import (
    NON_REBER_LETTERS,
    PAD_ID,
    REBER_ALPHABET,
    UNK_ID,
    VOCAB,
    VOCAB_SIZE,
    encode,
    generate_dataset,
    generate_embedded_reber,
    generate_reber,
    is_embedded_reber,
    is_reber,
    load_reber,
    load_reber_task,
    make_hard_negative,
    make_soft_negative,
    read_reber_csv,
    string_groups,
)


# Traced by hand through the automaton 0-B->1, 1-T->2, 1-P->3, 2-S->2, 2-X->4,
# 3-T->3, 3-V->5, 4-X->3, 4-S->6, 5-P->4, 5-V->6, 6-E->accept.
@pytest.mark.parametrize(
    "s, ok",
    [
        ("BTSSXXTVVE", True),  # 1 2 2 2 4 3 3 5 6 E
        ("BTXSE", True),  # the shortest strings
        ("BPVVE", True),
        ("BTSSXSE", True),
        ("BPTVPXTTVVE", True),  # 3 3 5 4 3 3 3 5 6 E
        ("BPVPXVVE", True),  # 3 5 4 3 5 6 E
        ("BTSXE", False),  # state 4 has no E
        ("BTSSXXTVV", False),  # no final E
        ("TSXSE", False),  # no initial B
        ("BTXSEE", False),  # letters after the end
        ("BTXXE", False),  # 4 -X-> 3 cannot end
        ("BPVVEBPVVE", False),
        ("BTASE", False),  # letter outside the alphabet
        ("", False),
    ],
)
def test_is_reber_hand_examples(s, ok):
    assert is_reber(s) is ok


@pytest.mark.parametrize(
    "s, ok",
    [
        ("BTBTXSETE", True),
        ("BPBPVVEPE", True),
        ("BTBTXSEPE", False),
        ("BPBTXSETE", False),
        ("BTBTXSE", False),
        ("BTBTXSTE", False),
    ],
)
def test_is_embedded_reber_hand_examples(s, ok):
    assert is_embedded_reber(s) is ok


def test_generated_positives_are_accepted_and_within_bounds():
    rng = np.random.default_rng(0)
    strings = [generate_reber(rng, 11, 20) for _ in range(300)]
    assert all(is_reber(s) and 11 <= len(s) <= 20 for s in strings)
    assert len(set(strings)) > 100  # a real random walk, not one string
    embedded = [generate_embedded_reber(rng) for _ in range(200)]
    assert all(is_embedded_reber(s) for s in embedded)
    assert {s[1] for s in embedded} == {"T", "P"}


def test_negatives_are_rejected_and_of_the_right_kind():
    rng = np.random.default_rng(1)
    for _ in range(300):
        s = generate_reber(rng)
        hard = make_hard_negative(s, rng)
        assert not is_reber(hard) and set(hard) <= set(REBER_ALPHABET)
        soft = make_soft_negative(s, rng)
        assert not is_reber(soft) and set(soft) & set(NON_REBER_LETTERS)
        assert soft[0] == "B" and soft[-1] == "E" and len(soft) == len(s)
        e = generate_embedded_reber(rng)
        assert not is_embedded_reber(make_hard_negative(e, rng, embedded=True))


@pytest.mark.parametrize("embedded", [False, True])
def test_generate_dataset_labels_agree_with_acceptor(embedded):
    strings, labels = generate_dataset(600, embedded=embedded, hard_fraction=0.4, seed=3)
    accept = is_embedded_reber if embedded else is_reber
    assert labels.dtype == np.int64 and labels.shape == (600,)
    assert [int(accept(s)) for s in strings] == labels.tolist()
    groups = string_groups(strings, labels)
    assert groups["pos"].sum() == 300
    assert groups["hard_neg"].sum() == 120 and groups["soft_neg"].sum() == 180
    # seeded: same seed, same set; another seed, another set
    assert generate_dataset(600, embedded=embedded, hard_fraction=0.4, seed=3)[0] == strings
    assert generate_dataset(600, embedded=embedded, hard_fraction=0.4, seed=4)[0] != strings


def test_generate_dataset_rejects_bad_options():
    with pytest.raises(ConfigError, match="at least 1"):
        generate_dataset(0)
    with pytest.raises(ConfigError, match="hard_fraction"):
        generate_dataset(10, hard_fraction=1.5)
    with pytest.raises(ConfigError, match="max_length"):
        generate_dataset(10, min_length=3, max_length=4)


def test_released_set_agrees_with_the_acceptor(shared_data):
    s_tr, y_tr, s_te, y_te = load_reber(shared_data)
    assert (len(s_tr), len(s_te)) == (18750, 6250)
    assert (int(y_tr.sum()), int(y_te.sum())) == (9339, 3161)
    for strings, labels in ((s_tr, y_tr), (s_te, y_te)):
        accepted = np.array([is_reber(s) for s in strings])
        assert accepted[labels == 1].all()  # every released positive is grammatical
        assert not accepted[labels == 0].any()  # every released negative is not
    groups = string_groups(s_tr, y_tr)
    assert int(groups["hard_neg"].sum()) == 4118 and int(groups["soft_neg"].sum()) == 5293


def test_missing_released_data_says_where_it_looked(tmp_path):
    with pytest.raises(DataError) as info:
        load_reber(tmp_path)
    assert str(tmp_path / "reber" / "train.csv") in str(info.value)
    assert "reber_generated" in str(info.value)


def test_malformed_csv_is_a_data_error(tmp_path):
    bad = tmp_path / "train.csv"
    bad.write_text(",text,label\n0,BTXSE,1\n")
    with pytest.raises(DataError, match="'string' and 'valid'"):
        read_reber_csv(bad)
    bad.write_text(",string,valid\n0,BTXSE,2\n")
    with pytest.raises(DataError, match="line 2"):
        read_reber_csv(bad)
    bad.write_text(",string,valid\n0,BTXSE,1\n1,BTXE,0\n")
    strings, labels = read_reber_csv(bad)
    assert strings == ["BTXSE", "BTXE"] and labels.tolist() == [1, 0]


def test_encode_pads_right_with_zero_and_maps_unknowns():
    x = encode(["BTXSE", "BA", "B?"], max_len=6)
    assert x.dtype == torch.int64 and x.shape == (3, 6)
    assert x[0].tolist() == [VOCAB[c] for c in "BTXSE"] + [PAD_ID]
    assert x[1, 1].item() == VOCAB["A"] and x[2, 1].item() == UNK_ID
    assert (x[1, 2:] == PAD_ID).all()
    assert int(x.max()) < VOCAB_SIZE and min(VOCAB.values()) > UNK_ID > PAD_ID
    with pytest.raises(DataError, match="empty"):
        encode(["BTXSE", ""])
    with pytest.raises(DataError, match="max_len"):
        encode(["BTXSE"], max_len=3)


def test_generated_task_splits_and_groups():
    data = load_reber_task("generated", n_generated=800, seed=0, validation_size=0.25)
    assert data.name == "reber_generated" and data.vocab_size == VOCAB_SIZE and data.n_classes == 2
    assert len(data.x_test) == 200 and len(data.x_train) + len(data.x_val) == 600
    assert data.x_train.shape[1] == data.x_test.shape[1]
    assert set(data.test_groups) == {"pos", "hard_neg", "soft_neg"}
    total = sum(int(m.sum()) for m in data.test_groups.values())
    assert total == len(data.x_test)
    assert torch.equal(data.test_groups["pos"], data.y_test == 1)
    # the validation split is stratified by group: about 50% positives
    assert abs(float(data.y_val.float().mean()) - 0.5) < 0.03
    other = load_reber_task("generated", n_generated=800, seed=1, validation_size=0.25)
    assert torch.equal(other.x_test, data.x_test) and not torch.equal(other.y_val, data.y_val)


def test_reber_tasks_are_registered(shared_data):
    assert {"reber", "reber_generated", "reber_embedded"} <= set(TASKS)
    data = load_task("reber", shared_data, seed=0)
    assert data.x_train.shape == (16875, 53) and data.x_val.shape == (1875, 53) and data.x_test.shape == (6250, 53)
    assert int(data.test_groups["hard_neg"].sum()) == 1382
    with pytest.raises(ConfigError, match="not embedded"):
        load_reber_task("released", shared_data, embedded=True)
    with pytest.raises(ConfigError, match="released"):
        load_reber_task("downloaded")

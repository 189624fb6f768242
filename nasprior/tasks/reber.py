"""The Reber grammar task: automaton, acceptor, generator, released data, tensors.

The Reber grammar (Reber 1967) is the finite automaton below over the seven
letters ``B T S X P V E``; every grammatical string starts with ``B`` and ends
with ``E``::

    state 0 --B--> 1
    state 1 --T--> 2      state 1 --P--> 3
    state 2 --S--> 2      state 2 --X--> 4
    state 3 --T--> 3      state 3 --V--> 5
    state 4 --X--> 3      state 4 --S--> 6
    state 5 --P--> 4      state 5 --V--> 6
    state 6 --E--> 7 (accept)

The embedded Reber grammar (Hochreiter & Schmidhuber 1997) wraps a Reber
string as ``B T <reber> T E`` or ``B P <reber> P E``: the second and the
second-to-last letter must agree, a long-range dependency.

As in Stier, Darji & Granitzer (2021) the task is binary classification (is
the string grammatical?). Their released set (:func:`load_reber`) has
negatives of two kinds, and this module's generator (:func:`generate_dataset`)
makes both:

* *soft* negatives contain letters outside the Reber alphabet (here: a
  grammatical string with some of its inner letters replaced by random
  letters from ``A-Z`` outside the alphabet);
* *hard* negatives use Reber letters only but the automaton rejects them
  (here: a grammatical string with one to three random edits: substitution,
  insertion or deletion of a Reber letter, or a swap of two neighbours; kept
  only when :func:`is_reber` rejects the result).

About 56% of the released negatives are soft, so accuracy must also be
reported on the hard negatives (:data:`GROUPS`).

Strings become integer ids over one fixed vocabulary (:data:`VOCAB`): 0 is
padding, 1 any unknown character, 2-27 the letters ``A``-``Z`` (the union
alphabet of the released set). :func:`encode` right-pads with 0; the recurrent
networks (:mod:`nasprior.networks.recurrent`) read each string's true length from the
padding and pack the batch, so padding never changes a prediction.

References
----------
.. [Reber1967] A. S. Reber, "Implicit learning of artificial grammars",
   Journal of Verbal Learning and Verbal Behavior 6(6):855-863, 1967.
.. [HS1997] S. Hochreiter and J. Schmidhuber, "Long short-term memory",
   Neural Computation 9(8):1735-1780, 1997 (embedded Reber grammar).
.. [Stier2021] J. Stier, H. Darji and M. Granitzer, "Experiments on Properties
   of Hidden Structures of Sparse Neural Networks", arXiv:2107.12917, 2021.

Why this module is long: the grammar, its two kinds of negatives, the released
set's reader and the task's encoding are one data set's definition; split, each
part would import the others.
"""

from __future__ import annotations

import csv
import os
import string
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError
from .base import Task, TaskData, TaskShape, register_task, split_validation
from .image_files import resolve_data_dir

__all__ = [
    "REBER_ALPHABET",
    "TRANSITIONS",
    "VOCAB",
    "PAD_ID",
    "UNK_ID",
    "GROUPS",
    "is_reber",
    "is_embedded_reber",
    "generate_reber",
    "generate_embedded_reber",
    "make_soft_negative",
    "make_hard_negative",
    "generate_dataset",
    "string_groups",
    "read_reber_csv",
    "load_reber",
    "encode",
    "load_reber_task",
]

#: The seven letters of the Reber grammar.
REBER_ALPHABET = "BTSXPVE"
#: The Reber automaton: ``state -> {letter: next state}``; state 0 is the start,
#: :data:`ACCEPT` the only accepting state.
TRANSITIONS: dict[int, dict[str, int]] = {
    0: {"B": 1},
    1: {"T": 2, "P": 3},
    2: {"S": 2, "X": 4},
    3: {"T": 3, "V": 5},
    4: {"X": 3, "S": 6},
    5: {"P": 4, "V": 6},
    6: {"E": 7},
}
ACCEPT = 7
#: Letters outside the Reber alphabet, used for soft negatives.
NON_REBER_LETTERS = "".join(c for c in string.ascii_uppercase if c not in REBER_ALPHABET)

#: Id of padding (right padding; never a character).
PAD_ID = 0
#: Id of any character outside ``A``-``Z``.
UNK_ID = 1
#: Character vocabulary: ``A``-``Z`` -> 2..27 (the union alphabet of the released set).
VOCAB: dict[str, int] = {c: i + 2 for i, c in enumerate(string.ascii_uppercase)}
#: Number of token ids (padding and unknown included).
VOCAB_SIZE = len(VOCAB) + 2

#: Longest string read from a Reber CSV file (the released set's longest is 53 characters; every
#: sequence of a batch is padded to the longest, so one huge string would multiply the memory of all).
MAX_STRING_LENGTH = 1000
#: Test-example groups reported separately: grammatical strings, hard negatives
#: (Reber letters only), soft negatives (some letter outside the alphabet).
GROUPS = ("pos", "hard_neg", "soft_neg")

#: File names of the released set of Stier et al. inside the data folder.
RELEASED_FILES = {"train": "reber/train.csv", "test": "reber/test.csv"}

#: Default length bounds of generated grammatical strings: those of the released set's positives.
MIN_LENGTH, MAX_LENGTH = 11, 53
#: Share of the released set's negatives that are hard (Reber letters only): 4118 of 9411 in train.
RELEASED_HARD_FRACTION = 0.44


# --------------------------------------------------------------------------- #
# Acceptors
# --------------------------------------------------------------------------- #


def is_reber(s: str) -> bool:
    """Whether the Reber automaton accepts ``s`` [Reber1967]_.

    Parameters
    ----------
    s : str
        Any string; characters outside ``B T S X P V E`` are rejected.

    Returns
    -------
    bool
        True when ``s`` is a complete path of the automaton (``B`` ... ``E``).

    Examples
    --------
    >>> is_reber("BTSSXXTVVE"), is_reber("BTSXE")
    (True, False)
    """
    state = 0
    for ch in s:
        state = TRANSITIONS.get(state, {}).get(ch, -1)
        if state < 0:
            return False
    return state == ACCEPT


def is_embedded_reber(s: str) -> bool:
    """Whether ``s`` is an embedded Reber string ``B T <reber> T E`` or ``B P <reber> P E`` [HS1997]_.

    Parameters
    ----------
    s : str

    Returns
    -------
    bool
    """
    return len(s) >= 9 and s[0] == "B" and s[-1] == "E" and s[1] in "TP" and s[-2] == s[1] and is_reber(s[2:-2])


# --------------------------------------------------------------------------- #
# Generator
# --------------------------------------------------------------------------- #


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_lengths(min_length: int, max_length: int, embedded: bool) -> None:
    shortest = 9 if embedded else 5  # BTXSE; BT BTXSE TE
    if max_length < max(min_length, shortest):
        raise ConfigError(
            f"string lengths [{min_length}, {max_length}] admit no "
            f"{'embedded ' if embedded else ''}Reber string: use max_length >= {max(min_length, shortest)}"
        )


def generate_reber(
    seed: int | np.random.Generator | None = None, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH
) -> str:
    """One random grammatical Reber string (a random walk through the automaton).

    At every state each outgoing transition is taken with equal probability
    [Reber1967]_; walks outside ``[min_length, max_length]`` are drawn again.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
    min_length, max_length : int
        Inclusive length bounds (characters, ``B`` and ``E`` included).

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        If no Reber string fits the bounds (``max_length < 5``).
    """
    _check_lengths(min_length, max_length, embedded=False)
    rng = _rng(seed)
    while True:
        state, out = 0, []
        while state != ACCEPT and len(out) <= max_length:
            letters = list(TRANSITIONS[state])
            ch = letters[int(rng.integers(len(letters)))]
            out.append(ch)
            state = TRANSITIONS[state][ch]
        if state == ACCEPT and min_length <= len(out) <= max_length:
            return "".join(out)


def generate_embedded_reber(
    seed: int | np.random.Generator | None = None, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH
) -> str:
    """One random embedded Reber string ``B a <reber> a E`` with ``a`` in {T, P} [HS1997]_.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
    min_length, max_length : int
        Inclusive bounds on the whole string's length.

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        If no embedded string fits the bounds (``max_length < 9``).
    """
    _check_lengths(min_length, max_length, embedded=True)
    rng = _rng(seed)
    inner = generate_reber(rng, max(5, min_length - 4), max_length - 4)
    a = "TP"[int(rng.integers(2))]
    return f"B{a}{inner}{a}E"


def make_soft_negative(s: str, seed: int | np.random.Generator | None = None) -> str:
    """Replace some inner letters of ``s`` by random letters outside the Reber alphabet.

    The number of replaced letters is uniform in ``[1, len(s) - 2]``; the
    first and last letters (``B``, ``E``) are kept, as in the released set.

    Parameters
    ----------
    s : str
        A string of at least 3 characters.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    str
        Same length as ``s``; contains at least one letter outside the alphabet.
    """
    rng = _rng(seed)
    chars = list(s)
    inner = np.arange(1, len(s) - 1)
    n_sub = int(rng.integers(1, len(inner) + 1))
    for pos in rng.choice(inner, size=n_sub, replace=False):
        chars[pos] = NON_REBER_LETTERS[int(rng.integers(len(NON_REBER_LETTERS)))]
    return "".join(chars)


def make_hard_negative(
    s: str, seed: int | np.random.Generator | None = None, embedded: bool = False, max_edits: int = 3
) -> str:
    """A string of Reber letters near ``s`` that the grammar rejects.

    Applies one to ``max_edits`` random edits (substitute, insert or delete a
    Reber letter, or swap two neighbouring letters) and redraws until the
    acceptor (:func:`is_reber`, or :func:`is_embedded_reber` when
    ``embedded``) rejects the result.

    Parameters
    ----------
    s : str
        A grammatical string.
    seed : int, numpy.random.Generator or None
    embedded : bool
        Which grammar must reject the result.
    max_edits : int
        Most edits applied (>= 1).

    Returns
    -------
    str
        Made of Reber letters only, rejected by the acceptor.
    """
    rng = _rng(seed)
    accept = is_embedded_reber if embedded else is_reber
    while True:
        chars = list(s)
        for _ in range(int(rng.integers(1, max_edits + 1))):
            op = int(rng.integers(4))
            pos = int(rng.integers(len(chars)))
            letter = REBER_ALPHABET[int(rng.integers(len(REBER_ALPHABET)))]
            if op == 0:
                chars[pos] = letter
            elif op == 1:
                chars.insert(pos, letter)
            elif op == 2 and len(chars) > 2:
                del chars[pos]
            elif op == 3 and pos + 1 < len(chars):
                chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
        out = "".join(chars)
        if not accept(out):
            return out


def generate_dataset(
    n: int,
    embedded: bool = False,
    hard_fraction: float = RELEASED_HARD_FRACTION,
    positive_fraction: float = 0.5,
    min_length: int = MIN_LENGTH,
    max_length: int = MAX_LENGTH,
    seed: int | None = 0,
) -> tuple[list[str], np.ndarray]:
    """A seeded, shuffled Reber classification set like that of Stier et al. (2021).

    Parameters
    ----------
    n : int
        Number of strings (>= 1).
    embedded : bool
        Use the embedded Reber grammar [HS1997]_ instead of the plain one.
    hard_fraction : float
        Fraction of the negatives that are hard (Reber letters only, rejected
        by the automaton); the rest are soft (letters outside the alphabet).
        Default 0.44, the share in the released set [Stier2021]_.
    positive_fraction : float
        Fraction of grammatical strings, in [0, 1].
    min_length, max_length : int
        Length bounds of the grammatical strings (negatives are edited
        positives, so their lengths differ by at most a few characters).
    seed : int or None

    Returns
    -------
    strings : list of str, length n
    labels : numpy.ndarray of int64, shape (n,)
        1 for grammatical strings, 0 for negatives.

    Raises
    ------
    ConfigError
        If ``n`` < 1, a fraction lies outside [0, 1], or the length bounds
        admit no grammatical string.
    """
    if n < 1:
        raise ConfigError(f"n = {n} strings is invalid: ask for at least 1")
    for name, value in (("hard_fraction", hard_fraction), ("positive_fraction", positive_fraction)):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} = {value} is invalid: use a fraction in [0, 1]")
    _check_lengths(min_length, max_length, embedded)
    rng = np.random.default_rng(seed)
    make = generate_embedded_reber if embedded else generate_reber
    n_pos = int(round(n * positive_fraction))
    n_hard = int(round((n - n_pos) * hard_fraction))
    n_soft = n - n_pos - n_hard
    strings = [make(rng, min_length, max_length) for _ in range(n_pos)]
    strings += [make_hard_negative(make(rng, min_length, max_length), rng, embedded) for _ in range(n_hard)]
    strings += [make_soft_negative(make(rng, min_length, max_length), rng) for _ in range(n_soft)]
    labels = np.array([1] * n_pos + [0] * (n_hard + n_soft), dtype=np.int64)
    order = rng.permutation(n)
    return [strings[i] for i in order], labels[order]


def string_groups(strings: Sequence[str], labels: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the example groups :data:`GROUPS`.

    Parameters
    ----------
    strings : sequence of str, length n
    labels : array-like of int, shape (n,)

    Returns
    -------
    dict of str to numpy.ndarray of bool, shape (n,)
        ``pos``: label 1; ``hard_neg``: label 0 and Reber letters only;
        ``soft_neg``: label 0 with some letter outside the alphabet.
    """
    labels = np.asarray(labels)
    reber_only = np.array([set(s) <= set(REBER_ALPHABET) for s in strings], dtype=bool)
    return {"pos": labels == 1, "hard_neg": (labels == 0) & reber_only, "soft_neg": (labels == 0) & ~reber_only}


# --------------------------------------------------------------------------- #
# Released data (Stier et al. 2021)
# --------------------------------------------------------------------------- #


def read_reber_csv(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Read one file of the released set (CSV with header ``,string,valid``).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    strings : list of str
    labels : numpy.ndarray of int64, shape (n,)

    Raises
    ------
    DataError
        If the file is missing, lacks the ``string``/``valid`` columns, holds
        an empty string or a label other than 0/1.
    """
    path = Path(path)
    fix = "use the released Reber set of Stier et al. (CSV with header ',string,valid')"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"string", "valid"} <= set(reader.fieldnames):
                raise DataError(f"{path}: header {reader.fieldnames} lacks the columns 'string' and 'valid': {fix}")
            strings, labels = [], []
            for line, row in enumerate(reader, start=2):
                s, v = (row["string"] or "").strip(), (row["valid"] or "").strip()
                if len(s) > MAX_STRING_LENGTH:
                    raise DataError(
                        f"{path}, line {line}: a string of {len(s):,} characters, longer than the "
                        f"{MAX_STRING_LENGTH:,} nasprior pads every sequence of a batch to: {fix}"
                    )
                if not s or v not in ("0", "1"):
                    raise DataError(
                        f"{path}, line {line}: expected a non-empty string and valid 0 or 1, got {s!r}, {v!r}: {fix}"
                    )
                strings.append(s)
                labels.append(int(v))
    except FileNotFoundError:
        raise DataError(
            f"Reber data file {path} not found: {fix}, or pass --data-dir DIR holding reber/train.csv and reber/test.csv"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc}): {fix}") from None
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise DataError(f"{path} is not a readable CSV file ({exc}): {fix}") from None
    except OSError as exc:  # a directory, no permission
        raise DataError(f"cannot read {path} ({exc.strerror or exc}): {fix}") from None
    if not strings:
        raise DataError(f"{path} holds no rows: {fix}")
    return strings, np.array(labels, dtype=np.int64)


def load_reber(data_dir: str | os.PathLike | None = None) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Load the released Reber set of Stier et al. [Stier2021]_.

    Looks for ``reber/train.csv`` and ``reber/test.csv`` (and, for a user's own
    copy, ``train.csv``/``test.csv`` directly) in the data folder.

    Parameters
    ----------
    data_dir : path-like, optional
        The data folder (see :func:`nasprior.data.resolve_data_dir`).

    Returns
    -------
    train_strings : list of str (18,750 strings in the released set)
    train_labels : numpy.ndarray of int64, shape (n_train,)
    test_strings : list of str (6,250)
    test_labels : numpy.ndarray of int64, shape (n_test,)

    Raises
    ------
    DataError
        If the files are missing (the message lists where it looked) or malformed.
    """
    root = resolve_data_dir(data_dir)
    tried = []
    for folder in (root / "reber", root):
        train_path, test_path = folder / "train.csv", folder / "test.csv"
        tried += [str(train_path), str(test_path)]
        if train_path.exists() and test_path.exists():
            return (*read_reber_csv(train_path), *read_reber_csv(test_path))
    raise DataError(
        f"Reber data not found; looked for {', '.join(tried)}: pass --data-dir DIR (a folder holding "
        "reber/train.csv and reber/test.csv), set NASPRIOR_DATA=DIR, or use the task reber_generated"
    )


# --------------------------------------------------------------------------- #
# Tensors
# --------------------------------------------------------------------------- #


def encode(strings: Sequence[str], max_len: int | None = None) -> torch.Tensor:
    """Character ids of strings, right-padded with :data:`PAD_ID`.

    Parameters
    ----------
    strings : sequence of str, length n
        Non-empty strings; ``A``-``Z`` map to 2..27 (:data:`VOCAB`), anything
        else to :data:`UNK_ID`.
    max_len : int, optional
        Padded length (default: the longest string).

    Returns
    -------
    torch.Tensor of int64, shape (n, max_len)

    Raises
    ------
    DataError
        If a string is empty or longer than ``max_len``.
    """
    lengths = [len(s) for s in strings]
    if any(length == 0 for length in lengths):
        raise DataError("cannot encode an empty string: every example needs at least one character")
    max_len = max(lengths, default=0) if max_len is None else max_len
    if any(length > max_len for length in lengths):
        raise DataError(f"a string is longer than max_len = {max_len}: raise max_len")
    out = np.full((len(strings), max_len), PAD_ID, dtype=np.int64)
    for i, s in enumerate(strings):
        out[i, : len(s)] = [VOCAB.get(ch, UNK_ID) for ch in s]
    return torch.from_numpy(out)


def load_reber_task(
    source: str = "released",
    data_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
    validation_size: float = 0.1,
    n_generated: int = 25_000,
    embedded: bool = False,
    data_seed: int = 1967,
):
    """The Reber task as a :class:`~nasprior.tasks.TaskData` of padded id tensors.

    Parameters
    ----------
    source : {"released", "generated"}
        ``released``: the set of Stier et al. [Stier2021]_ (18,750 train,
        6,250 test). ``generated``: ``n_generated`` strings from
        :func:`generate_dataset` (seed ``data_seed``, so the same set every
        run), split 75/25 into train and test like the released set.
    data_dir : path-like, optional
        Data folder of the released set.
    seed : int
        Seed of the validation split, stratified by group (positive, hard
        negative, soft negative).
    validation_size : float
        Fraction of the training split held out for validation.
    n_generated : int
        Size of a generated set (train + test).
    embedded : bool
        Generate embedded Reber strings (``source="generated"`` only).
    data_seed : int
        Seed of the generated set.

    Returns
    -------
    TaskData
        ``x_*`` int64 of shape (n_split, max_len) right-padded with 0;
        ``vocab_size`` 28; ``test_groups`` masks of :data:`GROUPS`.

    Raises
    ------
    ConfigError
        Unknown source, or an embedded released set.
    DataError
        Missing or malformed released files.
    """
    if source == "released":
        if embedded:
            raise ConfigError("the released Reber set is not embedded: use source='generated' for embedded strings")
        s_tr, y_tr, s_te, y_te = load_reber(data_dir)
        name = "reber"
    elif source == "generated":
        strings, labels = generate_dataset(n_generated, embedded=embedded, seed=data_seed)
        n_test = int(round(0.25 * n_generated))
        s_tr, y_tr, s_te, y_te = strings[n_test:], labels[n_test:], strings[:n_test], labels[:n_test]
        name = "reber_embedded" if embedded else "reber_generated"
    else:
        raise ConfigError(f"unknown Reber source {source!r}: use 'released' or 'generated'")
    groups_tr = string_groups(s_tr, y_tr)
    strata = np.select([groups_tr[g] for g in GROUPS], list(range(len(GROUPS))))
    idx_tr, idx_val = split_validation(np.asarray(y_tr), validation_size, seed, f"the {name} set", strata)
    max_len = max(len(s) for s in list(s_tr) + list(s_te))
    pick = lambda idx: [s_tr[i] for i in idx]  # noqa: E731
    long = lambda y: torch.as_tensor(np.asarray(y, dtype=np.int64))  # noqa: E731
    groups_te = string_groups(s_te, y_te)
    return TaskData(
        name,
        encode(pick(idx_tr), max_len),
        long(y_tr[idx_tr]),
        encode(pick(idx_val), max_len),
        long(y_tr[idx_val]),
        encode(s_te, max_len),
        long(y_te),
        2,
        vocab_size=VOCAB_SIZE,
        test_groups={g: torch.as_tensor(m) for g, m in groups_te.items()},
    )


register_task(
    Task(
        "reber",
        TaskShape("reber", 0, 2, VOCAB_SIZE),
        space="reber",
        load=lambda data_dir, seed, download: load_reber_task("released", data_dir, seed=seed),
        description="released Reber-grammar set of Stier et al. 2021 (<data-dir>/reber/)",
    )
)
register_task(
    Task(
        "reber_generated",
        TaskShape("reber_generated", 0, 2, VOCAB_SIZE),
        space="reber",
        load=lambda data_dir, seed, download: load_reber_task("generated", data_dir, seed=seed),
        description="25,000 strings generated from the Reber grammar (seeded)",
    )
)
register_task(
    Task(
        "reber_embedded",
        TaskShape("reber_embedded", 0, 2, VOCAB_SIZE),
        space="reber",
        load=lambda data_dir, seed, download: load_reber_task("generated", data_dir, seed=seed, embedded=True),
        description="25,000 strings generated from the embedded Reber grammar (seeded)",
    )
)

"""Image-classification data sets: find them on disk, check them, load them.

Three data sets are available, each as the 4-tuple
``(x_train, y_train, x_test, y_test)`` of NumPy arrays:

* CIFAR-10 and MNIST (:func:`load_image_dataset`), read from a data folder that
  the user provides, in any of the formats they are usually found in: the
  ``.npz`` archives of nasprior's offline copies, the official distribution
  files, or the official archive. With ``download=True`` they are fetched from
  the official source with :func:`pooch.retrieve`, with the published MD5
  checksum verified, when nothing is found locally. Nothing is ever downloaded unless asked for.
* The scikit-learn 8x8 digits (:func:`load_digits_dataset`), which ship with
  scikit-learn and need no data folder.

The data folder is the ``data_dir`` argument, else the environment variable
``NASPRIOR_DATA`` (:data:`DATA_ENV`), else ``./data``; see
:func:`resolve_data_dir`.

Every problem with the data (missing, incomplete, corrupt, wrong shape, failed
checksum, failed download) raises :class:`~nasprior.errors.DataError` with a
message that names the files involved and says how to fix it.

References
----------
.. [CIFAR] A. Krizhevsky, "Learning Multiple Layers of Features from Tiny
   Images", technical report, University of Toronto, 2009.
   https://www.cs.toronto.edu/~kriz/cifar.html
.. [MNIST] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-Based
   Learning Applied to Document Recognition", Proceedings of the IEEE
   86(11):2278-2324, 1998; the MNIST database by Y. LeCun, C. Cortes and
   C. J. C. Burges, http://yann.lecun.com/exdb/mnist/
.. [DIGITS] E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten
   Digits", UCI Machine Learning Repository, 1998,
   https://doi.org/10.24432/C50P49 (the copy bundled with scikit-learn as
   :func:`sklearn.datasets.load_digits`).

Why this module is long: one reader per distribution format (npz copies, CIFAR
pickles and tarball, MNIST idx files plain or gzipped) plus the checked download,
sharing the error-message helpers that say which file is wrong and how to fix it.
"""

from __future__ import annotations

import gzip
import logging
import os
import pathlib
import pickle
import re
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

import numpy as np
import pooch

from ..compute.progress import DownloadProgress
from ..errors import DataError

__all__ = [
    "DATA_ENV",
    "MIRROR_ENV",
    "IMAGE_DATASETS",
    "IMAGE_SHAPES",
    "NUM_CLASSES",
    "CIFAR10_URL",
    "MNIST_URL",
    "OFFICIAL_MD5",
    "resolve_data_dir",
    "load_image_dataset",
    "load_digits_dataset",
]

#: Environment variable naming the data folder (used when no ``data_dir`` is given).
DATA_ENV = "NASPRIOR_DATA"
#: Environment variable naming a download mirror (used when no ``mirror`` is given).
MIRROR_ENV = "NASPRIOR_MIRROR"
#: Names accepted by :func:`load_image_dataset`.
IMAGE_DATASETS = ("cifar10", "mnist")
#: Shape of one image of each data set, without the leading sample axis.
IMAGE_SHAPES = {"cifar10": (32, 32, 3), "mnist": (28, 28), "digits": (8, 8)}
#: Number of classes of each data set (labels are ``0 .. NUM_CLASSES - 1``).
NUM_CLASSES = {"cifar10": 10, "mnist": 10, "digits": 10}

#: Official CIFAR-10 python archive [CIFAR]_.
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
#: Folder of the MNIST idx files: the mirror torchvision uses. The original is
#: http://yann.lecun.com/exdb/mnist/ [MNIST]_, which no longer serves them reliably.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: Published MD5 checksums of the official files, by file name.
OFFICIAL_MD5 = {
    "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST_BATCH = "test_batch"
_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned byte, 3 dimensions
_IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned byte, 1 dimension

_HOW_TO_GET = (
    "pass --data-dir DIR (a folder holding the data), set {env}=DIR, or use --download to fetch the official files"
)

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def resolve_data_dir(data_dir: str | os.PathLike | None) -> pathlib.Path:
    """Return the data folder to search.

    Parameters
    ----------
    data_dir : str or os.PathLike or None
        Folder given by the user (e.g. ``--data-dir``). When ``None`` or empty,
        the environment variable ``NASPRIOR_DATA`` (:data:`DATA_ENV`) is used if
        set and non-empty, else ``./data`` relative to the working directory.

    Returns
    -------
    pathlib.Path
        The folder, with ``~`` expanded. It need not exist.
    """
    if data_dir is not None and os.fspath(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path("data")


def load_image_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = False,
    mirror: str | None = None,
    checksums: Mapping[str, str] | None = None,
) -> Arrays:
    """Load CIFAR-10 [CIFAR]_ or MNIST [MNIST]_ with their official splits.

    The data folder ``D`` (see :func:`resolve_data_dir`) is searched, in this
    order, for

    ``"cifar10"``
        1. ``D/cifar10/train.npz`` and ``D/cifar10/test.npz`` (arrays ``x``, ``y``);
        2. the official python batches ``data_batch_1`` ... ``data_batch_5`` and
           ``test_batch`` in ``D/cifar-10-batches-py/`` or
           ``D/cifar10/cifar-10-batches-py/``;
        3. the official archive ``cifar-10-python.tar.gz`` in ``D/`` or
           ``D/cifar10/``, which is extracted (members with absolute paths,
           ``..`` or links are refused) into the folder that holds it.
    ``"mnist"``
        1. ``D/mnist/train.npz`` and ``D/mnist/test.npz``;
        2. the official idx files ``train-images-idx3-ubyte``,
           ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
           ``t10k-labels-idx1-ubyte``, each plain or gzipped (``.gz``), all four
           in one of ``D/mnist/``, ``D/MNIST/raw/`` (torchvision's layout) or ``D/``.

    Parameters
    ----------
    name : {"cifar10", "mnist"}
        Data set (case-insensitive).
    data_dir : str or os.PathLike or None, optional
        Data folder; see :func:`resolve_data_dir`.
    download : bool, default False
        When nothing is found locally, fetch the official files into
        ``D/cifar10/`` or ``D/mnist/`` (creating the folders), verify their MD5
        checksums, and load them. Never downloads when local data is found.
    mirror : str or None, optional
        Base URL (the folder holding the official file names) to download from
        instead of the official source; defaults to the environment variable
        ``NASPRIOR_MIRROR`` (:data:`MIRROR_ENV`). ``https://``, ``http://`` and
        ``ftp://`` (pooch's downloaders) and ``file://`` (a local copy) work.
    checksums : mapping of str to str, optional
        MD5 hex digests by file name (e.g. ``"cifar-10-python.tar.gz"``) that
        replace the official ones of :data:`OFFICIAL_MD5`; for tests and private
        mirrors only.

    Returns
    -------
    x_train : numpy.ndarray of uint8
        Training images, pixel values 0..255. CIFAR-10: shape (N, 32, 32, 3),
        height x width x channel, channels RGB. MNIST: shape (N, 28, 28),
        0 = background, 255 = ink. The official files hold N = 50000 (CIFAR-10)
        and N = 60000 (MNIST).
    y_train : numpy.ndarray of int64, shape (N,)
        Class labels 0..9 (CIFAR-10: airplane, automobile, bird, cat, deer,
        dog, frog, horse, ship, truck; MNIST: the digit).
    x_test : numpy.ndarray of uint8
        Test images, shaped like ``x_train`` (official N = 10000 for both).
    y_test : numpy.ndarray of int64, shape (N,)
        Test labels.

    Images are in the order of the official distribution files (CIFAR-10
    train: ``data_batch_1`` to ``data_batch_5`` concatenated).

    Raises
    ------
    DataError
        If ``name`` is unknown; if no data is found (the message lists every
        path tried) and ``download`` is false; if a file is corrupt, truncated
        or has the wrong shape, dtype or labels (the message names the file);
        if the archive holds unsafe members or cannot be extracted; if a
        download fails or its checksum does not match (the partial file is
        deleted).
    """
    key = str(name).strip().lower()
    if key not in IMAGE_DATASETS:
        raise DataError(f"unknown image data set {name!r}; choose one of {', '.join(IMAGE_DATASETS)}")
    root = resolve_data_dir(data_dir)
    finder: Callable[[Path, list[str]], Arrays | None] = _find_cifar10 if key == "cifar10" else _find_mnist
    tried: list[str] = []
    arrays = finder(root, tried)
    if arrays is None:
        if not download:
            raise DataError(_not_found_message(key, root, tried))
        base = mirror if mirror else os.environ.get(MIRROR_ENV, "").strip() or None
        md5s = dict(OFFICIAL_MD5)
        if checksums:
            md5s.update({k: str(v).lower() for k, v in checksums.items()})
        if key == "cifar10":
            _download_cifar10(root, base, md5s)
        else:
            _download_mnist(root, base, md5s)
        tried = []
        arrays = finder(root, tried)
        if arrays is None:  # pragma: no cover - the download puts files where we look
            raise DataError(_not_found_message(key, root, tried))
    return arrays


def load_digits_dataset() -> Arrays:
    """Load the scikit-learn 8x8 handwritten digits [DIGITS]_ with a fixed split.

    The 1797 images of :func:`sklearn.datasets.load_digits` (counts 0..16 of
    ink pixels in each 4x4 block of a 32x32 bitmap) are scaled to 0..255 as
    ``round(v * 255 / 16)`` and split with
    ``sklearn.model_selection.train_test_split(test_size=0.2, random_state=0,
    stratify=y)``, so the split is the same on every call and every machine.

    Returns
    -------
    x_train : numpy.ndarray of uint8, shape (1437, 8, 8)
        Training images, 0 = background, 255 = ink.
    y_train : numpy.ndarray of int64, shape (1437,)
        Labels, the digit 0..9.
    x_test : numpy.ndarray of uint8, shape (360, 8, 8)
        Test images (20 %, stratified by class).
    y_test : numpy.ndarray of int64, shape (360,)
        Test labels.

    Raises
    ------
    DataError
        If scikit-learn's bundled copy cannot be read.
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
    except (ImportError, OSError, ValueError) as exc:
        raise DataError(
            f"could not load the scikit-learn digits data set ({exc}); "
            "reinstall scikit-learn (pip install --force-reinstall scikit-learn)"
        ) from exc
    images = np.asarray(digits.images, dtype=np.float64)
    x = np.rint(images * 255.0 / 16.0).clip(0, 255).astype(np.uint8)
    y = np.asarray(digits.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return (
        np.ascontiguousarray(x_train),
        np.ascontiguousarray(y_train),
        np.ascontiguousarray(x_test),
        np.ascontiguousarray(y_test),
    )


# --------------------------------------------------------------------------- #
# Messages and checks
# --------------------------------------------------------------------------- #


def _redownload_hint(path: Path | str) -> str:
    return f"delete {path} and download it again (e.g. with --download)"


def _not_found_message(key: str, root: Path, tried: list[str]) -> str:
    label = "CIFAR-10" if key == "cifar10" else "MNIST"
    source = CIFAR10_URL if key == "cifar10" else MNIST_URL
    where = "\n".join(f"  - {t}" for t in tried)
    return (
        f"{label} data not found in data folder {root} "
        f"(resolved to {root.resolve()}). Looked for:\n{where}\n"
        f"To get it, {_HOW_TO_GET.format(env=DATA_ENV)} "
        f"(downloads from {source} into {root / key})."
    )


def _check_split(key: str, x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate one split; return ``x`` (uint8, C-contiguous) and ``y`` (int64)."""
    shape = IMAGE_SHAPES[key]
    x = np.asarray(x)
    y = np.asarray(y)
    if x.dtype != np.uint8:
        raise DataError(f"{where}: images have dtype {x.dtype}, expected uint8; {_redownload_hint(where)}")
    if x.ndim != 1 + len(shape) or tuple(x.shape[1:]) != shape:
        raise DataError(
            f"{where}: images have shape {x.shape}, expected (N, {', '.join(map(str, shape))}); "
            f"{_redownload_hint(where)}"
        )
    if x.shape[0] == 0:
        raise DataError(f"{where}: holds no images; {_redownload_hint(where)}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise DataError(f"{where}: {x.shape[0]} images but labels of shape {y.shape}; {_redownload_hint(where)}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: labels have dtype {y.dtype}, expected integers; {_redownload_hint(where)}")
    n_classes = NUM_CLASSES[key]
    if y.min() < 0 or y.max() >= n_classes:
        raise DataError(
            f"{where}: labels range {int(y.min())}..{int(y.max())}, expected 0..{n_classes - 1}; "
            f"{_redownload_hint(where)}"
        )
    return np.ascontiguousarray(x), y.astype(np.int64)


def _finish(key: str, train: tuple, test: tuple, where_train: str, where_test: str) -> Arrays:
    x_tr, y_tr = _check_split(key, *train, where_train)
    x_te, y_te = _check_split(key, *test, where_test)
    return x_tr, y_tr, x_te, y_te


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read arrays ``x`` and ``y`` of an ``.npz`` archive, or raise DataError."""
    try:
        # Open the file here so that it is closed even when np.load fails on it.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            missing = [k for k in ("x", "y") if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: archive lacks array(s) {', '.join(missing)} "
                    f"(has {', '.join(npz.files) or 'none'}); {_redownload_hint(path)}"
                )
            return npz["x"], npz["y"]
    except DataError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(
            f"{path}: cannot read this .npz archive, it is corrupt or truncated ({exc}); {_redownload_hint(path)}"
        ) from exc


def _load_npz_pair(key: str, folder: Path) -> Arrays:
    train, test = folder / "train.npz", folder / "test.npz"
    return _finish(key, _read_npz(train), _read_npz(test), str(train), str(test))


def _npz_candidate(key: str, folder: Path, tried: list[str]) -> Arrays | None:
    train, test = folder / "train.npz", folder / "test.npz"
    have = [p for p in (train, test) if p.is_file()]
    note = ""
    if len(have) == 1:
        note = f" (only {have[0].name} is there)"
    tried.append(f"{train} and {test}{note}")
    if len(have) == 2:
        return _load_npz_pair(key, folder)
    return None


# --------------------------------------------------------------------------- #
# CIFAR-10
# --------------------------------------------------------------------------- #


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds only NumPy arrays, lists, bytes and dicts.

    The official CIFAR-10 python batches are pickles. Only files that the user
    placed in their own data folder (or that were downloaded here and matched
    the published checksum) are read, and even so this unpickler refuses any
    global other than the few NumPy needs to rebuild an array, so a tampered
    file cannot run code.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes with protocol <= 2
    }

    def find_class(self, module: str, name: str):  # noqa: D102 - see class
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core.") :]  # NumPy >= 2 name, no warning
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one official CIFAR-10 python batch; return HWC images and labels."""
    try:
        with open(path, "rb") as f:
            # Same as pickle.load(f, encoding="bytes") on the official files, but
            # restricted to NumPy arrays (see _ArrayUnpickler).
            batch = _ArrayUnpickler(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"])
        labels = np.asarray(batch[b"labels"])
    except Exception as exc:  # any unpickling failure means a bad file
        raise DataError(
            f"{path}: cannot read this CIFAR-10 batch, it is corrupt, truncated or not "
            f"an official python batch ({type(exc).__name__}: {exc}); {_redownload_hint(path)}"
        ) from exc
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(
            f"{path}: b'data' has shape {data.shape} and dtype {data.dtype}, expected "
            f"(N, 3072) uint8; {_redownload_hint(path)}"
        )
    if labels.shape != (data.shape[0],):
        raise DataError(f"{path}: {data.shape[0]} images but {labels.shape} labels; {_redownload_hint(path)}")
    # Rows are 1024 red, 1024 green, 1024 blue values, each plane row-major.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def _load_cifar_batches(folder: Path) -> Arrays:
    parts = [_read_cifar_batch(folder / b) for b in _CIFAR_TRAIN_BATCHES]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _read_cifar_batch(folder / _CIFAR_TEST_BATCH)
    return _finish(
        "cifar10",
        (x_train, y_train),
        (x_test, y_test),
        f"{folder} ({', '.join(_CIFAR_TRAIN_BATCHES)})",
        str(folder / _CIFAR_TEST_BATCH),
    )


def _missing_batches(folder: Path) -> list[str]:
    return [b for b in (*_CIFAR_TRAIN_BATCHES, _CIFAR_TEST_BATCH) if not (folder / b).is_file()]


def _unsafe_member(member: tarfile.TarInfo) -> str | None:
    name = member.name
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in path.parts:
        return "'..' in path"
    if not (member.isfile() or member.isdir()):
        return "link or special file"
    return None


def _extract_cifar_archive(archive: Path) -> Path:
    """Safely extract the official archive next to itself; return the batch folder."""
    dest = archive.parent
    try:
        tar = tarfile.open(archive, "r:gz")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{archive}: cannot open this archive, it is corrupt or truncated ({exc}); {_redownload_hint(archive)}"
        ) from exc
    with tar:
        try:
            members = tar.getmembers()  # reads the whole stream: finds truncation
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{archive}: cannot read this archive, it is corrupt or truncated ({exc}); {_redownload_hint(archive)}"
            ) from exc
        for member in members:
            why = _unsafe_member(member)
            if why:
                raise DataError(
                    f"{archive}: refusing to extract member {member.name!r} ({why}); this is "
                    f"not the official CIFAR-10 archive, {_redownload_hint(archive)}"
                )
        files = [m for m in members if m.isfile()]
        try:
            with tempfile.TemporaryDirectory(prefix=".nasprior-extract-", dir=dest) as tmp:
                extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(tmp, members=files, **extra)
                src = Path(tmp) / _CIFAR_DIR
                if not src.is_dir():
                    raise DataError(
                        f"{archive}: archive has no {_CIFAR_DIR}/ folder; this is not the "
                        f"official CIFAR-10 archive, {_redownload_hint(archive)}"
                    )
                target = dest / _CIFAR_DIR
                target.mkdir(exist_ok=True)
                for item in src.iterdir():
                    if item.is_file():
                        os.replace(item, target / item.name)
        except DataError:
            raise
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{archive}: cannot extract this archive, it is corrupt or truncated ({exc}); "
                f"{_redownload_hint(archive)}"
            ) from exc
        except OSError as exc:
            raise DataError(
                f"cannot extract {archive} into {dest} ({exc}); make that folder writable, "
                f"extract the archive yourself (tar xzf {archive.name}), or point --data-dir / "
                f"{DATA_ENV} to a writable folder holding it"
            ) from exc
    return target


def _find_cifar10(root: Path, tried: list[str]) -> Arrays | None:
    found = _npz_candidate("cifar10", root / "cifar10", tried)
    if found is not None:
        return found
    for folder in (root / _CIFAR_DIR, root / "cifar10" / _CIFAR_DIR):
        missing = _missing_batches(folder) if folder.is_dir() else None
        note = f" (missing {', '.join(missing)})" if missing else ""
        tried.append(f"{folder}{os.sep} with {', '.join(_CIFAR_TRAIN_BATCHES)}, {_CIFAR_TEST_BATCH}{note}")
        if missing == []:
            return _load_cifar_batches(folder)
    for archive in (root / _CIFAR_ARCHIVE, root / "cifar10" / _CIFAR_ARCHIVE):
        tried.append(str(archive))
        if archive.is_file():
            folder = _extract_cifar_archive(archive)
            missing = _missing_batches(folder)
            if missing:
                raise DataError(
                    f"{archive}: archive lacks {', '.join(missing)}; this is not the official "
                    f"CIFAR-10 archive, {_redownload_hint(archive)}"
                )
            return _load_cifar_batches(folder)
    return None


# --------------------------------------------------------------------------- #
# MNIST
# --------------------------------------------------------------------------- #


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read an idx file of unsigned bytes (plain or ``.gz``); check magic and size."""
    kind = "images" if magic == _IDX_IMAGES_MAGIC else "labels"
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: cannot read this file, it is corrupt or truncated ({exc}); {_redownload_hint(path)}"
        ) from exc
    if len(raw) < 4:
        raise DataError(f"{path}: file is truncated ({len(raw)} bytes); {_redownload_hint(path)}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(
            f"{path}: magic number {found}, expected {magic} (idx {kind} of unsigned bytes); "
            f"this is not an MNIST {kind} file or it is corrupt, {_redownload_hint(path)}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: header is truncated; {_redownload_hint(path)}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        raise DataError(
            f"{path}: {len(raw)} bytes, but its header (dims {dims}) needs {expected}; "
            f"the file is truncated or corrupt, {_redownload_hint(path)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _idx_paths(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Map each MNIST idx name to its plain or ``.gz`` file in ``folder``; list the missing."""
    paths, missing = {}, []
    for base in _MNIST_FILES:
        plain, packed = folder / base, folder / (base + ".gz")
        if plain.is_file():
            paths[base] = plain
        elif packed.is_file():
            paths[base] = packed
        else:
            missing.append(base)
    return paths, missing


def _load_mnist_idx(paths: dict[str, Path]) -> Arrays:
    x_tr = _read_idx(paths["train-images-idx3-ubyte"], _IDX_IMAGES_MAGIC)
    y_tr = _read_idx(paths["train-labels-idx1-ubyte"], _IDX_LABELS_MAGIC)
    x_te = _read_idx(paths["t10k-images-idx3-ubyte"], _IDX_IMAGES_MAGIC)
    y_te = _read_idx(paths["t10k-labels-idx1-ubyte"], _IDX_LABELS_MAGIC)
    where_tr = f"{paths['train-images-idx3-ubyte']} / {paths['train-labels-idx1-ubyte'].name}"
    where_te = f"{paths['t10k-images-idx3-ubyte']} / {paths['t10k-labels-idx1-ubyte'].name}"
    return _finish("mnist", (x_tr, y_tr), (x_te, y_te), where_tr, where_te)


def _find_mnist(root: Path, tried: list[str]) -> Arrays | None:
    found = _npz_candidate("mnist", root / "mnist", tried)
    if found is not None:
        return found
    for folder in (root / "mnist", root / "MNIST" / "raw", root):
        paths, missing = _idx_paths(folder)
        note = f" (missing {', '.join(missing)})" if paths and missing else ""
        tried.append(f"{folder}{os.sep} with {', '.join(_MNIST_FILES)} (plain or .gz){note}")
        if not missing:
            return _load_mnist_idx(paths)
    return None


# --------------------------------------------------------------------------- #
# Download
# --------------------------------------------------------------------------- #


#: The pooch error of a failed checksum (a ValueError whose message holds both hashes).
_HASH_MISMATCH = re.compile(r"does not match the known hash: expected (\S+) but got (\S+)\.")


def _copy_file_url(url: str, output_file: str, pooch_obj: object = None) -> None:
    """A pooch downloader for ``file://`` URLs (local mirrors): copy the file to ``output_file``."""
    shutil.copyfile(urllib.request.url2pathname(urllib.parse.urlsplit(url).path), output_file)


def _download(url: str, dest: Path, md5: str) -> None:
    """Fetch ``url`` to ``dest`` with :func:`pooch.retrieve`; keep it only if its MD5 is ``md5``.

    pooch streams the file into a temporary file next to ``dest``, checks the
    hash and only then moves it into place; on any failure the temporary file
    is deleted. ``file://`` URLs are copied, others use pooch's downloaders.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create data folder {dest.parent} ({exc}); "
            f"pass --data-dir DIR or set {DATA_ENV}=DIR to a writable folder"
        ) from exc
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    bar = DownloadProgress(dest.name) if scheme in ("http", "https") else None
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # no "Downloading data from ..." line: the bar shows it
    try:
        if bar is not None:
            downloader = pooch.HTTPDownloader(progressbar=bar, chunk_size=1 << 20, timeout=60)
        elif scheme == "file":
            downloader = _copy_file_url
        else:  # ftp, sftp; a ValueError for a scheme pooch does not know
            downloader = pooch.downloaders.choose_downloader(url)
        pooch.retrieve(url, known_hash=f"md5:{md5.lower()}", fname=dest.name, path=dest.parent, downloader=downloader)
    except ValueError as exc:
        mismatch = _HASH_MISMATCH.search(str(exc))
        if mismatch is None:  # e.g. a URL scheme pooch has no downloader for
            raise DataError(_failed_message(url, dest, exc)) from exc
        raise DataError(
            f"download of {url} has MD5 {mismatch.group(2)}, expected {md5}; the file was deleted. "
            f"The download was corrupted or the mirror serves a different file: try "
            f"again, or use the official source (unset {MIRROR_ENV} / --mirror)"
        ) from None
    except OSError as exc:  # requests' errors (connection, HTTP status, timeout) are OSErrors too
        raise DataError(_failed_message(url, dest, exc)) from exc
    finally:
        if bar is not None:
            bar.close()
        logger.setLevel(level)


def _failed_message(url: str, dest: Path, exc: BaseException) -> str:
    return (
        f"download of {url} failed ({exc}); check the network or the mirror "
        f"({MIRROR_ENV}), or download {dest.name} yourself into {dest.parent}"
    )


def _url(base: str | None, default_base: str, filename: str) -> str:
    base = base or default_base
    return base.rstrip("/") + "/" + filename


def _download_cifar10(root: Path, mirror: str | None, md5s: Mapping[str, str]) -> None:
    folder = root / "cifar10"
    default_base = CIFAR10_URL.rsplit("/", 1)[0]
    _download(_url(mirror, default_base, _CIFAR_ARCHIVE), folder / _CIFAR_ARCHIVE, md5s[_CIFAR_ARCHIVE])


def _download_mnist(root: Path, mirror: str | None, md5s: Mapping[str, str]) -> None:
    folder = root / "mnist"
    for base in _MNIST_FILES:
        if (folder / base).is_file() or (folder / (base + ".gz")).is_file():
            continue  # fetched (and verified) by an earlier, interrupted call
        name = base + ".gz"
        _download(_url(mirror, MNIST_URL, name), folder / name, md5s[name])

"""Tests of nasprior.data: finding, checking, extracting and downloading data sets.

All fake data is written in the official formats into pytest's tmp_path; the
download tests fetch it through pooch from ``file://`` URLs or with pooch's HTTP
downloader stubbed to copy a local file. Nothing here touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pooch
import pytest
import requests

from nasprior.compute.progress import DownloadProgress
from nasprior.errors import DataError, NaspriorError
from nasprior.tasks import image_files as data
from nasprior.tasks.image_files import (
    DATA_ENV,
    IMAGE_DATASETS,
    MIRROR_ENV,
    load_digits_dataset,
    load_image_dataset,
    resolve_data_dir,
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
N_BATCH = 20  # images per fake CIFAR-10 batch
# A pixel with distinct channel values, to check the CHW-planar -> HWC conversion.
PIXEL = (3, 1, 2)  # (image, row, col) in data_batch_1
RGB = (10, 20, 30)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.delenv(MIRROR_ENV, raising=False)


# --------------------------------------------------------------------------- #
# Writers of fake data in the official formats
# --------------------------------------------------------------------------- #


def _batch_bytes(rows: np.ndarray, labels: np.ndarray, legacy: bool = False) -> bytes:
    batch = {
        b"batch_label": b"fake batch",
        b"labels": [int(v) for v in labels],  # a list, as in the official files
        b"data": rows,
        b"filenames": [b"img%d.png" % i for i in range(len(rows))],
    }
    raw = pickle.dumps(batch, protocol=2)
    if legacy:  # the official files name NumPy 1's module
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        assert b"numpy.core.multiarray" in raw
    return raw


def write_cifar_batches(folder: Path, seed: int = 0, legacy: bool = False):
    """Write data_batch_1..5 and test_batch; return the expected HWC arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, size=(N_BATCH, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=N_BATCH)
        if name == "data_batch_1":
            img, r, c = PIXEL
            for ch, value in enumerate(RGB):  # planar: R plane, G plane, B plane
                rows[img, ch * 1024 + r * 32 + c] = value
        (folder / name).write_bytes(_batch_bytes(rows, labels, legacy))
        xs.append(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(labels)
    return np.concatenate(xs[:5]), np.concatenate(ys[:5]), xs[5], ys[5]


def write_cifar_archive(path: Path, seed: int = 0):
    """Write a cifar-10-python.tar.gz with fake batches; return the expected arrays."""
    staging = path.parent / f".staging-{seed}"
    expected = write_cifar_batches(staging / "cifar-10-batches-py", seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    for f in (staging / "cifar-10-batches-py").iterdir():
        f.unlink()
    (staging / "cifar-10-batches-py").rmdir()
    staging.rmdir()
    return expected


def idx_bytes(arr: np.ndarray) -> bytes:
    magic = 0x0800 | arr.ndim
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def write_mnist_idx(folder: Path, gz: bool, seed: int = 1, n_train: int = 30, n_test: int = 12):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for name, arr in arrays.items():
        raw = idx_bytes(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return tuple(arrays.values())


def write_npz_pair(folder: Path, image_shape, seed: int = 2, n_train: int = 16, n_test: int = 8):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, (n, *image_shape), dtype=np.uint8)
        y = rng.integers(0, 10, n).astype(np.uint8)
        np.savez_compressed(folder / f"{split}.npz", x=x, y=y)
        out += [x, y]
    return tuple(out)


def assert_loaded(got, expected):
    assert len(got) == 4
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    x_tr, y_tr, x_te, y_te = got
    assert x_tr.dtype == np.uint8 and x_te.dtype == np.uint8
    assert y_tr.dtype == np.int64 and y_te.dtype == np.int64
    assert x_tr.flags.c_contiguous and x_te.flags.c_contiguous


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- #
# resolve_data_dir
# --------------------------------------------------------------------------- #


def test_resolve_data_dir_order(tmp_path, monkeypatch):
    assert resolve_data_dir(None) == Path("data")
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir(str(tmp_path / "arg")) == tmp_path / "arg"
    assert not (tmp_path / "arg").exists()  # need not exist, is not created


def test_env_var_is_used_by_loader(tmp_path, monkeypatch):
    expected = write_npz_pair(tmp_path / "mnist", (28, 28))
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert_loaded(load_image_dataset("mnist"), expected)


# --------------------------------------------------------------------------- #
# CIFAR-10
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("where", ["cifar-10-batches-py", "cifar10/cifar-10-batches-py"])
def test_cifar_batches_dir(tmp_path, where):
    expected = write_cifar_batches(tmp_path / where)
    got = load_image_dataset("cifar10", tmp_path)
    assert_loaded(got, expected)
    x_tr, y_tr, x_te, y_te = got
    assert x_tr.shape == (5 * N_BATCH, 32, 32, 3) and x_te.shape == (N_BATCH, 32, 32, 3)
    img, r, c = PIXEL
    assert tuple(x_tr[img, r, c]) == RGB  # HWC, channels in RGB order


def test_cifar_legacy_numpy_pickles_load_without_warnings(tmp_path):
    expected = write_cifar_batches(tmp_path / "cifar-10-batches-py", legacy=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_image_dataset("CIFAR10", tmp_path)
    assert_loaded(got, expected)


def test_cifar_pickle_with_foreign_global_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())

    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(folder)
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(DataError, match=r"data_batch_2.*refusing to load global"):
        load_image_dataset("cifar10", tmp_path)


def test_cifar_corrupt_batch(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(folder)
    good = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError) as err:
        load_image_dataset("cifar10", tmp_path)
    assert str(folder / "test_batch") in str(err.value)
    assert "delete" in str(err.value)


def test_cifar_incomplete_batches_dir_is_reported(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(folder)
    (folder / "data_batch_4").unlink()
    with pytest.raises(DataError, match="missing data_batch_4"):
        load_image_dataset("cifar10", tmp_path)


@pytest.mark.parametrize("where", [".", "cifar10"])
def test_cifar_archive_is_extracted_and_loaded(tmp_path, where):
    archive = tmp_path / where / "cifar-10-python.tar.gz"
    expected = write_cifar_archive(archive)
    got = load_image_dataset("cifar10", tmp_path)
    assert_loaded(got, expected)
    assert (archive.parent / "cifar-10-batches-py" / "test_batch").is_file()
    assert not list(archive.parent.glob(".nasprior-extract-*"))  # temp folder removed
    # The second call reads the extracted folder.
    archive.unlink()
    assert_loaded(load_image_dataset("cifar10", tmp_path), expected)


def test_cifar_garbage_archive(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"this is not a gzip file at all" * 10)
    with pytest.raises(DataError) as err:
        load_image_dataset("cifar10", tmp_path)
    assert str(archive) in str(err.value) and "delete" in str(err.value)


def test_cifar_truncated_archive(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    write_cifar_archive(archive)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="cifar-10-python.tar.gz"):
        load_image_dataset("cifar10", tmp_path)
    assert not (tmp_path / "cifar-10-batches-py").exists()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_cifar_archive_with_unsafe_member_is_refused(tmp_path, kind):
    archive = tmp_path / "data" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"owned"
        info = tarfile.TarInfo(
            {
                "dotdot": "cifar-10-batches-py/../../evil",
                "absolute": "/tmp/nasprior-evil",
                "symlink": "cifar-10-batches-py/test_batch",
            }[kind]
        )
        if kind == "symlink":
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(DataError, match="refusing to extract"):
        load_image_dataset("cifar10", tmp_path / "data")
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "data" / "cifar-10-batches-py").exists()


def test_cifar_npz_is_preferred(tmp_path):
    expected = write_npz_pair(tmp_path / "cifar10", (32, 32, 3))
    garbage = tmp_path / "cifar-10-python.tar.gz"
    garbage.write_bytes(b"garbage")  # never opened: the npz pair comes first
    assert_loaded(load_image_dataset("cifar10", tmp_path), expected)


def test_npz_wrong_shape(tmp_path):
    folder = tmp_path / "cifar10"
    write_npz_pair(folder, (32, 32, 3))
    np.savez_compressed(folder / "test.npz", x=np.zeros((4, 3, 32, 32), np.uint8), y=np.zeros(4, np.uint8))
    with pytest.raises(DataError, match=r"test\.npz.*shape \(4, 3, 32, 32\)"):
        load_image_dataset("cifar10", tmp_path)


def test_npz_wrong_dtype_and_length(tmp_path):
    folder = tmp_path / "mnist"
    write_npz_pair(folder, (28, 28))
    np.savez_compressed(folder / "train.npz", x=np.zeros((4, 28, 28), np.float32), y=np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="dtype float32"):
        load_image_dataset("mnist", tmp_path)
    np.savez_compressed(folder / "train.npz", x=np.zeros((4, 28, 28), np.uint8), y=np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="4 images"):
        load_image_dataset("mnist", tmp_path)
    np.savez_compressed(folder / "train.npz", x=np.zeros((4, 28, 28), np.uint8), y=np.full(4, 10, np.uint8))
    with pytest.raises(DataError, match="labels range"):
        load_image_dataset("mnist", tmp_path)
    np.savez_compressed(folder / "train.npz", images=np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match="lacks array"):
        load_image_dataset("mnist", tmp_path)


@pytest.mark.parametrize("cut", [0.5, 0.9, 30])
def test_truncated_npz(tmp_path, cut):
    folder = tmp_path / "mnist"
    write_npz_pair(folder, (28, 28), n_train=200)
    path = folder / "train.npz"
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * cut) if cut < 1 else cut])
    with pytest.raises(DataError) as err:
        load_image_dataset("mnist", tmp_path)
    assert str(path) in str(err.value) and "delete" in str(err.value)


# --------------------------------------------------------------------------- #
# MNIST
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("where,gz", [("mnist", False), ("mnist", True), ("MNIST/raw", True), (".", False)])
def test_mnist_idx(tmp_path, where, gz):
    expected = write_mnist_idx(tmp_path / where, gz)
    got = load_image_dataset("mnist", tmp_path)
    assert_loaded(got, expected)
    assert got[0].shape == (30, 28, 28) and got[2].shape == (12, 28, 28)


def test_mnist_mixed_plain_and_gz(tmp_path):
    folder = tmp_path / "mnist"
    expected = write_mnist_idx(folder, gz=True)
    raw = gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-labels-idx1-ubyte").write_bytes(raw)
    assert_loaded(load_image_dataset("mnist", tmp_path), expected)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_truncated_idx(tmp_path, gz):
    folder = tmp_path / "mnist"
    write_mnist_idx(folder, gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    path = folder / name
    raw = path.read_bytes()
    path.write_bytes(raw[:-7])
    with pytest.raises(DataError) as err:
        load_image_dataset("mnist", tmp_path)
    assert str(path) in str(err.value)


def test_mnist_bad_magic(tmp_path):
    folder = tmp_path / "mnist"
    write_mnist_idx(folder, gz=False)
    # swap: a label file where the images are expected
    (folder / "t10k-images-idx3-ubyte").write_bytes((folder / "t10k-labels-idx1-ubyte").read_bytes())
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.*magic number 2049, expected 2051"):
        load_image_dataset("mnist", tmp_path)


def test_mnist_garbage_gz(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    write_mnist_idx(folder, gz=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        load_image_dataset("mnist", tmp_path)


# --------------------------------------------------------------------------- #
# Missing data and bad names
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", IMAGE_DATASETS)
def test_missing_data_message(tmp_path, name):
    root = tmp_path / "nothing-here"
    with pytest.raises(DataError) as err:
        load_image_dataset(name, root)
    msg = str(err.value)
    assert str(root) in msg
    assert "--download" in msg and DATA_ENV in msg and "--data-dir" in msg
    assert isinstance(err.value, NaspriorError)
    assert not root.exists()  # looking does not create anything


def test_missing_message_lists_all_paths(tmp_path):
    with pytest.raises(DataError) as err:
        load_image_dataset("cifar10", tmp_path)
    msg = str(err.value)
    for path in (
        tmp_path / "cifar10" / "train.npz",
        tmp_path / "cifar-10-batches-py",
        tmp_path / "cifar10" / "cifar-10-batches-py",
        tmp_path / "cifar-10-python.tar.gz",
        tmp_path / "cifar10" / "cifar-10-python.tar.gz",
    ):
        assert str(path) in msg
    with pytest.raises(DataError) as err:
        load_image_dataset("mnist", tmp_path)
    for path in (tmp_path / "mnist" / "train.npz", tmp_path / "MNIST" / "raw"):
        assert str(path) in str(err.value)


def test_unknown_name(tmp_path):
    with pytest.raises(DataError, match="cifar10, mnist"):
        load_image_dataset("imagenet", tmp_path)


# --------------------------------------------------------------------------- #
# Download (pooch, from file:// URLs or a stubbed HTTP downloader only)
# --------------------------------------------------------------------------- #


def no_files(folder: Path) -> bool:
    """Whether ``folder`` holds no files (no archive, no temporary download)."""
    return not [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
def fake_http(monkeypatch, tmp_path):
    """Stub pooch's HTTP downloader: serve files of tmp_path/served; yield (folder, requested URLs, bars)."""
    served = tmp_path / "served"
    served.mkdir()
    urls: list[str] = []
    bars: list[object] = []

    def fetch(self, url, output_file, pooch_obj, check_only=False):
        urls.append(url)
        bars.append(self.progressbar)
        source = served / url.rsplit("/", 1)[1]
        if not source.is_file():
            raise requests.exceptions.HTTPError(f"404 Client Error: Not Found for url: {url}")
        raw = source.read_bytes()
        self.progressbar.total = len(raw)
        Path(output_file).write_bytes(raw)
        self.progressbar.update(len(raw))
        self.progressbar.close()

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", fetch)
    yield served, urls, bars


def test_download_cifar_from_the_official_url(tmp_path, fake_http):
    served, urls, bars = fake_http
    expected = write_cifar_archive(served / "cifar-10-python.tar.gz")
    md5 = md5_of(served / "cifar-10-python.tar.gz")
    root = tmp_path / "new" / "data"  # created by the download
    got = load_image_dataset("cifar10", root, download=True, checksums={"cifar-10-python.tar.gz": md5})
    assert_loaded(got, expected)
    assert urls == [data.CIFAR10_URL]
    assert isinstance(bars[0], DownloadProgress) and bars[0].completed == bars[0].total > 0
    assert md5_of(root / "cifar10" / "cifar-10-python.tar.gz") == md5
    assert sorted(p.name for p in (root / "cifar10").iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    # Found locally now: nothing is fetched again even with download=True.
    assert_loaded(load_image_dataset("cifar10", root, download=True), expected)
    assert len(urls) == 1


def test_download_mnist_from_the_official_folder(tmp_path, fake_http):
    served, urls, _ = fake_http
    expected = write_mnist_idx(served, gz=True)
    md5s = {p.name: md5_of(p) for p in served.glob("*.gz")}
    root = tmp_path / "d"
    got = load_image_dataset("mnist", root, download=True, checksums=md5s)
    assert_loaded(got, expected)
    assert sorted(urls) == sorted(data.MNIST_URL + n for n in md5s)
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(md5s)


def test_download_http_error_is_one_data_error_line(tmp_path, fake_http):
    with pytest.raises(DataError, match="download of .*cifar-10-python.tar.gz failed .*404") as err:
        load_image_dataset("cifar10", tmp_path / "d", download=True)
    assert "\n" not in str(err.value) and MIRROR_ENV in str(err.value)
    assert no_files(tmp_path / "d")


def test_download_without_network_is_one_data_error_line(tmp_path, monkeypatch):
    def offline(self, url, output_file, pooch_obj, check_only=False):
        raise requests.exceptions.ConnectionError(f"Failed to resolve {url.split('/')[2]}")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", offline)
    with pytest.raises(DataError, match="download of .*failed .*Failed to resolve www.cs.toronto.edu") as err:
        load_image_dataset("cifar10", tmp_path / "d", download=True)
    assert "\n" not in str(err.value) and "check the network" in str(err.value)
    assert no_files(tmp_path / "d")


def test_download_file_url_mirror(tmp_path):
    served = tmp_path / "served"
    expected = write_cifar_archive(served / "cifar-10-python.tar.gz")
    root = tmp_path / "d"
    got = load_image_dataset(
        "cifar10",
        root,
        download=True,
        mirror=served.as_uri() + "/",
        checksums={"cifar-10-python.tar.gz": md5_of(served / "cifar-10-python.tar.gz")},
    )
    assert_loaded(got, expected)
    assert (root / "cifar10" / "cifar-10-python.tar.gz").read_bytes() == (
        served / "cifar-10-python.tar.gz"
    ).read_bytes()


def test_download_mirror_from_env(tmp_path, monkeypatch):
    served = tmp_path / "served"
    expected = write_cifar_archive(served / "cifar-10-python.tar.gz")
    monkeypatch.setenv(MIRROR_ENV, served.as_uri())  # without the trailing slash
    got = load_image_dataset(
        "cifar10",
        tmp_path / "d",
        download=True,
        checksums={"cifar-10-python.tar.gz": md5_of(served / "cifar-10-python.tar.gz")},
    )
    assert_loaded(got, expected)


def test_download_checksum_mismatch(tmp_path):
    served = tmp_path / "served"
    write_cifar_archive(served / "cifar-10-python.tar.gz")
    md5 = md5_of(served / "cifar-10-python.tar.gz")
    root = tmp_path / "d"
    with pytest.raises(DataError, match="MD5") as err:
        load_image_dataset(
            "cifar10", root, download=True, mirror=served.as_uri(), checksums={"cifar-10-python.tar.gz": "0" * 32}
        )
    msg = str(err.value)
    assert f"has MD5 {md5}, expected {'0' * 32}; the file was deleted" in msg and "\n" not in msg
    assert no_files(root)  # no archive, no temporary file
    # The official checksum is used when none is overridden: the fake fails it.
    with pytest.raises(DataError, match="expected c58f30108f718f92721af3b95e74349a"):
        load_image_dataset("cifar10", root, download=True, mirror=served.as_uri())
    assert no_files(root)


def test_download_missing_file_url_and_unknown_scheme(tmp_path):
    with pytest.raises(DataError, match="download of file:.*cifar-10-python.tar.gz failed"):
        load_image_dataset("cifar10", tmp_path / "d", download=True, mirror=(tmp_path / "nothing").as_uri())
    with pytest.raises(DataError, match="download of gopher://.*failed"):
        load_image_dataset("cifar10", tmp_path / "d", download=True, mirror="gopher://example.org/")
    assert no_files(tmp_path / "d")


def test_download_progress_counts_bytes_without_a_terminal():
    stream = io.StringIO()
    bar = DownloadProgress("x.tar.gz", stream=stream)  # not a terminal: nothing is drawn
    bar.total = 10
    bar.update(4)
    bar.update(4)
    assert bar.completed == 8
    bar.reset()
    bar.update(10)
    bar.close()
    bar.close()
    assert bar.completed == bar.total == 10 and stream.getvalue() == ""
    live = io.StringIO()
    shown = DownloadProgress("y.gz", live=True, stream=live)
    shown.total = 0  # no Content-Length
    assert shown.total is None
    shown.update(3)
    shown.close()
    assert shown.completed == 3


def test_official_checksums_are_the_published_ones():
    assert data.OFFICIAL_MD5["cifar-10-python.tar.gz"] == "c58f30108f718f92721af3b95e74349a"
    assert data.OFFICIAL_MD5["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert data.OFFICIAL_MD5["t10k-labels-idx1-ubyte.gz"] == "ec29112dd5afa0611ce80d1b7f02629c"


# --------------------------------------------------------------------------- #
# Real data and digits
# --------------------------------------------------------------------------- #


def test_real_mnist_from_shared_data():
    if not (SHARED_DATA / "mnist" / "train.npz").is_file():
        pytest.skip(f"no offline MNIST copy at {SHARED_DATA / 'mnist'}")
    x_tr, y_tr, x_te, y_te = load_image_dataset("mnist", SHARED_DATA)
    assert x_tr.shape == (60000, 28, 28) and x_te.shape == (10000, 28, 28)
    assert y_tr.shape == (60000,) and y_te.shape == (10000,)
    assert x_tr.dtype == np.uint8 and y_tr.dtype == np.int64
    assert int((y_tr == 0).sum()) == 5923
    assert int((y_te == 0).sum()) == 980
    assert np.bincount(y_tr, minlength=10).tolist()[:3] == [5923, 6742, 5958]


def test_digits():
    x_tr, y_tr, x_te, y_te = load_digits_dataset()
    assert x_tr.shape == (1437, 8, 8) and x_te.shape == (360, 8, 8)
    assert y_tr.shape == (1437,) and y_te.shape == (360,)
    assert x_tr.dtype == np.uint8 and y_tr.dtype == np.int64
    assert set(y_tr.tolist()) == set(range(10)) == set(y_te.tolist())
    assert x_tr.max() == 255 and x_tr.min() == 0
    # Same split every call.
    again = load_digits_dataset()
    np.testing.assert_array_equal(again[1], y_tr)
    np.testing.assert_array_equal(again[2], x_te)

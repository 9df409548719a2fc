import json
import sys

import numpy as np
import pytest
from conftest import real_data, tiny_config

from signtrain.config import load_config
from signtrain.data import detect_format, load_dataset
from signtrain.data.cache import cache_root
from signtrain.data.convert import convert
from signtrain.data.parquet import LIPS
from signtrain.data.split import split_dataset
from signtrain.errors import DataError

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402


def cfg(path, *overrides):
    return load_config("base", ["data.features_per_frame=null", *overrides], data=str(path)).data


def write_parquet(path, frames, types=("right_hand", "pose", "face", "left_hand"), nan_left=False, seed=0):
    """Long format, types in an unusual order, rows shuffled; value = frame*1000 + type code*100 + index/100."""
    code = {"pose": 1, "face": 2, "left_hand": 3, "right_hand": 4}
    sizes = {"pose": 33, "face": 468, "left_hand": 21, "right_hand": 21}
    rows = []
    for f in frames:
        for t in types:
            for i in range(sizes[t]):
                v = f * 1000 + code[t] * 100 + i / 100
                if nan_left and t == "left_hand":
                    v = np.nan
                rows.append((f, f"{f}-{t}-{i}", t, i, v, v + 0.1, v + 0.2))
    order = np.random.default_rng(seed).permutation(len(rows))
    cols = list(zip(*[rows[k] for k in order]))
    table = pa.table({"frame": cols[0], "row_id": cols[1], "type": cols[2], "landmark_index": cols[3],
                      "x": cols[4], "y": cols[5], "z": cols[6]})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


@pytest.fixture
def islr(tmp_path):
    root = tmp_path / "islr"
    lines = ["path,participant_id,sequence_id,sign"]
    for k, (sign, participant) in enumerate([("hello", 1), ("hello", 2), ("bye", 1), ("bye", 3)]):
        rel = f"train_landmark_files/{participant}/{k}.parquet"
        write_parquet(root / rel, frames=[5, 6, 8], nan_left=(k == 0), seed=k)
        lines.append(f"{rel},{participant},{k},{sign}")
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    return root


def test_parquet_places_landmarks_by_type_and_index_not_row_order(islr):
    ds = load_dataset(cfg(islr, "data.sequence_length=4"))
    assert detect_format(islr, "auto") == "islr_parquet" and ds.format == "islr_parquet"
    assert ds.labels == ["bye", "hello"] and ds.feature_length == 225 and ds.groups == ["1", "2", "1", "3"]
    seq = ds.sources.index(str(islr / "train_landmark_files/2/1.parquet"))
    x = ds.X[seq]
    # frame numbers start at 5 with 7 missing: positions 0, 1, (2 missing, zero-filled), 3
    assert ds.lengths[seq] == 4 and ds.defect("missing_frames")[seq] == 1 and not x[2].any()
    assert x[0, 0] == pytest.approx(5100.0)                  # pose 0, x
    assert x[0, 3 * 32 + 2] == pytest.approx(5100.32 + 0.2)  # pose 32, z
    assert x[3, 99 + 3 * 20] == pytest.approx(8300.20)       # left hand 20, x
    assert x[1, 162 + 3 * 7 + 1] == pytest.approx(6400.07 + 0.1)  # right hand 7, y


def test_parquet_nan_means_not_detected_and_is_counted(islr):
    ds = load_dataset(cfg(islr))
    seq = ds.sources.index(str(islr / "train_landmark_files/1/0.parquet"))
    assert ds.defect("nan_missing_frames")[seq] == 3 and np.isfinite(ds.X).all()
    assert not ds.X[seq, :3, 99:162].any()


def test_parquet_landmark_subsets(islr):
    hands = load_dataset(cfg(islr, "data.landmarks=[left_hand, right_hand]"))
    assert hands.feature_length == 126 and hands.X[1, 0, 0] == pytest.approx(5300.0)  # sequence 0 has no left hand
    lips = load_dataset(cfg(islr, "data.landmarks=[lips, right_hand]"))
    assert lips.feature_length == 120 + 63
    assert lips.X[0, 0, 3] == pytest.approx(5200 + LIPS[1] / 100)  # second lips point = face 61


def test_parquet_needs_pyarrow_says_how(islr, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DataError, match=r"pip install 'signtrain\[parquet\]'"):
        load_dataset(cfg(islr, "data.cache=false"))


def test_grouped_split_keeps_each_signer_in_one_split():
    y = np.repeat(np.arange(4), 30)
    groups = [f"p{i % 10}" for i in range(120)]
    c = load_config("base", ["split.group_by=participant"])
    split = split_dataset(y, c.split, 0, groups)
    sets = [{groups[i] for i in part} for part in (split.train, split.val, split.test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert len(split.test) > 0 and len(split.val) > 0
    with pytest.raises(DataError, match="needs participant ids"):
        split_dataset(y, c.split, 0, None)


def write_csv_tree(root):
    header = ";".join(["face_x", "face_y"] + [f"v{i}" for i in range(6)])
    for sign, rows in {"eins": ["1;2;3;4;5;6;7;8", "1;2;3;4;5"], "zwei": ["9;9;9;9;9;9;9;9"] * 3}.items():
        (root / sign).mkdir(parents=True)
        (root / sign / "a.csv").write_text("\n".join([header] + rows) + "\n")
        (root / sign / "b.csv").write_text("\n".join([header] + rows[:1]) + "\n")
    return root


def test_ragged_csv_rows_are_padded_and_counted(tmp_path):
    root = write_csv_tree(tmp_path / "csv")
    ds = load_dataset(cfg(root, "data.sequence_length=3"))
    assert detect_format(root, "auto") == "csv" and ds.feature_length == 8
    np.testing.assert_array_equal(ds.X[0, 1], [1, 2, 3, 4, 5, 0, 0, 0])
    assert ds.defect("padded_vectors").tolist() == [1, 0, 0, 0]
    cut = load_dataset(cfg(root, "data.csv_columns=2:", "data.sequence_length=3"))
    assert cut.feature_length == 6 and cut.X[0, 0, 0] == 3


def test_real_islr_letters():
    root = real_data("islr_letters")
    ds = load_dataset(cfg(root, "data.sequence_length=1"))
    assert (len(ds), len(ds.labels), ds.feature_length) == (558, 24, 225)
    assert "J" not in ds.labels and "Z" not in ds.labels and set(ds.lengths) == {1}
    path = root / "train_landmark_files/100/1015.parquet"
    table = pq.read_table(path).to_pydict()
    row = next(i for i, (t, k) in enumerate(zip(table["type"], table["landmark_index"]))
               if t == "right_hand" and k == 5)
    seq = ds.sources.index(str(path))
    assert ds.X[seq, 0, 162 + 15] == pytest.approx(table["x"][row], abs=1e-6)


def test_real_dgs30_csv():
    root = real_data("dgs30_csv")
    ds = load_dataset(cfg(root, "data.sequence_length=110"))
    assert (len(ds), len(ds.labels), ds.feature_length) == (1755, 30, 128)
    assert (ds.lengths.min(), ds.lengths.max()) == (7, 107)
    assert "Fußball" in ds.labels and "Universität" in ds.labels
    assert ds.defect("padded_vectors").sum() > 0
    digests = {}
    for source, digest in zip(ds.sources, ds.digests):
        digests.setdefault(digest, []).append(source.rsplit("/", 2)[-2])
    assert sorted(v[0] for v in digests.values() if len(v) > 1) == ["Haben", "unser"]


def test_cache_is_used_refreshed_and_never_trusted_when_broken(tree, tmp_path):
    root = tree(signs=("a", "b"), sequences=4, frames=6, features=63)
    c = cfg(root, f"data.cache_dir={tmp_path / 'cache'}")
    first = load_dataset(c)
    assert not isinstance(first.X, np.memmap)
    second = load_dataset(c)
    assert isinstance(second.X, np.memmap) and second.labels == first.labels
    np.testing.assert_array_equal(second.X, first.X)
    assert second.sources == first.sources and second.digests == first.digests
    # a changed tree is seen
    np.save(root / "a" / "0" / "2.npy", np.full(63, 7.0))
    third = load_dataset(c)
    assert not isinstance(third.X, np.memmap) and third.X[0, 2, 0] == 7.0
    # a truncated cache file is rebuilt
    folder = next((tmp_path / "cache").iterdir())
    (folder / "X.npy").write_bytes((folder / "X.npy").read_bytes()[:200])
    fourth = load_dataset(c)
    assert not isinstance(fourth.X, np.memmap) and fourth.X[0, 2, 0] == 7.0
    assert isinstance(load_dataset(c).X, np.memmap)
    # a missing index (half-written cache) is rebuilt too
    (folder / "index.json").unlink()
    assert not isinstance(load_dataset(c).X, np.memmap)


def test_no_cache_writes_nothing(tree, tmp_path):
    root = tree(signs=("a", "b"), sequences=3, frames=4, features=63)
    load_dataset(cfg(root, "data.cache=false", f"data.cache_dir={tmp_path / 'c'}"))
    assert not (tmp_path / "c").exists()
    assert cache_root(None).name == "signtrain"


def test_convert_round_trips(tree, tmp_path):
    root = tree(signs=("a", "b"), sequences=3, frames=5, features=63)
    original = load_dataset(cfg(root, "data.sequence_length=5"))
    convert(cfg(root), tmp_path / "all.npz")
    packed = load_dataset(cfg(tmp_path / "all.npz", "data.sequence_length=5"))
    np.testing.assert_array_equal(packed.X, original.X)
    assert packed.labels == original.labels and packed.format == "npz"
    convert(cfg(tmp_path / "all.npz"), tmp_path / "MP")
    again = load_dataset(cfg(tmp_path / "MP", "data.sequence_length=5"))
    np.testing.assert_array_equal(again.X, original.X)
    with pytest.raises(DataError, match="already exists; choose a new name, or pass --overwrite"):
        convert(cfg(root), tmp_path / "MP")


@pytest.mark.slow
def test_streaming_training_from_the_memory_mapped_cache(tree, tmp_path):
    from signtrain.training.run import prepare, train

    root = tree(signs=("a", "b", "c"), sequences=10, frames=10, features=63)
    load_dataset(cfg(root, "data.features_per_frame=63", "data.sequence_length=10"))  # fills the cache
    config = tiny_config(root, tmp_path / "m", "data.stream=true", epochs=2)
    prepared = prepare(config)
    assert prepared.X is None and isinstance(prepared.dataset.X, np.memmap)
    result = train(config)
    assert result.epochs_run == 2 and 0 <= result.test_accuracy <= 1
    meta = json.loads((tmp_path / "m" / "lstm_model.meta.json").read_text())
    assert meta["data"]["format"] == "mp_data"


@pytest.mark.slow
def test_train_and_evaluate_on_parquet_and_csv(islr, tmp_path):
    from signtrain.deploy.evaluate import evaluate
    from signtrain.training.run import train

    csv_root = write_csv_tree(tmp_path / "csv")
    for sign in ("eins", "zwei"):
        for k in range(3, 8):
            (csv_root / sign / f"{k}.csv").write_text((csv_root / sign / "a.csv").read_text())
    for root, features in ((islr, 225), (csv_root, 8)):
        config = tiny_config(root, tmp_path / root.name / "m", "split.test_fraction=0.25",
                             "split.validation_fraction=0.0", "split.stratify=false", features=features,
                             frames=4, epochs=1)
        result = train(config)
        report = evaluate(tmp_path / root.name / "m" / "lstm_model.h5")
        assert report.accuracy == result.test_accuracy


def test_folder_check_sees_added_and_removed_frames(tree, tmp_path):
    root = tree(signs=("a", "b"), sequences=3, frames=6, features=63)
    c = cfg(root, f"data.cache_dir={tmp_path / 'cache'}", "data.cache_check=folders", "data.sequence_length=8")
    load_dataset(c)
    assert isinstance(load_dataset(c).X, np.memmap)
    np.save(root / "b" / "1" / "6.npy", np.full(63, 3.0))
    grown = load_dataset(c)
    assert not isinstance(grown.X, np.memmap) and grown.lengths[4] == 7
    (root / "b" / "1" / "6.npy").unlink()
    assert load_dataset(c).lengths[4] == 6

import shutil

import numpy as np
import pytest
from conftest import real_data

from signtrain.config import load_config
from signtrain.data import load_dataset
from signtrain.data.mpdata import natural_key
from signtrain.errors import DataError


def cfg(path, *overrides):
    return load_config("base", list(overrides), data=str(path)).data


def test_numbers_sort_as_numbers():
    assert sorted(["10", "9", "1", "x", "2"], key=natural_key) == ["1", "2", "9", "10", "x"]


def test_clean_tree_reads_in_order(tree):
    root = tree(signs=("b", "a"), sequences=12, frames=30, features=225)
    ds = load_dataset(cfg(root))
    assert ds.X.shape == (24, 30, 225) and ds.X.dtype == np.float32
    assert ds.labels == ["a", "b"]
    assert ds.sources[2].endswith("a/2") and ds.sources[10].endswith("a/10")
    expected = np.load(root / "a" / "10" / "7.npy").astype(np.float32)
    np.testing.assert_array_equal(ds.X[10, 7], expected)
    assert ds.totals() == dict.fromkeys(ds.totals(), 0)


def test_sign_names_with_spaces_parentheses_and_umlauts(tree):
    root = tree(signs=("Fußball", "thank you (2)", "Über"), sequences=3, frames=5, features=63)
    ds = load_dataset(cfg(root, "data.features_per_frame=63"))
    assert ds.labels == sorted(["Fußball", "thank you (2)", "Über"]) and len(ds) == 9


def test_listed_signs_keep_their_order_and_a_missing_one_is_an_error(tree):
    root = tree(signs=("a", "b"), sequences=3, frames=5, features=63)
    ds = load_dataset(cfg(root, "data.features_per_frame=63", "data.signs=[b, a]"))
    assert ds.labels == ["b", "a"] and ds.y[0] == 0 and ds.sources[0].endswith("b/0")
    with pytest.raises(DataError, match="sign 'zebra' listed in data.signs has no folder"):
        load_dataset(cfg(root, "data.features_per_frame=63", "data.signs=[a, zebra]"))


def _damage(root):
    seq = root / "a" / "0"
    (seq / "3.npy").unlink()                                  # missing frame
    np.save(seq / "4.npy", np.zeros(63))                      # all-zero frame
    np.save(seq / "5.npy", np.ones(10))                       # wrong length
    (seq / "6.npy").write_bytes(b"not a numpy file at all")   # corrupt
    vec = np.ones(63)
    vec[2] = np.nan
    np.save(seq / "7.npy", vec)                               # NaN
    (seq / "notes.txt").write_text("stray")                   # stray file
    return seq


def test_every_defect_is_counted(tree):
    root = tree(signs=("a", "b"), sequences=3, frames=10, features=63)
    _damage(root)
    with pytest.raises(DataError, match=r"2 frame or recording file\(s\) cannot be used \(data.bad_frame: error\)"):
        load_dataset(cfg(root, "data.features_per_frame=63", "data.sequence_length=10"))
    ds = load_dataset(cfg(root, "data.features_per_frame=63", "data.sequence_length=10", "data.bad_frame=zero"),
                      strict=False)
    t = ds.totals()
    assert (t["missing_frames"], t["zero_frames"], t["bad_length_frames"], t["corrupt_frames"],
            t["nonfinite_frames"]) == (1, 1, 1, 1, 1)
    assert sorted(i.kind for i in ds.issues) == ["missing_frames", "nonfinite", "stray_file", "unreadable_frame",
                                                 "wrong_length"]
    named = {i.kind: (i.path, i.message) for i in ds.issues}
    assert named["unreadable_frame"] == (str(root / "a" / "0" / "6.npy"), "not a .npy file")
    assert named["wrong_length"] == (str(root / "a" / "0" / "5.npy"), "10 values, the other frames have 63")
    assert named["nonfinite"][0].endswith("a/0/7.npy")
    # The defaults zero-fill like the original recipe: frame positions stay where they were.
    assert ds.lengths[0] == 10 and not ds.X[0, 3].any() and not ds.X[0, 5].any()
    assert np.isnan(ds.X[0, 7, 2])


def test_skip_policies_close_the_gaps_and_count_them(tree):
    root = tree(signs=("a", "b"), sequences=3, frames=10, features=63)
    _damage(root)
    ds = load_dataset(cfg(root, "data.features_per_frame=63", "data.sequence_length=10",
                          "data.missing_frame=skip", "data.bad_frame=skip", "data.zero_frame=drop",
                          "data.nan_to_zero=true"))
    assert ds.lengths[0] == 6 and ds.defect("dropped_frames")[0] == 3 and ds.defect("padded_frames")[0] == 4
    assert ds.defect("missing_frames")[0] == 1
    assert np.isfinite(ds.X).all()
    dropped = load_dataset(cfg(root, "data.features_per_frame=63", "data.bad_frame=drop_sequence",
                               "data.nan_to_zero=true"))
    assert len(dropped) == 5 and any(i.kind == "dropped_sequence" for i in dropped.issues)


def test_longer_and_shorter_sequences_are_fitted_never_crash(tree):
    root = tree(signs=("a", "b"), sequences=2, frames=12, features=63)
    for t in range(12, 20):
        np.save(root / "a" / "0" / f"{t}.npy", np.full(63, t, dtype=np.float64))
    for t in range(4, 12):
        (root / "a" / "1" / f"{t}.npy").unlink()
    for truncate, first in (("keep_start", 0), ("keep_end", 8), ("keep_center", 4)):
        ds = load_dataset(cfg(root, "data.features_per_frame=63", "data.sequence_length=12",
                              f"data.truncate={truncate}"))
        assert ds.lengths[0] == 20 and ds.defect("truncated_frames")[0] == 8
        expected = np.load(root / "a" / "0" / f"{first}.npy").astype(np.float32)
        np.testing.assert_array_equal(ds.X[0, 0], expected)
        assert ds.lengths[1] == 4 and ds.defect("padded_frames")[1] == 8 and not ds.X[1, 4:].any()


def test_one_array_per_sequence_layout(tmp_path):
    rng = np.random.default_rng(0)
    for sign in ("x", "y"):
        (tmp_path / sign).mkdir()
        for i in range(3):
            np.save(tmp_path / sign / f"{i}.npy", rng.normal(size=(8 + i, 126)))
    ds = load_dataset(cfg(tmp_path, "data.features_per_frame=null", "data.sequence_length=9"))
    assert ds.feature_length == 126 and list(ds.lengths[:3]) == [8, 9, 10]
    np.testing.assert_allclose(ds.X[0, :8], np.load(tmp_path / "x" / "0.npy").astype(np.float32))


def test_layout_mismatch_is_refused_with_both_numbers(tree):
    root = tree(signs=("a", "b"), sequences=2, frames=4, features=126)
    with pytest.raises(DataError, match=r"126 \(two hands\) values but data.features_per_frame is 225"):
        load_dataset(cfg(root, "data.features_per_frame=225"))


def test_empty_sign_folder_is_left_out_with_a_warning(tree):
    root = tree(signs=("a", "b"), sequences=2, frames=4, features=63)
    (root / "empty").mkdir()
    ds = load_dataset(cfg(root, "data.features_per_frame=63"))
    assert ds.labels == ["a", "b"] and any(i.kind == "empty_sign" for i in ds.issues)


def test_missing_or_empty_root(tmp_path):
    with pytest.raises(DataError, match="data folder not found"):
        load_dataset(cfg(tmp_path / "nope"))
    with pytest.raises(DataError, match="no sequences found"):
        load_dataset(cfg(tmp_path))


def test_fast_reader_matches_np_load_on_mixed_dtypes(tmp_path):
    folder = tmp_path / "s" / "0"
    folder.mkdir(parents=True)
    frames = [np.arange(63, dtype=np.float64), np.arange(63, dtype=np.float32) * 2,
              (np.arange(63) * 3).reshape(1, 63), np.asfortranarray(np.arange(63.0).reshape(63, 1))]
    for t, f in enumerate(frames):
        np.save(folder / f"{t}.npy", f)
    shutil.copytree(tmp_path / "s", tmp_path / "r")
    ds = load_dataset(cfg(tmp_path, "data.features_per_frame=63", "data.sequence_length=4"))
    for t, f in enumerate(frames):
        np.testing.assert_array_equal(ds.X[0, t], np.asarray(f, dtype=np.float32).reshape(-1))


def test_real_dgs_mpdata():
    root = real_data("dgs_mpdata")
    ds = load_dataset(cfg(root, "data.features_per_frame=126", "data.sequence_length=80"))
    assert len(ds) == 120 and len(ds.labels) == 8 and ds.feature_length == 126
    assert np.bincount(ds.y).tolist() == [15] * 8
    assert (ds.lengths.min(), ds.lengths.max()) == (18, 70)
    assert "Fußball" in ds.labels and "Universität" in ds.labels
    # frame 10 comes after frame 9: compare with a direct read
    seq = ds.sources.index(str(root / "Bier" / "10"))
    np.testing.assert_array_equal(ds.X[seq, 10], np.load(root / "Bier" / "10" / "10.npy").astype(np.float32))


def test_resampling_instead_of_pad_or_truncate(tree):
    root = tree(signs=("a", "b"), sequences=2, frames=6, features=63)
    for t in range(6):
        np.save(root / "a" / "0" / f"{t}.npy", np.full(63, float(t + 1)))
    ds = load_dataset(cfg(root, "data.features_per_frame=63", "data.sequence_length=12", "data.resample=true"))
    assert ds.X[0, :, 0].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]  # nearest frames, never blended
    assert ds.defect("padded_frames").sum() == 0 and ds.lengths[0] == 6
    short = load_dataset(cfg(root, "data.features_per_frame=63", "data.sequence_length=3", "data.resample=true"))
    assert short.X[0, :, 0].tolist() == [1, 4, 6] and short.defect("truncated_frames").sum() == 0


def test_subnormal_values_read_as_zero():
    from signtrain.data.assemble import flush_subnormals

    frames = np.array([[3.05e-39, 0.5, -4.6e-39], [0.0, 1e-30, 0.25]], np.float32)
    out = flush_subnormals(frames)
    assert out.tolist() == [[0.0, 0.5, 0.0], [0.0, np.float32(1e-30), 0.25]]
    assert flush_subnormals(out) is out  # nothing to flush: no copy

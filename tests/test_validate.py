import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import real_data
from typer.testing import CliRunner

from signtrain.cli.app import app

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_clean_tree_is_ok(tree):
    root = tree(sequences=12, frames=30)
    code, out, _ = run("validate-data", root)
    assert code == 0 and "Verdict: OK" in out


def test_json_report_schema_and_figures(tree):
    root = tree(signs=("a", "b"), sequences=12, frames=12, features=126)
    (root / "a" / "1" / "3.npy").unlink()
    np.save(root / "b" / "2" / "0.npy", np.zeros(126))
    code, out, _ = run("validate-data", root, "--json", "--set", "data.sequence_length=12")
    report = json.loads(out)
    s = report["summary"]
    assert {k: s[k] for k in ("signs", "sequences", "frames_min", "frames_median", "frames_max",
                              "feature_length", "layout", "errors", "warnings")} == {
        "signs": 2, "sequences": 24, "frames_min": 12, "frames_median": 12.0, "frames_max": 12,
        "feature_length": 126, "layout": "hands", "errors": 0, "warnings": 1}
    a, b = report["per_sign"]
    assert (a["name"], a["sequences"], a["missing_frames"], a["zero_frames"]) == ("a", 12, 1, 0)
    assert (b["frames_min"], b["frames_max"], b["zero_frames"]) == (12, 12, 1)
    assert report["issues"] == [{"level": "warning", "kind": "missing_frames", "path": str(root / "a" / "1"),
                                 "message": "1 frame number(s) absent (3); zero-filled (data.missing_frame: zero)"}]
    assert code == 0
    assert run("validate-data", root, "--json", "--strict", "--set", "data.sequence_length=12")[0] == 1
    # the original recipe pads: 12 frames in its 30 slots are mostly padding
    padded = json.loads(run("validate-data", root, "--json", "--config", "base")[1])
    assert any(i["kind"] == "length_fit" and "60% of the model's input is padding" in i["message"]
               for i in padded["issues"])


def test_errors_exit_1_and_are_listed(tree):
    root = tree(signs=("a", "b"), sequences=8, frames=6, features=63)
    (root / "a" / "0" / "2.npy").write_bytes(b"garbage")
    np.save(root / "a" / "1" / "2.npy", np.ones(12))
    shutil.copytree(root / "b" / "3", root / "b" / "99")
    vec = np.ones(63)
    vec[0] = np.inf
    np.save(root / "b" / "0" / "1.npy", vec)
    code, out, _ = run("validate-data", root, "--json")
    report = json.loads(out)
    kinds = {(i["level"], i["kind"]) for i in report["issues"]}
    assert {("error", "unreadable_frame"), ("error", "wrong_length"), ("error", "nonfinite"),
            ("warning", "duplicate")} <= kinds
    dup = next(i for i in report["issues"] if i["kind"] == "duplicate")
    assert dup["path"].endswith("b/99") and "b/3" in dup["message"]
    assert report["summary"]["duplicates"] == 1 and code == 1
    code, out, _ = run("validate-data", root)
    assert code == 1 and "3 errors" in out and "unreadable_frame" in out and "a/0/2.npy: not a .npy file" in out


def test_hand_absent_imbalance_and_small_signs(tree):
    root = tree(signs=("a", "b"), sequences=2, frames=5, features=126)
    for t in range(5):
        vec = np.load(root / "a" / "0" / f"{t}.npy")
        vec[63:] = 0
        np.save(root / "a" / "0" / f"{t}.npy", vec)
    report = json.loads(run("validate-data", root, "--json")[1])
    assert report["per_sign"][0]["hand_absent"] == {"left_hand": 0, "right_hand": 1}
    assert [i["kind"] for i in report["issues"]].count("too_small") == 2


def test_layout_mismatch_with_the_config_is_flagged(tree, tmp_path):
    root = tree(signs=("a", "b"), sequences=8, frames=5, features=126)
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  features_per_frame: 225\n")
    code, out, _ = run("validate-data", root, "--config", config, "--json")
    issue = next(i for i in json.loads(out)["issues"] if i["kind"] == "layout_mismatch")
    assert "126" in issue["message"] and "225" in issue["message"] and code == 1


def test_usage_errors_exit_2_without_traceback(tree):
    root = tree(signs=("a", "b"), sequences=3, frames=5)
    code, _, err = run("validate-data", root, "--set", "data.sequence_lenght=3")
    assert code == 2 and "did you mean 'data.sequence_length'" in err and "Traceback" not in err
    code, _, err = run("validate-data", root.parent / "absent")
    assert code == 1 and "data folder not found" in err


def test_real_dgs_mpdata_report():
    root = real_data("dgs_mpdata")
    code, out, _ = run("validate-data", root, "--json")
    s = json.loads(out)["summary"]
    assert (s["signs"], s["sequences"], s["frames_min"], s["frames_max"]) == (8, 120, 18, 70)
    assert (s["feature_length"], s["layout"], s["errors"]) == (126, "hands", 0) and code == 0


def test_example_data_command_writes_a_valid_tree(tmp_path):
    code, out, _ = run("example-data", tmp_path / "ex", "--signs", 2, "--sequences", 5, "--frames", 12)
    assert code == 0 and "10 sequences" in out
    report = json.loads(run("validate-data", tmp_path / "ex", "--json")[1])
    assert report["summary"]["signs"] == 2 and report["summary"]["feature_length"] == 225
    assert run("example-data", tmp_path / "ex")[0] == 1  # refuses to write into a full folder


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["validate-data", "--help"],
                                  ["train", "--help"], ["evaluate", "--help"],
                                  ["export", "--help"], ["predict", "--help"]])
def test_help_and_version_never_import_tensorflow(args):
    code = "import sys, runpy; sys.argv = ['signtrain', *sys.argv[1:]]\n" \
           "try:\n    runpy.run_module('signtrain', run_name='__main__')\nexcept SystemExit as e:\n" \
           "    assert not any(m.startswith(('tensorflow', 'keras')) for m in sys.modules), 'TF imported'\n" \
           "    raise\n"
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "signtrain" in result.stdout.lower()

"""tf.distribute on a CPU-only machine: two logical CPU devices, and two real worker processes."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_MODEL, write_tree

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, sys
import tensorflow as tf
if {replicas} > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * {replicas})
sys.path.insert(0, {root!r})
from signtrain.config import load_config
from signtrain.training.run import train
config = load_config("base", {overrides!r}, data={data!r}, output={out!r})
print("RESULT " + json.dumps(train(config).metrics))
"""


def _overrides(*extra):
    return [*TINY_MODEL, "train.epochs=2", "data.features_per_frame=63", "data.sequence_length=10",
            "model.dropout=0.0", *extra]


def _run_script(replicas, overrides, data, out):
    script = RUN.format(replicas=replicas, root=str(ROOT), overrides=overrides, data=str(data), out=str(out))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_tree(tmp_path_factory.mktemp("dist") / "MP_Data", signs=("a", "b", "c"), sequences=12,
                      frames=10, features=63)


def test_mirrored_over_two_logical_cpus_matches_a_single_device_run(data, tmp_path):
    from signtrain.config import load_config
    from signtrain.training.run import train

    single = train(load_config("base", _overrides(), data=str(data), output=str(tmp_path / "single"))).metrics
    mirrored = _run_script(2, _overrides("train.distribute=mirrored", "train.devices=['/cpu:0', '/cpu:1']"),
                           data, tmp_path / "mirrored")
    assert (single["replicas"], mirrored["replicas"]) == (1, 2) and mirrored["distribute"] == "mirrored"
    files = _run_files(tmp_path / "single")
    other = _run_files(tmp_path / "mirrored")
    assert files == other and "lstm_model.h5" in files
    meta = [json.loads((tmp_path / d / "lstm_model.meta.json").read_text()) for d in ("single", "mirrored")]
    assert meta[0]["labels"] == meta[1]["labels"] and meta[0]["split"] == meta[1]["split"]
    assert meta[0]["normalization"] == meta[1]["normalization"]
    import keras

    w0 = keras.models.load_model(tmp_path / "single" / "lstm_model.h5").get_weights()
    w1 = keras.models.load_model(tmp_path / "mirrored" / "lstm_model.h5").get_weights()
    # the same maths (mean of per-replica means of equal halves = the global mean), summed in another order
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, atol=2e-3)


def _run_files(out):
    run = (out / "current").resolve()
    return {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file() and "tensorboard" not in str(p)}


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_two_processes_only_the_chief_writes(data, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        args = [sys.executable, "-m", "signtrain", "train", "--quiet", "--data", str(data),
                "--output", str(tmp_path / f"out{index}")]
        for item in _overrides("train.distribute=multi_worker"):
            args += ["--set", item]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                      cwd=str(tmp_path)))
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=300))
    finally:
        for proc in procs:
            proc.kill()
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
    assert "multi_worker: 2 replicas" in outputs[0][0] and outputs[1][0].strip() == ""
    chief = tmp_path / "out0"
    assert (chief / "lstm_model.h5").is_file() and (chief / "metrics.json").is_file()
    assert not (tmp_path / "out1").exists()
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["epochs_run"] == 2
    from signtrain.deploy.evaluate import evaluate

    assert evaluate(chief / "lstm_model.h5").accuracy == metrics["test_accuracy"]


def test_mixed_precision_is_refused_on_a_cpu(data, tmp_path):
    from typer.testing import CliRunner

    from signtrain.cli.app import app

    done = CliRunner().invoke(app, ["train", "--data", str(data), "--output", str(tmp_path / "m"), "--set",
                                    "train.mixed_precision=true"])
    assert done.exit_code == 2 and "helps only on a GPU" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "m").exists()

"""The command line as documented: every command in the README and in each command's help parses
against the app; the renderers print exactly these lines; config, info, runs."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from signtrain import ui
from signtrain.cli.app import app
from signtrain.progress import TrainBegin

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _parse(argv: list[str]) -> None:
    """Resolve the command and parse its options exactly as a run would, without running it."""
    group = typer.main.get_command(app)
    ctx = group.make_context("signtrain", list(argv))
    name, cmd, rest = group.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
    while hasattr(cmd, "resolve_command"):  # nested groups (signtrain config ...)
        ctx = cmd.make_context(name, list(rest), parent=ctx)
        name, cmd, rest = cmd.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
    cmd.make_context(name, list(rest), parent=ctx)


def readme_commands() -> list[str]:
    lines, joined = [], ""
    for raw in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if not raw.startswith("    "):
            continue
        line = raw.strip()
        joined = f"{joined} {line[:-1]}" if line.endswith("\\") else f"{joined} {line}"
        if line.endswith("\\"):
            continue
        text, joined = joined.strip(), ""
        words = shlex.split(text, comments=True)
        while words and re.match(r"^[A-Z_]+=", words[0]):  # TF_CONFIG='...' signtrain ...
            words = words[1:]
        for stop in (">", ">>", "|", "&&", ";"):  # shell plumbing after the command
            if stop in words:
                words = words[:words.index(stop)]
        if words and words[0] == "signtrain":
            lines.append(shlex.join(words))
    return lines


def help_examples() -> list[str]:
    found = []
    group = typer.main.get_command(app)

    def walk(cmd):
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)
        for line in (cmd.epilog or "").splitlines():
            if line.strip().startswith("signtrain "):
                found.append(line.strip())

    walk(group)
    return found


def test_the_readme_shows_commands_and_every_command_has_examples():
    assert len(readme_commands()) > 25
    group = typer.main.get_command(app)
    commands = [c for name, c in group.commands.items() if name != "config"] + list(group.commands["config"].commands.values())
    assert all("Examples" in (c.epilog or "") for c in commands), [c.name for c in commands if not c.epilog]


@pytest.mark.parametrize("command", readme_commands() + help_examples())
def test_documented_commands_parse(command):
    _parse(shlex.split(command)[1:])


def test_choices_are_enforced_by_the_parser():
    for bad in (["evaluate", "m.h5", "--split", "everything"], ["export", "m.h5", "--format", "zip"],
                ["export", "m.h5", "--quantize", "int4"]):
        result = runner.invoke(app, bad)
        assert result.exit_code == 2 and "Invalid value" in result.stderr, bad
    assert "-q" not in runner.invoke(app, ["export", "--help"]).stdout.split("--quantize")[1].split("\n")[0]


def test_config_show_keys_and_init(tmp_path, monkeypatch):
    shown = runner.invoke(app, ["config", "show", "--config", "best", "--set", "train.epochs=7"])
    assert shown.exit_code == 0 and "  epochs: 7" in shown.stdout and "kind: gru" in shown.stdout
    keys = json.loads(runner.invoke(app, ["config", "keys", "--json"]).stdout)
    epochs = next(k for k in keys if k["key"] == "train.epochs")
    assert epochs == {"key": "train.epochs", "type": "an integer", "default": 500, "allowed": "1..",
                      "help": "maximum epochs"}
    assert len(keys) == len({k["key"] for k in keys}) > 70
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(app, ["config", "init", "best"])
    assert made.exit_code == 0 and (tmp_path / "best.yaml").read_text() == (ROOT / "configs" / "best.yaml").read_text()
    assert runner.invoke(app, ["config", "init", "best"]).exit_code == 2
    assert runner.invoke(app, ["config", "show", "--config", "nonesuch"]).exit_code == 2


# ---------------------------------------------------------------- renderers, with fixed inputs


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_plain_training_lines_are_exact():
    from signtrain.training.callbacks import TrainState

    buffer, clock = io.StringIO(), Clock()
    display = ui.TrainingDisplay(Console(file=buffer, width=200), live=False, clock=clock)
    display.on_phase("reading the data")
    display.on_train_begin(TrainBegin(5, 3, 0, "val_accuracy"))
    clock.now += 2.5
    state = TrainState("val_accuracy", "max", best=0.75, best_epoch=1, epochs_done=1)
    display.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.625, "val_loss": 0.75, "val_accuracy": 0.75,
                             "learning_rate": 1e-3}, state)
    assert buffer.getvalue().splitlines() == [
        "reading the data…",
        "compiling and running the first step; then one line per epoch (best = val_accuracy)",
        "epoch 1/5  loss 0.5000  acc 62.5%  val_loss 0.7500  val_acc 75.0%  lr 1.00e-03  "
        "best val_accuracy 75.0% (epoch 1)  elapsed 2.5s",
    ]


def _report(n_signs: int):
    import numpy as np

    from signtrain.deploy.evaluate import EvalReport, compute_metrics

    labels = [f"sign{i:02d}" for i in range(n_signs)]
    y = np.arange(n_signs).repeat(2)
    probs = np.eye(n_signs)[y]
    probs[0] = np.eye(n_signs)[1]  # sign00 once taken for sign01
    return EvalReport(model="models/lstm_model.h5", data="MP_Data", split="test", labels=labels, sequences=len(y),
                      sequences_per_second=1000.0, **compute_metrics(y, probs, labels))


def test_small_evaluation_shows_the_matrix_and_exact_summary_lines():
    buffer = io.StringIO()
    ui.render_eval_report(_report(3), Console(file=buffer, width=120))
    lines = buffer.getvalue().splitlines()
    assert "Most confused: sign00 → sign01 ×1" in lines and "Accuracy: 83.33% (6 sequences)" in lines
    assert any("Confusion matrix (counts)" in line for line in lines)


def test_many_signs_show_pairs_and_point_at_the_png():
    buffer = io.StringIO()
    report = _report(16)
    report.files = {"confusion_matrix_png": "ev/confusion_matrix.png"}
    ui.render_eval_report(report, Console(file=buffer, width=100))
    text = buffer.getvalue()
    assert "Confusion matrix (counts)" not in text and "Most confused pairs" in text
    assert "Confusion matrix: 16 signs are too many for the terminal; see ev/confusion_matrix.png (and report.json)" \
        in text.replace("\n", " ")
    assert "Per sign (weakest in red)" in text and "Accuracy: 96.88% (32 sequences)" in text


def test_phases_on_a_terminal_and_in_a_pipe():
    pipe = io.StringIO()
    phases = ui.Phases(Console(file=pipe, width=80), live=False)
    phases("converting to tflite")
    phases("checking the tflite file against the Keras model")
    phases.stop()
    assert pipe.getvalue().splitlines() == ["converting to tflite…",
                                            "checking the tflite file against the Keras model…"]
    terminal = io.StringIO()
    live = ui.Phases(Console(file=terminal, width=80, force_terminal=True), live=True)
    live("loading the model")
    live.stop()
    assert "loading the model…" in terminal.getvalue()


def test_the_listed_choices_are_the_library_s():
    from signtrain.choices import EXPORT_FORMATS
    from signtrain.registry import EXPORT_FORMATS as FORMATS

    assert tuple(FORMATS) == EXPORT_FORMATS


def test_no_spinner_outlives_its_run():
    """A live status redirects stdout while it runs; the display must hand it back when the run ends."""
    import sys

    stdout = sys.stdout
    display = ui.TrainingDisplay(Console(file=io.StringIO(), width=80, force_terminal=True), live=True)
    display.on_phase("saving the run")
    display.on_close()
    assert sys.stdout is stdout
    with ui.Phases(Console(file=io.StringIO(), width=80, force_terminal=True), live=True) as phases:
        phases("converting to tflite")
    assert sys.stdout is stdout


@pytest.mark.parametrize("command, extra", [("extract", "signtrain[extract]"), ("predict", "signtrain[speech]")])
def test_help_names_the_extra_to_install(command, extra):
    """Rich reads [name] as markup: the help must still show the extra's name."""
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0 and extra in result.stdout

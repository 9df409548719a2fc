"""The Typer app.  Each command: parse -> load_config -> one library call -> ui -> exit code.

Heavy modules (TensorFlow above all) are imported inside the commands, so that
`--help`, `--version` and `validate-data` start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, TypeVar

import typer

from signtrain import __version__
from signtrain.errors import SigntrainError

app = typer.Typer(
    name="signtrain",
    help="Sign-language landmark recordings -> validated dataset -> trained classifier -> report -> deployable model.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

T = TypeVar("T")

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML config (default: built-in defaults = configs/base.yaml).")
SetOpt = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                      help="Override one config key, e.g. --set train.epochs=5 (repeatable).")
DataOpt = typer.Option(None, "--data", "-d", help="Data folder; shortcut for --set data.path=PATH.")
OutputOpt = typer.Option(None, "--output", "-o", help="Output folder; shortcut for --set output.dir=DIR.")
NoCacheOpt = typer.Option(False, "--no-cache", help="Read the tree afresh and write no cache (data.cache: false).")


def _guard(work: Callable[[], T], command: str = "signtrain") -> T:
    """Run a command body: user errors become one line on stderr and an exit code, never a traceback;
    anything unexpected becomes one line plus a crash log holding the traceback (exit 1)."""
    from signtrain import ui
    from signtrain.errors import Interrupted

    try:
        return work()
    except Interrupted as exc:
        ui.print_note(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except SigntrainError as exc:
        ui.print_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ui.print_note("aborted by Ctrl-C; whatever was being written stays invisible and the previous run is intact "
                      "(an unfinished training continues with signtrain train --resume)")
        raise typer.Exit(130) from None
    except (typer.Exit, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - the last-resort guard
        from signtrain.crash import one_line, write_crash_log

        ui.print_error(one_line(exc, command, write_crash_log(exc, command)))
        raise typer.Exit(1) from None


def _with_cache(overrides: Optional[List[str]], no_cache: bool) -> list[str]:
    """--no-cache is the last override, so it wins over a data.cache in --set."""
    return [*(overrides or []), *(["data.cache=false"] if no_cache else [])]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"signtrain {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    """signtrain: validate-data, train, evaluate, export."""


@app.command("example-data")
def example_data(
    directory: Path = typer.Argument(..., help="New folder to write the MP_Data tree into."),
    signs: int = typer.Option(3, min=1, help="Number of signs."),
    sequences: int = typer.Option(30, min=1, help="Sequences (recordings) per sign."),
    frames: int = typer.Option(30, min=1, help="Frames per sequence."),
    features: int = typer.Option(225, help="Values per frame: 1662, 258, 225, 126 or 63."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Write a small synthetic MP_Data example (hand and pose motion per sign, a few defects)."""
    from signtrain import ui
    from signtrain.data.example import write_example

    summary = _guard(lambda: write_example(directory, signs, sequences, frames, features, seed), "example-data")
    ui.render_example(summary, ui.make_console())


@app.command("validate-data")
def validate_data(
    path: Path = typer.Argument(..., help="Data folder, e.g. MP_Data."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on warnings too (a CI gate)."),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Check a dataset: what is in it, what is wrong with it, and whether it fits the config."""
    from signtrain import ui
    from signtrain.config import load_config, replace
    from signtrain.data import load_dataset
    from signtrain.validation import build_report

    def work() -> int:
        cfg = load_config(config, _with_cache(overrides, no_cache), data=str(path))
        declared = cfg.data.features_per_frame if (config or overrides) else None
        if declared is None:
            cfg = replace(cfg, data={"features_per_frame": None})
        dataset = load_dataset(cfg.data, strict=False)
        report = build_report(dataset, cfg, declared)
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_data_report(report, ui.make_console())
        return report.exit_code(strict)

    raise typer.Exit(_guard(work, "validate-data"))


@app.command()
def convert(
    source: Path = typer.Argument(..., help="Any tree signtrain reads (MP_Data, .npy, ISLR parquet, CSV)."),
    destination: Path = typer.Argument(..., help="New MP_Data folder, or a .npz file for one compact array."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing destination."),
) -> None:
    """Write a dataset as an MP_Data tree or as one compact .npz array file, with its labels."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.convert import convert as run_convert

    def work() -> int:
        cfg = load_config(config, [*(overrides or []), "data.features_per_frame=null"], data=str(source))
        ui.render_convert(run_convert(cfg.data, destination, overwrite), ui.make_console())
        return 0

    raise typer.Exit(_guard(work, "convert"))


@app.command()
def train(
    run: Optional[str] = typer.Argument(None, metavar="[RUN_OR_FOLDER]",
                                        help="With --resume: the run to continue (its id or --name, its folder, or "
                                             "an output folder); default: the newest run in the output folder."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    data: Optional[str] = DataOpt,
    output: Optional[str] = OutputOpt,
    resume: bool = typer.Option(False, "--resume", help="Continue a run from its own config, data and split; only "
                                "--set keys such as train.epochs may change."),
    name: Optional[str] = typer.Option(None, "--name", help="Name the run (its folder is runs/<date>-<name>)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Delete the run the output folder showed (and a run "
                                   "of the same --name) once the new one is in, instead of keeping it in runs/."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="One plain line per epoch instead of the live display."),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Train the sequence classifier of the config; the run (model and everything it needs) appears whole."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.errors import ConfigError
    from signtrain.interrupt import InterruptScope

    def work() -> int:
        # installed first, so that a Ctrl-C while TensorFlow loads or the data is read is never lost
        with InterruptScope(ui.print_note) as interrupt:
            from signtrain.resume import resume_config
            from signtrain.runs import find_run
            from signtrain.train import train as run_training

            target = None
            if run is not None and not resume:
                raise ConfigError(f"'{run}': a run to continue is given only with --resume "
                                  f"(signtrain train --resume {run})")
            if resume:
                if config is not None:
                    raise ConfigError("--resume continues with the run's own config; change keys with --set, "
                                      "not --config")
                target = find_run(Path(output or load_config().output.dir), run)
                cfg = resume_config(target, _with_cache(overrides, no_cache), data, str(target.path.parent.parent))
            else:
                cfg = load_config(config, _with_cache(overrides, no_cache), data, output)
            console = ui.make_console()
            display = ui.TrainingDisplay(console, live=False if quiet else None)
            result = run_training(cfg, display, resume=target, name=name, overwrite=overwrite, interrupt=interrupt)
            if result.is_chief:
                ui.render_train_summary(result, console)
            return 130 if result.interrupted else 0

    raise typer.Exit(_guard(work, "train"))


@app.command("runs")
def runs_command(
    folder: Path = typer.Argument(Path("models"), help="The output folder of the trainings (output.dir)."),
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON on stdout."),
) -> None:
    """List the runs of an output folder: id, status, date, data, signs, test accuracy, path."""
    from signtrain import ui
    from signtrain.runs import list_runs

    def work() -> int:
        found = list_runs(folder)
        if as_json:
            ui.print_json([r.to_dict() for r in found])
        else:
            ui.render_runs(found, str(folder), ui.make_console())
        return 0

    raise typer.Exit(_guard(work, "runs"))


@app.command()
def evaluate(
    model: Path = typer.Argument(..., help="Trained model: .h5 or .keras (its .meta.json beside it)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="Evaluate on this tree instead of the "
                                       "held-out split recorded at training."),
    split: Optional[str] = typer.Option(None, "--split", help="test | val | train | all (training data only)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder for report.json, per_sign.csv "
                                          "and confusion_matrix.png (default: evaluation/ beside the model)."),
    normalize: bool = typer.Option(False, "--normalize", help="Show the confusion matrix as row shares."),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Evaluate a trained model: accuracy, per-sign precision/recall/F1, confusion matrix, throughput."""
    from signtrain import ui
    from signtrain.evaluate import default_output, write_report
    from signtrain.evaluate import evaluate as run_evaluation

    def work() -> int:
        report = run_evaluation(model, data, split, use_cache=not no_cache)
        write_report(report, output or default_output(model))
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_eval_report(report, ui.make_console(), normalize)
        return 0

    raise typer.Exit(_guard(work, "evaluate"))


@app.command()
def export(
    model: Path = typer.Argument(..., help="Trained model (.h5 or .keras) with its .meta.json beside it."),
    fmt: str = typer.Option("tflite", "--format", "-f", help="tflite | saved_model | keras | onnx | all "
                            "(comma-separated for several)."),
    quantize: str = typer.Option("none", "--quantize", "-q", help="TFLite only: none | float16 | dynamic | int8."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder for the exported files "
                                          "(default: export/ beside the model)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="Check parity on this tree instead of the "
                                       "held-out split recorded at training."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
) -> None:
    """Export a trained model and prove each file matches it (parity on real sequences, latency)."""
    from signtrain import ui
    from signtrain.export import export as run_export
    from signtrain.export import parse_formats

    def work() -> int:
        report = run_export(model, parse_formats(fmt), quantize, output, data)
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_export_report(report, ui.make_console())
        requested_only = [e for e in report.entries if e.note.startswith("skipped")] if fmt != "all" else []
        if requested_only:
            raise SigntrainError(f"--format {requested_only[0].format}: {requested_only[0].note}")
        return 1 if report.failed else 0

    raise typer.Exit(_guard(work, "export"))


@app.command()
def predict(
    model: Path = typer.Argument(..., help="Trained or exported model (.h5, .keras, .tflite, SavedModel, .onnx)."),
    recording: Path = typer.Argument(..., help="A .npy of shape (frames, features) or an MP_Data sequence folder."),
    top: int = typer.Option(3, "--top-k", "-k", min=1, help="How many signs to list."),
    as_stream: bool = typer.Option(False, "--stream", help="Slide a window over a long recording and emit signs."),
    threshold: float = typer.Option(0.8, "--threshold", min=0.0, max=1.0, help="Stream: probability a sign must "
                                    "hold to be emitted."),
    smooth: int = typer.Option(5, "--smooth", min=1, help="Stream: predictions averaged."),
    hold: int = typer.Option(3, "--hold", min=1, help="Stream: steps a sign must stay on top before it is emitted."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Predict the sign of one recording, or stream a long one into a sentence of signs."""
    from dataclasses import asdict

    from signtrain import ui
    from signtrain.predict import read_recording, stream, top_k
    from signtrain.predictor import load_predictor

    def work() -> int:
        predictor = load_predictor(model)
        frames = read_recording(recording, predictor)
        console = ui.make_console()
        if as_stream:
            result = stream(predictor, frames, threshold, smooth, hold)
            if as_json:
                ui.print_json({"frames": result.frames, "steps": result.steps, "sentence": result.sentence,
                               "emissions": [asdict(e) for e in result.emissions]})
            else:
                ui.render_stream(str(recording), result, threshold, console)
        else:
            ranked = top_k(predictor, frames, min(top, len(predictor.labels)))
            if as_json:
                ui.print_json({"top_k": [{"sign": s, "probability": p} for s, p in ranked]})
            else:
                ui.render_prediction(str(recording), ranked, console)
        return 0

    raise typer.Exit(_guard(work, "predict"))


def main() -> None:
    app()

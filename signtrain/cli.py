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


def _guard(work: Callable[[], T]) -> T:
    """Run a command body: user errors become one line on stderr and an exit code, never a traceback."""
    from signtrain import ui

    try:
        return work()
    except SigntrainError as exc:
        ui.print_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ui.print_error("interrupted")
        raise typer.Exit(130) from None


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

    summary = _guard(lambda: write_example(directory, signs, sequences, frames, features, seed))
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

    raise typer.Exit(_guard(work))


@app.command()
def convert(
    source: Path = typer.Argument(..., help="Any tree signtrain reads (MP_Data, .npy, ISLR parquet, CSV)."),
    destination: Path = typer.Argument(..., help="New MP_Data folder, or a .npz file for one compact array."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
) -> None:
    """Write a dataset as an MP_Data tree or as one compact .npz array file, with its labels."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.convert import convert as run_convert

    def work() -> int:
        cfg = load_config(config, [*(overrides or []), "data.features_per_frame=null"], data=str(source))
        summary = run_convert(cfg.data, destination)
        ui.make_console().print(summary, markup=False)
        return 0

    raise typer.Exit(_guard(work))


@app.command()
def train(
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    data: Optional[str] = DataOpt,
    output: Optional[str] = OutputOpt,
    resume: bool = typer.Option(False, "--resume", help="Continue from the last epoch saved in the output folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="One plain line per epoch instead of the live display."),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Train the sequence classifier of the config and write the model and everything it needs."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.runtime import import_tensorflow
    from signtrain.train import train as run_training

    def work() -> int:
        cfg = load_config(config, _with_cache(overrides, no_cache), data, output)
        import_tensorflow()
        console = ui.make_console()
        display = ui.TrainingDisplay(console, live=False if quiet else None)
        result = run_training(cfg, display, resume=resume)
        if result.is_chief:
            ui.render_train_summary(result, console)
        return 130 if result.interrupted else 0

    raise typer.Exit(_guard(work))


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
    from signtrain.evaluate import evaluate as run_evaluation
    from signtrain.evaluate import write_report

    def work() -> int:
        report = run_evaluation(model, data, split, use_cache=not no_cache)
        write_report(report, output or model.parent / "evaluation")
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_eval_report(report, ui.make_console(), normalize)
        return 0

    raise typer.Exit(_guard(work))


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

    raise typer.Exit(_guard(work))


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

    raise typer.Exit(_guard(work))


def main() -> None:
    app()

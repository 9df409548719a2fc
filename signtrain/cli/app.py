"""The Typer app.  Each command: parse -> load_config -> one library call -> ui -> exit code.

Heavy modules (TensorFlow above all) are imported inside the commands, so that `--help`,
`--version`, `validate-data`, `info` and `predict` on an exported file start fast.  The
examples in each command's help are parsed against the app by a test, so they stay true.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Callable, List, Optional, TypeVar

import typer

from signtrain import __version__
from signtrain.choices import CV_FINALS, EXPORT_FORMATS, EXTRACT_LAYOUTS, QUANTIZE, SPLITS
from signtrain.config import DEFAULT_RECIPE, RECIPES
from signtrain.errors import SigntrainError
from signtrain.registry import EXPORT_FORMATS as EXPORT_FORMATS_TABLE

app = typer.Typer(
    name="signtrain",
    help="Sign-language landmark recordings -> validated dataset -> trained classifier -> report -> deployable model.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
config_app = typer.Typer(help="The config: show it resolved, list every key, or start one from a built-in recipe.",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")

T = TypeVar("T")


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A str Enum of a fixed value set that lives in the library, so the parser lists and checks it."""
    return Enum(name, {v: v for v in values}, type=str)


Split = _choices("Split", SPLITS)
Format = _choices("Format", (*EXPORT_FORMATS, "all"))
Quantize = _choices("Quantize", QUANTIZE)
Recipe = _choices("Recipe", RECIPES)
ExtractLayout = _choices("ExtractLayout", EXTRACT_LAYOUTS)
Final = _choices("Final", CV_FINALS)
QUANTIZE_FORMATS = ", ".join(f.name for f in EXPORT_FORMATS_TABLE.values() if len(f.thresholds) > 1)


def examples(*lines: str) -> str:
    """A help epilog of example command lines (each one is parsed by tests/test_cli.py)."""
    return "[bold]Examples[/bold]\n\n" + "\n\n".join(f"  {line}" for line in lines)


def Flag(help: str, *names: str) -> bool:  # noqa: N802 - reads like typer.Option
    return typer.Option(False, *names, help=help, metavar="")


ConfigOpt = typer.Option(None, "--config", "-c", metavar="FILE|RECIPE",
                         help="YAML config, or a built-in recipe: default (adaptive: its training length set by "
                              "the data), base (the original recipe), best, optimized.")
SetOpt = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                      help="Change one config key, e.g. --set train.epochs=5 (repeatable; signtrain config keys lists "
                           "them).")
DataOpt = typer.Option(None, "--data", "-d", metavar="PATH", help="Data folder; shortcut for --set data.path=PATH.")
OutputOpt = typer.Option(None, "--output", "-o", metavar="DIR", help="Output folder; shortcut for --set output.dir=DIR.")
ModelAssetOpt = typer.Option(None, "--model-asset", metavar="PATH", help="MediaPipe holistic_landmarker.task "
                             "(default: Google's official bundle, downloaded once into the cache).")
NoCacheOpt = Flag("Read the tree afresh and write no cache (data.cache: false).", "--no-cache")
JsonOpt = Flag("Print the result as JSON on stdout.", "--json")


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
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, metavar="",
                                       help="Show the version and exit.")) -> None:
    """signtrain: validate-data, train, evaluate, export, predict."""


@app.command("example-data", epilog=examples("signtrain example-data MP_Data --signs 3 --sequences 30",
                                             "signtrain example-data MP_Data_hands --features 126"))
def example_data(
    directory: Path = typer.Argument(..., metavar="FOLDER", help="New folder to write the MP_Data tree into."),
    signs: int = typer.Option(3, min=1, metavar="N", help="Number of signs."),
    sequences: int = typer.Option(30, min=1, metavar="N", help="Sequences (recordings) per sign."),
    frames: int = typer.Option(30, min=1, metavar="N", help="Frames per sequence."),
    features: int = typer.Option(225, metavar="N", help="Values per frame: 1662, 258, 225, 126 or 63."),
    seed: int = typer.Option(0, metavar="N", help="Random seed."),
) -> None:
    """Write a small synthetic MP_Data example (hand and pose motion per sign, a few defects)."""
    from signtrain import ui
    from signtrain.data.example import write_example

    def work() -> int:
        ui.render_example(write_example(directory, signs, sequences, frames, features, seed), ui.make_console())
        return 0

    raise typer.Exit(_guard(work, "example-data"))


@app.command("validate-data", epilog=examples("signtrain validate-data MP_Data",
                                              "signtrain validate-data MP_Data --json --strict",
                                              "signtrain validate-data ../shared/data/dgs30_csv --set "
                                              "data.sequence_length=60"))
def validate_data(
    path: Path = typer.Argument(..., metavar="DATA", help="Data folder (MP_Data, CSV, ISLR parquet) or .npz file."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    as_json: bool = JsonOpt,
    strict: bool = Flag("Exit 1 on warnings too (a CI gate).", "--strict"),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Check a dataset: what is in it, what is wrong with it (each file named, with the reason), and what
    training would do about it."""
    from signtrain import ui
    from signtrain.config import load_config, replace
    from signtrain.data import load_dataset
    from signtrain.data.validation import build_report

    def work() -> int:
        cfg = load_config(config, _with_cache(overrides, no_cache), data=str(path))
        dataset = load_dataset(replace(cfg, data={"features_per_frame": None}).data, strict=False)
        report = build_report(dataset, cfg, cfg.data.features_per_frame)
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_data_report(report, ui.make_console())
        return report.exit_code(strict)

    raise typer.Exit(_guard(work, "validate-data"))


@app.command(epilog=examples("signtrain convert ../shared/data/dgs30_csv dgs30.npz",
                             "signtrain convert ../shared/data/islr_letters letters_mp --overwrite"))
def convert(
    source: Path = typer.Argument(..., metavar="SOURCE", help="Any tree signtrain reads (MP_Data, .npy, ISLR "
                                  "parquet, CSV)."),
    destination: Path = typer.Argument(..., metavar="DESTINATION", help="New MP_Data folder, or a .npz file for one "
                                       "compact array."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    overwrite: bool = Flag("Replace an existing destination.", "--overwrite"),
) -> None:
    """Write a dataset as an MP_Data tree or as one compact .npz array file, with its labels."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.data.convert import convert as run_convert

    def work() -> int:
        cfg = load_config(config, [*(overrides or []), "data.features_per_frame=null"], data=str(source))
        ui.render_convert(run_convert(cfg.data, destination, overwrite), ui.make_console())
        return 0

    raise typer.Exit(_guard(work, "convert"))


@app.command(epilog=examples("signtrain extract videos MP_Data --frames 30",
                             "signtrain extract hello.mp4 MP_Data --sign hello --layout pose4_hands",
                             "signtrain extract videos MP_Data --workers 4 --model-asset holistic_landmarker.task "
                             "--json"))
def extract(
    source: Path = typer.Argument(..., metavar="SOURCE", help="A video, a folder of videos, or SOURCE/<sign>/<video> "
                                  "(the folder name is the sign)."),
    out: Path = typer.Argument(..., metavar="OUT", help="MP_Data tree to write into (new sequences are numbered "
                               "after the ones there)."),
    layout: ExtractLayout = typer.Option("holistic", "--layout", "-l", help="Values per frame: holistic 1662 (the "
                                         "tutorial's), pose4_hands 258, pose_hands 225, hands 126."),
    frames: Optional[int] = typer.Option(None, "--frames", "-f", min=1, metavar="N",
                                         help="Frames per recording, sampled evenly (default: every frame)."),
    sign: Optional[str] = typer.Option(None, "--sign", metavar="NAME", help="Put every video under this sign "
                                       "(default: its folder name, or its file name without a trailing number)."),
    arrays: bool = Flag("Write one (frames, values) .npy per recording instead of one file per frame.", "--arrays"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, metavar="N",
                                          help="Videos extracted at once, each in its own process (default: the "
                                               "number of CPU cores)."),
    model_asset: Optional[Path] = ModelAssetOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Extract MediaPipe Holistic landmarks from videos into an MP_Data tree (needs signtrain[extract])."""
    import os

    from signtrain import ui
    from signtrain.extract import asset
    from signtrain.extract.holistic import layout_named
    from signtrain.extract.run import Settings
    from signtrain.extract.run import extract as run_extract

    def work() -> int:
        settings = Settings(layout_named(layout.value), frames, arrays, workers or os.cpu_count() or 1)
        console = ui.make_console()
        bundle = asset.resolve(model_asset, on_download=None if as_json else ui.print_note)
        display = None if as_json else ui.ExtractDisplay(console)
        try:
            report = run_extract(source, out, bundle, settings, sign, display)
        finally:
            if display:
                display.close()
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_extract_report(report, console)
        return 1 if report.count("failed") else 0

    raise typer.Exit(_guard(work, "extract"))


@app.command(epilog=examples("signtrain train --config configs/base.yaml",
                             "signtrain train --config best --data ../shared/data/dgs30_csv --name dgs30",
                             "signtrain train --resume --set train.epochs=800",
                             "signtrain train --init models/lstm_model.h5 --data MP_Data_more_signs",
                             "signtrain train --data MP_Data --folds 5 --repeats 2 --final all"))
def train(
    run: Optional[str] = typer.Argument(None, metavar="[RUN_OR_FOLDER]",
                                        help="With --resume: the run to continue (its id or --name, its folder, or "
                                             "an output folder); default: the newest run in the output folder."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    data: Optional[str] = DataOpt,
    output: Optional[str] = OutputOpt,
    resume: bool = Flag("Continue a run from its own config, data and split; only --set keys such as train.epochs "
                        "may change.", "--resume"),
    init: Optional[Path] = typer.Option(None, "--init", metavar="MODEL",
                                        help="Fine-tune: start from this trained model (its layout, transform, "
                                             "normalisation and weights); train.init_signs says whether the data's "
                                             "signs add to or replace its signs."),
    name: Optional[str] = typer.Option(None, "--name", metavar="NAME",
                                       help="Name the run (its folder is runs/<date>-<name>)."),
    overwrite: bool = Flag("Delete the run the output folder showed (and a run of the same --name) once the new one "
                           "is in, instead of keeping it in runs/.", "--overwrite"),
    quiet: bool = Flag("One plain line per epoch instead of the live display.", "--quiet", "-q"),
    no_cache: bool = NoCacheOpt,
    folds: Optional[int] = typer.Option(None, "--folds", min=2, metavar="K",
                                        help="Cross-validate: K stratified folds (whole signers per fold with "
                                             "split.group_by), each a run; accuracy and macro-F1 per fold and mean "
                                             "± std; then the final model (--final)."),
    repeats: int = typer.Option(1, "--repeats", min=1, metavar="R", help="--folds: repeat with R different fold "
                                "assignments."),
    final: Final = typer.Option("all", "--final", help="--folds: the model kept: trained on all the data, or the "
                                "best fold's."),
) -> None:
    """Train the sequence classifier of the config; the run (model and everything it needs) appears whole."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.errors import ConfigError
    from signtrain.interrupt import InterruptScope

    def work() -> int:
        # installed first, so that a Ctrl-C while TensorFlow loads or the data is read is never lost
        with InterruptScope(ui.print_note) as interrupt:
            from signtrain.store.runs import find_run
            from signtrain.training.resume import resume_config
            from signtrain.training.run import train as run_training

            target = meta = None
            if run is not None and not resume:
                raise ConfigError(f"'{run}': a run to continue is given only with --resume "
                                  f"(signtrain train --resume {run})")
            if resume:
                if config is not None or init is not None:
                    raise ConfigError("--resume continues with the run's own config and weights; change keys with "
                                      "--set, not --config or --init")
                target = find_run(Path(output or load_config().output.dir), run)
                cfg = resume_config(target, _with_cache(overrides, no_cache), data, str(target.path.parent.parent))
            else:
                cfg = load_config(config, _with_cache(overrides, no_cache), data, output)
            if folds is not None:
                if resume or init is not None or overwrite:
                    raise ConfigError("--folds trains new runs from scratch; it does not combine with --resume, "
                                      "--init or --overwrite")
                return _cross_validate(cfg, folds, repeats, final.value, name, quiet, interrupt, run_training)
            if init is not None:
                from signtrain.store import metadata
                from signtrain.training.finetune import config_for

                meta = metadata.load(init)
                cfg = config_for(meta, cfg)
            console = ui.make_console()
            display = ui.TrainingDisplay(console, live=False if quiet else None)
            result = run_training(cfg, display, resume=target, name=name, overwrite=overwrite, interrupt=interrupt,
                                  init=meta)
            if result.is_chief:
                ui.render_train_summary(result, console)
            return 130 if result.interrupted else 0

    raise typer.Exit(_guard(work, "train"))


def _cross_validate(cfg, folds: int, repeats: int, final: str, name: Optional[str], quiet: bool, interrupt,
                    run_training) -> int:
    from signtrain import ui
    from signtrain.training.crossval import cross_validate

    console = ui.make_console()

    def train_fold(config, **kwargs):
        return run_training(config, ui.TrainingDisplay(console, live=False if quiet else None), interrupt=interrupt,
                            **kwargs)

    result = cross_validate(cfg, folds, repeats, final, train_fold, name,
                            on_fold=lambda r, k, n: ui.render_fold_start(r, k, n, repeats, console),
                            on_result=lambda outcome: ui.render_fold_result(outcome, console))
    ui.render_crossval(result, console)
    return 0


@app.command("runs", epilog=examples("signtrain runs", "signtrain runs models --json"))
def runs_command(
    folder: Path = typer.Argument(Path("models"), metavar="[FOLDER]", help="The output folder of the trainings "
                                  "(output.dir)."),
    as_json: bool = JsonOpt,
) -> None:
    """List the runs of an output folder: id, status, date, data, signs, test accuracy, path."""
    from signtrain import ui
    from signtrain.store.runs import list_runs

    def work() -> int:
        found = list_runs(folder)
        if as_json:
            ui.print_json([r.to_dict() for r in found])
        else:
            ui.render_runs(found, str(folder), ui.make_console())
        return 0

    raise typer.Exit(_guard(work, "runs"))


@app.command(epilog=examples("signtrain info models/lstm_model.h5", "signtrain info models/export/lstm_model.tflite "
                                                                    "--json"))
def info(
    model: Path = typer.Argument(..., metavar="MODEL", help="A trained or exported model."),
    as_json: bool = JsonOpt,
) -> None:
    """What a model is: signs, layout, sequence length, recipe, data, test figures, versions, exports."""
    from signtrain import ui
    from signtrain.deploy.info import model_info

    def work() -> int:
        details = model_info(model)
        if as_json:
            ui.print_json(details)
        else:
            ui.render_info(details, ui.make_console())
        return 0

    raise typer.Exit(_guard(work, "info"))


@app.command(epilog=examples("signtrain evaluate models/lstm_model.h5", "signtrain evaluate models/lstm_model.h5 "
                             "--split val", "signtrain evaluate models/lstm_model.h5 --data OTHER_TREE --normalize",
                             "signtrain evaluate models/lstm_model.h5 --json"))
def evaluate(
    model: Path = typer.Argument(..., metavar="MODEL", help="Trained model: .h5 or .keras (its .meta.json beside it)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", metavar="PATH", help="Evaluate on this tree instead of "
                                       "the held-out split recorded at training."),
    split: Optional[Split] = typer.Option(None, "--split", help="Which part of the training data (default: test)."),
    as_json: bool = JsonOpt,
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="DIR", help="Folder for report.json, "
                                          "per_sign.csv and confusion_matrix.png (default: evaluation/ in the run)."),
    normalize: bool = Flag("Show the confusion matrix as row shares.", "--normalize"),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Evaluate a trained model: accuracy, per-sign precision/recall/F1, confusion matrix, throughput."""
    from signtrain import ui
    from signtrain.deploy.evaluate import default_output, write_report
    from signtrain.deploy.evaluate import evaluate as run_evaluation

    def work() -> int:
        console = ui.make_console(stderr=as_json)
        with ui.Phases(console) as phases:
            report = run_evaluation(model, data, split.value if split else None, use_cache=not no_cache,
                                    on_phase=phases)
            phases("writing the report")
            write_report(report, output or default_output(model))
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_eval_report(report, console, normalize)
        return 0

    raise typer.Exit(_guard(work, "evaluate"))


@app.command(epilog=examples("signtrain export models/lstm_model.h5", "signtrain export models/lstm_model.h5 "
                             "--format all", "signtrain export models/lstm_model.h5 --format tflite --format onnx",
                             "signtrain export models/lstm_model.h5 --quantize int8"))
def export(
    model: Path = typer.Argument(..., metavar="MODEL", help="Trained model (.h5 or .keras) with its .meta.json "
                                 "beside it."),
    formats: List[Format] = typer.Option(["tflite"], "--format", "-f", metavar=f"[{'|'.join((*EXPORT_FORMATS, 'all'))}]",
                                         help="Format to write (repeatable; all = every one)."),
    quantize: Quantize = typer.Option("none", "--quantize", help=f"Quantisation ({QUANTIZE_FORMATS} only)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="DIR", help="Folder for the exported files "
                                          "(default: export/ in the model's run)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", metavar="PATH", help="Check parity on this tree "
                                       "instead of the held-out split recorded at training."),
    as_json: bool = JsonOpt,
) -> None:
    """Export a trained model and prove each file matches it (parity on real sequences, latency)."""
    from signtrain import ui
    from signtrain.deploy.export import export as run_export

    def work() -> int:
        names = list(EXPORT_FORMATS) if "all" in formats else list(dict.fromkeys(f.value for f in formats))
        console = ui.make_console(stderr=as_json)
        with ui.Phases(console) as phases:
            report = run_export(model, names, quantize.value, output, data, on_phase=phases)
        if as_json:
            ui.print_json(report.to_dict())
        else:
            ui.render_export_report(report, console)
        requested_only = [e for e in report.entries if e.note.startswith("skipped")] if "all" not in formats else []
        if requested_only:
            raise SigntrainError(f"--format {requested_only[0].format}: {requested_only[0].note}")
        return 1 if report.failed else 0

    raise typer.Exit(_guard(work, "export"))


@app.command(epilog=examples("signtrain predict models/export/lstm_model.tflite MP_Data/hello/0 --top-k 3",
                             "signtrain predict models/lstm_model.h5 recording.npy --json",
                             "signtrain predict models/export/lstm_model.tflite clip.mp4",
                             "signtrain predict models/export/lstm_model.tflite talk.mp4 --stream --threshold 0.8",
                             "signtrain predict models/export/lstm_model.tflite --camera 0"))
def predict(
    model: Path = typer.Argument(..., metavar="MODEL", help="Trained or exported model (.h5, .keras, .tflite, "
                                 "SavedModel, .onnx); .tflite and .onnx run without TensorFlow."),
    recording: Optional[Path] = typer.Argument(None, metavar="[RECORDING]", help="A .npy of shape (frames, "
                                               "features), an MP_Data sequence folder, or a video (landmarks "
                                               "extracted as the model's training data was laid out)."),
    top: int = typer.Option(3, "--top-k", "-k", min=1, metavar="K", help="How many signs to list."),
    as_stream: bool = Flag("Slide a window over a long recording and emit signs.", "--stream"),
    camera: Optional[str] = typer.Option(None, "--camera", metavar="N|VIDEO", help="Emit signs live from camera N "
                                         "(or from a video played as if it were a camera); Ctrl-C stops."),
    threshold: float = typer.Option(0.8, "--threshold", min=0.0, max=1.0, metavar="P",
                                    help="Stream: probability a sign must hold to be emitted."),
    smooth: int = typer.Option(5, "--smooth", min=1, metavar="N", help="Stream: predictions averaged."),
    hold: int = typer.Option(3, "--hold", min=1, metavar="N",
                             help="Stream: steps a sign must stay on top before it is emitted."),
    model_asset: Optional[Path] = ModelAssetOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Predict the sign of one recording or video, stream a long one into a sentence of signs, or
    follow a camera live."""
    from dataclasses import asdict

    from signtrain import ui
    from signtrain.deploy.predict import live, read_recording, read_video, stream, top_k
    from signtrain.deploy.predictor import load_predictor
    from signtrain.errors import ConfigError
    from signtrain.extract.video import is_video

    def bundle() -> Path:
        from signtrain.extract import asset

        return asset.resolve(model_asset, on_download=ui.print_note)

    def work() -> int:
        if (recording is None) == (camera is None):
            raise ConfigError("give a RECORDING (a .npy, a sequence folder or a video) or --camera N, not both "
                              "and not neither")
        predictor = load_predictor(model)
        console = ui.make_console()
        if camera is not None:
            source = int(camera) if camera.isdigit() else Path(camera)
            if not as_json:
                console.print(f"following {'camera ' + camera if isinstance(source, int) else camera}: signs "
                              f"appear as they are made (Ctrl-C stops)…", markup=False)
            on_emission = (lambda e: None) if as_json else (lambda e: ui.render_emission(e, console))
            result = live(predictor, source, bundle(), threshold, smooth, hold, on_emission)
            show_stream(result, None, console)  # its signs are on screen already: the sentence
            return 0
        fps = None
        if is_video(recording):
            frames, fps = read_video(recording, predictor, bundle(), whole=as_stream)
        else:
            frames = read_recording(recording, predictor)
        if as_stream:
            show_stream(stream(predictor, frames, threshold, smooth, hold, fps), str(recording), console)
        else:
            ranked = top_k(predictor, frames, min(top, len(predictor.labels)))
            if as_json:
                ui.print_json({"top_k": [{"sign": s, "probability": p} for s, p in ranked]})
            else:
                ui.render_prediction(str(recording), ranked, console)
        return 0

    def show_stream(result, source: Optional[str], console) -> None:
        if as_json:
            ui.print_json({"frames": result.frames, "steps": result.steps, "fps": result.fps,
                           "sentence": result.sentence, "emissions": [asdict(e) for e in result.emissions]})
        elif source is None:
            ui.render_sentence(result, console)
        else:
            ui.render_stream(source, result, threshold, console)

    raise typer.Exit(_guard(work, "predict"))


# ---------------------------------------------------------------- signtrain config ...


@config_app.command("show", epilog=examples("signtrain config show", "signtrain config show --config best --set "
                                            "train.epochs=60"))
def config_show(config: Optional[Path] = ConfigOpt, overrides: Optional[List[str]] = SetOpt,
                data: Optional[str] = DataOpt, output: Optional[str] = OutputOpt) -> None:
    """Print the resolved config (every key) as YAML: what train would use."""
    from signtrain.config import load_config, to_yaml

    def work() -> int:
        typer.echo(to_yaml(load_config(config, overrides, data, output)), nl=False)
        return 0

    raise typer.Exit(_guard(work, "config show"))


@config_app.command("keys", epilog=examples("signtrain config keys", "signtrain config keys --json"))
def config_keys(as_json: bool = JsonOpt) -> None:
    """List every config key with its type, default, allowed values and meaning."""
    from signtrain import ui
    from signtrain.config import describe_keys

    def work() -> int:
        keys = describe_keys()
        if as_json:
            ui.print_json([k.to_dict() for k in keys])
        else:
            ui.render_keys(keys, ui.make_console())
        return 0

    raise typer.Exit(_guard(work, "config keys"))


@config_app.command("init", epilog=examples("signtrain config init", "signtrain config init best my_recipe.yaml"))
def config_init(
    recipe: Recipe = typer.Argument(DEFAULT_RECIPE, help="The built-in recipe to start from."),
    destination: Optional[Path] = typer.Argument(None, metavar="[FILE]", help="Where to write it "
                                                 "(default: <recipe>.yaml here)."),
    overwrite: bool = Flag("Replace an existing file.", "--overwrite"),
) -> None:
    """Write an editable copy of a built-in recipe (base, default, best, optimized), comments included."""
    from signtrain import store
    from signtrain.config import recipe_path
    from signtrain.errors import ConfigError

    def work() -> int:
        target = destination or Path(f"{recipe.value}.yaml")
        if target.exists() and not overwrite:
            raise ConfigError(f"{target} already exists; choose another file name or pass --overwrite")
        store.write_text(target, recipe_path(recipe.value).read_text(encoding="utf-8"))
        typer.echo(f"Wrote {target} (the {recipe.value} recipe); train with: signtrain train --config {target}")
        return 0

    raise typer.Exit(_guard(work, "config init"))


def main() -> None:
    app()

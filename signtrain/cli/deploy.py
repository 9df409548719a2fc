"""Model commands: info, evaluate, export, predict, serve."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from signtrain.choices import EXPORT_ALL, EXPORT_FORMATS
from signtrain.cli.common import (
    QUANTIZE_FORMATS,
    Flag,
    Format,
    JsonOpt,
    ModelAssetOpt,
    NoCacheOpt,
    Quantize,
    Split,
    app,
    command,
    examples,
    show,
)
from signtrain.deploy import live
from signtrain.errors import SigntrainError


@app.command(epilog=examples("signtrain info models/lstm_model.h5", "signtrain info models/export/lstm_model.tflite "
                                                                    "--json"))
@command("info")
def info(
    model: Path = typer.Argument(..., metavar="MODEL", help="A trained or exported model."),
    as_json: bool = JsonOpt,
) -> int:
    """What a model is: signs, layout, sequence length, recipe, data, test figures, versions, exports."""
    from signtrain import ui
    from signtrain.deploy.info import model_info

    details = model_info(model)
    show(as_json, details, lambda: ui.render_info(details, ui.make_console()))
    return 0


@app.command(epilog=examples("signtrain evaluate models/lstm_model.h5",
                             "signtrain evaluate models/lstm_model.h5 --sentences",
                             "signtrain evaluate models/lstm_model.h5 --split val",
                             "signtrain evaluate models/lstm_model.h5 --data OTHER_TREE --normalize",
                             "signtrain evaluate models/lstm_model.h5 --json"))
@command("evaluate")
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
    sentences: bool = Flag("Judge the live path on sentences: 3-5 held-out recordings in a row with pauses "
                           "(still, nothing detected, none) of 0.2-1.5 s: word error rate, missed and repeated "
                           "signs, emissions during a 3 s rest, delay.", "--sentences"),
) -> int:
    """Evaluate a trained model: accuracy, per-sign precision/recall/F1, confusion matrix, throughput; or,
    with --sentences, how it does live."""
    from signtrain import ui
    from signtrain.deploy.evaluate import default_output, write_report
    from signtrain.deploy.evaluate import evaluate as run_evaluation

    console = ui.make_console(stderr=as_json)
    if sentences:
        from signtrain.deploy.predictor import load_predictor
        from signtrain.deploy.sentences import evaluate_model

        with ui.Phases(console) as phases:
            phases("loading the model")
            predictor = load_predictor(model)
            phases("streaming sentences of held-out recordings through the live path")
            found = evaluate_model(predictor)
        show(as_json, found, lambda: ui.render_sentence_report(found, console))
        return 0
    with ui.Phases(console) as phases:
        report = run_evaluation(model, data, split.value if split else None, use_cache=not no_cache,
                                listener=phases)
        phases("writing the report")
        write_report(report, output or default_output(model))
    show(as_json, report, lambda: ui.render_eval_report(report, console, normalize))
    return 0


@app.command(epilog=examples("signtrain export models/lstm_model.h5", "signtrain export models/lstm_model.h5 "
                             "--format all", "signtrain export models/lstm_model.h5 --format tflite --format onnx",
                             "signtrain export models/lstm_model.h5 --quantize int8",
                             "signtrain export models/lstm_model.h5 --format web "
                             "--model-asset holistic_landmarker.task"))
@command("export")
def export(
    model: Path = typer.Argument(..., metavar="MODEL", help="Trained model (.h5 or .keras) with its .meta.json "
                                 "beside it."),
    formats: List[Format] = typer.Option(["tflite"], "--format", "-f",
                                         metavar=f"[{'|'.join((*EXPORT_FORMATS, 'all'))}]",
                                         help=f"Format to write (repeatable; all = {', '.join(EXPORT_ALL)})."),
    quantize: Quantize = typer.Option("none", "--quantize", help=f"Quantisation ({QUANTIZE_FORMATS} only)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="DIR", help="Folder for the exported files "
                                          "(default: export/ in the model's run)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", metavar="PATH", help="Check parity on this tree "
                                       "instead of the held-out split recorded at training."),
    model_asset: Optional[Path] = ModelAssetOpt,
    web_assets: Optional[Path] = typer.Option(None, "--web-assets", metavar="DIR", help="web: a folder of the "
                                              "npm tarballs the page runs on (npm pack), for machines without "
                                              "network (default: the npm registry, cached once)."),
    as_json: bool = JsonOpt,
) -> int:
    """Export a trained model and prove each file matches it (parity on real sequences, latency)."""
    from signtrain import paths, ui
    from signtrain.deploy.export import export as run_export

    names = list(EXPORT_ALL) if "all" in formats else list(dict.fromkeys(f.value for f in formats))
    if web_assets is not None:
        paths.readable_folder(web_assets, "--web-assets", hint="give the folder holding the npm tarballs")
    console = ui.make_console(stderr=as_json)
    with ui.Phases(console) as phases:
        report = run_export(model, names, quantize.value, output, data, listener=phases, web_assets=web_assets,
                            model_asset=model_asset)
    show(as_json, report, lambda: ui.render_export_report(report, console))
    requested_only = [e for e in report.entries if e.note.startswith("skipped")] if "all" not in formats else []
    if requested_only:
        raise SigntrainError(f"--format {requested_only[0].format}: {requested_only[0].note}")
    return 1 if report.failed else 0


@app.command(epilog=examples("signtrain predict models/export/lstm_model.tflite MP_Data/hello/0 --top-k 3",
                             "signtrain predict models/lstm_model.h5 recording.npy --json",
                             "signtrain predict models/export/lstm_model.tflite clip.mp4",
                             "signtrain predict models/export/lstm_model.tflite talk.mp4 --stream --threshold 0.8",
                             "signtrain predict models/export/lstm_model.tflite --camera 0 --speak",
                             "signtrain predict models/lstm_model.h5 sentence.npy --stream --speak-to sentence.wav"))
@command("predict")
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
    threshold: float = typer.Option(live.THRESHOLD, "--threshold", min=0.0, max=1.0, metavar="P",
                                    help="Stream: probability a sign needs to be said."),
    hold: int = typer.Option(live.HOLD, "--hold", min=1, metavar="N",
                             help="Stream: decisions (a frame apart) a new sign must hold inside a long "
                                  "stretch of signing."),
    model_asset: Optional[Path] = ModelAssetOpt,
    as_json: bool = JsonOpt,
    speak: bool = Flag("Say each sign aloud as it is recognised (offline; needs signtrain\\[speech] and espeak-ng).",
                       "--speak"),
    speak_to: Optional[Path] = typer.Option(None, "--speak-to", metavar="FILE.wav",
                                            help="Write the spoken sentence to a WAV file."),
) -> int:
    """Predict the sign of one recording or video, stream a long one into a sentence of signs, or
    follow a camera live; --speak says the signs."""
    from dataclasses import asdict

    from signtrain import paths, ui
    from signtrain.deploy.live import LiveSettings
    from signtrain.deploy.predict import live, read_recording, read_video, stream, top_k
    from signtrain.deploy.predictor import load_predictor
    from signtrain.errors import ConfigError, DataError
    from signtrain.extract.video import is_video

    def bundle() -> Path:
        from signtrain.extract import asset

        return asset.resolve(model_asset, on_download=ui.print_note)

    def settings(predictor, fps):
        return LiveSettings.of(predictor.meta, fps, threshold=threshold, hold=hold)

    def show_stream(result, source: Optional[str], console) -> None:
        payload = {"frames": result.frames, "steps": result.steps, "fps": result.fps, "sentence": result.sentence,
                   "emissions": [asdict(e) for e in result.emissions], "processed_fps": result.processed_fps}
        show(as_json, payload, lambda: ui.render_sentence(result, console) if source is None
             else ui.render_stream(source, result, threshold, console))

    def voice(predictor):
        """The callback that says one sign (None without --speak), and the words of the run's config."""
        from signtrain.deploy import speech

        words = speech.mapping(predictor.meta.config.speech.words)
        speaker = speech.Speaker() if speak else None
        return (lambda sign: speaker.say(speech.spoken(sign, words))) if speaker else None, words

    def spoken_to(signs: list[str], words: dict) -> None:
        if speak_to is not None:
            from signtrain.deploy import speech

            speech.write_wav([speech.spoken(s, words) for s in signs], speak_to)

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
        say, words = voice(predictor)

        def on_emission(e) -> None:
            if not as_json:
                ui.render_emission(e, console)
            if say:
                say(e.sign)

        result = live(predictor, source, bundle(), lambda fps: settings(predictor, fps), on_emission)
        show_stream(result, None, console)  # its signs are on screen already: the sentence
        spoken_to([e.sign for e in result.emissions], words)
        return 0
    fps = None
    paths.readable(recording, "RECORDING", DataError, "give a .npy file, an MP_Data sequence folder or a video")
    if is_video(recording):
        frames, fps = read_video(recording, predictor, bundle(), whole=as_stream)
    else:
        frames = read_recording(recording, predictor)
    say, words = voice(predictor)
    if as_stream:
        result = stream(predictor, frames, settings(predictor, fps), fps)
        show_stream(result, str(recording), console)
        signs = [e.sign for e in result.emissions]
    else:
        ranked = top_k(predictor, frames, min(top, len(predictor.labels)))
        show(as_json, {"top_k": [{"sign": s, "probability": p} for s, p in ranked]},
             lambda: ui.render_prediction(str(recording), ranked, console))
        signs = [ranked[0][0]]
    for sign in signs if say else []:
        say(sign)
    spoken_to(signs, words)
    return 0


@app.command(epilog=examples("signtrain serve models/export/lstm_model.web",
                             "signtrain serve models/export/lstm_model.web --port 8080"))
@command("serve")
def serve(
    folder: Path = typer.Argument(..., metavar="FOLDER", help="The .web folder `signtrain export --format web` wrote."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on (0 = any free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 lets other machines (a "
                             "phone) in, but their browsers allow the camera only over https or localhost."),
) -> int:
    """Serve an exported web page locally (Ctrl-C stops it)."""
    from signtrain import ui
    from signtrain.deploy.web.serve import make_server, url_of

    server = make_server(folder, host, port)
    ui.print_note(f"serving {folder} at {url_of(server)} (open it in a browser; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        ui.print_note("stopped")
    finally:
        server.server_close()
    return 0

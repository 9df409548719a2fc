"""Data commands: example-data, validate-data, convert, extract."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from signtrain.cli.common import (
    ConfigOpt,
    ExtractLayout,
    Flag,
    JsonOpt,
    ModelAssetOpt,
    NoCacheOpt,
    SetOpt,
    app,
    command,
    examples,
    show,
    with_cache,
)


@app.command("example-data", epilog=examples("signtrain example-data MP_Data --signs 3 --sequences 30",
                                             "signtrain example-data MP_Data_hands --features 126"))
@command("example-data")
def example_data(
    directory: Path = typer.Argument(..., metavar="FOLDER", help="New folder to write the MP_Data tree into."),
    signs: int = typer.Option(3, min=1, metavar="N", help="Number of signs."),
    sequences: int = typer.Option(30, min=1, metavar="N", help="Sequences (recordings) per sign."),
    frames: int = typer.Option(30, min=1, metavar="N", help="Frames per sequence."),
    features: int = typer.Option(225, metavar="N", help="Values per frame: 1662, 258, 225, 126 or 63."),
    seed: int = typer.Option(0, metavar="N", help="Random seed."),
) -> int:
    """Write a small synthetic MP_Data example (hand and pose motion per sign, a few defects)."""
    from signtrain import ui
    from signtrain.data.example import write_example

    console = ui.make_console()
    with ui.Phases(console) as phases:
        def progress(done: int, total: int) -> None:
            if done % max(total // 10, 1) == 0:  # ten steps: a line each in a pipe
                phases(f"writing recording {done + 1:,} of {total:,}")

        summary = write_example(directory, signs, sequences, frames, features, seed, on_progress=progress)
    ui.render_example(summary, console)
    return 0


@app.command("validate-data", epilog=examples("signtrain validate-data MP_Data",
                                              "signtrain validate-data MP_Data --json --strict",
                                              "signtrain validate-data ../shared/data/dgs30_csv --set "
                                              "data.sequence_length=60"))
@command("validate-data")
def validate_data(
    path: Path = typer.Argument(..., metavar="DATA", help="Data folder (MP_Data, CSV, ISLR parquet) or .npz file."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    as_json: bool = JsonOpt,
    strict: bool = Flag("Exit 1 on warnings too (a CI gate).", "--strict"),
    no_cache: bool = NoCacheOpt,
) -> int:
    """Check a dataset: what is in it, what is wrong with it (each file named, with the reason), and what
    training would do about it."""
    from signtrain import ui
    from signtrain.config import load_config, replace
    from signtrain.data import load_dataset
    from signtrain.data.validation import build_report

    cfg = load_config(config, with_cache(overrides, no_cache), data=str(path))
    dataset = load_dataset(replace(cfg, data={"features_per_frame": None}).data, strict=False)
    report = build_report(dataset, cfg, cfg.data.features_per_frame)
    show(as_json, report, lambda: ui.render_data_report(report, ui.make_console()))
    return report.exit_code(strict)


@app.command(epilog=examples("signtrain convert ../shared/data/dgs30_csv dgs30.npz",
                             "signtrain convert ../shared/data/islr_letters letters_mp --overwrite"))
@command("convert")
def convert(
    source: Path = typer.Argument(..., metavar="SOURCE", help="Any tree signtrain reads (MP_Data, .npy, ISLR "
                                  "parquet, CSV)."),
    destination: Path = typer.Argument(..., metavar="DESTINATION", help="New MP_Data folder, or a .npz file for one "
                                       "compact array."),
    config: Optional[Path] = ConfigOpt,
    overrides: Optional[List[str]] = SetOpt,
    overwrite: bool = Flag("Replace an existing destination.", "--overwrite"),
) -> int:
    """Write a dataset as an MP_Data tree or as one compact .npz array file, with its labels."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.data.convert import convert as run_convert

    cfg = load_config(config, [*(overrides or []), "data.features_per_frame=null"], data=str(source))
    ui.render_convert(run_convert(cfg.data, destination, overwrite), ui.make_console())
    return 0


@app.command(epilog=examples("signtrain extract videos MP_Data --frames 30",
                             "signtrain extract hello.mp4 MP_Data --sign hello --layout pose4_hands",
                             "signtrain extract videos MP_Data --workers 4 --model-asset holistic_landmarker.task "
                             "--json"))
@command("extract")
def extract(
    source: Path = typer.Argument(..., metavar="SOURCE", help="A video, a folder of videos, or SOURCE/<sign>/<video> "
                                  "(the folder name is the sign)."),
    out: Path = typer.Argument(..., metavar="OUT", help="MP_Data tree to write into (new sequences are numbered "
                               "after the ones there)."),
    layout: ExtractLayout = typer.Option("holistic", "--layout", "-l", help="Values per frame: holistic 1662 (the "
                                         "tutorial's), pose4_hands 258, pose_hands 225, hands 126."),
    frames: Optional[int] = typer.Option(None, "--frames", "-f", min=1, max=10_000, metavar="N",
                                         help="Frames per recording, sampled evenly (default: every frame)."),
    sign: Optional[str] = typer.Option(None, "--sign", metavar="NAME", help="Put every video under this sign "
                                       "(default: its folder name, or its file name without a trailing number)."),
    arrays: bool = Flag("Write one (frames, values) .npy per recording instead of one file per frame.", "--arrays"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, metavar="N",
                                          help="Videos extracted at once, each in its own process (default: the "
                                               "number of CPU cores)."),
    model_asset: Optional[Path] = ModelAssetOpt,
    as_json: bool = JsonOpt,
) -> int:
    """Extract MediaPipe Holistic landmarks from videos into an MP_Data tree (needs the extra:
    pip install 'signtrain\\[extract]')."""
    import os

    from signtrain import ui
    from signtrain.extract import asset
    from signtrain.extract.holistic import layout_named
    from signtrain.extract.plan import Settings
    from signtrain.extract.run import extract as run_extract

    settings = Settings(layout_named(layout.value), frames, arrays, workers or os.cpu_count() or 1)
    console = ui.make_console()

    def bundle() -> Path:  # after SOURCE and OUT are checked: a bad path is said before any download
        return asset.resolve(model_asset, on_download=None if as_json else ui.print_note)

    if model_asset is not None:
        asset.check_bundle(model_asset)  # the user's own file: checked first

    display = None if as_json else ui.ExtractDisplay(console)
    try:
        report = run_extract(source, out, bundle, settings, sign, display)
    finally:
        if display:
            display.close()
    show(as_json, report, lambda: ui.render_extract_report(report, console))
    return 1 if report.count("failed") else 0


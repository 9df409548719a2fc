"""Training commands: train (with --resume, --init, --folds) and runs."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from signtrain.cli.common import (
    ConfigOpt,
    DataOpt,
    Final,
    Flag,
    JsonOpt,
    NoCacheOpt,
    OutputOpt,
    SetOpt,
    app,
    command,
    examples,
    show,
    with_cache,
)


@app.command(epilog=examples("signtrain train --config configs/base.yaml",
                             "signtrain train --config best --data ../shared/data/dgs30_csv --name dgs30",
                             "signtrain train --resume --set train.epochs=800",
                             "signtrain train --init models/lstm_model.h5 --data MP_Data_more_signs",
                             "signtrain train --data MP_Data --folds 5 --repeats 2 --final all"))
@command("train")
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
) -> int:
    """Train the sequence classifier of the config; the run (model and everything it needs) appears whole."""
    from signtrain import ui
    from signtrain.config import load_config
    from signtrain.errors import ConfigError
    from signtrain.interrupt import InterruptScope

    # installed first, so that a Ctrl-C while TensorFlow loads or the data is read is never lost
    with InterruptScope(ui.print_note) as interrupt:
        from signtrain.store.runs import find_run
        from signtrain.training.resume import resume_config
        from signtrain.training.run import TrainRequest
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
            cfg = resume_config(target, with_cache(overrides, no_cache), data, str(target.path.parent.parent))
        else:
            cfg = load_config(config, with_cache(overrides, no_cache), data, output)
        if folds is not None:
            if resume or init is not None or overwrite:
                raise ConfigError("--folds trains new runs from scratch; it does not combine with --resume, "
                                  "--init or --overwrite")
            return _cross_validate(cfg, folds, repeats, final.value, name, quiet, interrupt, run_training)
        if init is not None:
            from signtrain.store import metadata
            from signtrain.training.finetune import config_for

            meta = metadata.load(init)
            if meta.export is not None:
                source = (meta.raw.get("export") or {}).get("source") or {}
                raise ConfigError(f"--init {init}: an exported {meta.export.format} file; fine-tuning starts from "
                                  f"the trained Keras model of its run ({source.get('model_file', 'lstm_model.h5')} "
                                  f"in the run folder)")
            cfg = config_for(meta, cfg)
        console = ui.make_console()
        display = ui.TrainingDisplay(console, live=False if quiet else None)
        result = run_training(TrainRequest(cfg, resume=target, name=name, overwrite=overwrite, init=meta), display,
                              interrupt)
        if result.is_chief:
            ui.render_train_summary(result, console)
        return 130 if result.interrupted else 0


def _cross_validate(cfg, folds: int, repeats: int, final: str, name: Optional[str], quiet: bool, interrupt,
                    run_training) -> int:
    from signtrain import ui
    from signtrain.training.crossval import cross_validate

    console = ui.make_console()

    def train_fold(request):
        return run_training(request, ui.TrainingDisplay(console, live=False if quiet else None), interrupt)

    result = cross_validate(cfg, folds, repeats, final, train_fold, name, ui.FoldDisplay(console, repeats))
    ui.render_crossval(result, console)
    return 0


@app.command("runs", epilog=examples("signtrain runs", "signtrain runs models --json"))
@command("runs")
def runs_command(
    folder: Path = typer.Argument(Path("models"), metavar="[FOLDER]", help="The output folder of the trainings "
                                  "(output.dir)."),
    as_json: bool = JsonOpt,
) -> int:
    """List the runs of an output folder: id, status, date, data, signs, test accuracy, path."""
    from signtrain import ui
    from signtrain.store.runs import list_runs

    found = list_runs(folder)
    show(as_json, found, lambda: ui.render_runs(found, str(folder), ui.make_console()))
    return 0


"""`signtrain train --resume [RUN_OR_FOLDER]`: a run continues from its own settings.

The run's resolved config (config.yaml inside it) is the starting point; only keys given with
--set may change, and only those that do not change what is being trained.  Everything that
would make the resumed model another model (other data, signs, layout, architecture, split,
preprocessing) is refused, naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from signtrain.config import Config, load_config
from signtrain.errors import ConfigError
from signtrain.store.runs import CONFIG, RunInfo

# keys a resumed run may change: how long, how it is logged, how the data is cached
RESUMABLE = ("train.epochs", "train.early_stopping_patience", "train.reduce_lr_patience", "train.tensorboard",
             "data.cache", "data.cache_dir", "data.cache_check", "data.workers", "data.stream", "output.dir")


def _flat(config: Config) -> dict[str, object]:
    return {f"{section}.{key}": value for section, keys in config.to_dict().items() for key, value in keys.items()}


def resume_config(run: RunInfo, overrides: Optional[list[str]], data: Optional[str],
                  output: Optional[str]) -> Config:
    """The run's own config with the explicit --set changes that a resume allows."""
    saved = run.path / CONFIG
    if not saved.is_file():
        raise ConfigError(f"--resume {run.id}: {saved} is missing, so the run's settings are unknown; "
                          f"train a new run instead")
    before = load_config(saved)
    after = load_config(saved, overrides, output=output)
    if data is not None and Path(data).resolve() != Path(before.data.path).resolve():
        raise ConfigError(f"--resume {run.id}: data.path cannot change (the run trained on {before.data.path}, "
                          f"--data gives {data}); train a new run on other data")
    old, new = _flat(before), _flat(after)
    for key in old:
        if old[key] != new[key] and key not in RESUMABLE:
            raise ConfigError(f"--resume {run.id}: {key} cannot change when resuming (the run has {old[key]!r}, "
                              f"--set gives {new[key]!r}); only {', '.join(RESUMABLE[:3])}, … may change, or "
                              f"train a new run")
    if new["train.epochs"] != old["train.epochs"] and after.train.lr_schedule != "plateau":
        raise ConfigError(f"--resume {run.id}: train.epochs cannot change with train.lr_schedule="
                          f"{after.train.lr_schedule} (the schedule was laid out over {old['train.epochs']} epochs); "
                          f"train a new run for a longer schedule")
    return after

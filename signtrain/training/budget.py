"""How long to train, as a budget of optimizer steps (train.steps) rather than epochs.

An epoch of 90 recordings is two steps; of 4 000 recordings, sixty.  A fixed number of epochs
therefore gives a small set too few updates or a large one too many, and on a small set the
fixed cost of each epoch (validation, checkpoints, the history line) outweighs the training.
With a step budget:
  - train.steps: N   trains N steps;
  - train.steps: auto sets N from the number of training recordings n: about
    PASSES_REF * sqrt(N_REF / n) passes over the data (more passes on small sets, where
    augmentation makes every pass new, fewer on large ones), clipped to [PASSES_MIN, PASSES_MAX];
  - an epoch holds at least MIN_EPOCH_STEPS steps (several passes over a small set), so its
    fixed cost is spread over enough training.
The resolved budget is printed and saved with the run (metrics.json "budget").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

from signtrain.config import TrainConfig

N_REF, PASSES_REF = 1250, 150        # dgs30's training part, and the passes that suit it (configs/best.yaml)
PASSES_MIN, PASSES_MAX = 60, 200
MIN_EPOCH_STEPS = 16


@dataclass(frozen=True)
class Budget:
    steps: int            # optimizer steps in all (epochs x steps per epoch)
    epochs: int
    passes_per_epoch: int
    pass_steps: int       # steps of one pass over the training recordings
    rule: str             # how the budget was set, in words

    @property
    def epoch_steps(self) -> int:
        return self.passes_per_epoch * self.pass_steps

    def to_dict(self) -> dict:
        return asdict(self)


def auto_passes(n_train: int) -> float:
    return min(max(PASSES_REF * math.sqrt(N_REF / max(n_train, 1)), PASSES_MIN), PASSES_MAX)


def plan_budget(cfg: TrainConfig, n_train: int) -> Optional[Budget]:
    """The step budget for n_train training recordings, or None when train.epochs decides."""
    if cfg.steps is None:
        return None
    pass_steps = max(1, math.ceil(n_train / cfg.batch_size))
    if cfg.steps == "auto":
        passes = auto_passes(n_train)
        wanted = math.ceil(passes * pass_steps)
        rule = f"auto: {passes:.0f} passes over {n_train} training recordings"
    else:
        wanted, rule = int(cfg.steps), f"train.steps: {cfg.steps}"
    per_epoch = max(1, math.ceil(MIN_EPOCH_STEPS / pass_steps))
    epochs = max(1, round(wanted / (per_epoch * pass_steps)))
    return Budget(epochs * per_epoch * pass_steps, epochs, per_epoch, pass_steps, rule)


def describe(budget: Budget) -> str:
    per = (f"{budget.passes_per_epoch} passes ({budget.epoch_steps} steps) per epoch" if budget.passes_per_epoch > 1
           else f"{budget.epoch_steps} steps per epoch")
    return f"training budget: {budget.steps} steps = {budget.epochs} epochs of {per} ({budget.rule})"

"""The training callbacks on their own: fed epoch logs by hand, no fit."""

import errno

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from signtrain.training import callbacks as cb  # noqa: E402
from signtrain.training.curves import read_history  # noqa: E402


class Listener:
    def __init__(self):
        self.epochs, self.batches, self.messages = [], [], []

    def on_epoch_begin(self, epoch):
        pass

    def on_batch_end(self, batch, logs):
        self.batches.append(batch)

    def on_epoch_end(self, epoch, logs, state):
        self.epochs.append((epoch, state.best_epoch))

    def on_message(self, text):
        self.messages.append(text)


class Flag:
    requested = False


@pytest.fixture
def model():
    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return m


def _bind(callback, model):
    callback.set_model(model)
    return callback


def test_best_tracker_keeps_the_best_epoch_its_weights_and_its_checkpoint(model):
    state = cb.TrainState("val_accuracy", "max")
    saved = []
    tracker = _bind(cb.BestTracker(state, lambda m: saved.append(m.get_weights()), True, print), model)
    for epoch, value in enumerate([0.5, 0.7, 0.6, 0.7]):
        model.set_weights([w + epoch for w in model.get_weights()]) if epoch else None
        tracker.on_epoch_end(epoch, {"val_accuracy": value})
    assert (state.best, state.best_epoch, len(saved)) == (0.7, 2, 2)  # a tie is no improvement
    np.testing.assert_array_equal(tracker.best_weights[1], saved[-1][1])
    state.cut_short = True
    tracker.on_epoch_end(4, {"val_accuracy": 0.99})  # a cut-short epoch is not an epoch
    assert state.best_epoch == 2
    loss = cb.TrainState("val_loss", "min")
    tracker = _bind(cb.BestTracker(loss, lambda m: None, False, print), model)
    tracker.on_epoch_end(0, {"val_loss": float("nan")})
    tracker.on_epoch_end(1, {"val_loss": 2.0})
    tracker.on_epoch_end(2, {"val_loss": 1.5})
    assert (loss.best, loss.best_epoch, tracker.best_weights) == (1.5, 3, None)


def test_a_failed_checkpoint_is_said_once_and_training_goes_on(model):
    state = cb.TrainState("loss", "min")
    said = []

    def full(m):
        raise OSError(errno.ENOSPC, "No space left on device")

    tracker = _bind(cb.BestTracker(state, full, False, said.append), model)
    for epoch in range(3):
        tracker.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    assert len(said) == 1 and "No space left on device" in said[0] and state.best_epoch == 3
    assert state.save_error == "the best checkpoint: No space left on device"


def test_progress_stops_on_ctrl_c_and_on_a_nan_loss(model):
    state, listener, flag = cb.TrainState("loss", "min"), Listener(), Flag()
    progress = _bind(cb.Progress(state, listener, flag), model)
    progress.on_epoch_begin(0)
    progress.on_train_batch_end(0, {"loss": 1.0})
    progress.on_epoch_end(0, {"loss": 1.0})
    assert state.epochs_done == 1 and listener.epochs == [(0, 0)] and not model.stop_training
    flag.requested = True
    progress.on_epoch_begin(1)
    progress.on_train_batch_end(0, {"loss": 0.9})
    progress.on_epoch_end(1, {"loss": 0.9})
    assert model.stop_training and state.cut_short and state.epochs_done == 1 and len(listener.epochs) == 1
    nan_state = cb.TrainState("loss", "min")
    model.stop_training = False
    progress = _bind(cb.Progress(nan_state, Listener(), Flag()), model)
    progress.on_epoch_begin(4)
    progress.on_train_batch_end(2, {"loss": float("nan")})
    assert model.stop_training and nan_state.diverged == "the loss became nan at epoch 5, batch 3"


def test_counters_carry_over_a_resume(model):
    stopper = _bind(cb.ResumableEarlyStopping(monitor="loss", patience=5,
                                              restored={"wait": 3, "best": 0.4, "best_epoch": 7}), model)
    stopper.on_train_begin()
    assert (stopper.wait, stopper.best, stopper.best_epoch) == (3, 0.4, 7)
    stopper.on_epoch_end(8, {"loss": 0.5})
    stopper.on_epoch_end(9, {"loss": 0.5})
    assert stopper.wait == 5 and model.stop_training  # patience counted across the resume
    reducer = _bind(cb.ResumableReduceLR(monitor="loss", patience=4,
                                         restored={"wait": 2, "best": 0.3, "cooldown_counter": 1}), model)
    reducer.on_train_begin()
    assert reducer.snapshot() == {"wait": 2, "best": 0.3, "cooldown_counter": 1}


def test_resume_state_and_history_skip_unfinished_epochs(model, tmp_path):
    state = cb.TrainState("loss", "min")
    saved = {}
    stopper = _bind(cb.ResumableEarlyStopping(monitor="loss", patience=3), model)
    stopper.on_train_begin()
    resume = _bind(cb.ResumeState(state, lambda m: saved.setdefault("model", True),
                                  lambda payload: saved.update(payload), {"early_stopping": stopper},
                                  {"fingerprint": "x"}, print), model)
    history = _bind(cb.HistoryWriter(state, tmp_path / "history.csv", append=False, warn=print), model)
    for epoch in range(2):
        state.epochs_done = epoch + 1
        resume.on_epoch_end(epoch, {"loss": 1.0})
        history.on_epoch_end(epoch, {"loss": 1.0 - epoch / 10})
    state.cut_short = True
    resume.on_epoch_end(2, {"loss": 0.1})
    history.on_epoch_end(2, {"loss": 0.1})
    assert saved["epoch"] == 1 and saved["train_state"]["epochs_done"] == 2 and saved["fingerprint"] == "x"
    assert "early_stopping" in saved
    rows = read_history(tmp_path / "history.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["loss"] == pytest.approx(0.9)
    appended = _bind(cb.HistoryWriter(cb.TrainState("loss", "min"), tmp_path / "history.csv", append=True,
                                      warn=print), model)
    appended.on_epoch_end(2, {"loss": 0.8})
    assert [r["epoch"] for r in read_history(tmp_path / "history.csv")] == [1, 2, 3]

from pathlib import Path

import pytest

from signtrain.config import Config, build_config, load_config, parse_yaml_value, read_yaml
from signtrain.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_base_yaml_mirrors_the_dataclass_defaults():
    assert load_config(CONFIGS / "base.yaml") == Config()
    # ...and writes every key, so the file documents them all.
    raw = read_yaml(CONFIGS / "base.yaml")
    assert raw == Config().to_dict()


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_file_loads(path):
    assert isinstance(load_config(path), Config)


def test_optimized_is_the_hardened_recipe():
    c = load_config(CONFIGS / "optimized.yaml")
    assert c.train.learning_rate == pytest.approx(3e-4)
    assert c.train.clipnorm == 1.0 and c.train.optimizer_epsilon == pytest.approx(1e-7)
    assert c.model.dropout == (0.5, 0.5, 0.0) and c.model.l2 == (1e-5, 1e-5, 0.0)
    assert (c.train.batch_size, c.train.epochs, c.split.validation_fraction) == (32, 100, 0.2)
    assert c.preprocess.epsilon == pytest.approx(1e-3) and c.data.nan_to_zero is True


def test_base_is_the_original_recipe():
    c = Config()
    assert (c.data.path, c.data.sequence_length, c.data.features_per_frame) == ("MP_Data", 30, None)
    assert c.model.units == (128, 64, 32) and c.model.dense_units == (64,)
    assert (c.train.epochs, c.train.batch_size, c.train.learning_rate) == (500, 32, 1e-3)
    assert (c.train.early_stopping_patience, c.train.reduce_lr_patience) == (50, 20)
    assert (c.split.test_fraction, c.split.validation_fraction) == (0.15, 0.1)
    assert (c.output.dir, c.output.model_file) == ("models", "lstm_model.h5")


def test_yaml_quirks_are_read_as_a_person_means():
    assert parse_yaml_value("1e-3") == pytest.approx(1e-3)
    assert parse_yaml_value("010") == 10
    assert parse_yaml_value("[1, 2]") == [1, 2]
    assert parse_yaml_value("null") is None


def test_a_string_float_in_a_file_is_coerced(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  learning_rate: '1e-3'\n  epochs: 010\n")
    c = load_config(path)
    assert c.train.learning_rate == pytest.approx(1e-3) and c.train.epochs == 10


def test_overrides_and_shortcuts():
    c = load_config("base", ["train.epochs=5", "train.learning_rate=3e-4", "data.features_per_frame=null"],
                    data="somewhere", output="out")
    assert c.train.epochs == 5 and c.train.learning_rate == pytest.approx(3e-4)
    assert c.data.features_per_frame is None and c.data.path == "somewhere" and c.output.dir == "out"


def test_unknown_key_suggests_the_right_one(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epoch: 5\n")
    with pytest.raises(ConfigError, match=r"unknown key 'train.epoch'.*did you mean 'train.epochs'"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"did you mean 'train.batch_size'"):
        load_config("base", ["train.batchsize=3"])
    with pytest.raises(ConfigError, match="unknown section 'trian'.*'train'"):
        build_config({"trian": {}})


@pytest.mark.parametrize("override, message", [
    ("train.epochs=-1", r"train.epochs: -1 is below the minimum 1"),
    ("train.epochs=many", r"train.epochs = 'many' is not valid; expected an integer"),
    ("train.batch_size=no", r"train.batch_size = False is not valid"),
    ("preprocess.normalization=minmax", r"'minmax' is not allowed; choose one of global, per_feature, none"),
    ("split.test_fraction=0.95", r"above the maximum"),
    ("model.units=[64, 32]", r"model.return_sequences has 3 entries but model.units has 2"),
    ("train", r"write --set section.key=value"),
])
def test_bad_values_name_the_key_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config("base", [override])
    assert info.value.exit_code == 2


def test_layers_must_chain():
    with pytest.raises(ConfigError, match=r"return_sequences\[0\] is false"):
        load_config("base", ["model.return_sequences=[false, true, false]"])


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="--config .*nope.yaml: not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_a_speed_change_on_resampled_sequences_is_refused():
    with pytest.raises(ConfigError, match="augment.speed=0.2 has no effect with data.resample"):
        load_config("base", ["data.resample=true", "augment.speed=0.2"])

"""The one config loader every command shares.

schema.py holds the frozen dataclasses (keys, defaults, help, rules); yamlio.py reads YAML the way
a user means it (`1e-3` a float, `010` ten) and knows the built-in recipes; loading.py merges a file
or recipe, `--set section.key=value` overrides and --data/--output, validating every value the same
way and naming the dotted key in every error.  Without a file, load_config() uses the default
recipe, as every command does.
"""

from signtrain.config.loading import (
                                      KeyInfo,
                                      all_keys,
                                      build_config,
                                      choices_of,
                                      describe_keys,
                                      load_config,
                                      parse_override,
                                      replace,
)
from signtrain.config.schema import (
                                      AugmentConfig,
                                      Config,
                                      DataConfig,
                                      ModelConfig,
                                      OutputConfig,
                                      PreprocessConfig,
                                      SplitConfig,
                                      TrainConfig,
                                      per_layer,
)
from signtrain.config.yamlio import (
                                      DEFAULT_RECIPE,
                                      RECIPES,
                                      parse_yaml_value,
                                      read_yaml,
                                      recipe_path,
                                      resolve_config_path,
                                      to_yaml,
)

__all__ = ["AugmentConfig", "Config", "DataConfig", "DEFAULT_RECIPE", "KeyInfo", "ModelConfig",
           "OutputConfig", "PreprocessConfig", "RECIPES", "SpeechConfig", "SplitConfig", "TrainConfig",
           "all_keys", "build_config", "choices_of", "describe_keys", "load_config", "parse_override",
           "parse_yaml_value", "per_layer", "read_yaml", "recipe_path", "replace", "resolve_config_path",
           "to_yaml"]

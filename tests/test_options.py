"""Options are checked one way (saw_bench.core.options): where the TrainConfig, the sweep spec,
the tiny recipe or a task is built, with one line naming the bad value and the choices."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from saw_bench.cli import RUN_FLAGS, SWEEP_FLAGS, build_parser
from saw_bench.core.errors import SawBenchError
from saw_bench.core.options import OptionError, UnknownOptionError
from saw_bench.envs.asynchrony.task import AsyncTask
from saw_bench.envs.summarize.task import SummarizeSynthTask
from saw_bench.envs.toolcall.synth import ToolCallSynthTask
from saw_bench.harness.sweep import SweepSpec
from saw_bench.policy._tiny import TinyRecipe
from saw_bench.training import TrainConfig
from saw_bench.training.config import option_help

BAD_VALUES = [
    (TrainConfig, {"steps": 0}, "steps must be a positive integer, but got 0"),
    (TrainConfig, {"steps": "3"}, "steps must be an integer, but got '3'"),
    (TrainConfig, {"seed": True}, "seed must be an integer, but got True"),
    (TrainConfig, {"threads": 0}, "threads must be a positive integer, but got 0"),
    (TrainConfig, {"kl_coef": -0.1}, "kl_coef must be a finite number >= 0, but got -0.1"),
    (TrainConfig, {"learning_rate": float("nan")}, "learning_rate must be a number, but got nan"),
    (TrainConfig, {"fast_path": 1}, "fast_path must be true or false, but got 1"),
    (TrainConfig, {"task_kwargs": [1]}, "task_kwargs must be a table, but got [1]"),
    (TrainConfig, {"temperature": 0}, "temperature must be > 0 for training rollouts"),
    (TrainConfig, {"backend": "jax"}, "unknown backend 'jax'; choose one of saw-bench, trl"),
    (TrainConfig, {"weighting": "sav"}, "unknown weighting agent 'sav'; choose one of drw-grad"),
    (SweepSpec, {"tasks": []}, "sweep tasks must be a non-empty list of strings, but got []"),
    (SweepSpec, {"seeds": [0, 0]}, "sweep seeds lists a value twice: [0, 0]"),
    (SweepSpec, {"train": {"estimator": "gdpo"}}, "[train] sets ['estimator'], which the grid"),
    (TinyRecipe, {"num_layers": 0}, "num_layers must be a positive integer, but got 0"),
    (TinyRecipe, {"vocab_size": 100}, "vocab_size must be an integer >= 263, but got 100"),
    (TinyRecipe, {"corrupt_fraction": 1.5}, "corrupt_fraction must be a number between 0 and 1"),
    (TinyRecipe, {"sft_steps": -1}, "sft_steps must be an integer >= 0, but got -1"),
    (ToolCallSynthTask, {"n_candidates": 9}, "n_candidates must be an integer from 1 to 8"),
    (ToolCallSynthTask, {"no_call_share": "0.1"}, "no_call_share must be a number, but got"),
    (SummarizeSynthTask, {"difficulty": "hard"}, "difficulty must be 'short' or 'medium'"),
    (AsyncTask, {"k": 7}, "k must be an integer from 2 to 6, but got 7"),
]


@pytest.mark.parametrize(("build", "options", "message"), BAD_VALUES)
def test_a_bad_value_is_one_line_naming_it_when_the_object_is_built(build, options, message):
    with pytest.raises(OptionError) as caught:
        build(**options)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text and "pydantic" not in text and "validation error" not in text
    assert isinstance(caught.value, SawBenchError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("build", [TrainConfig, SweepSpec, TinyRecipe, AsyncTask])
def test_unknown_names_are_listed_with_the_valid_ones(build):
    with pytest.raises(UnknownOptionError) as caught:
        build(stepz=1, colour="red")
    assert caught.value.names == ["colour", "stepz"]
    valid = [entry.name for entry in dataclasses.fields(build)] if build is not AsyncTask else []
    for name in valid:
        assert name in str(caught.value)


def test_replacing_a_field_checks_the_whole_config_again():
    config = TrainConfig(prompts_per_step=2, group_size=4, minibatches=8)
    assert dataclasses.replace(config, minibatches=4).minibatches == 4
    with pytest.raises(OptionError, match=r"minibatches \(9\) exceeds the rollouts per step \(8\)"):
        dataclasses.replace(config, minibatches=9)
    with pytest.raises(OptionError, match="unknown estimator 'ppo'; choose one of grpo, gdpo"):
        dataclasses.replace(config, estimator="ppo")


def test_config_json_keeps_the_values_as_written():
    # an integer given for a number stays an integer: config.json (hashed by the leaderboard)
    # is the same bytes as before options were checked by pydantic
    config = TrainConfig(
        task="toolcall", learning_rate=1, kl_coef=0, priorities=[2, 1.5], task_kwargs={"b": 1}
    )
    train = dataclasses.asdict(config)
    assert json.dumps(train["learning_rate"]) == "1" and json.dumps(train["kl_coef"]) == "0"
    assert train["priorities"] == [2, 1.5] and type(train["priorities"][0]) is int
    assert train["task"] == "toolcall"  # the alias as written, not the resolved id
    assert list(train) == [entry.name for entry in dataclasses.fields(TrainConfig)]
    assert TrainConfig(**train) == config


def test_the_tiny_recipe_keeps_its_values_and_hashable_fields():
    recipe = TinyRecipe(learning_rate=1, corrupt_fraction=0, task_kwargs={"train_size": 40})
    values = recipe.to_dict()
    assert type(values["learning_rate"]) is int and type(values["corrupt_fraction"]) is int
    assert values["task_kwargs"] == {"train_size": 40}
    assert hash(recipe) == hash(TinyRecipe(learning_rate=1, corrupt_fraction=0))  # kwargs unhashed
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.seed = 3  # type: ignore[misc]


def flag_actions(parser: argparse.ArgumentParser, verb: str) -> dict[str, argparse.Action]:
    (verbs,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {action.dest: action for action in verbs.choices[verb]._actions}


@pytest.mark.parametrize(("verb", "names"), [("run", RUN_FLAGS), ("sweep", SWEEP_FLAGS)])
def test_flags_take_type_help_and_choices_from_the_config_fields(verb, names):
    actions = flag_actions(build_parser(), verb)
    expected_types = {"steps": int, "threads": int, "learning_rate": float, "temperature": float}
    for name in names:
        action = actions[name]
        assert action.option_strings == [f"--{name.replace('_', '-')}"]
        assert option_help(name) in action.help
        assert action.default is None  # unset flags leave the config file's or the default
        if name in expected_types:
            assert action.type is expected_types[name], name
    assert actions["backend"].metavar == "{saw-bench,trl}"


def test_an_unknown_key_is_named_once_as_a_key_of_its_file_or_flag(tmp_path, capsys):
    from saw_bench.__main__ import main

    config = tmp_path / "run.toml"
    config.write_text("stepz = 3\n")
    argv = ["run", "--config", str(config), "--set", "colour=1", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --set: unknown key(s) ['colour']; valid keys: task,")
    assert error.count("unknown") == 1
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "r")]) == 2
    assert f"config file {config}: unknown key(s) ['stepz']" in capsys.readouterr().err

"""The environment API itself: text space, objectives, registration and id resolution."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import saw_bench
from saw_bench import FreeText, Objective, UnknownTaskError
from saw_bench.core.registry import register, unregister


def test_free_text_accepts_what_stock_text_rejects():
    prose = 'Hello, world! Naïve café — 你好 🙂\n\t{"json": [1, 2]}'
    space = FreeText(max_length=100)
    assert space.contains(prose)
    assert not gymnasium.spaces.Text(max_length=100).contains(prose)


def test_free_text_enforces_length_and_type():
    space = FreeText(max_length=5, min_length=1)
    assert space.contains("abcde") and not space.contains("abcdef") and not space.contains("")
    assert not space.contains(b"abc") and not space.contains(None) and not space.contains(12)
    with pytest.raises(ValueError, match="max_length must be at least 1"):
        FreeText(0)


def test_free_text_samples_are_members_and_seeded():
    first, second = FreeText(50, seed=3), FreeText(50, seed=3)
    samples = [first.sample() for _ in range(20)]
    assert samples == [second.sample() for _ in range(20)]
    assert all(first.contains(sample) for sample in samples)


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [(0.0, float("inf"), "finite bounds"), (1.0, 1.0, "low < high"), (float("nan"), 1.0, "finite")],
)
def test_objective_rejects_bad_bounds(low, high, message):
    with pytest.raises(ValueError, match=message):
        Objective("quality", low, high)


def test_unknown_id_lists_close_matches_and_registered_ids():
    with pytest.raises(UnknownTaskError) as caught:
        saw_bench.make("saw/ToolCall-Synt-v0")
    message = str(caught.value)
    assert "unknown task 'saw/ToolCall-Synt-v0'" in message
    assert "Did you mean 'saw/ToolCall-Synth-v0'" in message
    for env_id in saw_bench.registered_ids():
        assert env_id in message
    assert "toolcall -> saw/ToolCall-Synth-v2" in message


def test_unknown_alias_is_a_saw_bench_error_with_no_suggestion_when_nothing_is_close():
    with pytest.raises(saw_bench.SawBenchError, match="unknown task 'qqqq'. Registered ids"):
        saw_bench.load_task("qqqq")


def test_alias_and_short_id_resolve_to_the_registered_id():
    assert saw_bench.resolve("toolcall") == "saw/ToolCall-Synth-v2"
    assert saw_bench.resolve("ToolCall-BFCL-v0") == "saw/ToolCall-BFCL-v0"


def test_make_returns_the_bare_env_with_mo_attributes():
    env = saw_bench.make("saw/ToolCall-Synth-v0")
    assert env.unwrapped is env
    assert env.spec.id == "saw/ToolCall-Synth-v0"
    assert env.reward_space.shape == (2,)
    assert env.objective_names == ("format", "correctness")


def test_step_before_reset_and_non_string_action_are_clear_errors():
    env = saw_bench.make("toolcall")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step("<think></think>")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="must be a str"):
        env.step(42)


def test_registration_outside_the_namespace_is_refused():
    with pytest.raises(ValueError, match="'saw' namespace"):
        register(id="Mine-v0", task="pkg.module:Task")
    with pytest.raises(ValueError, match="'module:Class' string"):
        register(id="saw/Mine-v0", task="pkg.module.Task")


def test_register_then_unregister_a_variant_with_other_kwargs():
    register(
        id="saw/Test-Echo-Long-v0",
        task="saw_bench.envs._template.task:EchoTask",
        alias="echo-long",
        train_size=7,
    )
    try:
        task = saw_bench.load_task("echo-long")
        assert len(task.split("train")) == 7
        assert len(saw_bench.load_task("echo-long", train_size=3).split("train")) == 3
        env = saw_bench.make("echo-long")
        _, info = env.reset(seed=0)
        item = task.split("train")[info["index"]]
        reward = env.step(item["word"])[1]
        np.testing.assert_array_equal(reward, [1.0, 1.0])
    finally:
        unregister("saw/Test-Echo-Long-v0")
    assert "saw/Test-Echo-Long-v0" not in saw_bench.registered_ids()
    assert "echo-long" not in saw_bench.aliases()


def test_gymnasium_make_works_for_saw_ids_too():
    env = gymnasium.make("saw/ToolCall-Synth-v0", disable_env_checker=True)
    assert env.unwrapped.reward_dim == 2


def test_unknown_split_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown split 'dev'.*train, test"):
        saw_bench.make("toolcall", split="dev")


def test_data_fingerprint_follows_the_data():
    first = saw_bench.load_task("toolcall", train_size=20, test_size=5)
    same = saw_bench.load_task("toolcall", train_size=20, test_size=5)
    other_seed = saw_bench.load_task("toolcall", train_size=20, test_size=5, seed=1)
    assert first.data_fingerprint() == same.data_fingerprint()
    assert first.data_fingerprint() != other_seed.data_fingerprint()
    assert len(first.data_fingerprint()) == 64


def test_importing_saw_bench_does_not_import_torch_but_train_is_reachable():
    import subprocess
    import sys

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, saw_bench; print('torch' in sys.modules); "
            "from saw_bench.harness.run import train; print(saw_bench.train is train)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["False", "True"]

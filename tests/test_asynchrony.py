"""The asynchrony family: hand-worked scores, codebooks, noise, conflict, options and a short
real training run of the tiny policy (the fast objective is learnt, the slow one lags)."""

from __future__ import annotations

import json
import random
import statistics

import pytest

import saw_bench
from saw_bench.envs.asynchrony import data
from saw_bench.envs.asynchrony.task import AsyncTask, default_difficulty
from saw_bench.harness import train
from saw_bench.policy import build_tiny_policy
from saw_bench.policy._tiny import corrupter_for, default_recipe


def item(targets, split="test", index=0):
    return {
        "id": f"async-{split}-{index:05d}",
        "split": split,
        "keys": ["x"] * len(targets),
        "targets": list(targets),
    }


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("3 7", [1.0, 1.0]),
        ("3 5", [1.0, 0.5]),  # two away: 1 - 2/4
        ("4 9", [0.75, 0.5]),
        ("0 7", [0.25, 1.0]),  # three away
        ("9 7", [0.0, 1.0]),  # six away: floored at 0
        ("x 7", [0.0, 1.0]),  # not a digit
        ("37", [0.0, 0.0]),  # one token of two characters, and a missing slot
        ("3", [1.0, 0.0]),
        ("", [0.0, 0.0]),
        ("  3\n7 extra words", [1.0, 1.0]),  # whitespace splits; tokens past K are ignored
    ],
)
def test_scores_are_the_hand_worked_closeness(completion, expected):
    task = AsyncTask(k=2)
    assert task.score([item("37")], [completion])[0].tolist() == expected


def test_conflict_moves_half_of_the_second_reward_to_a_rival_digit():
    task = AsyncTask(k=2, conflict=["req1", "req2"])
    # targets 3 and 7; the rival of 3 is 8. "3 7": req2 = 0.5 * 1 + 0.5 * closeness(3, 8) = 0.5
    assert task.score([item("37")], ["3 7"])[0].tolist() == [1.0, 0.5]
    # "8 7": req1 closeness(8, 3) = 0, req2 = 0.5 * 1 + 0.5 * 1
    assert task.score([item("37")], ["8 7"])[0].tolist() == [0.0, 1.0]
    # "6 7": req1 = 1 - 3/4, req2 = 0.5 + 0.5 * (1 - 2/4)
    assert task.score([item("37")], ["6 7"])[0].tolist() == [0.25, 0.75]


def test_codebooks_have_the_asked_sizes_disjoint_words_and_a_fixed_seed():
    tables = data.codebooks(0, (2, 4, 8, 16))
    assert [len(table) for table in tables] == [2, 4, 8, 16]
    words = [word for table in tables for word in table]
    assert len(set(words)) == len(words)
    assert all(len(set(table.values())) == min(len(table), 10) for table in tables)
    assert data.codebooks(0, (2, 4, 8, 16)) == tables
    assert data.codebooks(1, (2, 4, 8, 16)) != tables


def test_items_name_one_word_per_codebook_and_its_digit():
    task = AsyncTask(k=4, train_size=50, test_size=20)
    for split in ("train", "test"):
        items = task.split(split)
        assert len(items) == task.sizes[split]
        for entry in items:
            assert entry["split"] == split
            for table, key, target in zip(
                task.tables, entry["keys"], entry["targets"], strict=True
            ):
                assert table[key] == target
            assert task.prompt(entry)[0]["content"].endswith(" ".join(entry["keys"]))
    again = AsyncTask(k=4, train_size=50, test_size=20)
    assert again.split("train") == task.split("train")
    assert again.data_fingerprint() == task.data_fingerprint()


def test_default_difficulty_rises_and_names_the_objectives():
    assert default_difficulty(2) == (2, 8)
    assert default_difficulty(4) == (2, 4, 8, 16)
    for k in range(2, 7):
        sizes = default_difficulty(k)
        assert len(sizes) == k and list(sizes) == sorted(set(sizes))
        objectives = AsyncTask.objectives_for(k=k)
        assert [o.name for o in objectives] == [f"req{i + 1}" for i in range(k)]
        assert all((o.low, o.high) == (0.0, 1.0) for o in objectives)
    assert "16-word codebook" in AsyncTask.objectives_for(k=4)[3].description


def test_noise_is_on_the_train_split_only_deterministic_and_zero_mean():
    sigma = 0.3
    task = AsyncTask(k=2, noise={"req1": sigma})
    # "1 7" on targets 3 7: req1 = 0.5 clean, far enough from both bounds never to be clipped
    completions = [f"1 7 {index}" for index in range(4000)]  # tokens past K change the draw only
    train_items = [item("37", "train", 1)] * len(completions)
    noisy = task.score(train_items, completions)
    assert (noisy[:, 1] == 1.0).all()  # the other objective is untouched
    values = noisy[:, 0].tolist()
    assert min(values) >= 0.5 - sigma and max(values) <= 0.5 + sigma
    # uniform on [-sigma, sigma): mean 0, standard deviation sigma / sqrt(3)
    assert statistics.fmean(values) == pytest.approx(
        0.5, abs=4 * sigma / 3**0.5 / len(values) ** 0.5
    )
    assert statistics.stdev(values) == pytest.approx(sigma / 3**0.5, rel=0.05)
    assert task.score(train_items[:5], completions[:5]).tolist() == noisy[:5].tolist()
    clean = task.score([item("37", "test", 1)] * 5, completions[:5])
    assert clean[:, 0].tolist() == [0.5] * 5


def test_noisy_references_reach_the_maximum_on_held_out_items():
    task = saw_bench.load_task("async-k2-noisy")
    test_items = task.split("test")
    scores = task.score(test_items, [task.reference(i) for i in test_items])
    assert (scores == 1.0).all()
    train_items = task.split("train")[:400]
    train_scores = task.score(train_items, [task.reference(i) for i in train_items])
    below = (train_scores[:, 0] < 1.0).mean()
    assert 0.4 < below < 0.6  # a negative draw lowers the reference: about half of them
    assert (train_scores[:, 1] == 1.0).all()
    assert task.reference_pass_rate == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 1}, "k must be an integer from 2 to 6"),
        ({"k": 7}, "k must be an integer from 2 to 6"),
        ({"k": True}, "k must be an integer"),
        ({"k": 2, "difficulty": [2]}, "difficulty must list 2 integers"),
        ({"k": 2, "difficulty": [2, 65]}, "from 2 to 64"),
        ({"k": 2, "difficulty": "28"}, "difficulty must list"),
        ({"noise": {"req9": 0.1}}, "unknown objective"),
        ({"noise": {"req1": 1.5}}, r"must be in \[0, 1.0\]"),
        ({"noise": {"req1": "0.1"}}, "must be a number"),
        ({"noise": [0.1]}, "noise must map objective names"),
        ({"conflict": ["req1", "req1"]}, "two different objectives"),
        ({"conflict": ["req1"]}, "two different objectives"),
        ({"train_size": 0}, "train_size must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
    ],
)
def test_bad_options_raise_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AsyncTask(**kwargs)


def test_the_ids_and_aliases_are_registered_with_their_options():
    aliases = saw_bench.aliases()
    for alias, env_id in [
        ("async-k2", "saw/Async-K2-v0"),
        ("async-k4", "saw/Async-K4-v0"),
        ("async-k2-noisy", "saw/Async-K2-Noisy-v0"),
        ("async-k4-noisy", "saw/Async-K4-Noisy-v0"),
    ]:
        assert aliases[alias] == env_id
    assert saw_bench.load_task("async-k4").k == 4
    assert saw_bench.load_task("async-k4-noisy").noise == {"req1": 0.3}
    assert saw_bench.load_task("async-k2").noise == {}


def test_the_warm_start_uses_the_tasks_own_corrupter():
    task = AsyncTask(k=4)
    entry = task.split("train")[0]
    corrupt = corrupter_for(task)
    rng = random.Random(0)
    for _ in range(50):
        text = corrupt(entry, task.reference(entry), rng)
        digits = text.split()
        assert len(digits) == 4 and all(d in data.DIGITS for d in digits)
        assert digits != entry["targets"]


@pytest.mark.slow
def test_the_tiny_policy_learns_the_fast_objective_before_the_slow_one(tmp_path, monkeypatch):
    """A real build of the tiny policy and 30 static GRPO steps: the 2-word codebook's held-out
    score rises by more than 0.1 (measured 0.71 -> 0.97 by step 20 on three seeds); the
    8-word codebook's rises less (0.57 -> 0.7 by step 30)."""
    monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path / "cache"))
    recipe = default_recipe("async-k2")
    assert recipe.sft_steps == 250
    build_tiny_policy(recipe, progress=False)
    run = train(
        task="async-k2",
        steps=30,
        out_dir=tmp_path / "run",
        plot=False,
        learning_rate=1e-3,
        max_new_tokens=16,
        eval_every=10,
        threads=2,
    )
    rows = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    first, last = rows[0]["objectives"], rows[-1]["objectives"]
    assert last["req1"] - first["req1"] > 0.1
    assert last["req1"] - first["req1"] > last["req2"] - first["req2"]

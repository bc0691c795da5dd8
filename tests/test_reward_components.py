"""``saw_bench.reward_components``: the ``{"reward", "reward_components"}`` records that NeMo Gym,
verl and SkyRL read, checked on a hand-worked task and against ``TextTask.score`` for every
task that saw-bench ships."""

from __future__ import annotations

import math
import random

import pytest

import saw_bench
from saw_bench.core.components import objective_weights
from saw_bench.core.registry import import_object, registration
from saw_bench.core.task import Objective, TextTask

#: The ids of the families saw-bench ships (plug-ins installed beside it are not ours to check).
SHIPPED_IDS = [
    env_id
    for env_id in saw_bench.registered_ids()
    if registration(env_id).task.startswith("saw_bench.envs.")
]


class CountingTask(TextTask):
    """Two objectives whose values can be worked out by hand: ``letters`` is the number of
    ``a`` in the completion (at most 4), ``short`` is 1 when the completion has at most 3
    characters and -1 otherwise."""

    objectives = (Objective("letters", 0.0, 4.0), Objective("short", -1.0, 1.0))

    def split(self, name: str) -> list[dict]:
        self.check_split_name(name)
        return [{"id": 0}, {"id": 1}]

    def prompt(self, item: dict) -> list[dict[str, str]]:
        return [{"role": "user", "content": "Say a few a's."}]

    def score_completion(self, item: dict, completion: str) -> tuple[float, float]:
        return min(completion.count("a"), 4), 1.0 if len(completion) <= 3 else -1.0

    def reference(self, item: dict) -> str:
        return "aaa"


def test_a_hand_worked_example_with_equal_and_unequal_priorities():
    task = CountingTask()
    items = task.split("train")
    completions = ["aa", "banana bread"]
    # "aa": letters 2, short 1.  "banana bread": letters 4 (five a's, capped), short -1.
    equal = saw_bench.reward_components(task, items, completions)
    assert equal == [
        {"reward": 3.0, "reward_components": {"letters": 2.0, "short": 1.0}},
        {"reward": 3.0, "reward_components": {"letters": 4.0, "short": -1.0}},
    ]
    # priorities (1, 3): weights 2 * 1/4 = 0.5 and 2 * 3/4 = 1.5
    weighted = saw_bench.reward_components(task, items, completions, priorities=[1, 3])
    assert [record["reward"] for record in weighted] == [0.5 * 2 + 1.5 * 1, 0.5 * 4 - 1.5]
    assert [r["reward_components"] for r in weighted] == [r["reward_components"] for r in equal]


def test_weights_sum_to_the_number_of_objectives():
    task = CountingTask()
    assert objective_weights(task) == [1.0, 1.0]
    assert objective_weights(task, [3, 1]) == [1.5, 0.5]
    assert objective_weights(task, [0, 2.5]) == [0.0, 2.0]


@pytest.mark.parametrize(
    ("priorities", "message"),
    [
        ([1.0], r"2 finite numbers >= 0 .*letters, short.*\[1\.0\]"),
        ([1.0, -1.0], r"finite numbers >= 0"),
        ([0, 0], r"positive sum"),
        ([math.nan, 1.0], r"finite numbers"),
        (["1", 1.0], r"finite numbers"),
        ([True, 1.0], r"finite numbers"),
        ("11", r"a list of 2 numbers"),
    ],
)
def test_bad_priorities_raise_one_clear_message(priorities, message):
    with pytest.raises(ValueError, match=message):
        saw_bench.reward_components(CountingTask(), [{"id": 0}], ["a"], priorities=priorities)


def test_a_task_id_or_alias_is_built_with_its_registered_options():
    task = saw_bench.load_task("toolcall")
    items = list(task.split("test")[:3])
    completions = [task.reference(items[0]), "", "<think>x</think>\n<response>no</response>"]
    by_alias = saw_bench.reward_components("toolcall", items, completions)
    assert by_alias == saw_bench.reward_components(task, items, completions)
    with pytest.raises(saw_bench.UnknownTaskError, match="unknown task 'toolcal'"):
        saw_bench.reward_components("toolcal", items, completions)
    with pytest.raises(TypeError, match="TextTask or a registered id"):
        saw_bench.reward_components(object(), items, completions)


def test_one_completion_per_item_is_required():
    with pytest.raises(ValueError, match="one completion per item"):
        saw_bench.reward_components(CountingTask(), [{"id": 0}], ["a", "b"])
    assert saw_bench.reward_components(CountingTask(), [], []) == []


@pytest.mark.parametrize("env_id", SHIPPED_IDS)
def test_records_hold_task_score_row_by_row_for_every_shipped_task(env_id, tmp_path):
    task_class = import_object(registration(env_id).task)
    task = saw_bench.load_task(env_id, **task_class.example_kwargs(tmp_path))
    items = list(task.split(task.split_names[-1])[:4])
    rng = random.Random(0)
    completions = [task.reference(item) for item in items]
    completions += ["", "\x00" * 50, "x" * 100_000, "".join(rng.choices('ab<>{}" é🙂', k=200))]
    items = items + items[: len(completions) - len(items)]
    priorities = list(range(1, task.reward_dim + 1))
    weights = [task.reward_dim * p / sum(priorities) for p in priorities]

    records = saw_bench.reward_components(task, items, completions, priorities=priorities)
    scores = task.score(items, completions)
    assert len(records) == len(completions)
    for record, row in zip(records, scores, strict=True):
        assert list(record["reward_components"]) == list(task.objective_names)
        assert list(record["reward_components"].values()) == [float(value) for value in row]
        assert record["reward"] == pytest.approx(
            sum(w * float(v) for w, v in zip(weights, row, strict=True)), rel=1e-12, abs=1e-12
        )
    if task.reference_pass_rate == 1.0:  # the reference scores every objective's maximum
        best = sum(w * o.high for w, o in zip(weights, task.objectives, strict=True))
        assert records[0]["reward"] == pytest.approx(best, rel=1e-12)


def test_verls_reward_function_gives_the_same_numbers_with_equal_priorities():
    """verl's custom reward function (``integrations.verl_data.compute_score``) returns the
    summed score and one key per objective: ``reward`` and ``reward_components`` by another
    name."""
    from saw_bench.integrations.verl_data import compute_score, verl_rows

    rows = verl_rows("saw/ToolCall-Synth-3obj-v0", split="test")[:3]
    task = saw_bench.load_task("saw/ToolCall-Synth-3obj-v0")
    items = task.split("test")[:3]
    completions = [task.reference(items[0]), "", "<think>a</think>\n<response>no</response>"]
    records = saw_bench.reward_components(task, items, completions)
    for row, completion, record in zip(rows, completions, records, strict=True):
        verl = compute_score(row["data_source"], completion, extra_info=row["extra_info"])
        assert verl == {"score": record["reward"], **record["reward_components"]}

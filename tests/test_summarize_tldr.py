"""Tests of saw/Summarize-TLDR-v0: loading Reddit TL;DR files with datasets, the word budget,
the ROUGE quality of the reference judge and the task around them. No network: every file is
written here, in the trl-lib/tldr layout unless a test says otherwise."""

from __future__ import annotations

import json

import numpy as np
import pytest

import saw_bench
from saw_bench.core.errors import DataError
from saw_bench.envs.summarize import rewards, tldr
from saw_bench.envs.summarize.tldr import SummarizeTLDRTask

LONG_POST = (
    "My sister borrowed my car for a weekend trip in June.\n\n"
    "She returned it with a dent in the rear door and says it was already there. "
    "I have photos from before the trip that show no dent at all. Our parents tell me to let "
    "it go because family matters more than a car. Am I wrong to ask her to pay?"
)


def trl_row(post: str, summary: str, subreddit: str = "AskReddit", title: str = "A title"):
    return {
        "prompt": f"SUBREDDIT: r/{subreddit}\n\nTITLE: {title}\n\nPOST: {post}\n\nTL;DR:",
        "completion": f" {summary}",
    }


def write_jsonl(path, rows) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def write_parquet(path, rows) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return str(path)


def rows(count: int, start: int = 0) -> list[dict]:
    return [
        trl_row(f"Post number {i}. " + LONG_POST, f"post {i}: sister dented my car, won't pay")
        for i in range(start, start + count)
    ]


# ---------------------------------------------------------------------------- loading
def test_trl_layout_is_parsed_into_subreddit_title_post_and_reference(tmp_path):
    path = write_jsonl(
        tmp_path / "train.jsonl",
        [trl_row(LONG_POST, "sister dented my car and denies it", "relationships", "Car dent")],
    )
    (item,) = SummarizeTLDRTask(data_path=path).split("train")
    assert item == {
        "id": "tldr-train-000000",
        "subreddit": "relationships",
        "title": "Car dent",
        "post": LONG_POST,  # its blank line survives
        "reference": "sister dented my car and denies it",  # the leading space is gone
        "word_budget": 10,  # 7 words: ceil(8.75) = 9, raised to the minimum of 10
    }


def test_parquet_and_json_array_files_load_like_jsonl(tmp_path):
    data = rows(3)
    from_jsonl = SummarizeTLDRTask(data_path=write_jsonl(tmp_path / "a.jsonl", data))
    from_parquet = SummarizeTLDRTask(data_path=write_parquet(tmp_path / "b.parquet", data))
    array_path = tmp_path / "c.json"
    array_path.write_text(json.dumps(data), encoding="utf-8")
    from_array = SummarizeTLDRTask(data_path=str(array_path))
    expected = from_jsonl.split("train")
    assert len(expected) == 3
    assert from_parquet.split("train") == expected == from_array.split("train")


def test_openai_layout_and_validation_split_from_a_folder(tmp_path):
    openai_row = {
        "id": "t3_x",
        "subreddit": "running",
        "title": "Knee",
        "post": "My knee hurts after runs since I doubled my mileage.",
        "summary": "knee pain after more miles",
    }
    write_jsonl(tmp_path / "train.jsonl", [openai_row])
    write_jsonl(tmp_path / "valid.jsonl", [{**openai_row, "summary": "validation summary"}])
    write_jsonl(tmp_path / "test.jsonl", [{**openai_row, "summary": "test summary"}])
    task = SummarizeTLDRTask(data_path=str(tmp_path), test_split="validation")
    (item,) = task.split("train")
    assert (item["subreddit"], item["title"], item["reference"]) == (
        "running",
        "Knee",
        "knee pain after more miles",
    )
    assert task.split("test")[0]["reference"] == "validation summary"
    assert SummarizeTLDRTask(data_path=str(tmp_path)).split("test")[0]["reference"] == (
        "test summary"
    )


def test_hub_snapshot_shards_are_read_in_order(tmp_path):
    write_parquet(tmp_path / "data" / "train-00000-of-00002.parquet", rows(2, start=0))
    write_parquet(tmp_path / "data" / "train-00001-of-00002.parquet", rows(2, start=2))
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", rows(1, start=9))
    task = SummarizeTLDRTask(data_path=str(tmp_path))
    train = task.split("train")
    assert [item["reference"][:6] for item in train] == ["post 0", "post 1", "post 2", "post 3"]
    assert [item["id"] for item in train] == [f"tldr-train-00000{i}" for i in range(4)]
    assert task.split("test")[0]["reference"].startswith("post 9")
    # the cap stops inside the first shard, and across shards
    assert len(SummarizeTLDRTask(data_path=str(tmp_path), train_size=1).split("train")) == 1
    assert len(SummarizeTLDRTask(data_path=str(tmp_path), train_size=3).split("train")) == 3


def test_size_caps_read_only_the_first_rows(tmp_path):
    # rows 0-4 are fine, row 5 lacks its summary: a cap of 5 never reaches it
    broken = [*rows(5), {"prompt": rows(1)[0]["prompt"]}]
    path = write_jsonl(tmp_path / "train.jsonl", broken)
    assert len(SummarizeTLDRTask(data_path=path, train_size=5).split("train")) == 5
    with pytest.raises(DataError, match=rf"{path}, row 5: the field 'completion' is missing"):
        SummarizeTLDRTask(data_path=path, train_size=None).split("train")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"prompt": "SUBREDDIT: r/a\n\nTITLE: t\n\nPOST:   \n\nTL;DR:", "completion": " x y"},
            "row 1: the post is empty",
        ),
        (
            {"prompt": "SUBREDDIT: r/a\n\nTITLE: t\n\nPOST: text\n\nTL;DR:", "completion": " "},
            r"row 1: the summary \('completion'\) has no words",
        ),
        (
            {"prompt": "SUBREDDIT: r/a\n\nTITLE: t\n\nPOST: text\n\nTL;DR:", "completion": None},
            "row 1: the field 'completion' is missing",
        ),
        ({"prompt": None, "completion": "x"}, "row 1: the field 'prompt' is missing"),
    ],
)
def test_bad_rows_raise_data_errors_naming_file_and_row(tmp_path, row, message):
    path = write_jsonl(tmp_path / "train.jsonl", [rows(1)[0], row])
    with pytest.raises(DataError, match=rf"{path}, {message}"):
        SummarizeTLDRTask(data_path=path).split("train")


def test_a_file_in_another_layout_names_the_expected_columns(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"text": "a post", "label": "a summary"}])
    with pytest.raises(
        DataError,
        match=rf"{path}, row 0: expected the columns 'prompt' and "
        r"'completion'.*'post' and 'summary'.*found \['label', 'text'\]",
    ):
        SummarizeTLDRTask(data_path=path).split("train")


def test_a_field_that_is_not_text_is_a_data_error(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"prompt": "a post", "completion": 7}])
    with pytest.raises(
        DataError,
        match=rf"{path}, row 0: the field 'completion' must be text, "
        "but got int",
    ):
        SummarizeTLDRTask(data_path=path).split("train")


def test_unreadable_and_missing_files_raise_data_errors(tmp_path):
    garbage = tmp_path / "train.parquet"
    garbage.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=rf"{garbage}: cannot read it"):
        SummarizeTLDRTask(data_path=str(garbage)).split("train")
    with pytest.raises(DataError, match="does not exist"):
        SummarizeTLDRTask(data_path=str(tmp_path / "nope.jsonl"))
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    with pytest.raises(DataError, match="has no train.parquet"):
        SummarizeTLDRTask(data_path=str(empty_folder))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"expected a \.parquet, \.jsonl, \.json file"):
        SummarizeTLDRTask(data_path=str(tmp_path / "notes.txt"))
    only_train = write_jsonl(tmp_path / "only" / "train.jsonl", rows(1))
    with pytest.raises(DataError, match="no 'test' data: pass test_path"):
        SummarizeTLDRTask(data_path=only_train).split("test")
    test_file = write_jsonl(tmp_path / "held_out.jsonl", rows(2))
    assert len(SummarizeTLDRTask(data_path=only_train, test_path=test_file).split("test")) == 2


def test_a_prompt_outside_the_template_is_the_post(tmp_path):
    path = write_jsonl(
        tmp_path / "train.jsonl",
        [{"prompt": "I lost my keys twice this week.\nTL;DR: ", "completion": "lost my keys"}],
    )
    (item,) = SummarizeTLDRTask(data_path=path).split("train")
    assert (item["subreddit"], item["title"], item["post"]) == (
        "",
        "",
        "I lost my keys twice this week.",
    )
    assert SummarizeTLDRTask(data_path=path).prompt(item)[1]["content"] == item["post"]


def test_hub_loading_offline_is_a_data_error_pointing_to_data_path(monkeypatch):
    import datasets
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # never touch the network
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    task = SummarizeTLDRTask(dataset="saw-bench-tests/no-such-dataset", train_size=3)
    with pytest.raises(DataError, match=r"no-such-dataset.*train\[:3\].*pass data_path="):
        task.split("train")


# ---------------------------------------------------------------------------- word budget
@pytest.mark.parametrize(
    ("words", "budget"), [(1, 10), (7, 10), (8, 10), (9, 12), (20, 25), (33, 42), (80, 100)]
)
def test_word_budget_is_a_quarter_over_the_reference_and_at_least_ten(words, budget):
    # ceil(1.25 * w): 9 -> 11.25 -> 12, 33 -> 41.25 -> 42; below 8 words the floor of 10 rules
    assert tldr.word_budget(" ".join(["word"] * words)) == budget


# ---------------------------------------------------------------------------- reference judge
HAND_ITEM = {
    "id": "hand",
    "subreddit": "",
    "title": "",
    "word_budget": 10,
    "post": "Long story. I lent my brother money in May and he keeps dodging me about it.",
    "reference": "I lent my brother money",
}


def test_rouge_quality_by_hand():
    # unigrams of "my brother lent money" are all in the reference: P = 4/4, R = 4/5, F1 = 8/9;
    # LCS with "i lent my brother money" is "my brother money" = 3: P = 3/4, R = 3/5, F1 = 2/3
    rouge1 = 2 * 1.0 * 0.8 / 1.8
    rouge_l = 2 * 0.75 * 0.6 / 1.35
    assert (rouge1, rouge_l) == (pytest.approx(8 / 9), pytest.approx(2 / 3))
    expected = 10 * (rouge1 + rouge_l) / 2
    assert rewards.rouge_quality(HAND_ITEM, "my brother lent money") == pytest.approx(expected)
    assert rewards.rouge_quality(HAND_ITEM, "my brother lent money") == pytest.approx(7.7778, 1e-4)


def test_rouge_quality_stems_and_ignores_case():
    item = {**HAND_ITEM, "reference": "He borrowed cash"}
    assert rewards.rouge_quality(item, "he BORROWS cash") == 10.0  # borrow(ed|s) -> borrow
    assert rewards.rouge_quality(item, "zzz") == 0.0
    assert rewards.rouge_quality(item, "") == 0.0


def test_a_long_reference_still_scores_ten():
    reference = " ".join(f"word{i}" for i in range(150))  # more than ROUGE's usual 100-word cut
    item = {**HAND_ITEM, "reference": reference, "word_budget": tldr.word_budget(reference)}
    assert rewards.rouge_quality(item, reference) == 10.0


def test_conciseness_uses_the_derived_budget():
    task = SummarizeTLDRTask(data_path=None)
    words = [f"w{i}" for i in range(30)]  # not post words
    # budget 10: 10 words -> 10, 20 words -> 10 * (30 - 20) / 20 = 5, 30 words -> 0
    for count, expected in ((10, 10.0), (20, 5.0), (30, 0.0)):
        assert task.score([HAND_ITEM], [" ".join(words[:count])])[0, 1] == pytest.approx(expected)
    assert task.score([HAND_ITEM], ["TL;DR: " + HAND_ITEM["post"]])[0, 1] == 0.0  # pasted back


def test_reference_scores_ten_on_the_example_data(tmp_path):
    task = saw_bench.load_task(
        "saw/Summarize-TLDR-v0", **SummarizeTLDRTask.example_kwargs(tmp_path)
    )
    for split in ("train", "test"):
        items = task.split(split)
        assert len(items) == {"train": 6, "test": 4}[split]
        scores = task.score(items, [task.reference(item) for item in items])
        np.testing.assert_array_equal(scores, np.full((len(items), 2), 10.0, dtype=np.float32))
    item = task.split("test")[0]
    assert task.score([item], ["I baked bread"])[0, 0] < 2.0


# ---------------------------------------------------------------------------- task
def test_prompt_shows_subreddit_title_and_post(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [trl_row(LONG_POST, "dent", "cars", "Dent")])
    task = SummarizeTLDRTask(data_path=path)
    system, user = task.prompt(task.split("train")[0])
    assert "TL;DR" in system["content"]
    assert user["content"] == f"SUBREDDIT: r/cars\n\nTITLE: Dent\n\nPOST: {LONG_POST}"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train_size": 0}, "train_size must be a positive integer, but got 0"),
        ({"test_size": 2.5}, "test_size must be a positive integer"),
        ({"test_split": "dev"}, "test_split must be one of test, validation, but got 'dev'"),
        ({"judge": "gpt"}, "judge must be one of reference, embedding, llm, but got 'gpt'"),
        ({"judge_kwargs": {"model_path": "x"}}, "unknown judge_kwargs 'model_path'.*none"),
    ],
)
def test_bad_kwargs_name_the_value_and_the_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SummarizeTLDRTask(**kwargs)


def test_registered_with_the_two_objectives():
    assert "saw/Summarize-TLDR-v0" in saw_bench.registered_ids()
    task_class = saw_bench.core.registry.import_object(
        saw_bench.core.registry.registration("saw/Summarize-TLDR-v0").task
    )
    assert task_class is SummarizeTLDRTask
    objectives = task_class.objectives_for()
    assert [(o.name, o.low, o.high) for o in objectives] == [
        ("quality", 0.0, 10.0),
        ("conciseness", 0.0, 10.0),
    ]
    assert "ROUGE-1" in objectives[0].description
    assert "cosine" in task_class.objectives_for(judge="embedding")[0].description

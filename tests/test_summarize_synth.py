"""Tests of saw/Summarize-Synth-v0 and -v1: data generation, the reference judge and the task."""

from __future__ import annotations

import re

import pytest

import saw_bench
from saw_bench.envs.summarize import data, rewards
from saw_bench.envs.summarize.task import SummarizeSynthTask, SummarizeSynthV1Task


def small(**kwargs) -> SummarizeSynthTask:
    return SummarizeSynthTask(**{"train_size": 300, "test_size": 100, **kwargs})


# ---------------------------------------------------------------------------- data
def test_items_are_deterministic_per_seed():
    assert small(seed=3).split("train") == small(seed=3).split("train")
    assert small(seed=3).split("test") == small(seed=3).split("test")


def test_seed_changes_the_items():
    assert small(seed=1).split("train") != small(seed=2).split("train")


def test_split_does_not_depend_on_the_other_split_size():
    assert small(test_size=5).split("train") == small(test_size=50).split("train")


def test_train_and_test_share_no_template_and_no_name_or_place():
    assert not set(data.NAMES_TRAIN) & set(data.NAMES_TEST)
    assert not set(data.PLACES_TRAIN) & set(data.PLACES_TEST)
    assert not set(data.FILLERS_TRAIN) & set(data.FILLERS_TEST)
    assert not set(data.CLOSERS_TRAIN) & set(data.CLOSERS_TEST)
    train_templates, test_templates = set(), set()
    for table in (*data.EVENTS, *data.SIDE_NOTES):
        train_templates |= {*table.post_train, *table.ref_train}
        test_templates |= {*table.post_test, *table.ref_test}
    assert not train_templates & test_templates
    task = small()
    train_facts = {fact for item in task.split("train") for fact in item["facts"]}
    test_facts = {fact for item in task.split("test") for fact in item["facts"]}
    names_and_places = {*data.NAMES_TRAIN, *data.NAMES_TEST, *data.PLACES_TRAIN, *data.PLACES_TEST}
    assert not (train_facts & test_facts) & names_and_places


def test_about_half_of_training_names_and_places_are_invented_and_none_is_a_test_value():
    items = data.generate_items("train", 400, seed=0, difficulty="medium")
    facts = [fact for item in items for fact in item["facts"]]
    names_and_places = [fact for fact in facts if not fact[0].isdigit() and "$" not in fact]
    listed = {*data.NAMES_TRAIN, *data.PLACES_TRAIN}
    invented = [fact for fact in names_and_places if fact not in listed]
    assert 0.4 < len(invented) / len(names_and_places) < 0.6
    assert not set(invented) & {*data.NAMES_TEST, *data.PLACES_TEST}
    assert len(set(invented)) > 0.9 * len(invented)  # an open supply: hardly any repeats
    for item in items:  # every fact still appears verbatim in the post and the reference
        assert all(fact in item["post"] and fact in item["reference"] for fact in item["facts"])


def _template_regex(template: str) -> re.Pattern[str]:
    """A template with every ``{slot}`` as a wildcard within one sentence (first letter either
    case)."""
    pieces = re.split(r"\{\w+\}", template)
    body = "([^.!?]+?)".join(re.escape(piece) for piece in pieces)
    return re.compile(f"(?i:{body[:1]}){body[1:]}" if body[:1].isalpha() else body)


def _matches_some(text: str, templates) -> bool:
    return any(_template_regex(template).fullmatch(text) for template in templates)


def _contains_some(text: str, templates) -> bool:
    return any(_template_regex(template).search(text) for template in templates)


@pytest.mark.parametrize(
    ("test_templates", "event_split", "filler_split"),
    [("novel", "test", "test"), ("seen-events", "train", "test"), ("seen", "train", "train")],
)
def test_test_templates_choose_the_tables_of_test_posts(test_templates, event_split, filler_split):
    task = small(test_templates=test_templates, difficulty="medium")
    fillers = {"train": data.FILLERS_TRAIN, "test": data.FILLERS_TEST}
    closers = {"train": data.CLOSERS_TRAIN, "test": data.CLOSERS_TEST}

    def table(split: str, kind: str, events=data.EVENTS) -> list[str]:
        return [t for event in events for t in getattr(event, f"{kind}_{split}")]

    references = {split: table(split, "ref") for split in ("train", "test")}
    posts = {split: table(split, "post") for split in ("train", "test")}
    notes = {split: table(split, "post", data.SIDE_NOTES) for split in ("train", "test")}
    other = {"train": "test", "test": "train"}
    for item in task.split("test"):
        post = item["post"]
        assert any(sentence in post for sentence in fillers[filler_split])
        assert not any(sentence in post for sentence in fillers[other[filler_split]])
        assert not any(sentence in post for sentence in closers[other[filler_split]])
        assert _contains_some(post, posts[event_split]) and _contains_some(post, notes[event_split])
        assert not _contains_some(post, posts[other[event_split]] + notes[other[event_split]])
        sentence = item["reference"].removesuffix(".").split(", and ")[0]  # without the side note
        assert _matches_some(sentence, references[event_split])
        assert not _matches_some(sentence, references[other[event_split]])
        names = {fact for fact in item["facts"] if fact[:1].isalpha()}
        assert names <= {*data.NAMES_TEST, *data.PLACES_TEST}  # values stay the test's own
    # the training items do not depend on the choice; "seen" is the default
    assert task.split("train") == small(test_templates="novel", difficulty="medium").split("train")
    if test_templates == "seen":
        assert small(difficulty="medium").split("test") == task.split("test")


@pytest.mark.parametrize(
    ("difficulty", "words", "n_facts"), [("short", (40, 60), (2, 3)), ("medium", (80, 150), (3, 5))]
)
def test_posts_fit_the_difficulty(difficulty, words, n_facts):
    task = small(difficulty=difficulty)
    for split in ("train", "test"):
        for item in task.split(split):
            assert set(item) == {"id", "post", "facts", "reference", "word_budget"}
            assert words[0] <= len(item["post"].split()) <= words[1]
            assert n_facts[0] <= len(item["facts"]) <= n_facts[1]
            assert len(item["reference"].split()) <= item["word_budget"]
            for fact in item["facts"]:
                assert fact in item["post"]
                assert fact.lower() in item["reference"].lower()
    if difficulty == "short":
        lengths = [len(item["reference"].split()) for item in task.split("train")]
        assert min(lengths) >= 8 and max(lengths) <= 20


@pytest.mark.parametrize("difficulty", data.DIFFICULTIES)
def test_reference_scores_ten_on_both_objectives_on_every_item(difficulty):
    task = small(difficulty=difficulty)
    for split in ("train", "test"):
        items = task.split(split)
        scores = task.score(items, [task.reference(item) for item in items])
        assert (scores == 10.0).all()


# ---------------------------------------------------------------------------- judge by hand
ITEM = {
    "id": "hand",
    "post": "Long story here. My roommate Marek owes me $450 and dodges me. What now?",
    "facts": ["Marek", "$450"],
    "reference": "my roommate Marek owes me $450",
    "word_budget": 20,
}


def test_quality_by_hand():
    # reference tokens: my roommate marek owes me 450 (6); summary: marek owes money (3)
    # LCS = "marek owes" = 2 -> P = 2/3, R = 2/6, F1 = 2PR / (P + R) = (4/9) / 1 = 4/9
    precision, recall = 2 / 3, 2 / 6
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 == pytest.approx(4 / 9)
    # one of the two facts ("Marek" yes, "$450" no): recall 1/2
    assert rewards.quality(ITEM, "Marek owes money") == pytest.approx(10 * (0.6 * 0.5 + 0.4 * f1))
    assert rewards.quality(ITEM, "Marek owes money") == pytest.approx(4.7778, abs=1e-4)


def test_quality_extremes():
    assert rewards.quality(ITEM, ITEM["reference"]) == 10.0
    assert rewards.quality(ITEM, ITEM["reference"].upper()) == 10.0  # both parts ignore case
    assert rewards.quality(ITEM, "") == 0.0
    assert rewards.quality(ITEM, "zzz qqq") == 0.0


def test_rouge_sees_only_the_first_hundred_words():
    padded = ITEM["reference"] + " " + "zzz " * 500
    head_only = ITEM["reference"] + " " + "zzz " * (rewards.ROUGE_MAX_WORDS - 6)
    assert rewards.rouge_l(ITEM, padded) == rewards.rouge_l(ITEM, head_only)


def test_conciseness_by_hand():
    words = [f"w{i}" for i in range(60)]  # none of them is a post word
    assert rewards.conciseness(ITEM, " ".join(words[:1])) == 10.0
    assert rewards.conciseness(ITEM, " ".join(words[:20])) == 10.0  # at the budget
    # 30 words: 10 * (60 - 30) / 40 = 7.5; 40 words (2x budget): 10 * (60 - 40) / 40 = 5
    assert rewards.conciseness(ITEM, " ".join(words[:30])) == pytest.approx(7.5)
    assert rewards.conciseness(ITEM, " ".join(words[:40])) == pytest.approx(5.0)
    assert rewards.conciseness(ITEM, " ".join(words[:60])) == 0.0
    assert rewards.conciseness(ITEM, "") == 0.0
    assert rewards.conciseness(ITEM, "   \n ") == 0.0


def test_pasting_the_post_back_earns_no_conciseness():
    task = small()
    for item in task.split("test")[:50]:
        assert task.score_completion(item, item["post"])[1] == 0.0
        assert task.score_completion(item, "TL;DR: " + item["post"])[1] == 0.0
    # the hand item's post has 14 tokens; 60% is 8.4: a shared run of 9 tokens is a copy even
    # within the budget, a run of 8 is not
    assert rewards.conciseness(ITEM, "Long story here. My roommate Marek owes me $450") == 0.0
    assert rewards.conciseness(ITEM, "Long story here. My roommate Marek owes me") == 10.0


def test_long_summary_of_post_words_earns_no_conciseness():
    stitched = " ".join(["Marek owes me $450"] * 6)  # 24 words > 20, all post words
    assert rewards.conciseness(ITEM, stitched) == 0.0


# ---------------------------------------------------------------------------- task
def test_tldr_prefix_is_stripped():
    task = small()
    item = task.split("train")[0]
    plain = task.score_completion(item, item["reference"])
    for prefix in ("TL;DR: ", "tl;dr:", "  TL;DR:\n", "TLDR - "):
        assert task.score_completion(item, prefix + item["reference"]) == plain
    assert rewards.strip_prefix("TL;DR: Marek owes me") == "Marek owes me"


def test_prompt_holds_the_post():
    task = small()
    item = task.split("test")[0]
    messages = task.prompt(item)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "TL;DR" in messages[0]["content"] and messages[1]["content"] == item["post"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"train_size": 0}, "train_size"),
        ({"test_size": -1}, "test_size"),
        ({"train_size": 2.5}, "train_size"),
        ({"difficulty": "hard"}, "difficulty"),
        ({"test_templates": "unseen"}, "test_templates"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_kwargs_name_the_kwarg(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SummarizeSynthTask(**kwargs)


def test_registered_under_the_alias():
    assert saw_bench.aliases()["summarize"] == "saw/Summarize-Synth-v1"
    for version in ("v0", "v1"):
        task = saw_bench.load_task(f"saw/Summarize-Synth-{version}", train_size=5, test_size=5)
        assert task.objective_names == ("quality", "conciseness")


# ---------------------------------------------------------------------------- v1
def test_v1_is_v0_with_every_budget_at_eight_words():
    v0 = saw_bench.load_task("saw/Summarize-Synth-v0", train_size=200, test_size=50)
    v1 = saw_bench.load_task("saw/Summarize-Synth-v1", train_size=200, test_size=50)
    assert isinstance(v1, SummarizeSynthV1Task)
    for split in ("train", "test"):
        old, new = v0.split(split), v1.split(split)
        assert [item["word_budget"] for item in old] == [20] * len(old)
        assert [item["word_budget"] for item in new] == [8] * len(new)
        assert [{**item, "word_budget": 8} for item in old] == new
    assert v0.data_fingerprint() != v1.data_fingerprint()


def test_v1_puts_conciseness_against_the_reference():
    # 13 words, none of them a post word (so no copy rule applies): budget 8, zero at 24:
    # 10 * (24 - 13) / (24 - 8) = 6.875; at most 8 words: 10
    item = {**ITEM, "word_budget": 8}
    words = [f"w{i}" for i in range(13)]
    assert rewards.conciseness(item, " ".join(words)) == pytest.approx(6.875)
    assert rewards.conciseness(item, " ".join(words[:8])) == 10.0
    task = SummarizeSynthV1Task(train_size=300, test_size=100)
    items = task.split("test")
    scores = task.score(items, [task.reference(item) for item in items])
    assert (scores[:, 0] == 10.0).all()  # the reference still states every fact
    longer = [len(item["reference"].split()) > 8 for item in items]
    assert sum(longer) > 0.9 * len(items)
    assert (scores[longer, 1] < 10.0).all()


def test_a_budget_of_v0_can_be_set_and_is_checked():
    assert {item["word_budget"] for item in small(word_budget=12).split("test")} == {12}
    with pytest.raises(ValueError, match="word_budget"):
        small(word_budget=0)

"""Policies: the tiny embedded policy (build, cache, determinism) and Hugging Face loading.

Every build here uses a miniature recipe (a 1-layer model, a handful of SFT steps, a 64-item
task) and a cache under pytest's tmp_path, so the file runs in seconds and never touches the
user's cache or the network.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
)

import saw_bench
from saw_bench.core.errors import PromptTooLongError, SawBenchError
from saw_bench.core.registry import register, unregister
from saw_bench.envs.summarize.task import SummarizeSynthTask
from saw_bench.envs.toolcall.synth import ToolCallSynthTask
from saw_bench.policy import (
    Policy,
    TinyRecipe,
    _tiny,
    build_tiny_policy,
    default_recipe,
    load_policy,
    mask_through_first,
    plain_chat,
)

TINY = {
    "task_kwargs": {"train_size": 64, "test_size": 8},
    "vocab_size": 300,
    "hidden_size": 32,
    "num_layers": 1,
    "num_heads": 2,
    "ffn_size": 64,
    "max_position": 1024,
    "sft_steps": 4,
    "batch_size": 4,
    "warmup_steps": 1,
    "eval_items": 4,
    "max_new_tokens": 16,
    # builds in this process on every CPU, on the caller's threads (a version 2 build, the
    # default, runs in a child process where this one has other kernels than AVX2)
    "recipe_version": 3,
}


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """``load_policy("tiny")`` with ToolCall-Synth's tiny recipe made miniature."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAW_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(ToolCallSynthTask, "tiny_recipe", TINY)
        return load_policy("tiny", task="saw/ToolCall-Synth-v0", progress=False)


@pytest.fixture(scope="module")
def tiny_task() -> saw_bench.TextTask:
    return saw_bench.load_task("saw/ToolCall-Synth-v0", **TINY["task_kwargs"])


def tiny_recipe(**changes: object) -> TinyRecipe:
    """The recipe the tiny_policy fixture builds (TINY as ToolCall-Synth's recipe changes)."""
    return TinyRecipe(task="saw/ToolCall-Synth-v0", **{**TINY, **changes})


def tiny_policy_folder(policy: Policy) -> Path:
    """The folder a policy was loaded from."""
    return Path(policy.model.name_or_path)


# --------------------------------------------------------------------------- recipe and cache
def test_default_recipe_resolves_aliases_and_applies_the_task_classs_changes(monkeypatch) -> None:
    assert default_recipe("toolcall").task == "saw/ToolCall-Synth-v2"  # the alias
    assert default_recipe("saw/ToolCall-Synth-v0").recipe_version == 2  # the board's policies
    assert default_recipe().task == "saw/ToolCall-Synth-v0"
    monkeypatch.setattr(ToolCallSynthTask, "tiny_recipe", {"sft_steps": 7})
    assert default_recipe("saw/ToolCall-Synth-v0").sft_steps == 7
    assert default_recipe("saw/ToolCall-Synth-3obj-v0").sft_steps == 7  # the same class


def test_each_family_keeps_its_tuned_warm_start_length() -> None:
    """The warm-start lengths of the docs' tiny-policy page: 1,000 steps by default
    (ToolCall-Synth), 500 for Summarize-Synth, 250 for a 2-codebook and 150 for a 4-codebook
    Async task, noisy or not; nothing else differs from the defaults."""
    expected = {
        "saw/ToolCall-Synth-v0": 1000,
        "saw/ToolCall-Synth-3obj-v0": 1000,
        "saw/Summarize-Synth-v0": 500,
        "saw/Async-K2-v0": 250,
        "saw/Async-K2-Noisy-v0": 250,
        "saw/Async-K4-v0": 150,
        "saw/Async-K4-Noisy-v0": 150,
    }
    for task_id, sft_steps in expected.items():
        recipe = default_recipe(task_id)
        assert recipe == TinyRecipe(task=task_id, sft_steps=sft_steps), task_id


def test_a_task_class_can_set_its_recipe_from_its_registered_kwargs(monkeypatch) -> None:
    """The hook a plug-in uses: ``tiny_recipe_for`` sees the id's registered kwargs."""

    def by_difficulty(cls, **kwargs):
        return {"sft_steps": 321} if kwargs.get("difficulty") == "long" else {}

    monkeypatch.setattr(SummarizeSynthTask, "tiny_recipe_for", classmethod(by_difficulty))
    register(
        "saw/Summarize-Long-Test-v0",
        "saw_bench.envs.summarize.task:SummarizeSynthTask",
        difficulty="long",
    )
    try:
        assert default_recipe("saw/Summarize-Long-Test-v0").sft_steps == 321
        assert default_recipe("summarize").sft_steps == 1000
    finally:
        unregister("saw/Summarize-Long-Test-v0")


def test_recipe_rejects_heads_that_do_not_divide_the_width() -> None:
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TinyRecipe(hidden_size=130, num_heads=4)


def test_changed_recipe_or_version_changes_hash_and_folder() -> None:
    recipe = tiny_recipe()
    assert recipe.recipe_hash() == tiny_recipe().recipe_hash()
    for changed in (
        tiny_recipe(seed=1),
        tiny_recipe(corrupt_fraction=0.25),
        tiny_recipe(task_kwargs={"train_size": 65, "test_size": 8}),
    ):
        assert changed.recipe_hash() != recipe.recipe_hash()
        assert changed.folder_name() != recipe.folder_name()
    other = next(v for v in _tiny.RECIPE_VERSIONS if v != recipe.recipe_version)
    other_version = tiny_recipe(recipe_version=other)
    assert other_version.recipe_hash() != recipe.recipe_hash()
    assert other_version.folder_name().startswith("toolcall-synth-v0-")


def test_same_recipe_builds_byte_identical_weights(tmp_path, monkeypatch, tiny_policy) -> None:
    monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path))
    folder = build_tiny_policy(tiny_recipe(), progress=False)
    first = tiny_policy_folder(tiny_policy)
    assert folder.name == first.name and folder != first
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (folder / name).read_bytes() == (first / name).read_bytes(), name


def test_cached_build_is_reused_without_training(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path))
    recipe = tiny_recipe(sft_steps=1, eval_items=1)
    folder = build_tiny_policy(recipe, progress=False)
    assert folder.parent == tmp_path / "tiny"
    stamp = (folder / "model.safetensors").stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("a cached recipe was trained again")

    monkeypatch.setattr(_tiny, "train_sft", no_training)
    assert build_tiny_policy(recipe, progress=False) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert [path.name for path in folder.parent.iterdir()] == [folder.name]  # no leftovers
    with pytest.raises(AssertionError, match="trained again"):
        build_tiny_policy(recipe, progress=False, force=True)
    assert _tiny.is_built(folder, recipe)  # a failed forced rebuild keeps the old policy


def test_build_weights_do_not_depend_on_the_callers_threads(tmp_path, monkeypatch) -> None:
    # A build runs on the caller's threads, and its weights are the same (other CPU kernels:
    # tests/test_tiny_exact.py)
    recipe = tiny_recipe(sft_steps=2, eval_items=1)
    weights, before = [], torch.get_num_threads()
    try:
        for threads in (1, 3):
            monkeypatch.setenv("OMP_NUM_THREADS", str(threads))
            monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path / f"threads-{threads}"))
            torch.set_num_threads(threads)
            folder = build_tiny_policy(recipe, progress=False)
            assert torch.get_num_threads() == threads  # the caller's setting is restored
            figures = json.loads((folder / "figures.json").read_text())
            assert figures["threads"] == threads
            weights.append((folder / "model.safetensors").read_bytes())
    finally:
        torch.set_num_threads(before)
    assert weights[0] == weights[1]


def test_build_writes_recipe_and_figures(tiny_policy) -> None:
    folder = tiny_policy_folder(tiny_policy)
    recipe = json.loads((folder / "recipe.json").read_text())
    assert recipe["hash"] == tiny_recipe().recipe_hash() and recipe["sft_steps"] == 4
    figures = json.loads((folder / "figures.json").read_text())
    assert figures["sft_steps"] == 4 and figures["eval_items"] == 4
    assert figures["parameters"] == sum(p.numel() for p in tiny_policy.model.parameters())
    for mode in ("sampled", "greedy"):
        assert -3 <= figures[mode]["correctness"] <= 3 and 0 <= figures[mode]["format"] <= 1


# --------------------------------------------------------------------------- Hugging Face folder
def test_tiny_folder_loads_with_plain_transformers_with_identical_logits(tiny_policy) -> None:
    folder = tiny_policy_folder(tiny_policy)
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    text = tiny_policy.render([{"role": "user", "content": "Book a table at Luigi's."}])
    assert (
        tokenizer.apply_chat_template(
            [{"role": "user", "content": "Book a table at Luigi's."}],
            tokenize=False,
            add_generation_prompt=True,
        )
        == text
    )
    ids = tokenizer(text, return_tensors="pt").input_ids
    assert ids.tolist() == tiny_policy.tokenizer(text, return_tensors="pt").input_ids.tolist()
    with torch.no_grad():
        expected = tiny_policy.model(ids).logits
        assert torch.equal(model(ids).logits, expected)
    assert tiny_policy.name.startswith("tiny/toolcall-synth-v0-")
    assert len(tiny_policy.revision) == 12


def test_tokenizer_round_trips_task_text_and_template_ends_with_assistant(
    tiny_policy, tiny_task
) -> None:
    tokenizer = tiny_policy.tokenizer
    items = tiny_task.split("train")[:20] + tiny_task.split("test")
    texts = [plain_chat(tiny_task.prompt(item)) for item in items]
    texts += [tiny_task.reference(item) for item in items]
    texts += ["Café in 東京 at 10:30 🙂\n\ttabs  and  spaces "]
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False).input_ids
        assert tokenizer.decode(ids) == text
    messages = tiny_task.prompt(items[0])
    rendered = tiny_policy.render(messages)
    assert rendered.endswith("<|assistant|>\n")
    assert rendered == "<|bos|>" + plain_chat(messages)
    assert tokenizer.convert_ids_to_tokens(tokenizer(rendered).input_ids[-2]) == "<|assistant|>"


def test_corrupted_targets_never_score_the_maximum(tiny_task) -> None:
    items = tiny_task.split("train")
    corrupt = _tiny.corrupter_for(tiny_task)
    rng = random.Random(0)
    corrupted = [corrupt(item, tiny_task.reference(item), rng) for item in items for _ in range(3)]
    scores = tiny_task.score([item for item in items for _ in range(3)], corrupted)
    assert not (scores >= tiny_task.reward_high).all(axis=1).any()


# --------------------------------------------------------------------------- generation
def test_mask_through_first_marks_tokens_up_to_and_including_eos() -> None:
    ids = torch.tensor([[5, 2, 7, 2], [5, 6, 7, 8], [2, 2, 3, 4]])
    expected = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    assert torch.equal(mask_through_first(ids, eos_id=2), expected)


@pytest.fixture
def eos_prone_policy(tiny_policy):
    """The tiny policy with the EOS logit raised, so completions stop at varied lengths."""
    eos = tiny_policy.eos_token_id

    def raise_eos(module, inputs, output):
        output = output.clone()
        output[..., eos] += 4.0
        return output

    handle = tiny_policy.model.lm_head.register_forward_hook(raise_eos)
    yield tiny_policy
    handle.remove()


def test_generate_shapes_masks_and_texts_are_consistent(eos_prone_policy, tiny_task) -> None:
    policy = eos_prone_policy
    prompts = [policy.render(tiny_task.prompt(item)) for item in tiny_task.split("test")[:3]]
    batch = policy.generate(prompts, num_samples=4, max_new_tokens=16, seed=3)
    rows = 12
    assert batch.prompt_ids.shape[0] == batch.prompt_mask.shape[0] == rows
    assert batch.completion_ids.shape == batch.completion_mask.shape
    assert batch.completion_ids.shape[0] == rows and batch.completion_ids.shape[1] <= 16
    assert batch.prompt_index.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    eos, pad = policy.eos_token_id, policy.tokenizer.pad_token_id
    lengths = batch.completion_mask.sum(dim=1).tolist()
    assert len(set(lengths)) > 1  # some rows stopped early
    for row in range(rows):
        ids, mask = batch.completion_ids[row].tolist(), batch.completion_mask[row].tolist()
        stop = ids.index(eos) + 1 if eos in ids else len(ids)
        assert mask == [1] * stop + [0] * (len(ids) - stop)
        assert ids[stop:] == [pad] * (len(ids) - stop)
        kept = [token for token in ids[:stop] if token != eos]
        assert batch.texts[row] == policy.tokenizer.decode(kept, skip_special_tokens=True)
        prompt = batch.prompt_ids[row][batch.prompt_mask[row].bool()]
        assert policy.tokenizer.decode(prompt) == prompts[batch.prompt_index[row]]
    assert batch.prompt_mask[:, -1].all()  # left padding


def test_generate_is_seeded_and_leaves_global_rng_and_train_mode(tiny_policy, tiny_task) -> None:
    policy = tiny_policy
    prompts = [policy.render(tiny_task.prompt(item)) for item in tiny_task.split("test")[:2]]
    policy.model.train()
    rng_state = torch.get_rng_state()
    first = policy.generate(prompts, num_samples=4, max_new_tokens=12, seed=11).texts
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert policy.model.training
    assert policy.generate(prompts, num_samples=4, max_new_tokens=12, seed=11).texts == first
    assert policy.generate(prompts, num_samples=4, max_new_tokens=12, seed=12).texts != first
    greedy = policy.generate(prompts, num_samples=2, max_new_tokens=12, temperature=0)
    assert greedy.texts[0] == greedy.texts[1] and greedy.texts[2] == greedy.texts[3]
    again = policy.generate(prompts, num_samples=2, max_new_tokens=12, temperature=0, seed=5)
    assert again.texts == greedy.texts
    policy.model.eval()


def test_generate_refuses_prompts_over_the_budget(tiny_policy) -> None:
    policy = dataclasses.replace(tiny_policy, max_prompt_tokens=8)
    # a user error (one line from the CLI), and still a ValueError for callers that catch one
    with pytest.raises(
        PromptTooLongError, match=r"prompt 1 has \d+ tokens, more than max_prompt_tokens=8"
    ):
        policy.generate(["hi", "a much longer prompt than eight tokens, surely"])


# --------------------------------------------------------------------------- load_policy
def test_local_hugging_face_folder_loads(tmp_path, tiny_policy) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_policy_folder(tiny_policy))
    tokenizer.chat_template = None
    tokenizer.pad_token = None
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    policy = load_policy(str(tmp_path / "model"), device="cpu")
    assert policy.tokenizer.padding_side == "left"
    assert policy.tokenizer.pad_token == policy.tokenizer.eos_token  # filled in
    messages = [{"role": "user", "content": "hello"}]
    assert policy.render(messages) == "<|user|>\nhello\n<|assistant|>\n"  # no template
    assert len(policy.revision) == 12 and policy.model.dtype == torch.float32
    batch = policy.generate([policy.render(messages)], num_samples=2, max_new_tokens=4, seed=0)
    assert len(batch.texts) == 2


@pytest.mark.parametrize("model", ["./no/such/model/folder", "/definitely/not/here"])
def test_missing_local_folder_raises_a_clear_error(model) -> None:
    with pytest.raises(SawBenchError, match="neither an existing folder nor a Hugging Face id"):
        load_policy(model, device="cpu")


def test_unknown_hub_id_offline_raises_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(SawBenchError, match="could not be found locally or on the Hugging Face"):
        load_policy("saw-bench-tests/no-such-model", device="cpu")


# --------------------------------------------------------------------------- warm start
def test_sft_reduces_the_target_loss(tiny_task) -> None:
    recipe = tiny_recipe(sft_steps=12, learning_rate=1e-2, corrupt_fraction=0.0)
    tokenizer = _tiny.train_tokenizer(tiny_task, recipe)
    model = _tiny.init_model(recipe, tokenizer)
    data = _tiny.SftData(tiny_task, tokenizer, recipe)
    probe = data.collate(range(8))
    with torch.no_grad():
        before = _tiny.sft_loss(model, probe).item()
    # An untrained model is close to uniform over the vocabulary.
    assert abs(before - math.log(len(tokenizer))) < 0.5
    figures = _tiny.train_sft(model, data, recipe, progress=False)
    with torch.no_grad():
        after = _tiny.sft_loss(model, probe).item()
    assert after < before - 1.0
    assert figures["final_loss"] < figures["initial_loss"]


def test_sft_loss_is_the_cross_entropy_of_the_module(tiny_task) -> None:
    """The warm start's loss (FastLlama, output layer on target positions only) against
    PyTorch's cross-entropy over the module's full logits, padding and prompts ignored."""
    recipe = tiny_recipe(corrupt_fraction=0.5)
    tokenizer = _tiny.train_tokenizer(tiny_task, recipe)
    model = _tiny.init_model(recipe, tokenizer)
    data = _tiny.SftData(tiny_task, tokenizer, recipe)
    batch = data.collate([0, 3, 5, 6], random.Random(7))
    assert (batch.attention_mask == 0).any()  # rows of different lengths
    with torch.no_grad():
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        expected = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]),
            batch.labels[:, 1:].reshape(-1),
            ignore_index=_tiny.IGNORE_INDEX,
        )
        got = _tiny.sft_loss(model, batch)
        slow = _tiny.sft_loss(model, batch, fast=False)  # the module's own forward
    assert float(got) == pytest.approx(float(expected), rel=1e-5)
    assert float(slow) == pytest.approx(float(expected), rel=1e-5)


def test_a_build_without_a_terminal_logs_plain_lines_not_a_bar(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path))
    build_tiny_policy(tiny_recipe(sft_steps=20, eval_items=1), progress=True)
    lines = capsys.readouterr().err.splitlines()
    steps = [line.split()[4] for line in lines if line.startswith("tiny policy SFT: step ")]
    assert steps == [f"{n}/20" for n in range(2, 21, 2)]  # a tenth of the steps each
    assert not any("\r" in line or "it/s" in line for line in lines)


def test_a_first_build_announces_itself_then_logs_at_least_every_few_seconds_same_weights(
    tmp_path, monkeypatch, capsys
):
    recipe = tiny_recipe(sft_steps=20, eval_items=1)
    monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path / "quiet"))
    quiet = build_tiny_policy(recipe, progress=False).joinpath("model.safetensors").read_bytes()
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path / "logged"))
    # a tenth of ToolCall-Synth's 1,000 steps takes minutes: lines also come by the clock
    monkeypatch.setattr(_tiny, "PROGRESS_SECONDS", 0.0)
    folder = build_tiny_policy(recipe, progress=True)
    lines = capsys.readouterr().err.splitlines()
    announcement = lines[0]  # before anything else, the build says what it does and why
    assert announcement.startswith("tiny policy: building the policy of saw/ToolCall-Synth-v0")
    assert "first use of this task's recipe" in announcement
    assert f"cached afterwards in {folder}" in announcement
    assert "20 warm-start steps" in announcement and " on two free cores" in announcement
    steps = [line.split()[4] for line in lines if line.startswith("tiny policy SFT: step ")]
    assert steps == [f"{n}/20" for n in range(1, 21)]
    assert lines[-1].startswith("tiny policy: built in ") and lines[-1].endswith(str(folder))
    assert (folder / "model.safetensors").read_bytes() == quiet  # printing changes no weight

"""Rows of saw_bench.integrations.verl_data read by verl 0.9.1's own RLHFDataset, then scored
as verl's naive reward manager calls compute_score: the task's prompts and scores come through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import verl
from hydra import compose, initialize_config_dir
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast
from verl.utils.dataset.rl_dataset import RLHFDataset

import saw_bench
from saw_bench.integrations.verl_data import compute_score, write_parquet

SMALL = {"train_size": 6, "test_size": 2}
VERL_CONFIG = Path(verl.__file__).parent / "trainer" / "config"


def test_verls_dataset_reads_the_rows_and_compute_score_scores_them(tmp_path):
    path = write_parquet("toolcall", tmp_path / "train.parquet", **SMALL)
    with initialize_config_dir(config_dir=str(VERL_CONFIG), version_base=None):
        config = compose(config_name="ppo_trainer", overrides=[f"data.train_files={path}"])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]")), unk_token="[UNK]"
    )
    dataset = RLHFDataset(str(path), tokenizer, config.data)
    task = saw_bench.load_task("toolcall", **SMALL)
    items = task.split("train")
    assert len(dataset) == len(items)
    for index, item in enumerate(items):
        row = dataset[index]
        assert [dict(message) for message in row["raw_prompt"]] == task.prompt(item)
        completion = task.reference(item) if index % 2 else "<think>no</think> 42"
        # as verl's naive reward manager calls it
        result = compute_score(
            data_source=row["data_source"],
            solution_str=completion,
            ground_truth=row["reward_model"]["ground_truth"],
            extra_info=row["extra_info"],
        )
        expected = task.score([item], [completion])[0]
        np.testing.assert_array_equal([result[name] for name in task.objective_names], expected)

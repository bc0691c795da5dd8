"""A run resumes and reruns on the task it ran, whatever its alias names today."""

from __future__ import annotations

import json

from saw_bench.training.trainer import recorded_task, saved_config


def write_config(folder, task, task_id):
    folder.mkdir()
    train = {"task": task, "weighting": "static", "steps": 4, "model": "tiny"}
    config = {"train": train, "task_id": task_id}
    (folder / "config.json").write_text(json.dumps(config))


def test_a_run_recorded_under_a_moved_alias_resumes_on_its_own_version(tmp_path):
    # "summarize" named Summarize-Synth-v0 when this run started; today it names -v1
    write_config(tmp_path / "old", "summarize", "saw/Summarize-Synth-v0")
    assert saved_config(tmp_path / "old").task == "saw/Summarize-Synth-v0"
    write_config(tmp_path / "new", "summarize", "saw/Summarize-Synth-v1")
    assert saved_config(tmp_path / "new").task == "saw/Summarize-Synth-v1"


def test_a_config_without_a_task_id_keeps_its_task():
    assert recorded_task({}, {"task": "toolcall"}) == {"task": "toolcall"}
    recorded = {"task_id": "saw/ToolCall-Synth-v0"}
    assert recorded_task(recorded, {"task": "toolcall", "seed": 3}) == {
        "task": "saw/ToolCall-Synth-v0",
        "seed": 3,
    }

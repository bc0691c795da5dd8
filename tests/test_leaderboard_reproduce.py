"""``leaderboard reproduce`` reruns one seed of a verified submission and compares every recorded
number: a submission made here reproduces; one changed number is named with its step and both
values; a policy of another revision cannot pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import saw_bench
from saw_bench.leaderboard import reproduce, submit
from saw_bench.leaderboard._archive import archive_of, read_archive, write_archive
from saw_bench.leaderboard._reproduce import compare_run_files

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def board(small_model: str, tmp_path_factory) -> tuple[Path, Path]:
    """A leaderboard folder with one verified submission of three 2-step runs."""
    root = tmp_path_factory.mktemp("reproduce")
    for seed in SEEDS:
        saw_bench.train(
            "saw/ToolCall-Synth-v0",
            weighting="saw",
            steps=2,
            seed=seed,
            model=small_model,
            device="cpu",
            out_dir=root / "sweep" / f"s{seed}",
            prompts_per_step=2,
            group_size=2,
            max_new_tokens=8,
            eval_items=2,
            eval_every=1,
            threads=1,
            plot=False,
        )
    (path,) = submit(root / "sweep", "reproduced", "tests", root / "lb" / "submissions")
    return root / "lb", path


@pytest.mark.slow
def test_a_verified_submission_reproduces_and_a_changed_number_is_named(board) -> None:
    root, path = board
    found = reproduce(path, seed=1, root=root)
    assert found.paired and found.difference is None, found.report()
    assert found.agrees and found.compared > 20
    assert "reproduced: all" in found.report()
    assert not found.code_differs  # the runs were made by this very code
    assert found.kernels == f"{torch.backends.cpu.get_cpu_capability()}, as recorded"

    # tamper with one number: the held-out correctness at step 2 of seed 1
    submission = json.loads(path.read_text())
    archive, folder = archive_of(submission["runs"][1]["run_files"]["path"])
    stored = read_archive(root / archive)
    rows = [json.loads(line) for line in stored[folder]["eval.jsonl"].decode().splitlines()]
    original = rows[-1]["objectives"]["correctness"]
    rows[-1]["objectives"]["correctness"] = original + 0.25
    stored[folder]["eval.jsonl"] = "".join(json.dumps(row) + "\n" for row in rows).encode()
    write_archive(root / archive, stored)
    moved = reproduce(submission["id"], seed=1, root=root)  # found by its id
    assert not moved.agrees
    assert moved.difference == (
        f"eval.jsonl step 2: objectives.correctness recorded {original + 0.25!r}, "
        f"rerun {original!r}"
    )
    assert "does not reproduce: eval.jsonl step 2" in moved.report()

    # a record of other weights: the policy here cannot pair with it, and nothing is trained
    config = json.loads(stored[folder]["config.json"])
    config["model"]["revision"] = "000000000000"
    stored[folder]["config.json"] = json.dumps(config).encode()
    write_archive(root / archive, stored)
    unpaired = reproduce(path, seed=1, root=root)
    assert not unpaired.paired and not unpaired.agrees and unpaired.compared == 0
    assert "recorded revision 000000000000, rebuilt here " in unpaired.report()
    assert "cannot pair" in unpaired.report()


def test_numbers_within_the_tolerance_agree_and_timings_are_left_out() -> None:
    def files(loss: float, seconds: float, final: float) -> dict[str, bytes]:
        row = {"step": 1, "loss": loss, "seconds": {"total": seconds}, "objectives": {}}
        return {
            "metrics.jsonl": (json.dumps(row) + "\n").encode(),
            "eval.jsonl": b'{"step": 1, "normalised": 0.5, "wall_seconds": 3.0}\n',
            "summary.json": json.dumps(
                {"final_normalised": final, "wall_seconds": seconds}
            ).encode(),
        }

    recorded = files(0.25, 1.0, 0.5)
    # compared: metrics step and loss, eval step and normalised, summary final_normalised;
    # 4e-7 apart agree, timings are not compared
    assert compare_run_files(recorded, files(0.25 + 4e-7, 9.0, 0.5)) == (5, None)
    assert compare_run_files(recorded, files(0.25, 1.0, 0.5 + 3e-6)) == (
        5,
        f"summary.json: final_normalised recorded 0.5, rerun {0.5 + 3e-6!r}",
    )
    shorter = {**recorded, "eval.jsonl": b""}
    assert compare_run_files(recorded, shorter)[1] == "eval.jsonl: 1 rows recorded, 0 rerun"


def test_an_entry_of_other_weights_is_off_protocol_because_it_cannot_pair() -> None:
    from saw_bench.leaderboard._protocols import ModelRef, Protocol, off_protocol_reason
    from saw_bench.leaderboard._schema import ModelRef as EntryModel
    from saw_bench.leaderboard._schema import Submission

    protocol = Protocol(model=ModelRef(name="tiny/toy-v0-0123", revision="aaa"), train={"steps": 4})

    def entry(name: str, revision: str) -> Submission:
        model = EntryModel.model_construct(name=name, revision=revision, parameters=1)
        return Submission.model_construct(status="verified", train={"steps": 4}, model=model)

    assert off_protocol_reason(entry("tiny/toy-v0-0123", "aaa"), protocol) is None
    assert off_protocol_reason(entry("tiny/toy-v0-0123", "bbb"), protocol) == (
        "off protocol: policy revision bbb (protocol aaa), runs of other weights cannot pair "
        "with the board's"
    )
    assert off_protocol_reason(entry("tiny/toy-v0-4567", "aaa"), protocol) == (
        "off protocol: policy tiny/toy-v0-4567 (protocol tiny/toy-v0-0123), runs of other "
        "weights cannot pair with the board's"
    )

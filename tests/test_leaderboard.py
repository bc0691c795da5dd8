"""The leaderboard: submit from hand-made runs, validate, reject broken submissions, build.

Run folders are written by tests/leaderboard_runs.py with hand-chosen numbers on
saw/ToolCall-Synth-v0; the expected scores are worked out there with plain arithmetic.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from leaderboard_runs import (
    SAW_FORMAT_GAIN,
    STEP_SECONDS,
    TASK_ID,
    WEIGHT_SECONDS,
    archive_members,
    archive_path,
    expected_auc,
    expected_final_normalised,
    hand_curve,
    scores,
    write_members,
    write_protocols,
    write_run,
    write_sweep,
)

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.leaderboard import (
    GENERATED,
    MAX_RUN_FILE_BYTES,
    MAX_SUBMISSION_BYTES,
    SCHEMA_FILE,
    build,
    json_schema_text,
    leaderboard_build_command,
    leaderboard_validate_command,
    submit,
    submit_command,
    validate,
)
from saw_bench.leaderboard._validate import check_file

REPOSITORY = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
RUN_FILE_NAMES = ("config.json", "eval.jsonl", "metrics.jsonl", "summary.json")


@pytest.fixture(scope="module")
def valid_leaderboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A leaderboard with two verified submissions (static and saw, seeds 0-2), built once."""
    base = tmp_path_factory.mktemp("valid")
    write_sweep(base / "sweep")
    submit([base / "sweep"], "Hand-made grid", "tests", out_root=base / "leaderboard/submissions")
    write_protocols(base / "leaderboard")
    return base / "leaderboard"


@pytest.fixture
def leaderboard(valid_leaderboard: Path, tmp_path: Path) -> Path:
    """A fresh copy of the valid leaderboard, for one test to break."""
    return Path(shutil.copytree(valid_leaderboard, tmp_path / "leaderboard"))


def submission_file(root: Path, agent: str) -> Path:
    (path,) = (root / "submissions" / "toolcall-synth-v0").glob(f"*-grpo-{agent}-*.json")
    return path


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def save(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2))


# ---------------------------------------------------------------------- submit
def test_submit_writes_one_verified_submission_per_configuration(valid_leaderboard: Path):
    files = sorted((valid_leaderboard / "submissions").rglob("*.json"))
    assert [path.parent.name for path in files] == ["toolcall-synth-v0"] * 2
    for agent in ("static", "saw"):
        data = load(submission_file(valid_leaderboard, agent))
        assert data["status"] == "verified"
        assert data["schema_version"] == 2
        assert data["task"]["env_id"] == TASK_ID
        assert data["agent"] == {"name": agent, "kwargs": {}, "priorities": None}
        assert data["estimator"] == "grpo"
        assert data["seeds"] == [0, 1, 2]
        assert "seed" not in data["train"]
        assert submission_file(valid_leaderboard, agent).name == f"{data['id']}.json"
        archive = archive_path(valid_leaderboard, data["runs"][0]["run_files"]["path"])
        assert archive.name == f"{data['id']}.tar.xz"
        files = ["config.json", "eval.jsonl", "metrics.jsonl", "summary.json"]
        assert sorted(archive_members(archive)) == [f"seed-{s}/{f}" for s in SEEDS for f in files]
        for run in data["runs"]:
            assert (
                run["run_files"]["path"]
                == f"runs/toolcall-synth-v0/{data['id']}/seed-{run['seed']}"
            )
    # submit writes nothing but the archives and the submissions (the fixture adds protocols)
    written = sorted(p.relative_to(valid_leaderboard).parts[0] for p in valid_leaderboard.iterdir())
    assert written == ["protocols.toml", "runs", "submissions"]
    assert all(p.suffixes == [".tar", ".xz"] for p in (valid_leaderboard / "runs").rglob("*.*"))


def test_a_verified_run_leaves_its_curve_to_its_run_files_and_validate_reads_it_back(
    valid_leaderboard: Path,
):
    for agent in ("static", "saw"):
        path = submission_file(valid_leaderboard, agent)
        assert [run["curve"] for run in load(path)["runs"]] == [None] * len(SEEDS)
        problems, submission = check_file(path, valid_leaderboard)
        assert problems == [] and submission is not None
        for run in submission.runs:  # the hand-made runs' eval rows, as written
            assert [point.model_dump() for point in run.curve] == hand_curve(agent, run.seed)


def test_only_a_verified_run_may_leave_its_curve_out_and_version_1_files_still_read(
    tmp_path: Path,
):
    write_sweep(tmp_path / "sweep", agents=("saw",))
    (path,) = submit(
        tmp_path / "sweep", "mine", "tests", tmp_path / "lb/submissions", copy_runs=False
    )
    data = load(path)
    assert data["runs"][0]["curve"] == hand_curve("saw", 0)  # self-reported: curves written
    save(path, {**data, "schema_version": 1})  # a version 1 file with its curves: valid
    assert validate(tmp_path / "lb") == []
    data["runs"][1]["curve"] = None
    save(path, data)
    (problem,) = validate(tmp_path / "lb")
    assert problem.message == (
        "runs[1] (seed 1): curve is null, but only a verified run, whose run files hold its "
        "curve, may leave it out"
    )


def test_archived_runs_keep_their_files_and_round_only_the_statistics(valid_leaderboard: Path):
    """eval, config and summary are stored byte for byte; a metrics row keeps its weights and
    steps exactly, its statistics to 7 significant digits and its seconds to the microsecond."""
    source = valid_leaderboard.parent / "sweep" / "runs"
    data = load(submission_file(valid_leaderboard, "saw"))
    members = archive_members(archive_path(valid_leaderboard, data["runs"][0]["run_files"]["path"]))
    folder = source / "toolcall-synth-v0-grpo-saw-s1"
    for name in ("config.json", "eval.jsonl", "summary.json"):
        assert members[f"seed-1/{name}"] == (folder / name).read_bytes()
    rows = [json.loads(line) for line in members["seed-1/metrics.jsonl"].decode().splitlines()]
    originals = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [row["step"] for row in originals]
    assert rows[0]["seconds"]["total"] == STEP_SECONDS
    assert rows[0]["objectives"]["format"] == originals[0]["objectives"]["format"]


def test_archived_metrics_rows_are_rounded_by_hand_worked_values(tmp_path: Path):
    write_sweep(tmp_path / "sweep", agents=("saw",))
    for metrics in (tmp_path / "sweep").rglob("metrics.jsonl"):
        rows = [json.loads(line) for line in metrics.read_text().splitlines()]
        for row in rows:
            row["seconds"]["weight"] = 0.0123456789
            row["loss"] = -1.23456789e-9
            row["objectives"]["format"].update(
                std=0.123456789012, cv=12345.6789012, advantage_share=0.5, weight=0.987654321987
            )
        metrics.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (path,) = submit(tmp_path / "sweep", "rounded", "tests", tmp_path / "lb/submissions")
    run_path = load(path)["runs"][0]["run_files"]["path"]
    members = archive_members(archive_path(tmp_path / "lb", run_path))
    row = json.loads(members["seed-0/metrics.jsonl"].decode().splitlines()[0])
    assert row["seconds"]["weight"] == 0.012346
    assert row["loss"] == -1.234568e-9
    assert row["objectives"]["format"] == {
        "mean": 0.0,
        "std": 0.1234568,
        "cv": 12345.68,
        "advantage_share": 0.5,
        "weight": 0.987654321987,
    }
    assert validate(tmp_path / "lb") == []


def test_submission_numbers_match_hand_computed_ones(valid_leaderboard: Path):
    for agent in ("static", "saw"):
        data = load(submission_file(valid_leaderboard, agent))
        for run in data["runs"]:
            seed = run["seed"]
            final_format, final_correctness = scores(agent, seed)[-1]
            assert run["final"] == {"format": final_format, "correctness": final_correctness}
            assert run["final_normalised"] == pytest.approx(expected_final_normalised(agent, seed))
            assert run["normalised_auc"] == pytest.approx(expected_auc(agent, seed))
            assert run["curve"] is None  # verified: its run files hold it
            assert run["overhead"]["seconds_per_step"] == pytest.approx(STEP_SECONDS)
            assert run["overhead"]["weighting_overhead"] == pytest.approx(
                WEIGHT_SECONDS / STEP_SECONDS
            )
        expected_mean = sum(expected_final_normalised(agent, s) for s in SEEDS) / 3
        assert data["summary"]["final_normalised"] == pytest.approx(expected_mean)
        correctness_mean = sum(scores(agent, s)[-1][1] for s in SEEDS) / 3
        assert data["summary"]["final"]["correctness"] == pytest.approx(correctness_mean)


def test_valid_leaderboard_has_no_problems(valid_leaderboard: Path):
    assert validate(valid_leaderboard) == []
    text, code = leaderboard_validate_command(valid_leaderboard)
    assert code == 0
    assert "2 submission(s), all valid" in text


def test_submitting_the_same_runs_again_gives_the_same_files(valid_leaderboard: Path, tmp_path):
    sweep = valid_leaderboard.parent / "sweep"
    written = submit([sweep], "Hand-made grid", "tests", out_root=tmp_path / "lb/submissions")
    for path in written:
        original = valid_leaderboard / "submissions" / path.parent.name / path.name
        assert path.read_text() == original.read_text()
        archive = tmp_path / "lb/runs" / path.parent.name / f"{path.stem}.tar.xz"
        original_archive = valid_leaderboard / "runs" / path.parent.name / archive.name
        assert archive.read_bytes() == original_archive.read_bytes()


def test_env_spec_hash_covers_id_and_kwargs_and_no_module_path(tmp_path: Path):
    """Runs recorded before code moved (another entry point, another task module) still
    validate: the hash is of the id and the kwargs alone."""
    write_sweep(tmp_path / "sweep", agents=("saw",))
    for config in (tmp_path / "sweep").rglob("config.json"):
        data = json.loads(config.read_text())
        data["env_spec"]["entry_point"] = "saw_bench.env:TextEnv"
        data["env_spec"]["kwargs"]["task"] = "an.old.module:ToolCallTask"
        config.write_text(json.dumps(data))
    (path,) = submit(tmp_path / "sweep", "moved code", "tests", tmp_path / "lb/submissions")
    kwargs = {k: v for k, v in registry.spec(TASK_ID).kwargs.items() if k != "task"}
    text = json.dumps({"id": TASK_ID, "kwargs": kwargs}, sort_keys=True, separators=(",", ":"))
    assert load(path)["task"]["env_spec_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert validate(tmp_path / "lb") == []


def test_only_verified_entries_on_the_protocol_are_ranked_and_counted(tmp_path: Path):
    """A consistent forgery (self-reported runs far better than any real one) and a verified
    entry trained with another batch are listed apart: neither is ranked nor counted."""
    from test_leaderboard_findings import rewrite_points, static_points

    lb = tmp_path / "lb"
    submit(write_sweep(tmp_path / "honest"), "Honest", "tests", lb / "submissions")
    for seed in SEEDS:
        changes = {"prompts_per_step": 8}
        write_run(tmp_path / "other" / f"s{seed}", agent="saw", seed=seed, train_changes=changes)
        forged = write_run(tmp_path / "forged" / f"s{seed}", agent="saw", seed=seed)
        rewrite_points(forged, static_points(seed, format_gain=0.2, correctness_gain=1.4))
    submit(tmp_path / "other", "Other batch", "tests", lb / "submissions")
    submit(tmp_path / "forged", "Forged", "tests", lb / "submissions", copy_runs=False)
    write_protocols(lb)
    assert validate(lb) == []
    assert build(lb) == []
    data = json.loads((lb / "leaderboard.json").read_text())
    (task,) = data["tasks"]
    assert [(e["name"], e["agent"], e["rank"]) for e in task["entries"]] == [
        ("Honest", "saw", 1),
        ("Honest", "static", 2),
    ]
    assert [(e["name"], e["apart"]) for e in task["apart"]] == [
        ("Other batch", "off protocol: prompts_per_step 8 (protocol 4)"),
        ("Forged", "self-reported: not recomputed from run files"),
    ]
    forged_mean = next(e for e in task["apart"] if e["name"] == "Forged")["final_normalised"]
    assert forged_mean["mean"] > task["entries"][0]["final_normalised"]["mean"]  # it would lead
    (comparison,) = data["saw_vs_static"]["comparisons"]
    assert comparison["difference"]["mean"] == pytest.approx(SAW_FORMAT_GAIN / 2)
    markdown = (lb / "LEADERBOARD.md").read_text()
    protocol = (
        "Protocol (what a ranked entry used): 4 steps, 4 prompts x 2 completions a step; "
        "policy tiny-toolcall (revision 0123456789ab)."
    )
    assert protocol in markdown and "Listed apart (not ranked" in markdown
    rows = list(csv.DictReader(io.StringIO((lb / "leaderboard.csv").read_text())))
    assert sorted((row["name"], row["rank"], row["listed_apart"][:12]) for row in rows) == [
        ("Forged", "", "self-reporte"),
        ("Honest", "1", ""),
        ("Honest", "2", ""),
        ("Other batch", "", "off protocol"),
    ]


def test_of_two_entries_of_one_agent_and_setting_only_the_one_with_more_seeds_counts(
    tmp_path: Path,
):
    """A second static entry of the same setting (fewer seeds) is listed apart as superseded:
    SAW is compared with static once, on the entry with more seeds, whatever the file order."""
    lb = tmp_path / "lb"
    submit(write_sweep(tmp_path / "more", seeds=(0, 1, 2, 3)), "More", "tests", lb / "submissions")
    fewer = write_sweep(tmp_path / "fewer", agents=("static",), seeds=(0, 1, 2))
    submit(fewer, "Fewer", "tests", lb / "submissions")
    write_protocols(lb)
    assert build(lb) == []
    data = json.loads((lb / "leaderboard.json").read_text())
    (task,) = data["tasks"]
    assert [(e["name"], e["agent"]) for e in task["entries"]] == [
        ("More", "saw"),
        ("More", "static"),
    ]
    more_static = next(e["id"] for e in task["entries"] if e["agent"] == "static")
    assert [(e["name"], e["apart"]) for e in task["apart"]] == [
        ("Fewer", f"superseded by {more_static}: the same agent and setting, 4 seeds against 3")
    ]
    (comparison,) = data["saw_vs_static"]["comparisons"]
    assert comparison["static"] == more_static and comparison["seeds"] == [0, 1, 2, 3]
    assert data["multiplicity"]["families"]["saw_vs_static"] == 1


def test_without_a_protocol_a_task_ranks_nothing(valid_leaderboard: Path, tmp_path: Path):
    board = Path(shutil.copytree(valid_leaderboard, tmp_path / "lb"))
    (board / "protocols.toml").unlink()
    assert build(board) == []
    (task,) = json.loads((board / "leaderboard.json").read_text())["tasks"]
    assert task["entries"] == [] and len(task["apart"]) == 2
    assert {entry["apart"] for entry in task["apart"]} == {"the task has no protocol yet"}
    assert "No protocol yet" in (board / "LEADERBOARD.md").read_text()
    assert "cannot say whether SAW beats static" in (board / "LEADERBOARD.md").read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[oops", "protocols.toml is not valid TOML"),
        ('["saw/NoSuch-v0"]\ntrain = { steps = 4 }', "['saw/NoSuch-v0'] is not an installed"),
        (f'["{TASK_ID}"]\ntrain = {{ stepz = 4 }}', "unknown or unsupported option(s) ['stepz']"),
        (f'["{TASK_ID}"]\ntrain = {{ steps = 4 }}\ncolour = 1', "colour: Extra inputs"),
    ],
)
def test_validate_names_a_broken_protocols_file(valid_leaderboard, tmp_path, text, message):
    board = Path(shutil.copytree(valid_leaderboard, tmp_path / "lb"))
    (board / "protocols.toml").write_text(text)
    problems = validate(board)
    assert [p.path.name for p in problems] == ["protocols.toml"]
    assert message in problems[0].message
    assert build(board, tmp_path / "out") and not (tmp_path / "out").exists()


def test_a_self_reported_entry_hears_which_field_is_wrong_but_not_the_value(tmp_path: Path):
    write_sweep(tmp_path / "sweep", agents=("saw",))
    (path,) = submit(
        tmp_path / "sweep", "mine", "tests", tmp_path / "lb/submissions", copy_runs=False
    )
    data = load(path)
    data["runs"][0]["final"]["format"] = 0.95  # the curve's last point says 0.85
    data["summary"]["final_normalised"] = 0.99
    save(path, data)
    messages = " | ".join(problem.message for problem in validate(tmp_path / "lb"))
    assert "runs[0] (seed 0) final format does not match the last curve point" in messages
    assert "summary.final_normalised does not match, recomputed from the per-seed" in messages
    assert "0.85" not in messages and "0.95" not in messages


def test_submit_without_copying_runs_is_self_reported_and_valid(tmp_path: Path):
    write_sweep(tmp_path / "sweep", agents=("saw",))
    (path,) = submit(
        tmp_path / "sweep", "no runs", "tests", tmp_path / "lb/submissions", copy_runs=False
    )
    data = load(path)
    assert data["status"] == "self-reported"
    assert all(run["run_files"] is None for run in data["runs"])
    assert not (tmp_path / "lb/runs").exists()
    assert validate(tmp_path / "lb") == []


def test_submit_says_which_run_folders_it_left_out_and_why(tmp_path: Path):
    write_sweep(tmp_path / "sweep", agents=("saw",))
    unfinished = write_run(tmp_path / "sweep" / "runs" / "killed", agent="saw", seed=3)
    (unfinished / "summary.json").unlink()
    text = submit_command([tmp_path / "sweep"], "grid", "tests", tmp_path / "lb/submissions")
    assert "wrote 1 submission(s):" in text and "seeds 0, 1, 2)" in text
    assert (
        f"left out 1 run folder(s):\n  {unfinished}: unfinished: no summary.json "
        "(last recorded step 4)"
    ) in text


def test_incomplete_runs_are_submitted_as_self_reported(tmp_path: Path):
    for seed in SEEDS:
        write_run(tmp_path / "runs" / f"s{seed}", seed=seed, metrics_rows=3 if seed == 1 else 4)
    text = submit_command([tmp_path / "runs"], "partial", "tests", tmp_path / "lb/submissions")
    assert "self-reported" in text
    assert "metrics.jsonl holds 3 rows, not steps 1 to 4" in text
    (path,) = (tmp_path / "lb/submissions").rglob("*.json")
    assert load(path)["status"] == "self-reported"
    assert validate(tmp_path / "lb") == []


def test_submit_refuses_fewer_than_three_seeds(tmp_path: Path):
    for seed in (0, 1):
        write_run(tmp_path / "runs" / f"s{seed}", seed=seed)
    with pytest.raises(SawBenchError, match=r"2 seed\(s\) \[0, 1\].*at least 3 seeds"):
        submit(tmp_path / "runs", "two", "tests", tmp_path / "lb/submissions")
    assert not (tmp_path / "lb").exists()


def test_submit_refuses_seeds_that_differ_in_other_options(tmp_path: Path):
    for seed in SEEDS:
        changes = {"learning_rate": 0.1} if seed == 2 else {}
        write_run(tmp_path / "runs" / f"s{seed}", seed=seed, train_changes=changes)
    with pytest.raises(SawBenchError, match=r"differ in \['learning_rate'\]"):
        submit(tmp_path / "runs", "mixed", "tests", tmp_path / "lb/submissions")


def test_submit_refuses_a_repeated_seed(tmp_path: Path):
    for index, seed in enumerate((0, 1, 1)):
        write_run(tmp_path / "runs" / f"r{index}", seed=seed)
    with pytest.raises(SawBenchError, match=r"seed\(s\) \[1\] appear more than once"):
        submit(tmp_path / "runs", "repeat", "tests", tmp_path / "lb/submissions")


def test_submit_refuses_runs_with_task_options(tmp_path: Path):
    for seed in SEEDS:
        write_run(tmp_path / "r" / f"s{seed}", seed=seed, train_changes={"task_kwargs": {"a": 1}})
    with pytest.raises(SawBenchError, match="register a variant id"):
        submit(tmp_path / "r", "kwargs", "tests", tmp_path / "lb/submissions")


@pytest.mark.parametrize(
    ("name", "submitter", "message"),
    [("", "tests", "name must be a non-empty string"), ("ok", "  ", "submitter must be")],
)
def test_submit_refuses_empty_names(tmp_path: Path, name: str, submitter: str, message: str):
    write_sweep(tmp_path / "sweep", agents=("saw",))
    with pytest.raises(SawBenchError, match=message):
        submit(tmp_path / "sweep", name, submitter, tmp_path / "lb/submissions")


def test_submit_refuses_an_out_root_that_is_not_a_submissions_folder(tmp_path: Path):
    write_sweep(tmp_path / "sweep", agents=("saw",))
    with pytest.raises(SawBenchError, match="out_root must be the submissions folder"):
        submit(tmp_path / "sweep", "x", "tests", tmp_path / "lb/entries")


def test_submit_names_a_missing_folder(tmp_path: Path):
    with pytest.raises(SawBenchError, match="does not exist"):
        submit(tmp_path / "nowhere", "x", "tests", tmp_path / "lb/submissions")


# ---------------------------------------------------------------------- validate rejects
def _mutate(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        path = submission_file(root, "saw")
        data = load(path)
        change(data)
        save(path, data)
        return path

    return corrupt


def _set(data: dict[str, Any], keys: str, value: Any) -> None:
    *parents, last = [int(key) if key.isdigit() else key for key in keys.split(".")]
    for key in parents:
        data = data[key]
    data[last] = value


def _drop_seed(data: dict[str, Any]) -> None:
    data["seeds"] = data["seeds"][:2]
    data["runs"] = data["runs"][:2]
    data["summary"]["seeds"] = 2


def _consistent_forgery(data: dict[str, Any]) -> None:
    """Raise a seed's final format by 0.05 everywhere in the submission (a curve written in,
    final, summary, normalised), leaving the run files alone: only the run files can tell."""
    run = data["runs"][0]
    run["curve"] = hand_curve("saw", run["seed"])
    run["curve"][-1]["objectives"]["format"] += 0.05
    run["curve"][-1]["normalised"] += 0.025
    run["final"]["format"] += 0.05
    run["final_normalised"] += 0.025
    run["normalised_auc"] += 0.025 / 4
    data["summary"]["final"]["format"] += 0.05 / 3
    data["summary"]["final_normalised"] += 0.025 / 3
    data["summary"]["normalised_auc"] += 0.025 / 12


def _with_normalised(curve: list[dict[str, Any]], index: int, value: float) -> list[Any]:
    curve[index]["normalised"] = value
    return curve


def _write_raw(text: str | bytes) -> Callable[[Path], Path]:
    def corrupt(root: Path) -> Path:
        path = submission_file(root, "saw")
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return corrupt


def _huge(root: Path) -> Path:
    path = submission_file(root, "saw")
    data = load(path)
    path.write_text(json.dumps(data) + " " * MAX_SUBMISSION_BYTES)
    return path


def _duplicate(root: Path) -> Path:
    path = submission_file(root, "saw")
    copy = path.with_name("zz-copy.json")
    shutil.copyfile(path, copy)
    return copy


def _move_to_other_task(root: Path) -> Path:
    path = submission_file(root, "saw")
    target = root / "submissions" / "summarize-synth-v0" / path.name
    target.parent.mkdir()
    path.rename(target)
    return target


def _delete_runs(root: Path) -> Path:
    path = submission_file(root, "saw")
    archive_path(root, load(path)["runs"][0]["run_files"]["path"]).unlink()
    return path


def _edit_archive(edit: Callable[[dict[str, bytes]], None]) -> Callable[[Path], Path]:
    """Rewrite the saw submission's archive with ``edit`` applied to its members."""

    def corrupt(root: Path) -> Path:
        path = submission_file(root, "saw")
        archive = archive_path(root, load(path)["runs"][0]["run_files"]["path"])
        members = archive_members(archive)
        edit(members)
        write_members(archive, members)
        return path

    return corrupt


def _edit_eval(members: dict[str, bytes]) -> None:
    text = members["seed-1/eval.jsonl"].decode()
    members["seed-1/eval.jsonl"] = text.replace('"format": 0.85', '"format": 0.95').encode()


def _negative_seconds_in_eval_with_its_sha256(root: Path) -> Path:
    """A forged archive whose eval.jsonl says -2 seconds, with the submission's sha256 updated
    to it: the curve read back from it must be refused by the schema, not crash the check."""
    path = submission_file(root, "saw")
    data = load(path)
    archive = archive_path(root, data["runs"][1]["run_files"]["path"])
    members = archive_members(archive)
    text = members["seed-1/eval.jsonl"].decode()
    members["seed-1/eval.jsonl"] = text.replace(
        '"wall_seconds": 2.0,', '"wall_seconds": -2.0,'
    ).encode()
    write_members(archive, members)
    data["runs"][1]["run_files"]["sha256"]["eval.jsonl"] = hashlib.sha256(
        members["seed-1/eval.jsonl"]
    ).hexdigest()
    save(path, data)
    return path


def _not_xz(root: Path) -> Path:
    path = submission_file(root, "saw")
    archive_path(root, load(path)["runs"][0]["run_files"]["path"]).write_text("not an archive")
    return path


def _verified_claim_without_run_files(root: Path) -> Path:
    path = submission_file(root, "saw")
    data = load(path)
    for run in data["runs"]:
        run["run_files"] = None
    save(path, data)
    return path


CORRUPTIONS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing field": (_mutate(lambda d: d.pop("submitter")), "schema: submitter: Field required"),
    "unknown status": (_mutate(lambda d: _set(d, "status", "approved")), "schema: status"),
    "wrong type": (_mutate(lambda d: _set(d, "runs.0.steps", "4")), "schema: runs[0].steps"),
    "extra field": (_mutate(lambda d: _set(d, "note", "hi")), "schema: note: Extra inputs"),
    "schema version": (
        _mutate(lambda d: _set(d, "schema_version", 3)),
        "unsupported schema_version 3; this saw-bench reads versions 1 and 2",
    ),
    "version 1 without a curve": (
        _mutate(lambda d: _set(d, "schema_version", 1)),
        "runs[0] (seed 0): curve is null, but schema_version 1 needs every curve",
    ),
    "not json": (_write_raw("{not json"), "is not valid JSON"),
    "not utf-8": (_write_raw(b"\xff\xfe{}"), "is not UTF-8"),
    "not an object": (_write_raw("[1, 2]"), "should hold a JSON object, but holds an array"),
    "huge file": (_huge, f"larger than the limit of {MAX_SUBMISSION_BYTES} bytes"),
    "deep nesting": (_write_raw("[" * 100 + "]" * 100), "nested deeper than"),
    "unknown task": (
        _mutate(lambda d: _set(d, "task.env_id", "saw/NoSuchTask-v0")),
        "unknown task 'saw/NoSuchTask-v0'",
    ),
    "env version": (
        _mutate(lambda d: _set(d, "task.env_id", "saw/ToolCall-Synth-v9")),
        "environment version mismatch: saw/ToolCall-Synth-v9 is not installed, this saw-bench "
        "has saw/ToolCall-Synth-v0, saw/ToolCall-Synth-v1, saw/ToolCall-Synth-v2",
    ),
    "env spec hash": (
        _mutate(lambda d: _set(d, "task.env_spec_sha256", "0" * 64)),
        "env spec hash 000000000000... does not match the installed saw/ToolCall-Synth-v0",
    ),
    "data hash": (
        _mutate(lambda d: _set(d, "task.data_sha256", "1" * 64)),
        "data hash 111111111111... does not match the installed saw/ToolCall-Synth-v0's "
        "data_fingerprint()",
    ),
    "objective bounds": (
        _mutate(lambda d: _set(d, "task.objectives.1.high", 5.0)),
        "do not match the installed task's format [0, 1], correctness [-3, 3]",
    ),
    "nan score": (
        _mutate(lambda d: _set(d, "runs.1.final.format", math.nan)),
        "runs[1].final.format is nan: only finite numbers are accepted",
    ),
    "infinite score": (
        _mutate(lambda d: _set(d, "summary.final_normalised", -math.inf)),
        "summary.final_normalised is -inf",
    ),
    "out of bounds": (
        _mutate(lambda d: _set(d, "runs.2.final.correctness", 3.5)),
        "runs[2] (seed 2) final: correctness = 3.5 is outside the objective's bounds [-3, 3]",
    ),
    "two seeds": (_mutate(_drop_seed), "has 2 seed(s) [0, 1]; a submission needs at least 3"),
    "repeated seed": (_mutate(lambda d: _set(d, "seeds", [0, 1, 1])), "repeat a seed"),
    "duplicate id": (_duplicate, "duplicate id"),
    "wrong folder": (_move_to_other_task, "should be in submissions/toolcall-synth-v0/"),
    "summary mean": (
        _mutate(lambda d: _set(d, "summary.final.format", 0.9)),
        "summary.final.format = 0.9 does not match 0.85, recomputed from the per-seed results",
    ),
    "final vs curve": (
        _mutate(lambda d: _set(d, "runs.0.final.correctness", 1.0)),
        "runs[0] (seed 0) final correctness = 1.0 does not match the last curve point (1.5)",
    ),
    "normalised vs objectives": (
        _mutate(lambda d: _set(d, "runs.0.curve", _with_normalised(hand_curve("saw", 0), 1, 0.6))),
        "runs[0] (seed 0) curve[1].normalised = 0.6 does not match 0.55",
    ),
    "auc vs curve": (
        _mutate(lambda d: _set(d, "runs.0.normalised_auc", 0.7)),
        "runs[0] (seed 0) normalised_auc = 0.7 does not match 0.55",
    ),
    "config hash": (
        _mutate(lambda d: _set(d, "train.learning_rate", 1.0)),
        "config_sha256 does not match",
    ),
    "verified without run files": (
        _verified_claim_without_run_files,
        "runs[0] (seed 0): verified, but lists no run files",
    ),
    "verified with the runs deleted": (
        _delete_runs,
        "verified, but its run files cannot be read: ",
    ),
    "run file edited": (_edit_archive(_edit_eval), "eval.jsonl does not match its sha256"),
    "archive not xz": (_not_xz, "is not a readable .tar.xz archive"),
    "archive seed missing": (
        _edit_archive(lambda m: [m.pop(f"seed-2/{f}") for f in list(RUN_FILE_NAMES)]),
        "has no run folder seed-2/",
    ),
    "archive file missing": (
        _edit_archive(lambda m: m.pop("seed-0/summary.json")),
        "seed-0/ has no summary.json",
    ),
    "archive member escapes": (
        _edit_archive(lambda m: m.update({"../../outside.json": b"{}"})),
        "unexpected member '../../outside.json'",
    ),
    "archive member too large": (
        _edit_archive(lambda m: m.update({"seed-0/eval.jsonl": b" " * (MAX_RUN_FILE_BYTES + 1)})),
        f"member seed-0/eval.jsonl is larger than the limit of {MAX_RUN_FILE_BYTES} bytes",
    ),
    "negative seconds in the run files' curve": (
        _negative_seconds_in_eval_with_its_sha256,
        "/seed-1/eval.jsonl is not a valid curve: curve[1].wall_seconds: Input should be "
        "greater than or equal to 0",
    ),
    "consistent forgery": (
        _mutate(_consistent_forgery),
        "runs[0] (seed 0).final.format = 0.9 does not match 0.85, recomputed from runs/",
    ),
    "run path escapes": (
        _mutate(lambda d: _set(d, "runs.0.run_files.path", "runs/../../elsewhere")),
        "leads outside the leaderboard's runs/ folder",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_validate_rejects_a_broken_submission_naming_file_and_reason(leaderboard: Path, case):
    corrupt, reason = CORRUPTIONS[case]
    bad_file = corrupt(leaderboard)
    problems = validate(leaderboard)
    assert problems, f"{case}: no problem found"
    messages = [problem.message for problem in problems if problem.path == bad_file]
    assert any(reason in message for message in messages), (
        f"{case}: expected {reason!r} for {bad_file}, got {[str(p) for p in problems]}"
    )
    # the other submission is untouched and stays valid
    static_file = submission_file(leaderboard, "static")
    assert not [problem for problem in problems if problem.path == static_file]
    text, code = leaderboard_validate_command(leaderboard)
    assert code == 1
    assert str(bad_file) in text


def test_validate_reports_a_missing_leaderboard_folder(tmp_path: Path):
    (problem,) = validate(tmp_path / "nowhere")
    assert "is not a leaderboard folder" in problem.message


def test_validate_rejects_stray_files_and_links(leaderboard: Path):
    stray = leaderboard / "submissions" / "toolcall-synth-v0" / "notes.txt"
    stray.write_text("hello")
    link = leaderboard / "submissions" / "toolcall-synth-v0" / "link.json"
    link.symlink_to(submission_file(leaderboard, "saw"))
    problems = {problem.path: problem.message for problem in validate(leaderboard)}
    assert "is not a submission" in problems[stray]
    assert "symbolic links are not accepted" in problems[link]


# ---------------------------------------------------------------------- build
def test_build_writes_deterministic_tables_with_hand_computed_numbers(valid_leaderboard, tmp_path):
    assert build(valid_leaderboard, tmp_path / "first") == []
    assert build(valid_leaderboard, tmp_path / "second") == []
    for name in GENERATED:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()

    data = json.loads((tmp_path / "first" / "leaderboard.json").read_text())
    (task,) = data["tasks"]
    assert task["env_id"] == TASK_ID
    assert [entry["agent"] for entry in task["entries"]] == ["saw", "static"]  # ranked
    assert [entry["rank"] for entry in task["entries"]] == [1, 2]
    for entry in task["entries"]:
        agent = entry["agent"]
        expected = sum(expected_final_normalised(agent, s) for s in SEEDS) / 3
        interval = entry["final_normalised"]
        assert interval["mean"] == pytest.approx(expected, abs=1e-6)
        assert interval["low"] <= interval["mean"] <= interval["high"]
        # format is the same for every seed: a zero-width interval
        format_value = scores(agent, 0)[-1][0]
        assert entry["final"]["format"] == pytest.approx(
            {"mean": format_value, "low": format_value, "high": format_value}
        )
    (comparison,) = data["saw_vs_static"]["comparisons"]
    # SAW's format is 0.1 higher at every seed: +0.05 normalised, on every seed
    gain = SAW_FORMAT_GAIN / 2
    assert comparison["difference"] == pytest.approx({"mean": gain, "low": gain, "high": gain})
    assert comparison["outcome"] == "saw"
    static_mean = sum(expected_final_normalised("static", s) for s in SEEDS) / 3
    assert comparison["relative_percent"] == pytest.approx(100 * gain / static_mean, abs=1e-4)

    markdown = (tmp_path / "first" / "LEADERBOARD.md").read_text()
    assert "Yes: SAW beat static weights in every comparison at this scale" in markdown
    assert "difference +0.050 [+0.050, +0.050]" in markdown
    assert f"## {TASK_ID}" in markdown
    csv_lines = (tmp_path / "first" / "leaderboard.csv").read_text().splitlines()
    assert len(csv_lines) == 3
    assert csv_lines[0].startswith("env_id,rank,listed_apart,id,name")
    page = (tmp_path / "first" / "index.html").read_text()
    # inline: the weights of the one comparison; the findings' profiles, asynchrony and
    # Pareto plots are linked files beside the page, the task's section links the Pareto plot
    assert page.count("<svg") == 1
    assert page.count('<a href="#pareto">') == 1 and page.count('<section id="pareto">') == 1
    for figure in ("performance-profiles", "asynchrony", "pareto"):
        assert page.count(f'<img src="figures/{figure}.svg"') == 1
        assert (tmp_path / "first" / "figures" / f"{figure}.svg").read_text().startswith("<svg")
    assert 'class="sortable"' in page


def test_verdict_says_when_saw_loses(tmp_path: Path):
    """Swap the roles: 'saw' runs get static's numbers and the other way round."""
    for seed in SEEDS:
        write_run(tmp_path / "runs" / f"saw{seed}", agent="saw", seed=seed)
        write_run(tmp_path / "runs" / f"static{seed}", agent="static", seed=seed)
    for seed in SEEDS:  # swap the eval curves: static gets the higher format
        saw_eval = tmp_path / "runs" / f"saw{seed}" / "eval.jsonl"
        static_eval = tmp_path / "runs" / f"static{seed}" / "eval.jsonl"
        saw_text = saw_eval.read_text()
        saw_eval.write_text(static_eval.read_text())
        static_eval.write_text(saw_text)
    submit(tmp_path / "runs", "swapped", "tests", tmp_path / "lb/submissions")
    write_protocols(tmp_path / "lb")
    assert build(tmp_path / "lb") == []
    markdown = (tmp_path / "lb" / "LEADERBOARD.md").read_text()
    assert "No: static weights beat SAW in every comparison" in markdown
    assert "difference -0.050 [-0.050, -0.050]" in markdown


def test_build_writes_nothing_when_a_submission_is_invalid(leaderboard: Path, tmp_path: Path):
    _mutate(lambda d: _set(d, "status", "approved"))(leaderboard)
    problems = build(leaderboard, tmp_path / "out")
    assert problems
    assert not (tmp_path / "out").exists()
    with pytest.raises(SawBenchError, match="nothing was written"):
        leaderboard_build_command(leaderboard)


def test_an_empty_leaderboard_validates_and_builds(tmp_path: Path):
    root = tmp_path / "leaderboard"
    root.mkdir()
    assert validate(root) == []
    assert "wrote" in leaderboard_build_command(root)
    markdown = (root / "LEADERBOARD.md").read_text()
    assert "No submissions yet" in markdown
    assert "cannot say whether SAW beats static weights" in markdown
    assert json.loads((root / "leaderboard.json").read_text())["tasks"] == []


# ---------------------------------------------------------------------- committed files
def test_committed_schema_file_is_generated_from_the_code():
    committed = REPOSITORY / "leaderboard" / SCHEMA_FILE
    assert SCHEMA_FILE == "schema/submission-v2.json"
    assert committed.read_text() == json_schema_text(), (
        f"leaderboard/{SCHEMA_FILE} is stale: run `python -m saw_bench leaderboard build`"
    )


def _without_plots(text: str) -> str:
    """The page (or a figure) without its SVG plots, whose bytes depend on the matplotlib
    version (the plotted numbers are compared through leaderboard.json)."""
    return re.sub(r"<svg.*?</svg>", "<svg/>", text, flags=re.DOTALL)


def test_committed_leaderboard_is_valid_and_its_generated_files_are_current(tmp_path: Path):
    root = REPOSITORY / "leaderboard"
    problems = validate(root)
    assert problems == [], "\n".join(str(problem) for problem in problems)
    assert build(root, tmp_path) == []
    for name in GENERATED:
        committed, fresh = (root / name).read_text(), (tmp_path / name).read_text()
        if name == "index.html" or name.endswith(".svg"):
            committed, fresh = _without_plots(committed), _without_plots(fresh)
        assert committed == fresh, (
            f"leaderboard/{name} is stale: run `python -m saw_bench leaderboard build`"
        )


def test_committed_leaderboard_is_compact_and_holds_only_what_submit_and_build_write():
    """At most 10 MB: submissions, one archive per verified submission, generated files."""
    root = REPOSITORY / "leaderboard"
    files = [path for path in root.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) <= 10_000_000
    allowed = {"README.md", ".gitignore", "protocols.toml", *GENERATED}
    for path in files:
        relative = path.relative_to(root)
        where = relative.parts[0]
        if where == "submissions":
            assert len(relative.parts) == 3 and path.suffix == ".json", relative
        elif where == "runs":
            assert len(relative.parts) == 3 and path.name.endswith(".tar.xz"), relative
        else:
            assert str(relative) in allowed, f"leaderboard/{relative} is written by no verb"


def test_baseline_specs_cover_the_reference_grid():
    from saw_bench.harness.sweep import load_spec

    # the v0 ids, not the aliases: the grids stay on the versions the board measured
    for task, env_id in (
        ("toolcall", "saw/ToolCall-Synth-v0"),
        ("summarize", "saw/Summarize-Synth-v0"),
    ):
        spec = load_spec(REPOSITORY / "baselines" / f"{task}.toml")
        assert spec.tasks == [env_id]
        assert sorted(spec.estimators) == ["gdpo", "grpo"]
        assert sorted(spec.weightings) == ["drw-grad", "mgda", "saw", "static"]
        assert spec.seeds == [0, 1, 2]
        assert len(spec.runs()) == 2 * 4 * 3


def test_the_asynchrony_spec_covers_its_grid():
    from saw_bench.harness.sweep import load_spec

    spec = load_spec(REPOSITORY / "baselines" / "async.toml")
    assert spec.tasks == ["async-k2", "async-k2-noisy", "async-k4", "async-k4-noisy"]
    assert sorted(spec.estimators) == ["gdpo", "grpo"]
    assert sorted(spec.weightings) == sorted(
        [
            "static",
            "static-range",
            "saw",
            "saw-group",
            "saw-ema",
            "saw-floor",
            "saw-noshift",
            "rlw",
            "mgda",
            "drw-grad",
        ]
    )
    assert spec.seeds == [0, 1, 2, 3, 4]
    assert len(spec.runs()) == 4 * 2 * 10 * 5


@pytest.mark.slow
def test_runs_written_by_the_trainer_make_a_valid_verified_submission(
    small_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import saw_bench

    for seed in SEEDS:
        saw_bench.train(
            "saw/ToolCall-Synth-v0",
            weighting="saw",
            steps=1,
            seed=seed,
            model=small_model,
            device="cpu",
            out_dir=tmp_path / "sweep" / f"s{seed}",
            prompts_per_step=2,
            group_size=2,
            max_new_tokens=8,
            eval_items=2,
            eval_every=1,
            plot=False,
        )
    (path,) = submit(tmp_path / "sweep", "trainer", "tests", tmp_path / "lb/submissions")
    data = load(path)
    assert data["status"] == "verified"
    assert [run["steps"] for run in data["runs"]] == [1, 1, 1]
    assert [run["curve"] for run in data["runs"]] == [None] * 3  # the run files hold them
    problems, loaded = check_file(path, tmp_path / "lb")
    assert problems == [] and loaded is not None
    assert [[point.step for point in run.curve] for run in loaded.runs] == [[0, 1]] * 3
    for run, seed in zip(data["runs"], SEEDS, strict=True):
        rows = [json.loads(line) for line in (tmp_path / f"sweep/s{seed}/eval.jsonl").open()]
        assert run["final"] == rows[-1]["objectives"]
    assert validate(tmp_path / "lb") == []


@pytest.mark.parametrize(
    ("outcomes", "lead"),
    [
        (["static", "tie"], "No: SAW never beat static weights (static was better or they tied)"),
        (["saw", "tie"], "Partly: SAW beat static weights in some comparisons and was never worse"),
        (["saw", "static"], "Mixed: SAW's advantage depends on the setting"),
        (["tie", "tie"], "Not clearly: no comparison separates SAW from static weights"),
    ],
)
def test_verdict_lead_follows_wins_losses_and_ties(outcomes, lead):
    from saw_bench.leaderboard._build import _verdict

    comparisons = [
        {"outcome": outcome, "difference": {"mean": 0.0}, "seeds": [0, 1, 2]}
        for outcome in outcomes
    ]
    text = _verdict(comparisons, checked=[object()])
    assert text.startswith(f"{lead} at this scale.")
    wins, losses = outcomes.count("saw"), outcomes.count("static")
    ties = len(outcomes) - wins - losses
    assert f"better in {wins}, worse in {losses} and not distinguishable in {ties}" in text


def test_runs_of_the_trl_backend_are_submitted_apart_and_labelled(tmp_path):
    """A TRL-backend configuration is its own submission, verified like any other, and its
    rows say which engine trained it."""
    for backend in ("saw-bench", "trl"):
        for seed in SEEDS:
            write_run(
                tmp_path / "runs" / f"{backend}-{seed}",
                agent="saw",
                seed=seed,
                train_changes={"backend": backend},
            )
    written = submit(tmp_path / "runs", "Engines", "tests", out_root=tmp_path / "lb/submissions")
    assert len(written) == 2
    write_protocols(tmp_path / "lb")  # the protocol leaves the engine open
    assert build(tmp_path / "lb") == []
    entries = json.loads((tmp_path / "lb/leaderboard.json").read_text())["tasks"][0]["entries"]
    assert sorted(entry["backend"] for entry in entries) == ["saw-bench", "trl"]
    assert all(entry["status"] == "verified" for entry in entries)
    table = (tmp_path / "lb/LEADERBOARD.md").read_text()
    assert table.count("saw [trl]") == 1

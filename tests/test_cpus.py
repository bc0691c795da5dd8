"""Thread counts from the CPUs a process may use and the saw-bench runs sharing them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from saw_bench.core import cpus
from saw_bench.core.files import read_jsonl
from saw_bench.harness.run import train


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_the_cgroup_quota_is_read_from_v2_and_v1_files(tmp_path, files, quota):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cpus.cgroup_cpu_quota(tmp_path) == quota


def test_a_quota_caps_the_cpus_rounded_up(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: one thread
    assert cpus.available_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{100000 * affinity + 1} 100000\n")  # above the mask
    assert cpus.available_cpus(tmp_path) == affinity


def test_the_affinity_mask_counts_not_the_machine():
    """A process restricted to one CPU (as ``taskset -c 0`` does) sees one."""
    script = textwrap.dedent(
        """
        import os
        from pathlib import Path
        from saw_bench.core import cpus
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        print(cpus.available_cpus(Path("/nonexistent")))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


HOLD_A_LEASE = textwrap.dedent(
    """
    import sys, time
    from saw_bench.core.cpus import CpuShare
    share = CpuShare(folder=sys.argv[1], cpus=int(sys.argv[2]))
    print(share.threads, flush=True)
    time.sleep(600)
    """
)


def hold_lease(folder, cpus_to_share):
    """A second process holding a lease; returns it and the share it took."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_LEASE, str(folder), str(cpus_to_share)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, int(process.stdout.readline())


def test_runs_share_the_cpus_and_a_killed_one_gives_them_back(tmp_path, monkeypatch):
    monkeypatch.setattr(cpus, "RECHECK_SECONDS", 0.0)
    with cpus.CpuShare(folder=tmp_path, cpus=4) as mine:
        assert mine.threads == 4  # alone
        other, its_share = hold_lease(tmp_path, 4)
        try:
            assert its_share == 2  # it saw this process's lease
            assert mine.rebalance() == 2
            assert mine.rebalance() is None  # unchanged
        finally:
            other.kill()  # no clean-up: its lease stays behind
            other.wait()
        assert (tmp_path / f"{other.pid}.json").exists()
        assert mine.rebalance() == 4
    assert not (tmp_path / f"{os.getpid()}.json").exists()


def test_a_lease_of_a_recycled_process_id_is_not_counted(tmp_path):
    """A live process whose start time differs from the lease's is another process."""
    parent = os.getppid()
    (tmp_path / f"{parent}.json").write_text(json.dumps({"pid": parent, "started": -1}))
    (tmp_path / "junk.json").write_text("{not json")
    with cpus.CpuShare(folder=tmp_path, cpus=2) as mine:
        assert mine.runs() == 1 and mine.threads == 2


def train_beside_a_peer(tmp_path, small_model, **options):
    """A small run trained while another process holds a lease on 2 CPUs; the run folder and
    the share that process took when it started alone."""
    (tmp_path / "leases").mkdir()
    other, its_share = hold_lease(tmp_path / "leases", 2)
    try:
        run_dir = train(
            "saw/ToolCall-Synth-v0",
            out_dir=tmp_path / "run",
            model=small_model,
            task_kwargs={"train_size": 40, "test_size": 12},
            prompts_per_step=2,
            group_size=2,
            max_new_tokens=8,
            eval_items=2,
            **options,
        )
    finally:
        other.kill()
        other.wait()
    return run_dir, its_share


def test_a_run_with_no_thread_count_takes_its_share_and_records_it(
    tmp_path, small_model, monkeypatch
):
    monkeypatch.setattr(cpus, "_pinned", None)  # tests/conftest.py pins the test process
    monkeypatch.setattr(cpus, "lease_folder", lambda: tmp_path / "leases")
    monkeypatch.setattr(cpus, "available_cpus", lambda: 2)
    run_dir, its_share = train_beside_a_peer(tmp_path, small_model, steps=2)
    assert its_share == 2  # it was alone
    assert [row["threads"] for row in read_jsonl(run_dir / "metrics.jsonl")] == [1, 1]
    assert not (tmp_path / "leases" / f"{os.getpid()}.json").exists()  # released at the end


def test_a_given_thread_count_is_kept_whatever_runs_beside(tmp_path, small_model, monkeypatch):
    monkeypatch.setattr(cpus, "_pinned", None)
    monkeypatch.setattr(cpus, "lease_folder", lambda: tmp_path / "leases")
    run_dir, _ = train_beside_a_peer(tmp_path, small_model, steps=1, threads=2)
    assert [row["threads"] for row in read_jsonl(run_dir / "metrics.jsonl")] == [2]
    assert not any((tmp_path / "leases").glob(f"{os.getpid()}.json"))  # took no lease

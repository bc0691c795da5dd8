"""config.json names the exact code of a run: the git commit of a checkout and whether it was
dirty, and a sha256 of the package's source files (the name of an installed package's code)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from saw_bench.training.provenance import git_state, source_sha256


def _git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def test_source_sha256_is_sha256_of_each_file_name_length_and_bytes_in_name_order(tmp_path):
    package, environments = tmp_path / "pkg", tmp_path / "families"
    (package / "sub").mkdir(parents=True)
    (package / "b.py").write_bytes(b"x = 1\n")
    (package / "sub" / "a.json").write_bytes(b"{}")
    (package / "notes.bin").write_bytes(b"not source")  # another suffix: left out
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "b.py").write_bytes(b"cached")  # a cache folder: left out
    environments.mkdir()
    (environments / "c.py").write_bytes(b"y = 2\n")
    expected = hashlib.sha256()
    for name, data in (
        ("saw_bench/b.py", b"x = 1\n"),
        ("saw_bench/envs/c.py", b"y = 2\n"),
        ("saw_bench/sub/a.json", b"{}"),
    ):
        expected.update(f"{name}\0{len(data)}\0".encode() + data)
    roots = {"saw_bench": package, "saw_bench/envs": environments}
    assert source_sha256(roots) == expected.hexdigest()
    (package / "b.py").write_bytes(b"x = 2\n")
    assert source_sha256(roots) != expected.hexdigest()


def test_source_sha256_is_the_same_for_environments_inside_the_package_as_beside_it(tmp_path):
    # a checkout keeps envs/ beside saw_bench/; an installed wheel puts it in saw_bench/envs/
    checkout, installed = tmp_path / "checkout", tmp_path / "site-packages"
    for top in (checkout / "saw_bench", installed / "saw_bench"):
        top.mkdir(parents=True)
        (top / "core.py").write_bytes(b"core\n")
    (checkout / "envs").mkdir()
    (checkout / "envs" / "task.py").write_bytes(b"task\n")
    (installed / "saw_bench" / "envs").mkdir()
    (installed / "saw_bench" / "envs" / "task.py").write_bytes(b"task\n")
    from_checkout = source_sha256(
        {"saw_bench": checkout / "saw_bench", "saw_bench/envs": checkout / "envs"}
    )
    from_wheel = source_sha256(
        {"saw_bench": installed / "saw_bench", "saw_bench/envs": installed / "saw_bench" / "envs"}
    )
    assert from_checkout == from_wheel


def test_git_state_gives_the_checkouts_commit_and_whether_its_code_changed(tmp_path):
    root = tmp_path / "checkout"
    (root / "saw_bench").mkdir(parents=True)
    (root / "saw_bench" / "core.py").write_text("a = 1\n")
    _git(root, "init", "-q")
    _git(root, "add", "saw_bench")
    _git(root, "commit", "-q", "-m", "first")
    head = _git(root, "rev-parse", "HEAD")
    assert git_state(root) == (head, False)
    (root / "README.md").write_text("docs only\n")  # outside saw_bench/ and envs/
    assert git_state(root) == (head, False)
    (root / "saw_bench" / "core.py").write_text("a = 2\n")
    assert git_state(root) == (head, True)
    # a folder inside a work tree but not its top (a package in someone else's repository)
    assert git_state(root / "saw_bench") == (None, None)
    assert git_state(tmp_path) == (None, None)  # no work tree at all

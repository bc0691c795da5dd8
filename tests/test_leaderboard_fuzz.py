"""No file content crashes validate or build: arbitrary JSON, arbitrary bytes and valid
submissions with random parts replaced, removed or added only ever give Problems."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from leaderboard_runs import write_sweep

from saw_bench.leaderboard import GENERATED, Problem, build, submit, validate

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()  # NaN and infinities included: json.dumps writes them, json.loads reads them
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
# LEADERBOARD_FUZZ_EXAMPLES=2000 runs a longer hunt locally.
FUZZ = settings(
    max_examples=int(os.environ.get("LEADERBOARD_FUZZ_EXAMPLES", 60)),
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """A valid leaderboard with one verified submission; the file the tests overwrite; its
    original content."""
    base = tmp_path_factory.mktemp("fuzz")
    write_sweep(base / "sweep", agents=("saw",))
    (path,) = submit(base / "sweep", "fuzz", "tests", base / "leaderboard/submissions")
    return base / "leaderboard", path, json.loads(path.read_text())


def _check_never_crashes(root: Path, out: Path) -> list[Problem]:
    problems = validate(root)
    assert all(isinstance(p, Problem) and isinstance(p.message, str) for p in problems)
    shutil.rmtree(out, ignore_errors=True)
    assert build(root, out) == problems
    assert all((out / name).is_file() for name in GENERATED) == (not problems)
    return problems


@FUZZ
@given(value=JSON_VALUES)
def test_arbitrary_json_is_rejected_without_crashing(fuzz_root, value):
    root, path, _ = fuzz_root
    path.write_text(json.dumps(value))
    problems = _check_never_crashes(root, root.parent / "out")
    assert any(problem.path == path for problem in problems)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_are_rejected_without_crashing(fuzz_root, raw):
    root, path, _ = fuzz_root
    path.write_bytes(raw)
    assert any(problem.path == path for problem in _check_never_crashes(root, root.parent / "out"))


def _places(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON document (the root is the empty path)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _places(item, (*prefix, index))
    return found


def _at(document: Any, place: tuple) -> Any:
    for key in place:
        document = document[key]
    return document


@FUZZ
@given(data=st.data())
def test_mutated_valid_submissions_never_crash(fuzz_root, data):
    root, path, original = fuzz_root
    document = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        place = data.draw(st.sampled_from(_places(document)), label="place")
        action = data.draw(st.sampled_from(["replace", "remove", "add"]), label="action")
        if not place:
            document = data.draw(JSON_VALUES, label="document")
            continue
        parent = _at(document, place[:-1])
        if action == "replace":
            parent[place[-1]] = data.draw(JSON_VALUES, label="value")
        elif action == "remove":
            del parent[place[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=12), label="key")] = data.draw(JSON_VALUES)
        else:
            parent.append(data.draw(JSON_VALUES, label="item"))
    path.write_text(json.dumps(document))
    _check_never_crashes(root, root.parent / "out")

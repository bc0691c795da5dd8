"""The docs site says what the code does: the layers, the CLI's verbs, the README's links.

The strict docs build (``mkdocs build --strict``) checks the site's own links and generated
parts; these tests tie hand-written pages to the code they describe, so a change to the layers
or the CLI fails here until the page follows.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from test_layout import LAYERS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "concepts" / "architecture.md"
CLI_PAGE = DOCS / "reference" / "cli.md"


def layer_groups(ranks: dict[str, int]) -> list[set[str]]:
    """Layers grouped by rank, lowest first: [{"core"}, {"envs", "weighting"}, ...]."""
    return [
        {name for name, r in ranks.items() if r == rank} for rank in sorted(set(ranks.values()))
    ]


def stated_order(page: str) -> list[set[str]]:
    """The page's order line, ``core < envs = weighting < policy < ...``, as groups."""
    lines = [line for line in page.splitlines() if re.fullmatch(r"core( [<=] [a-z]+)+", line)]
    assert len(lines) == 1, f"expected one layer order line in {ARCHITECTURE}, found {lines}"
    return [set(group.split(" = ")) for group in lines[0].split(" < ")]


def stated_ranks(page: str) -> dict[str, int]:
    """The page's layer table: ``| rank | `layer` | ...`` rows."""
    rows = re.findall(r"^\| (\d+) \| `([a-z]+)` \|", page, flags=re.MULTILINE)
    return {name: int(rank) for rank, name in rows}


def cli_verbs() -> list[str]:
    from saw_bench.cli import build_parser

    parser = build_parser()
    (verbs,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(verbs.choices)


def test_the_architecture_page_states_the_layer_order_test_layout_enforces():
    assert stated_order(ARCHITECTURE.read_text()) == layer_groups(LAYERS)


def test_the_architecture_page_gives_each_layer_the_rank_test_layout_enforces():
    assert stated_ranks(ARCHITECTURE.read_text()) == LAYERS


def test_the_layer_checks_read_a_wrong_order_as_wrong():
    swapped = "core < envs = weighting < training < policy < integrations < harness"
    assert stated_order(f"text\n{swapped} < leaderboard < top\n") != layer_groups(LAYERS)
    assert stated_ranks("| 0 | `core` | x |\n| 2 | `envs` | y |\n") == {"core": 0, "envs": 2}


def test_the_cli_page_has_a_section_with_the_help_of_every_verb():
    page = CLI_PAGE.read_text()
    verbs = cli_verbs()
    assert {"run", "sweep", "submit", "leaderboard"} <= set(verbs)
    missing = [
        verb
        for verb in verbs
        if f"\n## {verb}\n" not in page or f"<!-- cli-help: {verb} -->" not in page
    ]
    assert missing == [], f"{CLI_PAGE} has no section for the verb(s) {missing}"


def test_the_readme_is_short_and_its_docs_links_lead_to_pages():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", readme)
    assert links, "the README links into the docs"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_every_docs_page_is_in_the_site_navigation():
    config = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert [page for page in pages if f" {page}\n" not in config] == []


# --------------------------------------------------------------------------- quoted numbers
BOARD = ROOT / "leaderboard" / "leaderboard.json"
BASELINES_PAGE = DOCS / "results" / "baselines.md"
NUMBER = r"[+-]?\d+\.\d+"


def agrees(text: str, value: float) -> bool:
    """Whether a number as printed (``+0.064``, ``1.0``) is ``value`` rounded to its digits."""
    decimals = len(text.partition(".")[2])
    return abs(float(text) - value) <= 0.5 * 10**-decimals + 1e-12


def board() -> dict:
    return json.loads(BOARD.read_text())


def test_the_readme_quotes_the_committed_boards_saw_verdicts():
    comparisons = board()["saw_vs_static"]["comparisons"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    found = re.search(r"(\d+) ties in the (\d+) comparisons", readme)
    assert found, "the README states SAW's ties against static"
    ties = sum(c["outcome"] == "tie" for c in comparisons)
    assert (int(found[1]), int(found[2])) == (ties, len(comparisons))
    raw_wins = [c for c in comparisons if c["p_value"] < 0.05 and c["difference"]["mean"] > 0]
    quoted = re.search(
        rf"one raw win, ([\w-]+) (GRPO|GDPO), p ({NUMBER}), adjusted ({NUMBER})", readme
    )
    assert len(raw_wins) == 1 and quoted, "the README names the one raw win"
    (win,) = raw_wins
    assert win["env_id"] == f"saw/{quoted[1]}-v0" and win["estimator"] == quoted[2].lower()
    assert agrees(quoted[3], win["p_value"]) and agrees(quoted[4], win["p_adjusted"])


def test_the_baselines_page_status_table_is_the_committed_boards():
    data = board()
    comparisons = {(c["env_id"], c["estimator"]): c for c in data["saw_vs_static"]["comparisons"]}
    indices = {
        (p["env_id"], p["estimator"]): p["index"] for p in data["findings"]["asynchrony"]["points"]
    }
    checks = {
        (s["env_id"], s["estimator"]): s for task in data["tasks"] for s in task["sensitivity"]
    }
    row = re.compile(
        rf"^\| ([\w-]+) \| (GRPO|GDPO) \| ({NUMBER}) \[({NUMBER}), ({NUMBER})\] \| ({NUMBER}) \| "
        rf"({NUMBER}) \| ({NUMBER}) \| (yes|no|not yet)\b(.*)\|$",
        flags=re.MULTILINE,
    )
    rows = row.findall(BASELINES_PAGE.read_text())
    assert len(rows) >= 6, "the status table has a row per flagship task and estimator"
    for task, estimator, mean, low, high, holm, mde, index, sensitive, rest in rows:
        key = (f"saw/{task}", estimator.lower())
        c = comparisons[key]
        printed = [mean, low, high, holm, mde, index]
        wanted = [*(c["difference"][k] for k in ("mean", "low", "high")), c["p_adjusted"]]
        wanted += [c["mde"], indices[key]]
        assert all(map(agrees, printed, wanted)), f"{task} {estimator}: {printed} vs {wanted}"
        check = checks[key]
        assert (sensitive == "yes") == check["sensitive"], f"{task} {estimator}"
        adjusted = re.search(rf"adjusted p ({NUMBER})", rest)
        if adjusted:
            best = min(o["p_adjusted"] for o in check["objectives"])
            assert agrees(adjusted[1], best), f"{task} {estimator}: {adjusted[1]} vs {best}"


def test_the_baselines_page_quotes_the_boards_suite_verdict_and_slope():
    data = board()
    page = " ".join(BASELINES_PAGE.read_text().split())
    (saw,) = [a for a in data["findings"]["suite"]["agents"] if a["agent"] == "saw"]
    found = re.search(
        rf"P\(saw > static\) ({NUMBER}) \[({NUMBER}), ({NUMBER})\] over (\d+) settings", page
    )
    assert found, "the page gives SAW's probability of improvement across the suite"
    p = saw["probability_of_improvement"]
    assert all(map(agrees, found.groups()[:3], (p["mean"], p["low"], p["high"])))
    assert int(found[4]) == len(saw["settings"])
    fit = data["findings"]["asynchrony"]["fit"]
    found = re.search(
        rf"slope over the (\d+) comparisons with an index is ({NUMBER}) \[({NUMBER}), ({NUMBER})\] "
        rf"per unit of index \(p ({NUMBER})\)",
        page,
    )
    assert found, "the page gives the asynchrony slope"
    assert int(found[1]) == fit["points"]
    assert all(
        map(agrees, found.groups()[1:], (fit[k] for k in ("slope", "low", "high", "p_value")))
    )

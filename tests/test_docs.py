"""The docs site says what the code does: the layers, the CLI's verbs, the README's links.

The strict docs build (``mkdocs build --strict``) checks the site's own links and generated
parts; these tests tie hand-written pages to the code they describe, so a change to the layers
or the CLI fails here until the page follows.
"""

from __future__ import annotations

import argparse
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

"""MkDocs hooks of the saw-bench site: pages that show generated files and the CLI's own help.

Two markers, each alone on its line, are replaced when a page is built:

- ``<!-- include: PATH -->``: the text of ``PATH`` (relative to the repository root), so the site
  shows ``leaderboard/FINDINGS.md``, ``leaderboard/LEADERBOARD.md`` and ``CHANGELOG.md`` as they
  are now, never a copy. Links between the included files are pointed at their pages, and links
  to ``docs/...`` at the page they name.
- ``<!-- cli-help: VERB -->``: ``python -m saw_bench VERB --help`` as argparse prints it at 100
  columns (``<!-- cli-help: -->`` for the top-level help), from :func:`saw_bench.cli.build_parser`.
- ``<!-- config: -->``: ``python -m saw_bench config``, every training option with its default
  and help line, from :func:`saw_bench.training.config.describe_options`.
- ``<!-- modules: FOLDER -->``: a table of the folder's modules (and sub-packages), each with the
  first line of its docstring, read with ``ast`` (nothing is imported), so the architecture page
  lists the files that exist.

The figures FINDINGS.md shows (``leaderboard/figures/*.svg``) are added to the site beside the
page that includes it, so its image links work there too.

A marker whose file or verb does not exist stops the build.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- (include|cli-help|config|modules): ?(\S*) -->$", re.MULTILINE)
#: generated files that link to each other by file name -> the site page that shows each
PAGES = {
    "FINDINGS.md": "findings.md",
    "LEADERBOARD.md": "leaderboard.md",
}
HELP_COLUMNS = "100"
#: an rST role in a docstring (:func:`~x.y`), shown as plain code in the tables
ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def include(relative: str, page: str) -> str:
    path = ROOT / relative
    if not path.is_file():
        raise PluginError(f"{page}: the included file {relative} does not exist")
    text = path.read_text(encoding="utf-8")
    for name, target in PAGES.items():
        text = text.replace(f"]({name})", f"]({target})")
    # links into the docs from a file at the repository root (CHANGELOG.md)
    return text.replace("](docs/", "](" + "../" * page.count("/"))


def cli_help(verb: str, page: str) -> str:
    os.environ["COLUMNS"] = HELP_COLUMNS  # argparse wraps to the terminal width
    from saw_bench.cli import build_parser

    parser = build_parser()
    if verb:
        subcommands = next(
            action.choices for action in parser._actions if getattr(action, "choices", None)
        )
        if verb not in subcommands:
            raise PluginError(f"{page}: the CLI has no verb {verb!r}")
        parser = subcommands[verb]
    return f"```text\n{parser.format_help().rstrip()}\n```"


def first_docstring_line(path: Path) -> str:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    text = (docstring or "").strip().split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
    return ROLE.sub(r"`\1`", text).removesuffix("::").removesuffix(":") + ("" if text else "-")


def modules(relative: str, page: str) -> str:
    folder = ROOT / relative
    if not folder.is_dir():
        raise PluginError(f"{page}: the folder {relative} does not exist")
    rows = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".py" and path.name != "__init__.py":
            rows.append((f"`{path.name}`", first_docstring_line(path)))
        elif (path / "__init__.py").is_file():
            rows.append((f"`{path.name}/`", first_docstring_line(path / "__init__.py")))
    if (folder / "__init__.py").is_file():
        rows.insert(0, ("`__init__.py`", first_docstring_line(folder / "__init__.py")))
    lines = ["| module | what it holds (its docstring's first paragraph) |", "|---|---|"]
    return "\n".join(lines + [f"| {name} | {text} |" for name, text in rows])


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    name = page.file.src_uri

    def replace(match: re.Match[str]) -> str:
        kind, argument = match.groups()
        if kind == "include":
            return include(argument, name)
        if kind == "modules":
            return modules(argument, name)
        if kind == "config":
            from saw_bench.training.config import describe_options

            return f"```text\n{describe_options().rstrip()}\n```"
        return cli_help(argument, name)

    return MARKER.sub(replace, markdown)


def on_files(files: Any, config: Any, **_: Any) -> Any:
    """``leaderboard/figures/*.svg`` as ``results/figures/*.svg``, beside the findings page."""
    from mkdocs.structure.files import File

    for path in sorted((ROOT / "leaderboard" / "figures").glob("*.svg")):
        uri = f"results/figures/{path.name}"  # docs/results/findings.md includes FINDINGS.md
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_serve(server: Any, **_: Any) -> Any:
    """``mkdocs serve`` rebuilds when the included files change."""
    for relative in ("leaderboard/FINDINGS.md", "leaderboard/LEADERBOARD.md", "CHANGELOG.md"):
        server.watch(str(ROOT / relative))
    return server

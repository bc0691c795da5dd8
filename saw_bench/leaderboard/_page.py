"""The generated files' text: LEADERBOARD.md, leaderboard.csv and index.html (with its sortable
tables and inline SVG trade-off plots), from the data of :func:`leaderboard_data`; the page's
findings section and FINDINGS.md come from :mod:`saw_bench.leaderboard._findings_page`, the
plots from :mod:`saw_bench.leaderboard._plots`.

Everything from a submission (names, submitters, options) is escaped for HTML and Markdown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from saw_bench.leaderboard._findings_page import STYLE as FINDINGS_STYLE
from saw_bench.leaderboard._findings_page import findings_html, findings_page
from saw_bench.leaderboard._plots import tradeoff_svg
from saw_bench.leaderboard._runs import canonical_json
from saw_bench.leaderboard._text import markdown_text, markdown_to_html, multiplicity_note, p_pair

__all__ = ["csv_table", "findings_page", "html_page", "markdown_page"]


def _comparison_line(comparison: dict[str, Any], correction: str) -> str:
    difference = comparison["difference"]
    relative = comparison["relative_percent"]
    relative_text = f" ({relative:+.1f}% of static)" if relative is not None else ""
    outcome = {
        "saw": "SAW better",
        "static": "static better",
        "tie": "no clear difference",
    }[comparison["outcome"]]
    seeds = ", ".join(str(seed) for seed in comparison["seeds"])
    mde = comparison.get("mde")
    power = f"; minimum detectable effect {mde:.3f}" if mde is not None else ""
    sensitivity = comparison.get("sensitivity") or "weight sensitivity not checked"
    return (
        f"{comparison['env_id']}, {comparison['estimator'].upper()}, model "
        f"{comparison['model']}, {comparison['steps']} steps, seeds {seeds}: SAW "
        f"{comparison['saw_final_normalised']:.3f} vs static "
        f"{comparison['static_final_normalised']:.3f}; difference {difference['mean']:+.3f} "
        f"[{difference['low']:+.3f}, {difference['high']:+.3f}]{relative_text}, "
        f"{p_pair(comparison, correction)}: {outcome}{power}; task {sensitivity}"
    )


def _sensitivity_line(check: dict[str, Any], correction: str) -> str:
    """One weight-sensitivity check in words."""
    sides = " vs ".join("p=" + canonical_json(p) for p in check["priorities"])
    parts = [
        f"{o['name']} {o['difference']['mean']:+.3f} [{o['difference']['low']:+.3f}, "
        f"{o['difference']['high']:+.3f}] when up-weighted ({p_pair(o, correction)})"
        for o in check["objectives"]
    ]
    return (
        f"{check['estimator'].upper()}, model {check['model']}, {check['steps']} steps, "
        f"{len(check['seeds'])} seeds, static {sides}: {'; '.join(parts)} (normalised): "
        f"{check['label']}"
    )


# ---------------------------------------------------------------------- tables
def _cell(interval: dict[str, float] | None, digits: int = 3) -> str:
    if interval is None:
        return "-"
    return (
        f"{interval['mean']:.{digits}f} [{interval['low']:.{digits}f}, "
        f"{interval['high']:.{digits}f}]"
    )


def _percent(interval: dict[str, float] | None) -> str:
    if interval is None:
        return "-"
    return f"{100 * interval['mean']:.2f}%"


def _columns(entries: list[dict[str, Any]], task: dict[str, Any]) -> list[Column]:
    """A table of a task's entries: (header, "number" or "text", [(shown text, sort value) per
    entry]); ranked entries lead with their rank, the ones listed apart with why."""

    Key = Callable[[dict[str, Any]], Any]

    def text(header: str, key: Key) -> Column:
        values = [key(entry) for entry in entries]
        return header, "text", [(value, value) for value in values]

    def number(header: str, key: Key, show: Callable[[Any], str] = str) -> Column:
        values = [key(entry) for entry in entries]
        return header, "number", [("-" if v is None else show(v), v) for v in values]

    def interval(header: str, key: Key, show: Callable[[Any], str] = _cell) -> Column:
        values = [key(entry) for entry in entries]
        return header, "number", [(show(v), None if v is None else v["mean"]) for v in values]

    names = [objective["name"] for objective in task["objectives"]]
    ranked = all(entry["rank"] is not None for entry in entries)
    return [
        number("rank", lambda e: e["rank"])
        if ranked
        else text("listed apart", lambda e: e["apart"]),
        text("name", lambda e: e["name"]),
        text("agent", _agent_text),
        text("estimator", lambda e: e["estimator"]),
        text("model", lambda e: e["model"]),
        number("steps", lambda e: e["steps"]),
        number("seeds", lambda e: len(e["seeds"])),
        *[interval(name, lambda e, name=name: e["final"][name]) for name in names],
        interval("normalised", lambda e: e["final_normalised"]),
        interval("AUC", lambda e: e["normalised_auc"]),
        number("s/step", lambda e: e["seconds_per_step"], lambda v: f"{v:.3g}"),
        interval("weighting share", lambda e: e["weighting_overhead"], _percent),
        text("status", lambda e: e["status"]),
        text("submitter", lambda e: e["submitter"]),
        text("id", lambda e: e["id"]),
    ]


Column = tuple[str, str, list[tuple[str, Any]]]
_APART = (
    "Listed apart (not ranked, not counted in any verdict): self-reported entries and entries "
    "trained off the task's protocol."
)


def _protocol_text(task: dict[str, Any]) -> str:
    if task["protocol"] is None:
        return "No protocol yet: no entry of this task is ranked or counted in a verdict."
    return f"Protocol (what a ranked entry used): {task['protocol']}."


def _agent_text(entry: dict[str, Any]) -> str:
    text = entry["agent"]
    if entry["agent_kwargs"]:
        text += " " + canonical_json(entry["agent_kwargs"])
    if entry["priorities"] is not None:
        text += " p=" + canonical_json(entry["priorities"])
    if entry["backend"] != "saw-bench":  # trained by another engine (trl)
        text += f" [{entry['backend']}]"
    return text


_INTRO = (
    "Generated by `python -m saw_bench leaderboard build` from the files in `submissions/`; "
    "do not edit by hand. Scores are held-out means at the end of training (task units); "
    "`normalised` maps each objective to [0, 1] by its bounds and averages them "
    "(priority-weighted); `AUC` is the area under the normalised eval curve divided by its "
    "step span; `weighting share` is the share of the training step time spent computing the "
    "weights. Every `mean [low, high]` of a score is the mean over seeds with a 95% "
    "percentile-bootstrap interval; every difference (SAW minus static, the sides of a "
    "sensitivity check) has a 95% paired t interval over the seeds both ran, and a p-value "
    "corrected for multiplicity (below). `verified` "
    "entries were recomputed from run files committed under `runs/`; `self-reported` ones "
    "were checked for consistency only. A task's table ranks the verified entries trained on "
    "its protocol (`protocols.toml`: steps, batch, evaluation, policy); self-reported entries "
    "and entries trained otherwise are listed apart and never counted in a verdict."
)


_POWER_NOTE = (
    "Each comparison shows its minimum detectable effect: the true difference a paired "
    "comparison at its number of seeds finds with 80% power at the 5% level, "
    "`(t(0.975, n-1) + t(0.8, n-1)) * sqrt(2) * s / sqrt(n)` with `s` static's seed-to-seed "
    "standard deviation; and its task's weight-sensitivity label (static with one objective "
    "up-weighted 4:1 against another, same seeds). When does SAW help: see "
    "[FINDINGS.md](FINDINGS.md)."
)


def markdown_page(data: dict[str, Any]) -> str:
    lines = ["# saw-bench leaderboard", "", _INTRO, "", "## Did SAW beat static weights?", ""]
    lines += [data["saw_vs_static"]["verdict"], "", multiplicity_note(data), "", _POWER_NOTE]
    correction = data["multiplicity"]["correction"]
    comparisons = data["saw_vs_static"]["comparisons"]
    if comparisons:
        lines.append("")
        lines += [f"- {_comparison_line(c, correction)}" for c in comparisons]
    if not data["tasks"]:
        lines += ["", "No submissions yet."]
    for task in data["tasks"]:
        bounds = ", ".join(f"{o['name']} [{o['low']:g}, {o['high']:g}]" for o in task["objectives"])
        lines += ["", f"## {task['env_id']}", "", f"Objectives: {bounds}.", ""]
        lines += [_protocol_text(task), ""]
        if task.get("sensitivity"):
            lines += ["Weight sensitivity:", ""]
            lines += [f"- {_sensitivity_line(c, correction)}" for c in task["sensitivity"]]
            lines.append("")
        if task["entries"]:
            lines += _markdown_table(task["entries"], task)
        if task["apart"]:
            lines += ["", _APART, "", *_markdown_table(task["apart"], task)]
    return "\n".join(lines) + "\n"


def _markdown_table(entries: list[dict[str, Any]], task: dict[str, Any]) -> list[str]:
    columns = _columns(entries, task)
    lines = ["| " + " | ".join(header for header, _, _ in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for row in range(len(entries)):
        cells = [markdown_text(cells[row][0]) for _, _, cells in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def csv_table(data: dict[str, Any]) -> str:
    rows = []
    for task in data["tasks"]:
        for entry in [*task["entries"], *task["apart"]]:
            row: dict[str, Any] = {
                "env_id": task["env_id"],
                "rank": entry["rank"],
                "listed_apart": entry.get("apart"),
                "id": entry["id"],
                "name": entry["name"],
                "submitter": entry["submitter"],
                "status": entry["status"],
                "agent": entry["agent"],
                "agent_kwargs": canonical_json(entry["agent_kwargs"]),
                "priorities": (
                    None if entry["priorities"] is None else canonical_json(entry["priorities"])
                ),
                "estimator": entry["estimator"],
                "backend": entry["backend"],
                "model": entry["model"],
                "model_revision": entry["model_revision"],
                "steps": entry["steps"],
                "seeds": " ".join(str(seed) for seed in entry["seeds"]),
            }
            for name, interval in entry["final"].items():
                row |= _flat(f"final_{name}", interval)
            row |= _flat("final_normalised", entry["final_normalised"])
            row |= _flat("normalised_auc", entry["normalised_auc"])
            row["seconds_per_step"] = entry["seconds_per_step"]
            row |= _flat("weighting_overhead", entry["weighting_overhead"])
            row["file"] = entry["file"]
            rows.append(row)
    if not rows:
        return "env_id,rank,listed_apart,id,name,submitter,status,agent,estimator,model,seeds\n"
    table = pd.DataFrame(rows)
    table["rank"] = table["rank"].astype("Int64")  # blank for the entries listed apart
    return table.to_csv(index=False, lineterminator="\n")


def _flat(prefix: str, interval: dict[str, float] | None) -> dict[str, float | None]:
    if interval is None:
        return {prefix: None, f"{prefix}_low": None, f"{prefix}_high": None}
    return {
        prefix: interval["mean"],
        f"{prefix}_low": interval["low"],
        f"{prefix}_high": interval["high"],
    }


# ---------------------------------------------------------------------- page
_SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((header) => {
  header.addEventListener("click", () => {
    const table = header.closest("table"), body = table.tBodies[0], column = header.cellIndex;
    const ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const value = (row) => row.cells[column].dataset.value;
    const number = (row) => { const v = parseFloat(value(row)); return isNaN(v) ? -Infinity : v; };
    const order = header.dataset.type === "number"
      ? (a, b) => number(a) - number(b) : (a, b) => value(a).localeCompare(value(b));
    Array.from(body.rows).sort((a, b) => (ascending ? 1 : -1) * order(a, b))
      .forEach((row) => body.appendChild(row));
  });
});
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 90em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
td.number { white-space: nowrap; }
td.text { max-width: 12em; }
.ci { color: #555; font-size: 0.85em; }
th { background: #f3f3f3; cursor: pointer; user-select: none; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
figure { margin: 1em 0; }
.scroll { overflow-x: auto; }
"""


def html_page(data: dict[str, Any]) -> str:
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>saw-bench leaderboard</title>',
        f"<style>{_STYLE}{FINDINGS_STYLE}</style></head>",
        "<body>",
        "<h1>saw-bench leaderboard</h1>",
        f"<p>{markdown_to_html(_INTRO)} Click a column header to sort by it.</p>",
        "<h2>Did SAW beat static weights?</h2>",
        f'<p id="verdict">{escape(data["saw_vs_static"]["verdict"])}</p>',
        f'<p id="multiplicity">{escape(multiplicity_note(data))}</p>',
        f"<p>{markdown_to_html(_POWER_NOTE)}</p>",
    ]
    correction = data["multiplicity"]["correction"]
    comparisons = data["saw_vs_static"]["comparisons"]
    if comparisons:
        parts.append("<ul>")
        parts += [f"<li>{escape(_comparison_line(c, correction))}</li>" for c in comparisons]
        parts.append("</ul>")
    if not data["tasks"]:
        parts.append("<p>No submissions yet.</p>")
    for task in data["tasks"]:
        slug = re.sub(r"[^a-z0-9]+", "-", task["env_id"].lower()).strip("-")
        bounds = ", ".join(f"{o['name']} [{o['low']:g}, {o['high']:g}]" for o in task["objectives"])
        parts += [
            f'<section id="{slug}">',
            f"<h2>{escape(task['env_id'])}</h2>",
            f"<p>Objectives: {escape(bounds)}.</p>",
            f'<p class="protocol">{escape(_protocol_text(task))}</p>',
        ]
        if task.get("sensitivity"):
            parts.append("<p>Weight sensitivity:</p><ul>")
            parts += [
                f"<li>{escape(_sensitivity_line(c, correction))}</li>" for c in task["sensitivity"]
            ]
            parts.append("</ul>")
        if task["entries"]:
            parts += _html_table(task["entries"], task, f"table-{slug}")
        if task["apart"]:
            parts.append(f"<p>{escape(_APART)}</p>")
            parts += _html_table(task["apart"], task, f"apart-{slug}")
        parts.append(
            f"<figure>{tradeoff_svg(task)}<figcaption>Final held-out scores per submission "
            "(mean over seeds, 95% bootstrap intervals): the trade-off between the objectives"
            "</figcaption></figure>"
        )
        parts.append("</section>")
    parts += findings_html(data, correction)
    parts += [f"<script>{_SORT_SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


#: Columns the page states once above a table when every row has the same value.
_FOLDED = ("steps", "model", "status")


def _html_table(entries: list[dict[str, Any]], task: dict[str, Any], table_id: str) -> list[str]:
    """A sortable table that fits a laptop window: columns with one value for every row are
    stated once above it, and an interval sits under its mean."""
    escape = html.escape
    columns = _columns(entries, task)
    shared = [
        (header, cells[0][0])
        for header, _, cells in columns
        if header in _FOLDED and len(entries) > 1 and len({text for text, _ in cells}) == 1
    ]
    columns = [column for column in columns if column[0] not in dict(shared)]
    # the name cell also says who submitted the entry, and shows its id on hover
    byline = {header: cells for header, _, cells in columns if header in ("submitter", "id")}
    columns = [column for column in columns if column[0] not in byline]
    headers = "".join(
        f'<th data-type="{kind}">{escape(header)}</th>' for header, kind, _ in columns
    )
    parts = []
    if shared:
        every = ", ".join(f"{header} {text}" for header, text in shared)
        parts.append(f'<p class="shared">Every entry below: {escape(every)}.</p>')
    parts += [
        f'<div class="scroll"><table class="sortable" id="{table_id}">',
        f"<thead><tr>{headers}</tr></thead>",
        "<tbody>",
    ]
    for row in range(len(entries)):
        cells = []
        for header, kind, column_cells in columns:
            text, value = column_cells[row]
            value = "" if value is None else str(value)
            shown, title = escape(text), ""
            if kind == "number" and " [" in text:  # mean, then its interval under it
                mean, interval = text.split(" [", 1)
                shown = f'{escape(mean)}<br><span class="ci">[{escape(interval)}</span>'
            if header == "name":
                shown += f'<br><span class="ci">by {escape(byline["submitter"][row][0])}</span>'
                title = f' title="id: {escape(byline["id"][row][0])}"'
            cells.append(f'<td class="{kind}" data-value="{escape(value)}"{title}>{shown}</td>')
        parts.append(f"<tr>{''.join(cells)}</tr>")
    return [*parts, "</tbody>", "</table></div>"]

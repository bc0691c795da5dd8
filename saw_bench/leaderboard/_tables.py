"""The leaderboard's table of a task's entries, as Markdown, as a sortable HTML table that fits a
laptop window, and as leaderboard.csv (every task's entries, one row each)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from saw_bench.leaderboard._runs import canonical_json
from saw_bench.leaderboard._text import markdown_text


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


def _agent_text(entry: dict[str, Any]) -> str:
    text = entry["agent"]
    if entry["agent_kwargs"]:
        text += " " + canonical_json(entry["agent_kwargs"])
    if entry["priorities"] is not None:
        text += " p=" + canonical_json(entry["priorities"])
    if entry["backend"] != "saw-bench":  # trained by another engine (trl)
        text += f" [{entry['backend']}]"
    return text


def markdown_table(entries: list[dict[str, Any]], task: dict[str, Any]) -> list[str]:
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


#: Columns the page states once above a table when every row has the same value.
_FOLDED = ("steps", "model", "status")


def html_table(entries: list[dict[str, Any]], task: dict[str, Any], table_id: str) -> list[str]:
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
            # the sort key, where it is not the cell's text (a number's full value, a name)
            key = "" if shown == escape(value) else f' data-value="{escape(value)}"'
            cells.append(f'<td class="{kind}"{key}{title}>{shown}</td>')
        parts.append(f"<tr>{''.join(cells)}</tr>")
    return [*parts, "</tbody>", "</table></div>"]

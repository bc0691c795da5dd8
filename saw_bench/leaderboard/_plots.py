"""The leaderboard's plots, as SVG text: the weights over training, and the findings'
performance profiles, asynchrony plot and Pareto plots.

Each is drawn on ``matplotlib.figure.Figure`` (no pyplot) and saved without a date and with a
fixed hash salt, so the same data give the same bytes (for one matplotlib version).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections import Counter
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
MARKERS = ["o", "s", "^", "D", "v"]
#: Colours of the Pareto plots' agents, one per agent across every task.
AGENT_COLOURS = [*COLOURS, "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8", "#98df8a"]


#: The SVGs' fonts: one family and the generic fallback (matplotlib's default list is 200
#: characters, written into every text element's style).
SVG_FONTS = {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}
#: A number inside a tag (a coordinate, a path's points) with more than two decimals: the SVGs
#: are drawn in points, so a hundredth of a point is below any screen's pixel.
_LONG_DECIMAL = re.compile(r"(-?\d+\.\d\d)\d+")
_TAG = re.compile(r"<[^>]*>")
_INDENT = re.compile(r"\n[ ]+")
#: matplotlib's metadata block (an RDF description of the image type), and the ids of its
#: groups: nothing refers to a group, and the page inlines many SVGs, whose ids would repeat.
_METADATA = re.compile(r"<metadata>.*?</metadata>\n?", re.S)
_GROUP_ID = re.compile(r'<g id="[^"]*"')
#: A path's data ("M 0 259.2 \nL 1123.2 259.2 \nz\n"), and a style's declarations
#: ("fill: none; stroke: #b0b0b0"): written without the spaces, newlines and trailing zeros
#: matplotlib puts in.
_PATH_DATA = re.compile(r' d="([^"]*)"')
_STYLE = re.compile(r' style="([^"]*)"')
_COMMAND_SPACE = re.compile(r"\s*([A-Za-z])\s*")
_TRAILING_ZEROS = re.compile(r"(\.\d*?)0+\b")
#: A group's opening or closing tag, and a text's rotation by zero degrees: matplotlib wraps
#: every artist in groups that carry no attribute (so change nothing on the page) and rotates
#: every label by "-0", together about an eighth of a figure's bytes.
_GROUP_TAG = re.compile(r"<g( [^>]*)?>\n?|</g>\n?")
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [^")]*\)"')
#: A style repeated on many elements (every grid line, tick and label has one) is written
#: once, as a class in the SVG's style sheet; the class names start with a hash of the SVG,
#: since the page inlines many SVGs and a style sheet in one of them applies to the whole page.
_STYLE_SHEET_END = "</style>"


def svg_text(figure: Figure) -> str:
    """``figure`` as an ``<svg>`` element, byte for byte the same for the same figure, its
    coordinates rounded to a hundredth of a point and its lines unindented (text is left as
    drawn)."""
    with rc_context({"svg.hashsalt": "saw-bench", "svg.fonttype": "none", **SVG_FONTS}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = _METADATA.sub("", _GROUP_ID.sub("<g", text))
    text = _TAG.sub(lambda tag: _compact_tag(_LONG_DECIMAL.sub(r"\1", tag.group())), text)
    text = _INDENT.sub("\n", text)  # no element keeps its white space (no xml:space)
    return _styles_as_classes(_without_bare_groups(_NO_ROTATION.sub("", text)))


def _styles_as_classes(text: str) -> str:
    """``text`` with each style that two or more elements carry moved into a class."""
    repeated = [style for style, count in Counter(_STYLE.findall(text)).items() if count > 1]
    if not repeated or _STYLE_SHEET_END not in text:
        return text
    prefix = "s" + hashlib.sha256(text.encode()).hexdigest()[:6]
    names = {style: f"{prefix}-{number}" for number, style in enumerate(repeated)}

    def attribute(found: re.Match[str]) -> str:
        name = names.get(found.group(1))
        return found.group() if name is None else f' class="{name}"'

    rules = "".join(f".{name}{{{style}}}" for style, name in names.items())
    text = _STYLE.sub(attribute, text)
    return text.replace(_STYLE_SHEET_END, rules + _STYLE_SHEET_END, 1)


def _without_bare_groups(text: str) -> str:
    """``text`` without the groups that have no attribute: their tags go, their children stay
    where they were in the drawing order."""
    kept: list[str] = []
    bare: list[bool] = []  # for each open group, from the outermost: has it no attribute?
    start = 0
    for tag in _GROUP_TAG.finditer(text):
        kept.append(text[start : tag.start()])
        start = tag.end()
        if tag.group().startswith("</g>"):
            if not bare.pop():
                kept.append(tag.group())
        else:
            bare.append(tag.group(1) is None)
            if not bare[-1]:
                kept.append(tag.group())
    kept.append(text[start:])
    return "".join(kept)


def _compact_tag(tag: str) -> str:
    tag = _PATH_DATA.sub(lambda found: f' d="{_path_data(found.group(1))}"', tag)
    return _STYLE.sub(lambda found: f' style="{_style(found.group(1))}"', tag)


def _path_data(data: str) -> str:
    """``M 0 259.20 \nL 1123.2 259.2 \nz\n`` as ``M0 259.2L1123.2 259.2z``."""
    data = _TRAILING_ZEROS.sub(lambda found: found.group(1).rstrip("."), data)
    return " ".join(_COMMAND_SPACE.sub(r"\1", data).split())


def _style(style: str) -> str:
    """``fill: none; stroke: #b0b0b0`` as ``fill:none;stroke:#b0b0b0``."""
    return ";".join(part.strip().replace(": ", ":") for part in style.split(";") if part.strip())


def _plain(text: str) -> str:
    """A label without mathtext's dollar signs."""
    return text.replace("$", "")


def error_bar(interval: dict[str, float]) -> list[list[float]]:
    """[[below], [above]] the mean (never negative, whatever the rounding did)."""
    mean = interval["mean"]
    return [[max(0.0, mean - interval["low"])], [max(0.0, interval["high"] - mean)]]


def weights_svg(row: dict[str, Any]) -> str:
    """Each objective's weight per step, SAW solid and static dashed."""
    curves = row["weight_curves"]
    figure = Figure(figsize=(6.4, 3.2))
    axes = figure.subplots()
    for agent, style in (("saw", "-"), ("static", "--")):
        curve = curves[agent]
        if curve is None:
            continue
        for index, (name, values) in enumerate(curve["weights"].items()):
            axes.plot(
                curve["steps"],
                values,
                style,
                color=COLOURS[index % len(COLOURS)],
                linewidth=1.2,
                label=_plain(f"{agent} {name}"),
            )
    axes.set_xlabel("step")
    axes.set_ylabel("weight")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="x-small", ncol=2)
    figure.subplots_adjust(left=0.1, right=0.98, bottom=0.16, top=0.96)
    return svg_text(figure)


def profiles_svg(suite: dict[str, Any]) -> str:
    """One panel per agent: the share of its runs (solid) and of static's on the same settings
    (dashed) above each normalised score, with 95% bootstrap bands."""
    agents = suite["agents"]
    thresholds = suite["thresholds"]
    columns = min(3, max(1, len(agents)))
    rows = max(1, math.ceil(len(agents) / columns))
    figure = Figure(figsize=(3.4 * columns, 2.6 * rows + 0.3))
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    for index, axes in enumerate(grid.flat):
        if index >= len(agents):
            axes.set_visible(False)
            continue
        agent = agents[index]
        for side, style, colour in (("agent", "-", COLOURS[0]), ("static", "--", COLOURS[1])):
            profile = agent["profile"][side]
            label = _plain(agent["agent"]) if side == "agent" else "static"
            axes.plot(thresholds, profile["share"], style, color=colour, label=label)
            axes.fill_between(thresholds, profile["low"], profile["high"], color=colour, alpha=0.15)
        axes.set_title(f"{_plain(agent['agent'])} ({len(agent['settings'])} settings)", fontsize=9)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="x-small", loc="lower left")
    for axes in grid[-1]:
        axes.set_xlabel("normalised score tau")
    for axes in grid[:, 0]:
        axes.set_ylabel("share of runs > tau")
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.93, hspace=0.35)
    return svg_text(figure)


def asynchrony_svg(asynchrony: dict[str, Any]) -> str:
    """SAW minus static (95% paired t interval) against static's asynchrony index, a point per
    comparison (colour: task, marker: estimator), with the least-squares line."""
    points = [point for point in asynchrony["points"] if point["index"] is not None]
    tasks = sorted({point["env_id"] for point in points})
    estimators = sorted({point["estimator"] for point in asynchrony["points"]})
    figure = Figure(figsize=(7.6, 4.0))
    axes = figure.subplots()
    for point in points:
        difference = point["difference"]
        axes.errorbar(
            point["index"],
            difference["mean"],
            yerr=error_bar(difference),
            color=COLOURS[tasks.index(point["env_id"]) % len(COLOURS)],
            marker=MARKERS[estimators.index(point["estimator"]) % len(MARKERS)],
            markersize=6,
            capsize=2,
            linewidth=1,
            label=f"{point['env_id'].removeprefix('saw/')} {point['estimator'].upper()}",
        )
    axes.axhline(0, color="#888888", linewidth=0.8)
    fit = asynchrony["fit"]
    if fit is not None and points:
        xs = [min(p["index"] for p in points), max(p["index"] for p in points)]
        axes.plot(
            xs,
            [fit["intercept"] + fit["slope"] * x for x in xs],
            "-",
            color="#333333",
            linewidth=1.2,
            label=f"OLS slope {fit['slope']:+.3f} [{fit['low']:+.3f}, {fit['high']:+.3f}]",
        )
    axes.set_xlabel("static's asynchrony index (spread of steps to 90% of gain / steps)")
    axes.set_ylabel("SAW - static (normalised)")
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.subplots_adjust(left=0.12, right=0.66, bottom=0.13, top=0.96)
    return svg_text(figure)


def pareto_svg(tasks: list[dict[str, Any]]) -> str:
    """Per task a row of panels (a column per setting; for more than two objectives one row per
    pair of consecutive objectives): each agent's mean normalised scores with their 95%
    intervals over seeds; filled markers are non-dominated, hollow ones dominated."""
    agents = sorted({p["agent"] for task in tasks for s in task["settings"] for p in s["points"]})
    rows = []
    for task in tasks:
        names = task["objectives"]
        pairs = [(names[i], names[i + 1]) for i in range(0, len(names) - 1, 2)]
        if len(names) % 2 and len(names) > 1:
            pairs.append((names[-2], names[-1]))
        rows += [(task, pair) for pair in pairs or [(names[0], names[0])]]
    columns = max([len(task["settings"]) for task in tasks] or [1])
    figure = Figure(figsize=(3.6 * columns + 2.4, 2.9 * max(1, len(rows)) + 0.2))
    grid = figure.subplots(max(1, len(rows)), columns, squeeze=False)
    for (task, (x_name, y_name)), axes_row in zip(rows, grid, strict=False):
        for index, axes in enumerate(axes_row):
            if index >= len(task["settings"]):
                axes.set_visible(False)
                continue
            setting = task["settings"][index]
            for point in setting["points"]:
                x, y = point["objectives"][x_name], point["objectives"][y_name]
                number = agents.index(point["agent"])
                colour = AGENT_COLOURS[number % len(AGENT_COLOURS)]
                marker = MARKERS[number // len(AGENT_COLOURS) % len(MARKERS)]
                axes.errorbar(
                    x["mean"],
                    y["mean"],
                    xerr=error_bar(x),
                    yerr=error_bar(y),
                    color=colour,
                    markerfacecolor=colour if point["nondominated"] else "white",
                    marker=marker,
                    markersize=5,
                    capsize=0,  # caps would add four markers per point to the file
                    linewidth=0.8,
                    label=_plain(point["agent"]),
                )
            title = f"{task['env_id'].removeprefix('saw/')} {setting['estimator'].upper()}"
            axes.set_title(title, fontsize=9)
            axes.set_xlabel(_plain(x_name), fontsize=8)
            axes.set_ylabel(_plain(y_name), fontsize=8)
            axes.tick_params(labelsize=7)
            axes.grid(alpha=0.3)
    handles: dict[str, Any] = {}
    for axes in grid.flat:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    ordered = sorted(handles)
    figure.legend([handles[k] for k in ordered], ordered, loc="upper right", fontsize="x-small")
    figure.subplots_adjust(
        left=0.06, right=1 - 2.3 / figure.get_figwidth(), bottom=0.03, top=0.97, hspace=0.45
    )
    return svg_text(figure)

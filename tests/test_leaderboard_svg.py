"""The leaderboard's SVG text: deterministic, compact, and its text left as drawn."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

from matplotlib import rc_context
from matplotlib.figure import Figure

from saw_bench.leaderboard._plots import (
    SVG_FONTS,
    _path_data,
    _style,
    _without_bare_groups,
    svg_text,
)

SVG = "{http://www.w3.org/2000/svg}"


def figure() -> Figure:
    drawn = Figure(figsize=(3, 2))
    axes = drawn.subplots()
    axes.plot([0.0, 1.0 / 3.0, 1.0], [0.123456, 0.987654, 0.5])
    axes.set_title("score 0.12345")
    return drawn


def test_svg_is_valid_deterministic_and_keeps_its_text():
    text = svg_text(figure())
    assert text == svg_text(figure())
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    shown = ["".join(element.itertext()) for element in root.iter() if element.tag.endswith("text")]
    assert "score 0.12345" in shown  # text content is never rounded


def test_coordinates_have_at_most_two_decimals_and_lines_no_indent():
    text = svg_text(figure())
    tags = re.findall(r"<[^>]*>", text)
    assert tags and not any(re.search(r"\d\.\d{3}", tag) for tag in tags)
    assert not re.search(r"\n ", text)
    assert "'DejaVu Sans', sans-serif" in text and "Bitstream" not in text


def test_path_data_and_styles_lose_only_spaces_and_trailing_zeros():
    assert _path_data("M 0 259.20 \nL 1123.2 259.2 \nL -3.50 0.05 \nL 10.0 100 \nz\n") == (
        "M0 259.2L1123.2 259.2L-3.5 0.05L10 100z"
    )
    assert _style("fill: none; stroke: #b0b0b0; font-family: 'DejaVu Sans', sans-serif") == (
        "fill:none;stroke:#b0b0b0;font-family:'DejaVu Sans', sans-serif"
    )
    text = svg_text(figure())
    assert "<metadata>" not in text and '<g id="' not in text
    assert not re.search(r' d="[^"]*\n', text)  # every path's data on one line


def _drawn(text: str) -> list[tuple[str, str, str]]:
    """Every SVG element but the groups and the metadata, in document order: its tag, its text
    (for a text element) and its style, whether written on it or in the class it names."""
    root = ET.fromstring(text)
    for metadata in root.findall(f"{SVG}metadata"):
        root.remove(metadata)
    sheet = "".join(element.text or "" for element in root.iter(f"{SVG}style"))
    classes = dict(re.findall(r"\.([\w-]+)\{([^}]*)\}", sheet))
    return [
        (
            element.tag,
            element.text.strip() if element.tag == f"{SVG}text" else "",
            _style(element.get("style") or classes.get(element.get("class", ""), "")),
        )
        for element in root.iter()
        if element.tag != f"{SVG}g"
    ]


def test_bare_groups_rotations_and_repeated_styles_go_and_every_element_keeps_its_style():
    drawn = figure()
    raw = io.StringIO()
    with rc_context({"svg.fonttype": "none", **SVG_FONTS}):
        drawn.savefig(raw, format="svg")
    text = svg_text(drawn)
    assert "<g>" not in text and "</g>" not in text  # matplotlib's groups here have no attribute
    assert "rotate(-0 " not in text and "rotate(-0 " in raw.getvalue()
    assert text.count(' class="') > 10  # the ticks' and grid lines' repeated styles
    assert _drawn(text) == _drawn(raw.getvalue()[raw.getvalue().index("<svg") :])


def test_a_group_with_attributes_keeps_its_tags_around_its_own_children():
    text = _without_bare_groups(
        '<g>\n<g clip-path="url(#a)">\n<g>\n<path/>\n</g>\n</g>\n<text>x</text>\n</g>\n'
    )
    assert text == '<g clip-path="url(#a)">\n<path/>\n</g>\n<text>x</text>\n'

"""Small pieces of text shared by the leaderboard's pages: p-values, intervals, the
multiplicity note, and Markdown escaped for a table or turned into HTML."""

from __future__ import annotations

import html
import re
from typing import Any

from saw_bench.leaderboard._findings import CORRECTION_CONTROLS, CORRECTION_NAMES

#: Short names of the corrections, for table headers.
SHORT = {"holm": "Holm", "bh": "BH"}


def p_text(value: float) -> str:
    """A p-value as the pages show it: 3 decimals, or "<0.001"."""
    return "<0.001" if value < 0.0005 else f"{value:.3f}"


def p_pair(test: dict[str, Any], correction: str) -> str:
    """Raw and adjusted p-value side by side: "p 0.012, Holm-adjusted 0.130"."""
    adjusted = CORRECTION_NAMES[correction]
    return f"p {p_text(test['p_value'])}, {adjusted}-adjusted {p_text(test['p_adjusted'])}"


def multiplicity_note(data: dict[str, Any]) -> str:
    """Which correction, over which families, and what an outcome needs."""
    multiplicity = data["multiplicity"]
    correction, families = multiplicity["correction"], multiplicity["families"]
    method = {"holm": "Holm's method", "bh": "the Benjamini-Hochberg procedure"}[correction]
    hypervolume = families.get("hypervolume_vs_static")
    hypervolume_text = (
        f", the {hypervolume} hypervolume comparisons against static" if hypervolume else ""
    )
    return (
        f"Multiplicity: each family of verdicts is corrected by {method} "
        f"({CORRECTION_CONTROLS[correction]} at {multiplicity['alpha']:g}): the "
        f"{families['saw_vs_static']} SAW-versus-static comparisons, the "
        f"{families['agent_vs_saw']} comparisons of another agent against SAW"
        f"{hypervolume_text} and the "
        f"{families['sensitivity']} weight-sensitivity tests (two per check), each family over "
        "the whole board. Every verdict shows its raw p-value (two-sided paired t-test on the "
        "per-seed differences) and its adjusted one; a win, a loss or a sensitive check counts "
        f"only when the adjusted p-value is below {multiplicity['alpha']:g}. The 95% paired t "
        "intervals of these differences are not adjusted, so one may exclude 0 where the "
        "outcome is a tie."
    )


def markdown_text(text: str) -> str:
    """``text`` safe in a Markdown table cell."""
    return html.escape(text.replace("\n", " "), quote=False).replace("|", "\\|")


def signed(interval: dict[str, float]) -> str:
    """``+0.012 [-0.004, +0.028]``."""
    return f"{interval['mean']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def markdown_to_html(text: str) -> str:
    """Code spans and links, the Markdown the page's fixed texts use."""
    text = re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', text)

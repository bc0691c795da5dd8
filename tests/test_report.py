"""The HTML report and the plots: one self-contained page, escaped run data, decodable PNGs."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import pytest
from test_analysis import hand_made_sweep, write_run

from saw_bench.core.errors import SawBenchError
from saw_bench.harness.analysis import compare
from saw_bench.harness.plots import plot_comparison, plot_run
from saw_bench.harness.report import report_command, write_report
from saw_bench.harness.runs import load_runs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The parts of a page the tests look at: table rows, tags, image sources, text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def decode_png(source: str):
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix)
    data = base64.b64decode(source[len(prefix) :], validate=True)
    assert data.startswith(PNG_SIGNATURE)
    return matplotlib.image.imread(io.BytesIO(data), format="png")


@pytest.fixture
def report(tmp_path):
    root = hand_made_sweep(tmp_path / "sweep")
    write_run(root / "runs" / "saw-s3", "saw", 3, [(0, 0.3)], steps=4, finished=False)
    path = write_report([root], tmp_path / "out" / "report.html")
    return path.read_text()


def test_report_has_a_row_per_agent_in_both_tables(report):
    page = Page(report)
    rows = [row for table in page.tables for row in table]
    static_scores = [
        "static",
        "2",
        "0.500 [0.500, 0.500]",
        "5.000 [5.000, 5.000]",
        "0.500 [0.500, 0.500]",
    ]
    assert any(row[:5] == static_scores for row in rows)
    saw_efficiency = ["saw", "0.470", "2/3", "20 [20, 20]", "40.0 [40.0, 40.0]"]
    assert any(row[:5] == saw_efficiency for row in rows)
    assert any(row[0].endswith("saw-s3") and "no summary.json" in row[1] for row in rows)


def test_report_embeds_decodable_pngs_and_nothing_external(report):
    page = Page(report)
    # objective curves, aggregate, weights for the one task and estimator
    assert len(page.images) == 3
    for source in page.images:
        pixels = decode_png(source)
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert "script" not in page.tags and "link" not in page.tags
    for tag, name, value in page.attributes:
        if name in ("src", "href"):
            assert value.startswith("data:"), (tag, name, value)
    assert "http://" not in report and "https://" not in report


def test_report_has_definitions_configs_and_a_title(report):
    page = Page(report)
    text = " ".join(page.text)
    assert "saw-bench report" in text
    for term in (
        "normalised score",
        "aggregate",
        "threshold",
        "steps to threshold",
        "AUC",
        "weighting overhead",
        "censored",
    ):
        assert term in text
    assert page.tags.count("details") == 5  # one per finished run
    assert '"weighting": "saw"' in text  # configs shown as JSON


def test_text_from_run_files_is_escaped(tmp_path):
    hostile = "<script>alert(1)<script>"
    write_run(tmp_path / f"runs{hostile}", "static", 0, [(0, 0.2), (10, 0.5)])
    write_run(tmp_path / "agent", f"saw{hostile}", 0, [(0, 0.2), (10, 0.6)])
    write_run(tmp_path / f"unfinished{hostile}", "saw", 1, [(0, 0.2)], finished=False)
    report = write_report([tmp_path], tmp_path / "report.html").read_text()
    assert "<script" not in report.lower()
    assert "&lt;script&gt;alert(1)&lt;script&gt;" in report
    page = Page(report)
    assert "script" not in page.tags
    text = "".join(page.text)
    assert f"runs{hostile}" in text  # config section: the folder name, shown as text
    assert f"saw{hostile}" in text  # table: the agent name, shown as text
    assert f"unfinished{hostile}" in text  # skipped runs


def test_write_report_accepts_a_ready_comparison(tmp_path):
    comparison = compare(load_runs(hand_made_sweep(tmp_path / "sweep")))
    path = write_report(comparison, tmp_path / "report.html")
    assert "20 [20, 20]" in path.read_text()


def test_report_command_writes_and_says_where(tmp_path):
    root = hand_made_sweep(tmp_path / "sweep")
    line = report_command([str(root)], str(tmp_path / "r.html"))
    assert line == f"report: {tmp_path / 'r.html'} (5 runs in 2 groups, 0 skipped)"
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


def test_report_command_writes_into_a_new_folder_of_its_own_or_out(tmp_path, monkeypatch):
    root = hand_made_sweep(tmp_path / "sweep")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path)
    line = report_command([str(root)])
    (folder,) = (tmp_path / "reports").iterdir()
    assert folder.name.startswith("report-")
    assert line.startswith(f"report: {Path('reports') / folder.name / 'report.html'} (5 runs")
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    report_command([str(root)], out=tmp_path / "mine")
    assert (tmp_path / "mine" / "report.html").is_file()
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_report_command_errors_name_the_bad_value(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SawBenchError, match="no run folders .* under .*empty"):
        report_command([str(tmp_path / "empty")], str(tmp_path / "r.html"))
    root = hand_made_sweep(tmp_path / "sweep")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SawBenchError, match="cannot write .*a-file/r.html: .*a-file is not a"):
        report_command([str(root)], str(tmp_path / "a-file" / "r.html"))


def test_plot_comparison_stacks_one_block_per_task_and_estimator(tmp_path):
    one = compare(load_runs(hand_made_sweep(tmp_path / "sweep")))
    write_run(
        tmp_path / "sweep" / "runs" / "gdpo", "static", 0, [(0, 0.1), (10, 0.3)], estimator="gdpo"
    )
    two = compare(load_runs(tmp_path / "sweep"))
    single = decode_png_file(plot_comparison(one, tmp_path / "one.png"))
    double = decode_png_file(plot_comparison(two, tmp_path / "two.png"))
    assert double.shape[1] == single.shape[1]
    assert double.shape[0] == pytest.approx(2 * single.shape[0], rel=0.05)


def decode_png_file(path: Path):
    return decode_png("data:image/png;base64," + base64.b64encode(path.read_bytes()).decode())


# ---------------------------------------------------------------------- one run
def test_plot_run_writes_curves_png_in_the_run_folder(tmp_path):
    folder = write_run(tmp_path / "run", "saw", 0, [(0, 0.2), (10, 0.4), (20, 0.6)])
    path = plot_run(folder)
    assert path == folder / "curves.png"
    assert decode_png_file(path).shape[0] > 100


def test_plot_run_works_on_a_run_in_progress(tmp_path):
    folder = write_run(tmp_path / "run", "saw", 0, [(0, 0.2)], finished=False)
    (folder / "metrics.jsonl").unlink()
    (folder / "eval.jsonl").write_text('{"step": 0, "wall_sec')  # torn first row
    assert decode_png_file(plot_run(folder)).shape[0] > 100


def test_plot_run_takes_dollar_signs_in_names_as_text(tmp_path):
    folder = write_run(tmp_path / "run", "saw$x^2$$", 0, [(0, 0.2), (10, 0.3)])
    config = json.loads((folder / "config.json").read_text())
    config["task_id"] = "saw/$Money-v0"
    (folder / "config.json").write_text(json.dumps(config))
    assert plot_run(folder).is_file()


def test_score_axes_span_the_objectives_bounds_so_small_moves_look_small(tmp_path):
    from saw_bench.harness.plots import comparison_figure

    figure = comparison_figure(compare(load_runs(hand_made_sweep(tmp_path / "sweep"))))
    limits = {
        axes.get_title(): tuple(round(value, 9) for value in axes.get_ylim())
        for axes in figure.axes
        if axes.get_title().endswith("(held-out)")
    }
    # a in [0, 1], b in [0, 10], the aggregate in [0, 1], each with 3% margins
    assert limits == {
        "a (held-out)": (-0.03, 1.03),
        "b (held-out)": (-0.3, 10.3),
        "normalised aggregate (held-out)": (-0.03, 1.03),
    }


def test_the_report_says_dashed_threshold_only_when_the_line_is_drawn(tmp_path):
    runs = load_runs(hand_made_sweep(tmp_path / "sweep")).runs
    with_static = write_report(compare(runs), tmp_path / "a.html").read_text()
    assert "dashed: threshold 0.470" in with_static  # 0.2 + 0.9 x (0.5 - 0.2)
    only_saw = [run for run in runs if run.agent == "saw"]
    assert "dashed:" not in write_report(compare(only_saw), tmp_path / "b.html").read_text()

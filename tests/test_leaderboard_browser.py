"""The generated leaderboard page in a real headless browser (Debian's chromium, driven by
selenium with the system chromedriver; nothing is downloaded): the table renders the numbers,
and clicking a column header sorts the rows by it."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest
from leaderboard_runs import expected_final_normalised, write_protocols, write_sweep

from saw_bench.leaderboard import build, submit

INSTALL = (
    "the browser test needs Debian's chromium and its driver: "
    "apt-get install -y chromium chromium-driver (see .ci/run), and selenium: "
    "pip install -e '.[test]'"
)
AGENTS = ("static", "saw", "mgda")


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(INSTALL)
    binary = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.fail(f"chromium or chromedriver not found on PATH; {INSTALL}")
    os.environ["SE_OFFLINE"] = "true"  # selenium must never try to download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("page")
    write_sweep(base / "sweep", agents=AGENTS)
    submit(base / "sweep", "Browser grid", "tests", base / "leaderboard/submissions")
    write_protocols(base / "leaderboard")
    assert build(base / "leaderboard") == []
    return base / "leaderboard" / "index.html"


#: The task's ranked table (the findings section has tables of its own).
TASK_HEADERS = 'table[id^="table-"] thead th'


def _column(driver, header: str) -> list[str]:
    from selenium.webdriver.common.by import By

    headers = [th.text.rstrip(" ▲▼") for th in driver.find_elements(By.CSS_SELECTOR, TASK_HEADERS)]
    index = headers.index(header)
    rows = driver.find_elements(By.CSS_SELECTOR, 'table[id^="table-"] tbody tr')
    return [row.find_elements(By.TAG_NAME, "td")[index].text for row in rows]


def _click(driver, header: str) -> None:
    from selenium.webdriver.common.by import By

    for th in driver.find_elements(By.CSS_SELECTOR, TASK_HEADERS):
        if th.text.rstrip(" ▲▼") == header:
            th.click()
            return
    raise AssertionError(f"no column {header!r}")


def test_page_shows_the_ranked_table_and_sorts_by_clicked_column(browser, page: Path):
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    means = {
        agent: sum(expected_final_normalised(agent, s) for s in (0, 1, 2)) / 3 for agent in AGENTS
    }
    ranked = sorted(AGENTS, key=lambda agent: -means[agent])
    assert _column(browser, "agent") == ranked
    assert _column(browser, "rank") == ["1", "2", "3"]
    shown = [cell.split()[0] for cell in _column(browser, "normalised")]
    assert shown == [f"{means[agent]:.3f}" for agent in ranked]

    _click(browser, "normalised")  # ascending
    assert _column(browser, "agent") == ranked[::-1]
    _click(browser, "normalised")  # descending
    assert _column(browser, "agent") == ranked
    _click(browser, "agent")  # text, ascending
    assert _column(browser, "agent") == sorted(AGENTS)

    verdict = browser.find_element(By.ID, "verdict").text
    assert verdict.startswith("Yes: SAW beat static weights")
    plot = browser.find_element(By.CSS_SELECTOR, "figure svg")
    assert plot.size["width"] > 100 and plot.size["height"] > 100


def test_committed_page_fits_a_1280_px_window_and_links_its_findings(browser):
    """The committed board (many columns, long names) needs no sideways scrolling at 1280 px,
    and the link to the findings is a link, not Markdown text."""
    from selenium.webdriver.common.by import By

    page = Path(__file__).resolve().parents[1] / "leaderboard" / "index.html"
    browser.set_window_size(1280, 900)
    browser.get(page.as_uri())
    viewport = browser.execute_script("return document.documentElement.clientWidth")
    widths = [table.size["width"] for table in browser.find_elements(By.CSS_SELECTOR, "table")]
    assert widths and max(widths) <= viewport, (max(widths), viewport)
    assert "[FINDINGS.md](FINDINGS.md)" not in browser.find_element(By.TAG_NAME, "body").text
    link = browser.find_element(By.CSS_SELECTOR, 'a[href="FINDINGS.md"]')
    assert link.text == "FINDINGS.md"
    protocols = browser.find_elements(By.CSS_SELECTOR, "p.protocol")
    expected = tomllib.loads((page.parent / "protocols.toml").read_text())
    assert len(protocols) == len(expected) and all(
        "Protocol (what a ranked entry used)" in p.text for p in protocols
    )


def _shown(element) -> bool:
    return element.is_displayed() and element.size["width"] > 100 and element.size["height"] > 100


def _loaded(browser, image) -> bool:
    """A shown ``<img>`` whose file the browser found and decoded (a missing or broken file
    has no natural width)."""
    decoded = browser.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth", image
    )
    return _shown(image) and bool(decoded)


def test_findings_lead_with_the_suite_verdict_then_the_asynchrony_plot(browser, page: Path):
    """One verdict line per agent, its table, the performance profiles; then the asynchrony
    plot; then the per-setting tables and the Pareto plots with the hypervolume table."""
    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 900)
    browser.get(page.as_uri())
    lines = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#suite-verdicts li")]
    assert [line.split(":")[0] for line in lines] == ["mgda", "saw"]
    assert all(" across the suite (P(" in line for line in lines)
    assert all(
        "Bonferroni-adjusted" in line and "95% stratified bootstrap" in line for line in lines
    )
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#suite-table th")]
    assert any("stratified bootstrap, Bonferroni over 2 agents" in h for h in headers)
    for figure in ("performance-profiles", "asynchrony-plot", "pareto-plots"):
        assert _loaded(browser, browser.find_element(By.CSS_SELECTOR, f"#{figure} img")), figure
    tops = [
        browser.find_element(By.ID, element).location["y"]
        for element in ("suite-verdict", "asynchrony", "findings-0", "pareto")
    ]
    assert tops == sorted(tops)
    rows = browser.find_elements(By.CSS_SELECTOR, "#hypervolume-table tbody tr")
    agents = [row.find_elements(By.TAG_NAME, "td")[2].text for row in rows]
    assert agents == ["mgda", "saw", "static"]
    agent_header = browser.find_elements(By.CSS_SELECTOR, "#hypervolume-table th")[2]
    agent_header.click()  # ascending, by the cells' text (these cells carry no sort key)
    agent_header.click()  # descending
    rows = browser.find_elements(By.CSS_SELECTOR, "#hypervolume-table tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[2].text for row in rows] == agents[::-1]
    fit = browser.find_element(By.ID, "asynchrony-fit").text
    assert "too few for a fitted slope" in fit  # one comparison on this board


def test_committed_findings_show_a_verdict_per_agent_and_the_fitted_slope(browser):
    """The committed board: a verdict line per agent tested, the slope with its interval, and
    Summarize-Synth's undefined index said to be left out."""
    from selenium.webdriver.common.by import By

    page = Path(__file__).resolve().parents[1] / "leaderboard" / "index.html"
    browser.set_window_size(1280, 900)
    browser.get(page.as_uri())
    lines = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#suite-verdicts li")]
    assert len(lines) >= 2 and "saw" in [line.split(":")[0] for line in lines]
    verdicts = {line.split(": ")[1].split(" across")[0] for line in lines}
    assert verdicts <= {"better", "worse", "no difference"}
    fit = browser.find_element(By.ID, "asynchrony-fit").text
    assert "ordinary least-squares slope" in fit and "95% Student t interval" in fit
    assert "Left out, index undefined on every seed" in fit and "Summarize-Synth" in fit
    for figure in ("performance-profiles", "asynchrony-plot", "pareto-plots"):
        assert _loaded(browser, browser.find_element(By.CSS_SELECTOR, f"#{figure} img")), figure


def test_a_report_says_dashed_threshold_only_where_its_plot_draws_one(browser, tmp_path):
    """The report of a comparison without static runs has no threshold line, and its caption
    no longer claims one; with static runs the caption gives the threshold drawn."""
    from selenium.webdriver.common.by import By
    from test_analysis import hand_made_sweep

    from saw_bench.harness.analysis import compare
    from saw_bench.harness.report import write_report
    from saw_bench.harness.runs import load_runs

    runs = load_runs(hand_made_sweep(tmp_path / "sweep")).runs
    captions = {}
    for label, chosen in (("all", runs), ("saw only", [r for r in runs if r.agent == "saw"])):
        page = write_report(compare(chosen), tmp_path / f"{label}.html")
        browser.get(page.as_uri())
        captions[label] = [c.text for c in browser.find_elements(By.TAG_NAME, "figcaption")]
    aggregate = "Normalised aggregate (mean over seeds, 95% band)"
    assert f"{aggregate}; dashed: threshold 0.470" in captions["all"]  # 0.2 + 0.9 x 0.3
    assert aggregate in captions["saw only"]
    assert not any("dashed" in caption for caption in captions["saw only"])

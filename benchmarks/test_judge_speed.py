"""Summaries scored per second by each judge of the summarisation tasks (pytest-benchmark).

Run with ``python -m pytest benchmarks/test_judge_speed.py --benchmark-enable --benchmark-only
-s``. Each benchmark scores the same batch of distinct completions for Summarize-TLDR's example
posts (the author's TL;DR with a suffix, a shortened one, a long rambling one, the post pasted
back) and records ``completions_per_second`` in the benchmark's extra info.

The ``llm`` judge talks to a stand-in OpenAI-compatible server on 127.0.0.1 answering every
request at once (``llm``: the judge's own overhead per request, HTTP included, cache off) or
after 50 ms (``llm_50ms``: a fast real endpoint; 8 requests in flight), and ``llm_cached`` scores
a batch whose judgments are all in the disk cache already. Two requests per completion.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from saw_bench.envs.summarize.tldr import SummarizeTLDRTask

BATCH = 256


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.server.latency_seconds)
        payload = json.dumps(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": "7"}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def stand_in():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.latency_seconds = 0.0
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def completions_for(items) -> list[str]:
    completions = []
    for index in range(BATCH):
        item = items[index % len(items)]
        kind = index % 4
        if kind == 0:
            completions.append(f"TL;DR: {item['reference']} ({index})")
        elif kind == 1:
            completions.append(" ".join(item["reference"].split()[:6]) + f" {index}")
        elif kind == 2:
            completions.append(f"TL;DR: so basically {index} " + item["post"][:300])
        else:
            completions.append(item["post"] + f" {index}")
    return completions


@pytest.mark.parametrize("judge", ["reference", "embedding", "llm", "llm_50ms", "llm_cached"])
def test_completions_scored_per_second(benchmark, judge, stand_in, tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    data_kwargs = SummarizeTLDRTask.example_kwargs(tmp_path / "data")
    judge_kwargs = None
    if judge.startswith("llm"):
        stand_in.latency_seconds = 0.05 if judge == "llm_50ms" else 0.0
        judge_kwargs = {
            "model": "stand-in",
            "base_url": f"http://127.0.0.1:{stand_in.server_address[1]}/v1",
            "cache_dir": str(tmp_path / "cache"),
            "cache": judge == "llm_cached",
        }
    task = SummarizeTLDRTask(judge=judge.split("_")[0], judge_kwargs=judge_kwargs, **data_kwargs)
    items = [task.split("train")[index % 6] for index in range(BATCH)]
    completions = completions_for(task.split("train"))
    task.score(items[:8], completions[:8])  # warm-up: loads the embedding model once
    if judge == "llm_cached":
        task.score(items, completions)  # fill the cache
    rounds = 3 if judge in ("embedding", "llm_50ms") else 5
    scores = benchmark.pedantic(task.score, (items, completions), rounds=rounds, iterations=1)
    assert scores.shape == (BATCH, 2)
    if benchmark.stats is not None:  # None when benchmarks are disabled (plain test runs)
        mean_seconds = benchmark.stats.stats.mean
        benchmark.extra_info["completions_per_second"] = round(BATCH / mean_seconds)
        print(f"\n{judge}: {BATCH / mean_seconds:,.0f} completions/s")

"""Summarization: Reddit TL;DR-style posts, objectives quality [0, 10] and conciseness [0, 10]."""

from saw_bench.core.registry import register

register(
    id="saw/Summarize-Synth-v1",
    task="saw_bench.envs.summarize.task:SummarizeSynthV1Task",
    alias="summarize",
    description="procedural Reddit-style posts to summarize in one TL;DR line of 8 words",
)
register(
    id="saw/Summarize-Synth-v0",
    task="saw_bench.envs.summarize.task:SummarizeSynthTask",
    description="Summarize-Synth with a 20-word budget every reference fits (the board's records)",
    former_aliases=("summarize",),
)
register(
    id="saw/Summarize-TLDR-v0",
    task="saw_bench.envs.summarize.tldr:SummarizeTLDRTask",
    description="Reddit TL;DR posts (trl-lib/tldr, or a local copy: data_path=)",
)

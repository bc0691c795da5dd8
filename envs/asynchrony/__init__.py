"""Asynchrony: K requirements learnt at dialled speeds (codebook lookups), optional reward noise."""

from saw_bench.core.registry import register

register(
    id="saw/Async-K2-v0",
    task="saw_bench.envs.asynchrony.task:AsyncTask",
    alias="async-k2",
    description="two codebook lookups, 2 and 8 keys: one is learnt early, one lags",
    k=2,
)
register(
    id="saw/Async-K4-v0",
    task="saw_bench.envs.asynchrony.task:AsyncTask",
    alias="async-k4",
    description="four codebook lookups, 2 to 16 keys: objectives learnt at four speeds",
    k=4,
)
register(
    id="saw/Async-K2-Noisy-v0",
    task="saw_bench.envs.asynchrony.task:AsyncTask",
    alias="async-k2-noisy",
    description="Async-K2 with zero-mean noise (0.3) on the fast objective's training reward",
    k=2,
    noise={"req1": 0.3},
)
register(
    id="saw/Async-K4-Noisy-v0",
    task="saw_bench.envs.asynchrony.task:AsyncTask",
    alias="async-k4-noisy",
    description="Async-K4 with zero-mean noise (0.3) on the fastest objective's training reward",
    k=4,
    noise={"req1": 0.3},
)

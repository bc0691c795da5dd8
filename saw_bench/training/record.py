"""Record: one ``metrics.jsonl`` row per step, and what the user sees while a run goes on.

A row holds the step, wall-clock and token counts, the torch threads, seconds per phase, the
update's loss, KL and clip fraction, and per objective the batch mean, std, coefficient of
variation, weight and advantage share (see :func:`objective_stats`).

Progress goes to a tqdm bar on a terminal, with each held-out evaluation printed above it as a
line of its own; with no terminal (output piped to a log, a batch job) it is one plain line
every ``log_every`` steps and one per held-out evaluation, so a log shows the run moving.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from saw_bench.core.errors import SawBenchError
from saw_bench.core.scores import group_normalise
from saw_bench.weighting import coefficient_of_variation


def objective_stats(
    rewards: np.ndarray,
    group_ids: np.ndarray,
    weights: np.ndarray,
    names: Sequence[str],
    low: np.ndarray,
) -> dict[str, dict[str, float]]:
    """Per objective: batch mean, std, coefficient of variation (after shifting by the lower
    bound, as SAW does), weight and advantage share.

    The advantage share of objective k is mean_i |w_k z_ik| / sum_l mean_i |w_l z_il|, where z
    is the group-normalised reward: how much of the step's learning signal comes from k.
    """
    normalised = np.abs(group_normalise(rewards, group_ids) * weights)
    contribution = normalised.mean(axis=0)
    total = contribution.sum()
    cvs = coefficient_of_variation(rewards, low)
    stats = {}
    for k, name in enumerate(names):
        column = rewards[:, k]
        stats[name] = {
            "mean": float(column.mean()),
            "std": float(column.std(ddof=1)) if len(column) > 1 else 0.0,
            "cv": float(cvs[k]),
            "weight": float(weights[k]),
            "advantage_share": float(contribution[k] / total) if total > 0 else 0.0,
        }
    return stats


def objectives_text(stats: dict[str, dict[str, float]], names: Sequence[str]) -> str:
    """``format=0.71(w0.50) correctness=-1.20(w1.50)``: batch means and weights."""
    return " ".join(f"{n}={stats[n]['mean']:.2f}(w{stats[n]['weight']:.2f})" for n in names)


class Progress:
    """A tqdm bar when both stdout and stderr are terminals, otherwise plain lines on
    ``stream`` (stdout): ``step 12/40 format=... loss 0.012 5.8 s/step``, every ``log_every``
    steps and at the last. Each held-out evaluation is one line on ``stream`` either way
    (``eval @ step 12: format=0.800 ... aggregate=0.412``); under a bar it goes through
    ``tqdm.write``, which lifts the bar over it. ``enabled=False``: silent."""

    def __init__(
        self,
        total: int,
        initial: int,
        names: Sequence[str],
        *,
        enabled: bool,
        log_every: int = 1,
        stream: TextIO | None = None,
    ) -> None:
        check_log_every(log_every)
        self.total, self.names, self.log_every = total, tuple(names), log_every
        self.stream = stream if stream is not None else sys.stdout
        self.enabled = enabled
        self.bar = None
        if enabled and _is_terminal(self.stream) and _is_terminal(sys.stderr):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc="training", unit="step")

    def step(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        text = objectives_text(row["objectives"], self.names)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(text)
            return
        step = row["step"]
        if step % self.log_every == 0 or step == self.total:
            self._line(
                f"step {step}/{self.total} {text} loss {row['loss']:.4f} "
                f"{row['seconds']['total']:.1f} s/step"
            )

    def evaluation(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        scores = " ".join(f"{name}={row['objectives'][name]:.3f}" for name in self.names)
        self._line(f"eval @ step {row['step']}: {scores} aggregate={row['normalised']:.3f}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)  # clears the bar, prints, redraws it
            self.stream.flush()
        else:
            print(text, file=self.stream, flush=True)


def check_log_every(log_every: object) -> None:
    """``log_every`` comes from the CLI (``--log-every``): a SawBenchError when not >= 1."""
    if not isinstance(log_every, int) or isinstance(log_every, bool) or log_every < 1:
        raise SawBenchError(f"log_every must be a positive integer, but got {log_every!r}")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False

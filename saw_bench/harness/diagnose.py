"""How asynchronously a run's objectives are learned: the asynchrony index.

SAW's premise (Stage-Aware Dynamic Weighting, arXiv 2606.07705) is that objectives are learned
at different speeds, so a fixed weighting keeps spending updates on one that is already
learned. The index measures that on a run's own held-out curves, in its own units (steps):

- each objective's curve is normalised by its bounds, ``s_k(t) = (x_k(t) - low_k) / (high_k -
  low_k)``, and its gain is ``g_k = s_k(last) - s_k(first)``;
- an objective with a gain of at least :data:`MIN_GAIN` is *learned*; its time to 90% is the
  first evaluation step ``T_k`` with ``s_k(t) >= s_k(first) + 0.9 g_k`` (the board's threshold
  rule, "first score plus 90% of the gain", applied per objective);
- the **asynchrony index** is ``(max_k T_k - min_k T_k) / steps`` over the learned objectives:
  0 when they reach 90% of their gains at the same evaluation, near 1 when one is done at the
  start and another only at the end. With fewer than two learned objectives it is undefined.

The spread of times to a threshold is chosen over the trajectory of the CV ratio because it
reads from the held-out curves every run folder has (ours and the TRL backend's alike), needs
no training statistics, and is in steps, so two runs of any length compare as fractions of
their training. Steps to a share of the gain is the sample-efficiency convention of RL
evaluations (time to threshold; e.g. Henderson et al., "Deep Reinforcement Learning that
Matters", AAAI 2018); here it is taken per objective and its spread is the index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from saw_bench.core.errors import SawBenchError
from saw_bench.harness.runs import Run, load_run
from saw_bench.harness.statistics import first_reaching

#: Share of an objective's gain that counts as learned.
GAIN_FRACTION = 0.9
#: Smallest normalised gain of a learned objective (below it the curve is flat or falls).
MIN_GAIN = 0.01


@dataclass(frozen=True)
class ObjectiveCurve:
    """One objective's normalised held-out curve and when it reached 90% of its gain."""

    name: str
    steps: tuple[int, ...]
    values: tuple[float, ...]  # normalised to [0, 1] by the objective's bounds
    gain: float
    step_to_90: int | None  # None: not learned (gain below MIN_GAIN)


@dataclass(frozen=True)
class Diagnosis:
    """A run's asynchrony index (NaN when fewer than two objectives are learned) and curves."""

    path: Path
    steps: int
    index: float
    objectives: tuple[ObjectiveCurve, ...]

    def text(self) -> str:
        """The index, each objective's gain and step to 90%, and the curves, as a table."""
        learned = [o for o in self.objectives if o.step_to_90 is not None]
        if math.isnan(self.index):
            index = (
                f"asynchrony index: undefined ({len(learned)} of {len(self.objectives)} "
                f"objectives gained at least {MIN_GAIN:g}; it needs two)"
            )
        else:
            index = (
                f"asynchrony index: {self.index:.3f} (spread of the objectives' steps to 90% of "
                f"their gain, over {self.steps} steps)"
            )
        width = max(len("objective"), *(len(curve.name) for curve in self.objectives))
        lines = [f"{self.path}", index, "", f"{'objective':<{width}}   gain   step to 90%"]
        for curve in self.objectives:
            reached = "-" if curve.step_to_90 is None else str(curve.step_to_90)
            lines.append(f"{curve.name:<{width}}  {curve.gain:+.3f}   {reached}")
        names = [curve.name for curve in self.objectives]
        widths = [max(len(name), len("0.000")) for name in names]
        header = "  ".join(f"{name:>{w}}" for name, w in zip(names, widths, strict=True))
        lines += ["", "held-out curves (normalised 0-1):", "step  " + header]
        for row, step in enumerate(self.objectives[0].steps):
            cells = [
                f"{curve.values[row]:>{w}.3f}"
                for curve, w in zip(self.objectives, widths, strict=True)
            ]
            lines.append(f"{step:<5} " + "  ".join(cells))
        return "\n".join(lines)


def diagnose(run: Run | str | Path) -> Diagnosis:
    """The asynchrony index of a finished or running run folder (or a loaded :class:`Run`)."""
    if not isinstance(run, Run):
        run = load_run(run, finished=False)
    table = run.evaluations
    if len(table) < 2:
        raise SawBenchError(
            f"{run.path} has {len(table)} held-out evaluation(s); the asynchrony index needs at "
            "least two (a first and a later one)"
        )
    steps = [int(step) for step in table["step"]]
    curves = []
    for objective in run.objectives:
        span = objective.high - objective.low
        values = [(float(x) - objective.low) / span for x in table[objective.name]]
        gain = values[-1] - values[0]
        reached = None
        if gain >= MIN_GAIN:  # the last evaluation reaches the threshold, so a hit exists
            hit = first_reaching(values, values[0] + GAIN_FRACTION * gain)
            assert hit is not None
            reached = steps[hit]
        curves.append(ObjectiveCurve(objective.name, tuple(steps), tuple(values), gain, reached))
    times = [curve.step_to_90 for curve in curves if curve.step_to_90 is not None]
    length = steps[-1] - steps[0]
    index = (max(times) - min(times)) / length if len(times) >= 2 and length > 0 else math.nan
    return Diagnosis(Path(run.path), steps[-1], index, tuple(curves))


def diagnose_command(paths: list[str]) -> str:
    """``python -m saw_bench diagnose RUN...``: each run's index and curves."""
    if not paths:
        raise SawBenchError("give at least one run folder")
    return "\n\n".join(diagnose(path).text() for path in paths)

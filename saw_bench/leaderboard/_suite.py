"""One verdict per agent across the suite: interquartile mean, probability of improvement and
performance profiles of the final normalised score, with stratified bootstrap intervals, from
rliable (Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice",
NeurIPS 2021).

For an agent A (a name with its options; static with priorities is a sensitivity check, not an
agent), every setting (task, estimator, policy, training options) where a ranked A and a ranked
default static share at least :data:`MIN_SEEDS` seeds is one *task* of rliable's score
matrices, and its common seeds are the *runs*: ``scores[run, task]``, the final normalised
held-out score (0-1). Settings keep their first ``k`` common seeds, ``k`` the fewest over A's
settings, so the matrices are rectangular.

- ``IQM``: ``rliable.metrics.aggregate_iqm`` (the mean of the middle 50% of all runs x tasks)
  of A's and of static's matrices, each with a 95% stratified percentile bootstrap interval
  (runs resampled within each task; ``rliable.library.get_interval_estimates``).
- ``P(A > static)``: ``rliable.metrics.probability_of_improvement`` (per task, the
  Mann-Whitney U of A's runs against static's divided by their product, averaged over tasks),
  with a stratified bootstrap interval (each side's runs resampled within each task). The
  interval is Bonferroni-adjusted over the agents tested: level ``1 - 0.05 / m``, so the ``m``
  verdicts together hold at 95%.
- The verdict: *better* when that interval lies above 0.5, *worse* when below, else *no
  difference* across the suite.
- Performance profiles: the share of runs (all tasks) whose score exceeds each threshold
  ``tau`` (``rliable.library.create_performance_profile``), with 95% stratified bootstrap bands.

Every bootstrap draws :data:`RESAMPLES` resamples from numpy's global generator seeded with
:data:`SEED` (rliable's StratifiedBootstrap draws from it), restored afterwards, so a build
gives the same bytes every time, whether the agents are estimated one after the other or, on a
large board, in parallel processes (each agent's bootstraps are seeded on their own).
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from saw_bench.core.cpus import available_cpus
from saw_bench.core.errors import SawBenchError
from saw_bench.leaderboard._findings import (
    ALPHA,
    CONFIDENCE,
    agent_label,
    is_default_static,
    paired,
    rounded,
    setting_key,
)
from saw_bench.leaderboard._schema import Submission

#: Bootstrap resamples of every suite interval (the count rliable's README uses for the
#: probability of improvement).
RESAMPLES = 2_000
#: Seed of numpy's global generator during the bootstraps.
SEED = 0
#: Settings (summed over the agents) from which the agents are estimated in parallel
#: processes: each takes a few seconds to start (rliable, arch and scipy), and an agent's
#: bootstraps take about 2 s of CPU per setting (rliable's Mann-Whitney U, 2,000 times).
PARALLEL_FROM_SETTINGS = 24
#: Thresholds of the performance profiles (normalised score).
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(21))
BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no difference"


def rliable_modules() -> tuple[ModuleType, ModuleType]:
    """``(rliable.library, rliable.metrics)``.

    rliable 1.2.0 requires arch < 8 (arch 8 dropped the ``random_state`` keyword its bootstrap
    passes), and arch 7 imports a private pandas decorator whose first argument pandas 3 made
    the warning class: under pandas 3 ``import arch`` fails with a TypeError before rliable is
    reached. Then arch is imported once with that decorator called as arch 7 expects (a
    FutureWarning class in front), and the decorator is put back.
    """
    try:
        import arch  # noqa: F401
    except TypeError:
        for name in [n for n in sys.modules if n == "arch" or n.startswith("arch.")]:
            del sys.modules[name]
        decorators = importlib.import_module("pandas.util._decorators")
        original = decorators.deprecate_kwarg

        def arch7_deprecate_kwarg(old: str, new: str | None, *args: Any, **kwargs: Any) -> Any:
            return original(FutureWarning, old, new, *args, **kwargs)

        decorators.deprecate_kwarg = arch7_deprecate_kwarg
        try:
            import arch  # noqa: F401
        finally:
            decorators.deprecate_kwarg = original
    except ImportError:
        raise SawBenchError(
            "the leaderboard's cross-task verdict needs rliable: pip install 'saw-bench[findings]'"
        ) from None
    try:
        from rliable import library, metrics
    except ImportError:
        raise SawBenchError(
            "the leaderboard's cross-task verdict needs rliable: pip install 'saw-bench[findings]'"
        ) from None
    return library, metrics


@contextmanager
def seeded_bootstrap(seed: int = SEED) -> Iterator[np.random.RandomState]:
    """numpy's global generator seeded with ``seed`` (rliable's StratifiedBootstrap draws its
    indices from it), put back as it was on exit; yields a RandomState for arch."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            # arch 7 warns that a RandomState is deprecated in favour of a Generator
            warnings.simplefilter("ignore", FutureWarning)
            yield np.random.RandomState(seed)
    finally:
        np.random.set_state(state)


def score_matrices(
    submissions: Sequence[Submission],
) -> dict[str, dict[str, Any]]:
    """Per agent label: its settings, and its and static's ``(runs, tasks)`` score matrices."""
    statics: dict[str, Submission] = {}
    for submission in sorted(submissions, key=lambda s: s.id):
        if is_default_static(submission):
            statics.setdefault(setting_key(submission), submission)
    found: dict[str, list[tuple[str, list[int], Submission, Submission]]] = {}
    for submission in sorted(submissions, key=lambda s: s.id):
        if submission.agent.name == "static":  # static itself, or a sensitivity check
            continue
        static = statics.get(setting_key(submission))
        if static is None:
            continue
        pairs = paired(submission, static, lambda run: run.final_normalised)
        if pairs is None:
            continue
        name = f"{submission.task.env_id} {submission.estimator.upper()} {submission.model.name}"
        found.setdefault(agent_label(submission), []).append((name, pairs[0], submission, static))
    matrices = {}
    for label in sorted(found):
        settings = sorted(found[label], key=lambda item: item[0])
        runs = min(len(seeds) for _, seeds, _, _ in settings)

        def matrix(side: int, settings: list = settings, runs: int = runs) -> np.ndarray:
            columns = []
            for _, seeds, *pair in settings:
                by_seed = {run.seed: run.final_normalised for run in pair[side].runs}
                columns.append([by_seed[seed] for seed in seeds[:runs]])
            return np.array(columns, dtype=float).T

        matrices[label] = {
            "settings": [name for name, _, _, _ in settings],
            "seeds": runs,
            "agent": matrix(0),
            "static": matrix(1),
        }
    return matrices


def _interval(point: Any, bounds: Any) -> dict[str, float]:
    return {
        "mean": rounded(np.ravel(point)[0]),
        "low": rounded(np.ravel(bounds[0])[0]),
        "high": rounded(np.ravel(bounds[1])[0]),
    }


def verdict(probability: dict[str, float]) -> str:
    """*better* / *worse* / *no difference*: whether the interval of P(A > static) lies above,
    below or across 0.5."""
    if probability["low"] > 0.5:
        return BETTER
    if probability["high"] < 0.5:
        return WORSE
    return NO_DIFFERENCE


def suite_verdicts(submissions: Sequence[Submission], workers: int | None = None) -> dict[str, Any]:
    """The cross-task verdict of every agent against default static (see the module
    docstring), as the leaderboard stores it. The agents are estimated in ``workers``
    processes; by default one per available CPU when the board has at least
    :data:`PARALLEL_FROM_SETTINGS` agent settings, else in this process."""
    matrices = score_matrices(submissions)
    tested = len(matrices)
    jobs = [(found["agent"], found["static"], tested) for found in matrices.values()]
    if workers is None:
        settings = sum(len(found["settings"]) for found in matrices.values())
        workers = available_cpus() if settings >= PARALLEL_FROM_SETTINGS else 1
    workers = min(workers, len(jobs))
    if workers > 1:
        # spawned, not forked: the parent may hold torch's or BLAS's thread pools
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            estimates = list(pool.map(_estimates, jobs))
    else:
        estimates = [_estimates(job) for job in jobs]
    agents = [
        {
            "agent": label,
            "settings": found["settings"],
            "seeds": found["seeds"],
            **estimate,
        }
        for (label, found), estimate in zip(matrices.items(), estimates, strict=True)
    ]
    return {
        "resamples": RESAMPLES,
        "seed": SEED,
        "confidence": CONFIDENCE,
        "verdict_confidence": rounded(1 - ALPHA / tested if tested else CONFIDENCE),
        "tested": tested,
        "thresholds": list(THRESHOLDS),
        "agents": agents,
    }


def _estimates(job: tuple[np.ndarray, np.ndarray, int]) -> dict[str, Any]:
    return suite_estimates(*job)


def suite_estimates(
    agent: np.ndarray, static: np.ndarray, tested: int = 1, resamples: int = RESAMPLES
) -> dict[str, Any]:
    """IQMs (95%), P(agent > static) (at ``1 - 0.05 / tested``), the verdict and the
    performance profiles (95%) of one agent's and static's ``(runs, tasks)`` score matrices,
    from ``resamples`` stratified bootstrap resamples each."""
    library, metrics = rliable_modules()
    agent, static = np.asarray(agent, dtype=float), np.asarray(static, dtype=float)
    if agent.ndim != 2 or agent.shape[1] != static.shape[1]:
        raise ValueError(
            "suite_estimates needs (runs, tasks) matrices with the same tasks, but got shapes "
            f"{agent.shape} and {static.shape}"
        )

    def iqm(scores: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(scores)])

    def improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.array([metrics.probability_of_improvement(x, y)])

    scores = {"agent": agent, "static": static}
    with seeded_bootstrap() as random_state:
        points, bounds = library.get_interval_estimates(
            scores, iqm, reps=resamples, confidence_interval_size=CONFIDENCE,
            random_state=random_state,
        )  # fmt: skip
    with seeded_bootstrap() as random_state:
        probability_point, probability_bounds = library.get_interval_estimates(
            {"pair": (agent, static)}, improvement, reps=resamples,
            confidence_interval_size=1 - ALPHA / max(1, tested), random_state=random_state,
        )  # fmt: skip
    with seeded_bootstrap():
        profiles, bands = library.create_performance_profile(
            scores, np.array(THRESHOLDS), reps=resamples, confidence_interval_size=CONFIDENCE
        )
    probability = _interval(probability_point["pair"], probability_bounds["pair"])
    return {
        "iqm": _interval(points["agent"], bounds["agent"]),
        "static_iqm": _interval(points["static"], bounds["static"]),
        "probability_of_improvement": probability,
        "verdict": verdict(probability),
        "profile": {
            side: {
                "share": [rounded(v) for v in profiles[side]],
                "low": [rounded(v) for v in bands[side][0]],
                "high": [rounded(v) for v in bands[side][1]],
            }
            for side in ("agent", "static")
        },
    }

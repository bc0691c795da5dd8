"""Statistics over seeds: percentile-bootstrap intervals of means, per-step bands of curves, the
normalised area under a curve and the first step that reaches a threshold.

Every interval is reproducible: the resampled indices come from ``numpy.random.default_rng`` with
a fixed seed, so the same values always give the same interval.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

CONFIDENCE = 0.95
#: Bootstrap resamples for the per-step bands of the curves (the table uses 10,000).
BAND_RESAMPLES = 2_000
#: Upper bound on the number of values drawn at once by the bootstrap (memory bound).
_CHUNK_VALUES = 4_000_000


def bootstrap_ci(
    values: Sequence[float],
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``values`` and a percentile-bootstrap confidence interval of that mean.

    Returns ``(mean, low, high)``. ``resamples`` samples of len(values) values are drawn with
    replacement (indices from ``numpy.random.default_rng(seed).integers(0, n, (resamples, n))``);
    low and high are the (1 - confidence) / 2 and (1 + confidence) / 2 percentiles (numpy's
    linear interpolation) of the resampled means. The same inputs always give the same
    interval. One value gives ``(value, nan, nan)``: a single seed says nothing about the spread
    between seeds, so no interval is claimed. Identical values give a zero-width interval.

    Raises ValueError for no values, a NaN or infinite value, confidence outside (0, 1) or
    resamples < 1.
    """
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError("bootstrap_ci needs at least one value, but got none")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"bootstrap_ci needs finite values, but got {array.tolist()}")
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), but got {confidence!r}")
    if not (isinstance(resamples, int | np.integer) and resamples >= 1):
        raise ValueError(f"resamples must be a positive integer, but got {resamples!r}")
    mean = float(array.mean())
    if array.size == 1:
        return mean, math.nan, math.nan
    means = _resampled_means(array[:, None], int(resamples), seed)[:, 0]
    low, high = np.percentile(means, [50 * (1 - confidence), 50 * (1 + confidence)])
    return mean, float(low), float(high)


def _resampled_means(matrix: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Bootstrap means of the rows of ``matrix`` (seeds x columns): (resamples, columns).

    The same resampled seeds serve every column. NaN entries (a seed without that step) are
    left out of a resample's mean; a resample with none left is NaN.
    """
    rng = np.random.default_rng(seed)
    rows, columns = matrix.shape
    has_nan = bool(np.isnan(matrix).any())
    per_chunk = max(1, _CHUNK_VALUES // (rows * columns))
    means = np.empty((resamples, columns))
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        drawn = matrix[rng.integers(0, rows, size=(stop - start, rows))]
        if has_nan:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples -> NaN
                means[start:stop] = np.nanmean(drawn, axis=1)
        else:
            means[start:stop] = drawn.mean(axis=1)
    return means


def band(
    matrix: np.ndarray,
    confidence: float = CONFIDENCE,
    resamples: int = BAND_RESAMPLES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean over seeds (rows) with a percentile-bootstrap band; NaN = missing.

    Columns seen by a single seed get the value as mean and NaN as band.
    """
    matrix = np.asarray(matrix, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(matrix, axis=0)
        if matrix.shape[0] < 2:
            nan = np.full(matrix.shape[1], np.nan)
            return mean, nan, nan.copy()
        means = _resampled_means(matrix, resamples, seed)
        low, high = np.nanpercentile(means, [50 * (1 - confidence), 50 * (1 + confidence)], axis=0)
    single = np.sum(~np.isnan(matrix), axis=0) < 2
    low[single] = np.nan
    high[single] = np.nan
    return mean, low, high


def normalised_auc(steps: Sequence[float], values: Sequence[float]) -> float:
    """Trapezoidal area under (steps, values) divided by the step span; NaN for < 2 points."""
    steps_array = np.asarray(steps, dtype=float)
    values_array = np.asarray(values, dtype=float)
    if steps_array.size < 2 or steps_array[-1] == steps_array[0]:
        return math.nan
    return float(np.trapezoid(values_array, steps_array) / (steps_array[-1] - steps_array[0]))


def first_reaching(values: Sequence[float], threshold: float) -> int | None:
    """Index of the first value >= threshold, or None when the curve never gets there."""
    hits = np.flatnonzero(np.asarray(values, dtype=float) >= threshold)
    return int(hits[0]) if hits.size else None

"""Statistics over seeds: percentile-bootstrap intervals of means, paired t intervals of
per-seed differences, per-step bands of curves, the normalised area under a curve, the first
step that reaches a threshold, the minimum detectable effect of a paired comparison, the
multiplicity corrections of a family of p-values and a least-squares slope with its t interval.

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


def _checked(values: Sequence[float], confidence: float, what: str) -> np.ndarray:
    """``values`` as a flat float array, refused when empty or not finite, with ``confidence``
    in (0, 1)."""
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{what} needs at least one value, but got none")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} needs finite values, but got {array.tolist()}")
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), but got {confidence!r}")
    return array


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
    array = _checked(values, confidence, "bootstrap_ci")
    if not (isinstance(resamples, int | np.integer) and resamples >= 1):
        raise ValueError(f"resamples must be a positive integer, but got {resamples!r}")
    mean = float(array.mean())
    if array.size == 1:
        return mean, math.nan, math.nan
    means = _resampled_means(array[:, None], int(resamples), seed)[:, 0]
    low, high = np.percentile(means, [50 * (1 - confidence), 50 * (1 + confidence)])
    return mean, float(low), float(high)


def paired_t_ci(
    differences: Sequence[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean of per-seed paired ``differences`` and its Student t confidence interval.

    ``mean -/+ t_{(1+confidence)/2, n-1} * s / sqrt(n)``, ``s`` the sample standard deviation
    (ddof 1): the interval of a paired t-test, the test the minimum detectable effect
    (:func:`minimum_detectable_effect`) assumes. At the few seeds a benchmark affords it is the
    honest one: a percentile bootstrap of 5 values is narrower than its nominal level (it
    cannot reach beyond the values' range and ignores that ``s`` is itself estimated), so a
    verdict on a paired difference uses this interval. Returns ``(mean, low, high)``; one
    value gives ``(value, nan, nan)``. Raises ValueError for no values, a NaN or infinite
    value, or confidence outside (0, 1).
    """
    array = _checked(differences, confidence, "paired_t_ci")
    mean = float(array.mean())
    n = array.size
    if n == 1:
        return mean, math.nan, math.nan
    half = student_t_quantile((1 + confidence) / 2, n - 1) * float(array.std(ddof=1)) / n**0.5
    return mean, mean - half, mean + half


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


# ---------------------------------------------------------------------- power
#: Power of the minimum detectable effect (the chance of a significant paired difference).
POWER = 0.8


def student_t_quantile(probability: float, df: float) -> float:
    """The ``probability`` quantile of Student's t with ``df`` degrees of freedom.

    Inverts the CDF, ``1 - I_{df/(df+t^2)}(df/2, 1/2) / 2`` for t >= 0 (the regularised
    incomplete beta function, by Lentz's continued fraction), by bisection to 1e-12."""
    if not 0 < probability < 1:
        raise ValueError(f"probability must be in (0, 1), but got {probability!r}")
    if not (math.isfinite(df) and df > 0):
        raise ValueError(f"degrees of freedom must be positive, but got {df!r}")
    if probability < 0.5:
        return -student_t_quantile(1 - probability, df)
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < probability:
        high *= 2
    while high - low > 1e-12 * max(1.0, high):
        middle = (low + high) / 2
        if _t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _t_cdf(t: float, df: float) -> float:
    """P(T <= t) for t >= 0."""
    return 1 - 0.5 * _incomplete_beta(df / (df + t * t), df / 2, 0.5)


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b) for x in [0, 1]."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    log_front += a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1 - math.exp(log_front) * _beta_fraction(1 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz), converging for x < (a+1)/(a+b+2)."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return result


def minimum_detectable_effect(
    reference_values: Sequence[float],
    seeds: int | None = None,
    confidence: float = CONFIDENCE,
    power: float = POWER,
) -> float:
    """The smallest true paired difference a comparison at ``seeds`` seeds detects with
    probability ``power`` (two-sided test at level 1 - ``confidence``).

    ``MDE = (t_{(1+confidence)/2, n-1} + t_{power, n-1}) * sqrt(2) * s / sqrt(n)``, with ``n``
    seeds (default: as many as values) and ``s`` the sample standard deviation (ddof 1) of the
    reference agent's values over its seeds. The ``sqrt(2)`` is the paired difference of two
    agents whose seed-to-seed spread is the reference's, independent across agents. NaN with
    fewer than two values or ``n < 2``."""
    values = np.asarray(reference_values, dtype=float).ravel()
    n = values.size if seeds is None else int(seeds)
    if values.size < 2 or n < 2:
        return math.nan
    if not np.all(np.isfinite(values)):
        raise ValueError(f"minimum_detectable_effect needs finite values, got {values.tolist()}")
    spread = float(values.std(ddof=1))
    factor = student_t_quantile((1 + confidence) / 2, n - 1) + student_t_quantile(power, n - 1)
    return factor * math.sqrt(2) * spread / math.sqrt(n)


# ---------------------------------------------------------------------- tests
def paired_t_p_value(differences: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test that the mean of per-seed ``differences`` is 0.

    ``t = mean / (s / sqrt(n))`` with ``s`` the sample standard deviation (ddof 1) and ``n - 1``
    degrees of freedom: the test whose interval is :func:`paired_t_ci`, so ``p < 1 -
    confidence`` exactly when that interval excludes 0. ``P(|T| >= |t|) =
    I_{df/(df+t^2)}(df/2, 1/2)`` (the regularised incomplete beta function). Differences that
    are all equal give 0 when they are not 0 (no spread: the sign is certain) and 1 when they
    are; one value gives NaN. Raises ValueError for no values or a NaN or infinite value.
    """
    array = _checked(differences, CONFIDENCE, "paired_t_p_value")
    n = array.size
    if n == 1:
        return math.nan
    mean, spread = float(array.mean()), float(array.std(ddof=1))
    if spread <= 1e-12 * max(1.0, abs(mean)):  # identical values, up to rounding
        return 0.0 if mean != 0 else 1.0
    t = mean / (spread / math.sqrt(n))
    df = n - 1
    return _incomplete_beta(df / (df + t * t), df / 2, 0.5)


def _checked_p_values(p_values: Sequence[float]) -> np.ndarray:
    array = np.asarray(p_values, dtype=float).ravel()
    if not np.all((array >= 0) & (array <= 1)):
        raise ValueError(f"p-values must lie in [0, 1], but got {array.tolist()}")
    return array


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, which control the family-wise error rate.

    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics 6(2), 65-70. With the ``m`` p-values sorted ascending,
    ``p_(1) <= ... <= p_(m)``, the adjusted value of the ``i``-th is
    ``max_{j <= i} min(1, (m - j + 1) * p_(j))``; rejecting where the adjusted value is below
    ``alpha`` keeps the chance of any false rejection in the family at most ``alpha``, whatever
    the dependence between the tests. Returned in the order given. Raises ValueError for a
    value outside [0, 1].
    """
    array = _checked_p_values(p_values)
    m = array.size
    order = np.argsort(array, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * array[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(value) for value in adjusted]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), which control the false discovery rate.

    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
    powerful approach to multiple testing. Journal of the Royal Statistical Society B 57(1),
    289-300. With the ``m`` p-values sorted ascending, the adjusted value of the ``i``-th is
    ``min_{j >= i} min(1, m * p_(j) / j)``; rejecting where it is below ``alpha`` keeps the
    expected share of false rejections among the rejections at most ``alpha`` (for independent
    or positively dependent tests). Returned in the order given. Raises ValueError for a value
    outside [0, 1].
    """
    array = _checked_p_values(p_values)
    m = array.size
    order = np.argsort(array, kind="stable")
    scaled = np.minimum(1.0, m * array[order] / np.arange(1, m + 1))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return [float(value) for value in adjusted]


def ols_slope(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """Ordinary least-squares line ``y = intercept + slope * x`` and the Student t interval of
    its slope.

    ``slope = S_xy / S_xx`` and ``intercept = mean(y) - slope * mean(x)``, with ``S_xx`` and
    ``S_xy`` the centred sums of squares and products; the slope's standard error is
    ``sqrt(SSE / (n - 2) / S_xx)`` (``SSE`` the residual sum of squares) and its interval
    ``slope -/+ t_{(1+confidence)/2, n-2} * se``; ``p_value`` is the two-sided t-test of a zero
    slope. Returns a dict with ``slope``, ``low``, ``high``, ``intercept``, ``standard_error``,
    ``p_value`` and ``points``. Raises ValueError for fewer than 3 points (no residual degree of
    freedom), x and y of different lengths, non-finite values or x without spread.
    """
    xs = _checked(x, confidence, "ols_slope")
    ys = _checked(y, confidence, "ols_slope")
    if xs.size != ys.size:
        raise ValueError(f"ols_slope needs x and y of one length, but got {xs.size} and {ys.size}")
    n = xs.size
    if n < 3:
        raise ValueError(f"ols_slope needs at least 3 points for an interval, but got {n}")
    dx, dy = xs - xs.mean(), ys - ys.mean()
    sxx = float(dx @ dx)
    if sxx == 0:
        raise ValueError(f"ols_slope needs x with spread, but every x is {xs[0]}")
    slope = float(dx @ dy) / sxx
    intercept = float(ys.mean() - slope * xs.mean())
    residuals = ys - (intercept + slope * xs)
    standard_error = math.sqrt(float(residuals @ residuals) / (n - 2) / sxx)
    half = student_t_quantile((1 + confidence) / 2, n - 2) * standard_error
    if standard_error == 0:
        p_value = 0.0 if slope != 0 else 1.0
    else:
        p_value = 2 * (1 - _t_cdf(abs(slope) / standard_error, n - 2))
    return {
        "slope": slope,
        "low": slope - half,
        "high": slope + half,
        "intercept": intercept,
        "standard_error": standard_error,
        "p_value": min(1.0, max(0.0, p_value)),
        "points": n,
    }

"""The statistics behind emerging themes: an exact binomial tail and Benjamini-Hochberg.

Plain ``math``: the tail is summed term by term from the observed count outwards, each term
from the previous one, stopping once the terms no longer change the sum (they shrink
geometrically away from the mode), so a theme with 100,000 needs costs a few hundred steps.
"""
from __future__ import annotations

import math
from typing import Sequence

_NEGLIGIBLE = 1e-17


def _log_pmf(k: int, n: int, p: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if not 0 <= p <= 1 or n < 0:
        raise ValueError("need 0 <= p <= 1 and n >= 0")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return 1.0
    if k <= n * p:  # the upper tail holds most of the mass: 1 - P(X <= k - 1)
        return max(0.0, min(1.0, 1.0 - _lower_tail(k - 1, n, p)))
    ratio = p / (1.0 - p)
    term = math.exp(_log_pmf(k, n, p))
    total, i = term, k
    while i < n:
        term *= (n - i) / (i + 1) * ratio
        i += 1
        total += term
        if term <= total * _NEGLIGIBLE:
            break
    return min(1.0, total)


def _lower_tail(k: int, n: int, p: float) -> float:
    """P(X <= k) for k below the mean (terms shrink going down)."""
    ratio = (1.0 - p) / p
    term = math.exp(_log_pmf(k, n, p))
    total, i = term, k
    while i > 0:
        term *= i / (n - i + 1) * ratio
        i -= 1
        total += term
        if term <= total * _NEGLIGIBLE:
            break
    return min(1.0, total)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Adjusted p-values (q-values), in the input's order: a theme with q <= alpha is reported,
    and then at most a share alpha of the reported themes are expected to be noise."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = min(1.0, running)
    return adjusted

"""The statistics of an A/B test (scipy): each variant's rate on the test's metric, the leader,
and how likely a difference this large would be by chance.

- clicks, orders: proportions of the recipients sent (who clicked; who made an attributed
  order). Across all variants, Pearson's chi-square test of independence on the k x 2 table
  (`scipy.stats.chi2_contingency`, no continuity correction: for two variants it is the
  two-proportion z-test, chi2 = z^2); each variant against the leader, the same on 2 x 2.
- revenue: attributed revenue per recipient sent (non-buyers count 0). Welch's t-test
  (`scipy.stats.ttest_ind_from_stats`, `equal_var=False`), from each variant's n, mean and
  variance (sums and sums of squares, so a million recipients are never loaded). Overall:
  the leader against the best of the others.
- The leader has the highest rate; ties (no data at all included) go to the earliest label,
  so A, the campaign's own body, wins unless another variant did better.
- A test that cannot be computed (no recipients sent, no successes anywhere, no variance) has
  p-value None and is not significant; it never raises.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats

from ...models import AbMetric

ALPHA = 0.05  # "significant": p < 0.05


@dataclass(frozen=True)
class VariantFigures:
    label: str
    recipients: int = 0  # messages assigned to the variant
    sent: int = 0  # accepted by the provider
    clicks: int = 0  # every click on its links
    clickers: int = 0  # its messages with at least one click
    orders: int = 0  # attributed orders
    buyers: int = 0  # its messages with at least one attributed order
    revenue: float = 0.0  # attributed revenue (in the report's currency)
    revenue_squares: float = 0.0  # the sum over its messages of (their revenue)^2

    def successes(self, metric: AbMetric) -> int:
        return self.clickers if metric == AbMetric.CLICKS else self.buyers

    def rate(self, metric: AbMetric) -> float:
        """The metric per recipient sent (0 before any was sent)."""
        if not self.sent:
            return 0.0
        value = self.revenue if metric == AbMetric.REVENUE else self.successes(metric)
        return value / self.sent


def proportions_p_value(successes: list[int], trials: list[int]) -> float | None:
    """Chi-square test of independence of variant and success; None when it cannot be computed."""
    pairs = list(zip(successes, trials, strict=True))
    if len(pairs) < 2 or any(n <= 0 or not 0 <= s <= n for s, n in pairs):
        return None
    table = [[s, n - s] for s, n in pairs]
    try:
        result = stats.chi2_contingency(table, correction=False)
    except ValueError:  # an all-zero column (nobody, or everybody, succeeded): no test
        return None
    return _finite(result.pvalue)


def welch_p_value(a: VariantFigures, b: VariantFigures) -> float | None:
    """Welch's t-test of revenue per recipient sent; None when it cannot be computed."""
    moments = [_moments(figures) for figures in (a, b)]
    if any(moment is None for moment in moments):
        return None
    (mean_a, var_a, n_a), (mean_b, var_b, n_b) = moments  # type: ignore[misc]
    if var_a == 0 and var_b == 0:
        return None
    result = stats.ttest_ind_from_stats(mean_a, math.sqrt(var_a), n_a, mean_b, math.sqrt(var_b), n_b, equal_var=False)
    return _finite(result.pvalue)


def _moments(figures: VariantFigures) -> tuple[float, float, int] | None:
    """Mean and sample variance of revenue per recipient sent, and n (at least 2)."""
    n = figures.sent
    if n < 2:
        return None
    mean = figures.revenue / n
    variance = max(0.0, (figures.revenue_squares - n * mean * mean) / (n - 1))  # rounding never below 0
    return mean, variance, n


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _pair_p_value(metric: AbMetric, a: VariantFigures, b: VariantFigures) -> float | None:
    if metric == AbMetric.REVENUE:
        return welch_p_value(a, b)
    return proportions_p_value([a.successes(metric), b.successes(metric)], [a.sent, b.sent])


def leader_of(figures: list[VariantFigures], metric: AbMetric) -> VariantFigures:
    """The highest rate; a tie goes to the earliest label."""
    return max(sorted(figures, key=lambda f: f.label), key=lambda f: f.rate(metric))  # max keeps the first


def analyse(figures: list[VariantFigures], metric: AbMetric) -> dict[str, Any]:
    """The leader, the overall p-value, and each variant's figures, rates and p-value against
    the leader (None for the leader itself)."""
    leader = leader_of(figures, metric)
    others = [f for f in figures if f.label != leader.label]
    if metric == AbMetric.REVENUE:
        overall = welch_p_value(leader, leader_of(others, metric)) if others else None
    else:
        overall = proportions_p_value([f.successes(metric) for f in figures], [f.sent for f in figures])
    variants = []
    for f in sorted(figures, key=lambda f: f.label):
        p_value = None if f.label == leader.label else _pair_p_value(metric, f, leader)
        variants.append(
            {
                **{name: value for name, value in asdict(f).items() if name != "revenue_squares"},
                "revenue": round(f.revenue, 2),
                "click_rate": _rounded(f.rate(AbMetric.CLICKS)),
                "order_rate": _rounded(f.rate(AbMetric.ORDERS)),
                "revenue_per_recipient": _rounded(f.rate(AbMetric.REVENUE)),
                "p_value": _rounded(p_value),
                "significant": p_value is not None and p_value < ALPHA,
            }
        )
    return {
        "leader": leader.label,
        "p_value": _rounded(overall),
        "significant": overall is not None and overall < ALPHA,
        "variants": variants,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)

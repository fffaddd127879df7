"""The statistics of an A/B test (services/campaigns/ab_stats.py) against hand-computed cases,
and never a crash on the data a small or new test has."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from shopify_app.models import AbMetric
from shopify_app.services.campaigns.ab_stats import (
    VariantFigures,
    analyse,
    leader_of,
    proportions_p_value,
    welch_p_value,
)


def test_two_variants_are_the_two_proportion_z_test():
    # 20/100 against 35/100. Pooled p = 0.275; z = 0.15 / sqrt(0.275 * 0.725 * 2/100) = 2.3754;
    # chi2 = z^2 = 56.25 * (2/27.5 + 2/72.5) = 5.6426; one degree of freedom: p = erfc(sqrt(chi2/2)).
    chi2 = 56.25 * (2 / 27.5 + 2 / 72.5)
    assert chi2 == pytest.approx(5.642633, abs=1e-6)
    assert proportions_p_value([20, 35], [100, 100]) == pytest.approx(math.erfc(math.sqrt(chi2 / 2)), rel=1e-9)
    assert proportions_p_value([20, 35], [100, 100]) == pytest.approx(0.0175289, abs=1e-7)


def test_three_variants_are_one_chi_square_across_them():
    # 10, 20, 30 of 100 each: expected 20 and 80 per row; chi2 = 2 * (100/20 + 100/80) = 12.5;
    # two degrees of freedom: p = exp(-chi2 / 2).
    assert proportions_p_value([10, 20, 30], [100, 100, 100]) == pytest.approx(math.exp(-6.25), rel=1e-9)


def revenue(label: str, values: list[float]) -> VariantFigures:
    """A variant whose recipients sent each brought `values` (0 for no order)."""
    return VariantFigures(
        label,
        recipients=len(values),
        sent=len(values),
        buyers=sum(1 for value in values if value),
        orders=sum(1 for value in values if value),
        revenue=sum(values),
        revenue_squares=sum(value * value for value in values),
    )


def test_revenue_is_welchs_t_test_from_the_sums_alone():
    a, b = [0.0, 0.0, 10.0, 20.0], [0.0, 30.0, 40.0, 50.0]
    # Hand: means 7.5 and 30, variances 275/3 and 1400/3; se^2 = 22.917 + 116.667 = 139.583;
    # t = -22.5 / sqrt(139.583) = -1.90443; Welch-Satterthwaite df = 139.583^2 / (22.917^2/3 + 116.667^2/3) = 4.1348.
    se2 = (275 / 3) / 4 + (1400 / 3) / 4
    t = -22.5 / math.sqrt(se2)
    df = se2**2 / (((275 / 3) / 4) ** 2 / 3 + ((1400 / 3) / 4) ** 2 / 3)
    assert (round(t, 5), round(df, 4)) == (-1.90443, 4.1348)
    p_value = welch_p_value(revenue("A", a), revenue("B", b))
    assert p_value == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9)
    assert p_value == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)  # the raw samples agree


@pytest.mark.parametrize(
    ("successes", "trials"),
    [
        ([0, 0], [50, 50]),  # nobody clicked
        ([50, 50], [50, 50]),  # everybody did
        ([1, 2], [0, 10]),  # a variant with nothing sent
        ([3], [10]),  # one variant
    ],
)
def test_proportions_without_a_possible_test_have_no_p_value(successes, trials):
    assert proportions_p_value(successes, trials) is None


def test_revenue_without_variance_or_recipients_has_no_p_value():
    assert welch_p_value(revenue("A", [0.0] * 5), revenue("B", [0.0] * 5)) is None
    assert welch_p_value(revenue("A", [5.0]), revenue("B", [1.0, 2.0])) is None  # n < 2


def test_the_leader_has_the_best_rate_and_a_tie_goes_to_the_earliest_label():
    figures = [VariantFigures("A", 10, 10, clickers=2), VariantFigures("B", 10, 10, clickers=5)]
    assert leader_of(figures, AbMetric.CLICKS).label == "B"
    tied = [VariantFigures("C", 10, 10, clickers=3), VariantFigures("A", 10, 10, clickers=3)]
    assert leader_of(tied, AbMetric.CLICKS).label == "A"
    nothing = [VariantFigures(label) for label in "DCBA"]
    assert leader_of(nothing, AbMetric.REVENUE).label == "A"


def test_the_analysis_gives_each_variant_its_p_value_against_the_leader():
    figures = [VariantFigures("A", 100, 100, clickers=20), VariantFigures("B", 100, 100, clickers=35)]
    result = analyse(figures, AbMetric.CLICKS)
    assert (result["leader"], result["significant"]) == ("B", True)
    assert result["p_value"] == pytest.approx(0.017529, abs=1e-6)
    a, b = result["variants"]
    assert (a["label"], a["click_rate"], a["significant"]) == ("A", 0.2, True)
    assert a["p_value"] == pytest.approx(0.017529, abs=1e-6)
    assert (b["p_value"], b["significant"]) == (None, False)  # the leader is not compared with itself


def test_an_empty_test_is_analysed_without_a_crash():
    result = analyse([VariantFigures("A"), VariantFigures("B")], AbMetric.REVENUE)
    assert (result["leader"], result["p_value"], result["significant"]) == ("A", None, False)
    assert [v["revenue_per_recipient"] for v in result["variants"]] == [0.0, 0.0]

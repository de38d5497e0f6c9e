"""measure: log-log slopes against exact power laws, seed summaries against numpy's own statistics."""
import numpy as np
import pytest

from lecture_utils import measure


@pytest.mark.parametrize("p", [-0.5, 1.0, 2.0, 3.0])
def test_loglog_slope_recovers_the_exponent_of_a_power_law(p):
    x = np.geomspace(1e-3, 1e3, 13)
    assert measure.loglog_slope(x, 7.0 * x ** p) == pytest.approx(p, abs=1e-12)


def test_seed_summary_counts_the_median_and_the_range():
    rng = np.random.default_rng(0)
    v = rng.normal(1.0, 2.0, 11)
    s = measure.seed_summary(v)
    assert (s.k, s.n) == (int((v > 0).sum()), 11)
    assert s.median == pytest.approx(np.median(v)) and (s.low, s.high) == (v.min(), v.max())
    assert s.text("faster", "steps").startswith(f"faster in {s.k} of 11 seeds, median ")
    custom = measure.seed_summary(v, shows=v < -1.0)
    assert custom.k == int((v < -1.0).sum())
    v[0] = 5.0
    assert s.values[0] != 5.0  # the summary keeps its own copy


@pytest.mark.parametrize("values, shows, message", [
    ([], None, "at least one"), ([1.0, np.nan], None, "NaN"), ([1.0, np.inf], None, "finite"), ([[1.0, 2.0]], None, "dimension"),
    ([1.0, 2.0], [True], "shows must be a bool array"), ([1.0, 2.0], [1, 0], "shows must be a bool array"),
])
def test_seed_summary_rejects_bad_input(values, shows, message):
    with pytest.raises(ValueError, match=message):
        measure.seed_summary(values, shows=None if shows is None else np.asarray(shows))

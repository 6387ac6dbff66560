"""The validation split carved from training data: stratified, deterministic, capped, disjoint from training."""

import numpy as np

from trainer.validation_split import choose


def _data():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2 ** 62, 1000, dtype=np.int64)
    strata = np.repeat([0, 1, 2, 3], [700, 200, 90, 10])
    return keys, strata


def test_every_class_keeps_its_share():
    keys, strata = _data()
    chosen = choose(keys, strata, fraction=0.1, max_examples=10_000)
    picked = np.isin(keys, chosen)
    assert [int(picked[strata == s].sum()) for s in range(4)] == [70, 20, 9, 1]


def test_deterministic_and_independent_of_input_order():
    keys, strata = _data()
    order = np.random.default_rng(1).permutation(keys.size)
    first = choose(keys, strata, 0.1, 10_000)
    again = choose(keys[order], strata[order], 0.1, 10_000)
    np.testing.assert_array_equal(first, again)


def test_cap_and_small_classes():
    keys, strata = _data()
    chosen = choose(keys, strata, fraction=0.1, max_examples=50)
    picked = np.isin(keys, chosen)
    assert 48 <= picked.sum() <= 53  # 5% of each class, at least one of each
    assert all(picked[strata == s].sum() >= 1 for s in range(4))
    lonely = choose(np.array([5, 6, 7]), np.array([0, 1, 1]), 0.5, 100)
    assert 5 not in lonely and len(lonely) == 1  # a class of one example is never taken from training


def test_no_validation_when_fraction_is_zero_or_no_data():
    keys, strata = _data()
    assert choose(keys, strata, 0.0, 100).size == 0
    assert choose(np.zeros([0], np.int64), np.zeros([0]), 0.1, 100).size == 0

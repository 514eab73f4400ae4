"""The auto-label count rule: at least 100, at most all images, fixed below 100."""

from __future__ import annotations

import pytest

from nblabel.loop.counts import autolabel_count_range, check_count


def test_199_images_allow_100_to_199_defaulting_to_all():
    assert autolabel_count_range(199) == (100, 199, False)
    assert check_count(199) == 199
    assert check_count(199, 100) == 100
    assert check_count(199, 150) == 150
    assert check_count(199, 199) == 199
    with pytest.raises(ValueError, match="between 100 and 199"):
        check_count(199, 99)
    with pytest.raises(ValueError, match="between 100 and 199"):
        check_count(199, 200)


def test_100_images_allow_only_100_but_are_not_fixed():
    assert autolabel_count_range(100) == (100, 100, False)
    assert check_count(100) == 100
    assert check_count(100, 100) == 100
    with pytest.raises(ValueError, match="between 100 and 100"):
        check_count(100, 101)
    with pytest.raises(ValueError, match="between 100 and 100"):
        check_count(100, 50)


def test_99_images_fix_the_count_to_99():
    assert autolabel_count_range(99) == (99, 99, True)
    assert check_count(99) == 99
    assert check_count(99, 99) == 99
    for wrong in (1, 98, 100):
        with pytest.raises(ValueError, match="fixed to 99"):
            check_count(99, wrong)


def test_one_image_fixes_the_count_to_one():
    assert autolabel_count_range(1) == (1, 1, True)
    assert check_count(1) == 1
    assert check_count(1, 1) == 1
    with pytest.raises(ValueError, match="fixed to 1 "):
        check_count(1, 100)


@pytest.mark.parametrize("bad", [1.5, "120", True])
def test_non_integer_counts_are_rejected_with_the_value(bad):
    with pytest.raises(ValueError, match="whole number"):
        check_count(199, bad)


def test_negative_image_count_is_rejected():
    with pytest.raises(ValueError, match="n_images"):
        autolabel_count_range(-1)

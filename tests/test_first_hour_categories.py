"""A General AI category is named as the docs and the setup panel name it; anything else is
refused at construction with the closest category, before any model is loaded."""

from __future__ import annotations

import pytest

from nblabel.models.categories import CATEGORIES
from nblabel.models.general import GeneralAI


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("animals", "'animal'"),
        ("animl", "'animal'"),
        ("people", "'human'"),
        ("Faces", "'face points'"),
        ("autonomous drivng", "'autonomous driving'"),
        ("dogs", "category 'animal' with classes=['dog']"),
        ("car", "category 'vehicle' with classes=['car']"),
    ],
)
def test_an_unknown_category_is_refused_with_the_one_meant(typed, meant):
    with pytest.raises(ValueError) as e:
        GeneralAI(typed)
    msg = str(e.value)
    assert msg.startswith(f"unknown category {typed!r} (")
    assert f"did you mean {meant}?" in msg
    assert all(repr(name) in msg for name in CATEGORIES)  # and every valid name


def test_spelling_of_a_real_name_is_forgiven_and_nothing_else():
    assert GeneralAI("Animal").category == "animal"
    assert GeneralAI("FACE_POINTS").category == "face points"
    with pytest.raises(ValueError, match=r"^unknown category 'plants'; choose one of \["):
        GeneralAI("plants")  # nothing close: no guess

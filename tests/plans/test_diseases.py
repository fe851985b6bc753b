"""Disease names beside ICD-10 codes: what a worker reads and picks from."""

import pytest

from huzhu.plans.rules.diseases import DISEASE_NAMES, diagnosis_choices, diagnosis_label


@pytest.mark.parametrize(
    ("entry", "label"),
    [
        ("C50", "C50 乳房恶性肿瘤（乳腺癌）"),
        ("c50.901", "C50.901 乳房恶性肿瘤（乳腺癌）"),
        ("I21", "I21 急性心肌梗死"),
        ("C00-C97", "C00-C97 恶性肿瘤（癌症）"),
        ("I60-I64", "I60-I64 脑血管病（脑出血、脑梗死等）"),
        ("Z99", "Z99"),  # not in the table: shown as it is, never guessed
        ("A00-A09", "A00-A09"),
    ],
)
def test_labels(entry, label):
    assert diagnosis_label(entry) == label


def test_choices_expand_ranges_to_named_categories():
    choices = dict(diagnosis_choices(["C00-C97", "I21", "I60-I64"]))
    assert choices["C34"] == "支气管和肺恶性肿瘤（肺癌）" and choices["I63"] == "脑梗死"
    assert all(
        code[0] == "C" or code in ("I21", "I60", "I61", "I62", "I63", "I64") for code in choices
    )
    assert len([c for c in choices if c.startswith("C")]) == len(
        [c for c in DISEASE_NAMES if "C00" <= c <= "C97"]
    )
    assert diagnosis_choices(["C50", "C50"]) == [("C50", "乳房恶性肿瘤（乳腺癌）")]

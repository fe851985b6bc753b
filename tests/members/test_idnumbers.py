from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from huzhu.members.idnumbers import (
    IdNumberError,
    check_digit,
    id_birth_date,
    id_sex,
    normalize_id_number,
    with_id_number_check,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("330683197306063816", "330683197306063816"),
        ("33068319700305869x", "33068319700305869X"),
        (" 330683 1973 0606 3816 ", "330683197306063816"),
        ("３３０６８３１９７００３０５８６９ｘ", "33068319700305869X"),
        ("330683197306063816\u3000", "330683197306063816"),
        # born 1973, before 330683 (嵊州市, 1995) existed: stdnum's validate refuses it
        ("330683197306063816", "330683197306063816"),
    ],
)
def test_normalize_accepts(raw, expected):
    assert normalize_id_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        (None, "empty"),
        ("3.30683E+17", "excel_mangled"),
        ("3.306831970070701e+17", "excel_mangled"),
        ("330683197306063816.0", "excel_mangled"),
        (3.306831970070701e17, "excel_mangled"),
        ("33068319730606381", "bad_length"),
        ("330683730606381", "bad_length"),
        ("33068319730606381Y", "bad_characters"),
        ("33068319730230381X", "bad_birth_date"),
        ("330683180001013816", "bad_birth_date"),
        ("330683197306063817", "bad_check_digit"),
    ],
)
def test_normalize_refuses_with_code(raw, code):
    with pytest.raises(IdNumberError) as exc:
        normalize_id_number(raw)
    assert exc.value.code == code
    assert exc.value.message
    assert isinstance(exc.value, ValueError)


def test_excel_message_is_clear():
    with pytest.raises(IdNumberError) as exc:
        normalize_id_number("3.30683E+17")
    assert "Excel" in exc.value.message and "文本" in exc.value.message


def test_birth_date_and_sex():
    assert id_birth_date("330683197306063816") == date(1973, 6, 6)
    assert id_sex("330683197306063816") == "male"  # 17th digit 1
    assert id_sex("33068319700305869x") == "male"  # 17th digit 9
    assert id_sex("330683197007229708") == "female"  # 17th digit 0


def test_check_digit_known_value():
    assert check_digit("11010519491231002") == "X"


def _row_code(raw):
    try:
        return normalize_id_number(raw), None
    except IdNumberError as e:
        return None, e.code


@st.composite
def id_like(draw):
    body = draw(st.text(alphabet="0123456789", min_size=17, max_size=17))
    last = draw(st.sampled_from(["X", "x", check_digit(body), "0", "5"]))
    text = body + last
    variant = draw(st.integers(0, 5))
    if variant == 1:
        text = text.replace("1", "１")
    elif variant == 2:
        text = " " + text[:6] + " " + text[6:]
    elif variant == 3:
        text = text[: draw(st.integers(0, 17))]
    elif variant == 4:
        text = "3.30683E+17"
    return text


@given(st.lists(st.one_of(id_like(), st.text(max_size=20)), max_size=30))
def test_vectorised_check_equals_row_check(values):
    frame = with_id_number_check(
        pl.DataFrame({"raw": values}, schema={"raw": pl.String}).lazy(),
        "raw",
        out="norm",
        code="code",
    ).collect()
    for raw, norm, code in frame.iter_rows():
        row_norm, row_code = _row_code(raw)
        assert code == row_code, raw
        if row_code is None:
            assert norm == row_norm

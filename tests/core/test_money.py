from decimal import Decimal

import pytest

from huzhu.core.money import MoneyError, fen_to_yuan, format_fen, yuan_to_fen


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("1234.56", 123456),
        (" 1234.56 ", 123456),
        ("0", 0),
        ("0.5", 50),
        (".5", 50),
        ("12.", 1200),
        ("12.300", 1230),
        ("-35089.69", -3508969),
        ("+1.01", 101),
        (7, 700),
        (Decimal("1.10"), 110),
        (Decimal("2.000"), 200),
        (0.1, 10),
        (1234.56, 123456),
        (0.07, 7),
    ],
)
def test_yuan_to_fen_exact(value, fen):
    assert yuan_to_fen(value) == fen
    assert type(yuan_to_fen(value)) is int


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1.234", "too_many_decimals"),
        ("0.001", "too_many_decimals"),
        ("1." + "0" * 30 + "1", "too_many_decimals"),  # beyond Decimal's default precision
        (Decimal("1.005"), "too_many_decimals"),
        (1.005, "too_many_decimals"),
        ("abc", "not_a_number"),
        ("1,234.56", "not_a_number"),
        ("1e3", "not_a_number"),
        ("NaN", "not_a_number"),
        ("12元", "not_a_number"),
        (Decimal("NaN"), "not_finite"),
        (float("inf"), "not_finite"),
        (True, "bad_type"),
        (None, "bad_type"),
    ],
)
def test_yuan_to_fen_refuses(value, code):
    with pytest.raises(MoneyError) as exc:
        yuan_to_fen(value)
    assert exc.value.code == code
    assert exc.value.message


@pytest.mark.parametrize(
    ("fen", "plain", "pretty"),
    [
        (0, "0.00", "0.00"),
        (5, "0.05", "0.05"),
        (123456, "1234.56", "1,234.56"),
        (-5, "-0.05", "-0.05"),
        (300000000, "3000000.00", "3,000,000.00"),
    ],
)
def test_fen_formatting(fen, plain, pretty):
    assert fen_to_yuan(fen) == plain
    assert format_fen(fen) == pretty


@pytest.mark.parametrize("bad", [1.5, Decimal("1"), "100", True])
def test_formatting_refuses_non_int(bad):
    with pytest.raises(TypeError):
        fen_to_yuan(bad)
    with pytest.raises(TypeError):
        format_fen(bad)

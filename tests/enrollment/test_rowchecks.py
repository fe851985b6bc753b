"""The import's fast paths agree with the row functions they skip."""

from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu.core.crypto import decrypt_text_many, encrypt_text, encrypt_text_many
from huzhu.enrollment import rowchecks
from huzhu.members.fields import (
    normalize_bank_account,
    normalize_bank_name,
    normalize_name,
    normalize_phone,
)
from huzhu.members.idnumbers import IdNumberError, normalize_id_number


@settings(max_examples=300)
@given(st.from_regex(rowchecks._CLEAN_NAME, fullmatch=True))
def test_clean_names_are_already_normal(name):
    assert normalize_name(name) == name


@given(st.from_regex(rowchecks._CLEAN_PHONE, fullmatch=True))
def test_clean_phones_are_already_normal(phone):
    assert normalize_phone(phone) == phone


@given(st.from_regex(rowchecks._CLEAN_BANK_NAME, fullmatch=True))
def test_clean_bank_names_are_already_normal(bank):
    assert normalize_bank_name(bank) == bank


@given(st.from_regex(rowchecks._CLEAN_ACCOUNT, fullmatch=True))
def test_clean_accounts_are_already_normal(account):
    assert normalize_bank_account(account) == account


@settings(max_examples=300)
@given(
    st.one_of(
        st.text(alphabet="0123456789Xx ０１２３４５６７８９ｘ.E+", max_size=22),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=0, max_value=10**18),
        st.none(),
    )
)
def test_column_check_equals_the_row_function(raw):
    (number,), (code,) = rowchecks._id_numbers([raw])
    if isinstance(raw, float | int) and abs(raw) >= 1e15:
        assert code == "excel_mangled"
        return
    if isinstance(raw, float) and not raw.is_integer():
        assert code == "excel_mangled"
        return
    try:
        expected = normalize_id_number(str(int(raw)) if isinstance(raw, float | int) else raw)
    except IdNumberError as exc:
        assert (number, code) == (None, exc.code)
    else:
        assert (number, code) == (expected, None)


def test_batch_decryption_reads_fernet_tokens_and_refuses_bad_ones():
    tokens = [encrypt_text("6222021234567890123"), *encrypt_text_many(["", "长" * 20])]
    tampered = tokens[0][:-5] + ("A" if tokens[0][-5] != "A" else "B") + tokens[0][-4:]
    assert decrypt_text_many([*tokens, tampered, "not a token"]) == [
        "6222021234567890123",
        "",
        "长" * 20,
        None,
        None,
    ]

"""Bulk decryption of stored bank accounts reads exactly what `encrypt_text` wrote."""

import pytest

from huzhu.core.crypto import decrypt_text, encrypt_text
from huzhu.payments.accounts import AccountDecryptError, decrypt_many


def test_decrypt_many_matches_fernet_for_every_length():
    values = ["", "1", "6222020200112233445", "x" * 15, "y" * 16, "z" * 17, "账号" * 20]
    tokens = [encrypt_text(v) for v in values]
    assert decrypt_many(tokens) == values == [decrypt_text(t) for t in tokens]


def test_tampered_token_is_refused():
    token = encrypt_text("6222020200112233445")
    body = bytearray(token.encode())
    body[30] = ord("A") if body[30] != ord("A") else ord("B")
    with pytest.raises(AccountDecryptError):
        decrypt_many([token, body.decode()])


def test_token_written_with_another_key_is_refused(settings):
    token = encrypt_text("6222020200112233445")
    settings.FIELD_ENCRYPTION_KEY = "fH3n1vjv5XxvGmR8qk1Qv8C5sHcRrGZ0xw9rZ7n2b3U="
    with pytest.raises(AccountDecryptError):
        decrypt_many([token])

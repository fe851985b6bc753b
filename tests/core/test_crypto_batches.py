"""The batch Fernet writer and reader give what `cryptography`'s Fernet gives."""

from cryptography.fernet import Fernet
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from huzhu.core.crypto import decrypt_text_many, encrypt_text_many


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=40))
def test_batch_tokens_are_fernet_tokens_and_read_back(values):
    fernet = Fernet(settings.FIELD_ENCRYPTION_KEY.encode())
    tokens = encrypt_text_many(values)
    assert [fernet.decrypt(t.encode()).decode() for t in tokens] == values
    assert decrypt_text_many(tokens) == values
    mine = [fernet.encrypt(v.encode()).decode() for v in values]
    assert decrypt_text_many(mine) == values
    if tokens:  # a changed IV is refused (the MAC no longer fits)
        broken = tokens[0][:20] + ("A" if tokens[0][20] != "A" else "B") + tokens[0][21:]
        assert decrypt_text_many([broken]) == [None]

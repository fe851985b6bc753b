"""Bank accounts of a whole batch at once: decrypting 100,000 Fernet tokens one by one costs
more than the rest of an export (`Fernet.decrypt` builds a cipher per call).

`decrypt_many` is the reading twin of `huzhu.core.crypto.encrypt_text_many` and belongs next
to it (move it there when that module is settled): same tokens, same key (HUZHU_FIELD_KEY),
each token's HMAC checked before its bytes are used, one AES block decryptor reused with the
CBC chaining done by hand.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

from huzhu.core.crypto import decrypt_text, field_keys


class AccountDecryptError(ValueError):
    pass


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def decrypt_many(tokens: Sequence[str]) -> list[str]:
    """Decrypt Fernet tokens written by `encrypt_text` / `encrypt_text_many`.

    Raises AccountDecryptError naming the position of a token that fails its HMAC (wrong key
    or altered data). Token timestamps are not checked (tokens at rest have no time to live).

    All ciphertext blocks go through one ECB call and one big-integer XOR (CBC: each plain
    block is D(C_i) xor C_(i-1), with C_0 the IV), so the per-token Python work is a base64
    decode, an HMAC and two slices.
    """
    if not tokens:
        return []
    raw = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.encode())
    signing_key, encryption_key = raw[:16], raw[16:]
    unique = list(dict.fromkeys(tokens))
    old: dict[str, str] = {}
    a2b = binascii.a2b_base64
    digest = hmac.digest
    compare = hmac.compare_digest
    datas = []
    for position, token in enumerate(unique):
        try:
            data = a2b(token.encode().translate(_URLSAFE))
        except (binascii.Error, ValueError) as exc:
            raise AccountDecryptError(f"token {position}: not base64") from exc
        if len(data) < 73 or data[0] != 0x80 or (len(data) - 57) % 16:
            raise AccountDecryptError(f"token {position}: not a Fernet token")
        if not compare(digest(signing_key, data[:-32], "sha256"), data[-32:]):
            if len(field_keys()) > 1:  # a key rotation under way: maybe under an old key
                try:
                    old[token] = decrypt_text(token)
                    continue
                except ValueError:
                    pass
            raise AccountDecryptError(
                f"token {position}: HMAC mismatch (HUZHU_FIELD_KEY differs from the key it "
                "was written with)"
            )
        datas.append(data)
    unique = [t for t in unique if t not in old]
    ciphertext = b"".join(d[25:-32] for d in datas)
    chained = b"".join(d[9:-48] for d in datas)  # IV + every ciphertext block but the last
    decrypted = Cipher(algorithms.AES(encryption_key), modes.ECB()).decryptor().update(ciphertext)
    plain = (int.from_bytes(decrypted, "big") ^ int.from_bytes(chained, "big")).to_bytes(
        len(decrypted), "big"
    )
    clear: dict[str, str] = dict(old)
    offset = 0
    for position, (token, data) in enumerate(zip(unique, datas, strict=True)):
        size = len(data) - 57
        block = plain[offset : offset + size]
        offset += size
        pad = block[-1]
        if not 1 <= pad <= 16 or block[-pad:] != bytes((pad,)) * pad:
            raise AccountDecryptError(f"token {position}: bad padding")
        clear[token] = block[:-pad].decode()
    return [clear[t] for t in tokens]

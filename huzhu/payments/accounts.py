"""Bank accounts of a whole batch at once: decrypting 100,000 Fernet tokens one by one costs
more than the rest of an export (`Fernet.decrypt` builds a cipher per call).

`decrypt_many` is the reading twin of `huzhu.core.crypto.encrypt_text_many` and belongs next
to it (move it there when that module is settled): same tokens, same key (HUZHU_FIELD_KEY),
each token's HMAC checked before its bytes are used, one AES block decryptor reused with the
CBC chaining done by hand.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings


class AccountDecryptError(ValueError):
    pass


def decrypt_many(tokens: Sequence[str]) -> list[str]:
    """Decrypt Fernet tokens written by `encrypt_text` / `encrypt_text_many`.

    Raises AccountDecryptError naming the position of a token that fails its HMAC (wrong key
    or altered data). Token timestamps are not checked (tokens at rest have no time to live).
    """
    if not tokens:
        return []
    raw = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.encode())
    signing_key, encryption_key = raw[:16], raw[16:]
    block = Cipher(algorithms.AES(encryption_key), modes.ECB()).decryptor().update
    from_bytes = int.from_bytes
    cache: dict[str, str] = {}
    out = []
    for position, token in enumerate(tokens):
        found = cache.get(token)
        if found is not None:
            out.append(found)
            continue
        try:
            data = base64.urlsafe_b64decode(token.encode())
        except (ValueError, TypeError) as exc:
            raise AccountDecryptError(f"token {position}: not base64") from exc
        if len(data) < 73 or data[0] != 0x80 or (len(data) - 57) % 16:
            raise AccountDecryptError(f"token {position}: not a Fernet token")
        body, mac = data[:-32], data[-32:]
        if not hmac.compare_digest(hmac.digest(signing_key, body, "sha256"), mac):
            raise AccountDecryptError(
                f"token {position}: HMAC mismatch (HUZHU_FIELD_KEY differs from the key it "
                "was written with)"
            )
        previous = from_bytes(body[9:25], "big")
        cipher = body[25:]
        plain = bytearray()
        for j in range(0, len(cipher), 16):
            chunk = cipher[j : j + 16]
            plain += (from_bytes(block(chunk), "big") ^ previous).to_bytes(16, "big")
            previous = from_bytes(chunk, "big")
        pad = plain[-1]
        if not 1 <= pad <= 16 or plain[-pad:] != bytes((pad,)) * pad:
            raise AccountDecryptError(f"token {position}: bad padding")
        text = bytes(plain[:-pad]).decode()
        cache[token] = text
        out.append(text)
    return out

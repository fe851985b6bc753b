"""Field encryption for personal data at rest (bank accounts), key from HUZHU_FIELD_KEY."""

import base64
import binascii
import hmac
import os
import struct
import time
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt_text(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "cannot decrypt a stored value: HUZHU_FIELD_KEY differs from the key it was written with"
        ) from exc


def encrypt_text_many(values: list[str]) -> list[str]:
    """`encrypt_text` for many values at once: the same Fernet tokens, several times cheaper.

    Fernet (spec: github.com/fernet/spec) is AES-128-CBC with a random IV, then
    HMAC-SHA256 over version | timestamp | IV | ciphertext, urlsafe-base64. `Fernet.encrypt`
    builds a cipher and a padder per call, which dominates for short values. Here the values
    are grouped by their number of blocks and CBC runs column-wise: block j of every value
    is XORed with its predecessor (the IV for j = 0) in one big-integer XOR and encrypted in
    one AES-ECB call, C_j = AES(P_j xor C_j-1), which is CBC exactly. Tokens decrypt with
    `decrypt_text` / Fernet.
    """
    if not values:
        return []
    raw = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.encode())
    signing_key, encryption_key = raw[:16], raw[16:]
    head = b"\x80" + struct.pack(">Q", int(time.time()))
    aes = Cipher(algorithms.AES(encryption_key), modes.ECB()).encryptor().update
    digest, b64, urlsafe = hmac.digest, binascii.b2a_base64, _URLSAFE
    out: list[str] = [""] * len(values)
    groups: dict[int, list[tuple[int, bytes]]] = {}
    for i, value in enumerate(values):
        plain = value.encode()
        pad = 16 - len(plain) % 16  # PKCS7
        plain += bytes((pad,)) * pad
        groups.setdefault(len(plain) // 16, []).append((i, plain))
    for blocks, members in groups.items():
        n = len(members)
        ivs = os.urandom(16 * n)
        previous = ivs
        columns = []
        for j in range(blocks):
            plain_j = b"".join(p[16 * j : 16 * j + 16] for _i, p in members)
            mixed = int.from_bytes(plain_j, "big") ^ int.from_bytes(previous, "big")
            previous = aes(mixed.to_bytes(16 * n, "big"))
            columns.append(previous)
        for k, (i, _plain) in enumerate(members):
            a, b = 16 * k, 16 * k + 16
            body = head + ivs[a:b] + b"".join(c[a:b] for c in columns)
            token = b64(body + digest(signing_key, body, "sha256"), newline=False)
            out[i] = token.translate(urlsafe).decode()
    return out


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def decrypt_text_many(tokens: list[str]) -> list[str | None]:
    """`decrypt_text` for many tokens: the clear text, or None for a token that does not
    verify (wrong key, tampered). Same checks as Fernet (HMAC first, in constant time;
    PKCS7 padding), without building a cipher object per token; no TTL is applied."""
    if not tokens:
        return []
    raw = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.encode())
    signing_key, encryption_key = raw[:16], raw[16:]
    block = Cipher(algorithms.AES(encryption_key), modes.ECB()).decryptor().update
    from_bytes = int.from_bytes
    out: list[str | None] = []
    for token in tokens:
        try:
            data = base64.urlsafe_b64decode(token)
        except (ValueError, TypeError):
            out.append(None)
            continue
        body, mac = data[:-32], data[-32:]
        if (
            len(data) < 57
            or data[0] != 0x80
            or (len(body) - 25) % 16
            or not hmac.compare_digest(hmac.digest(signing_key, body, "sha256"), mac)
        ):
            out.append(None)
            continue
        previous = body[9:25]  # the IV
        plain = b""
        for j in range(25, len(body), 16):
            chunk = body[j : j + 16]
            plain += (from_bytes(block(chunk), "big") ^ from_bytes(previous, "big")).to_bytes(
                16, "big"
            )
            previous = chunk
        pad = plain[-1] if plain else 0
        if not 1 <= pad <= 16 or plain[-pad:] != bytes((pad,)) * pad:
            out.append(None)
            continue
        try:
            out.append(plain[:-pad].decode())
        except UnicodeDecodeError:
            out.append(None)
    return out

"""Field encryption for personal data at rest (bank accounts), key from HUZHU_FIELD_KEY."""

import base64
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
    """`encrypt_text` for many values at once: the same Fernet tokens, about 3x cheaper.

    Fernet (spec: github.com/fernet/spec) is AES-128-CBC with a random IV, then
    HMAC-SHA256 over version | timestamp | IV | ciphertext. `Fernet.encrypt` builds a cipher
    and a padder per call, which dominates for short values; here one AES block encryptor
    is reused and CBC chaining is done by hand (C1 = AES(P1 xor IV), C2 = AES(P2 xor C1)),
    IVs come from one os.urandom call. Tokens decrypt with `decrypt_text` / Fernet.
    """
    if not values:
        return []
    raw = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.encode())
    signing_key, encryption_key = raw[:16], raw[16:]
    head = b"\x80" + struct.pack(">Q", int(time.time()))
    ivs = os.urandom(16 * len(values))
    block = Cipher(algorithms.AES(encryption_key), modes.ECB()).encryptor().update
    from_bytes = int.from_bytes
    out = []
    for i, value in enumerate(values):
        iv = ivs[16 * i : 16 * i + 16]
        plain = value.encode()
        pad = 16 - len(plain) % 16  # PKCS7
        plain += bytes((pad,)) * pad
        previous = from_bytes(iv, "big")
        cipher = b""
        for j in range(0, len(plain), 16):
            chunk = block((from_bytes(plain[j : j + 16], "big") ^ previous).to_bytes(16, "big"))
            previous = from_bytes(chunk, "big")
            cipher += chunk
        body = head + iv + cipher
        out.append(
            base64.urlsafe_b64encode(body + hmac.digest(signing_key, body, "sha256")).decode()
        )
    return out


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

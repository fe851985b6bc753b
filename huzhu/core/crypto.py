"""Personal data at rest: field encryption and keyed blind indexes (docs/security.md).

Encryption: Fernet with the key in HUZHU_FIELD_KEY (bank accounts, ID numbers, phones, API
secrets). Values are written with that key; during a key rotation the previous keys, listed
in HUZHU_FIELD_OLD_KEYS (comma-separated), are still read (MultiFernet), and
`huzhu rotate-keys` re-writes every stored value with the new key.

Blind indexes: a keyed hash of a normalised value (an ID number, a phone) stored beside its
ciphertext, so exact lookups and the imports' matching are equality on the index, never a
decryption. The index key is derived from each field key (keyed BLAKE2b, RFC 7693: a MAC
like HMAC, about three times cheaper per short value in CPython, which the million-row
settlement import feels), one sub-key per kind of value, so the same digits as an ID number
and as a phone give unrelated indexes. Lookups accept the index under every configured key
(`blind_indexes`) until the rotation command has re-computed the stored ones.
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def field_keys() -> list[str]:
    """The field keys, the one values are written with first, then the old ones still read."""
    old = getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", ()) or ()
    return [settings.FIELD_ENCRYPTION_KEY, *(k for k in old if k != settings.FIELD_ENCRYPTION_KEY)]


@cache
def _multi(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(k) for k in keys])


def encrypt_text(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _multi(tuple(field_keys())).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "cannot decrypt a stored value: HUZHU_FIELD_KEY differs from the key it was written "
            "with (and HUZHU_FIELD_OLD_KEYS does not hold it)"
        ) from exc


def current_key_flags(tokens: list[str]) -> list[bool]:
    """For each token: True when it verifies under HUZHU_FIELD_KEY itself (its HMAC checked
    with the current signing key, no decryption); False for a token under an old key or not
    a token at all. What the key rotation leaves alone."""
    signing_key = base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEY.encode())[:16]
    out = []
    for token in tokens:
        try:
            data = base64.urlsafe_b64decode(token)
        except (ValueError, TypeError):
            out.append(False)
            continue
        out.append(
            len(data) >= 57
            and hmac.compare_digest(hmac.digest(signing_key, data[:-32], "sha256"), data[-32:])
        )
    return out


# --- blind indexes --------------------------------------------------------------------------

BLIND_INDEX_LENGTH = 32  # hex characters: 128 bits
BLIND_INDEX_KINDS = ("id_number", "phone")


@cache
def _index_key(field_key: str, kind: str) -> bytes:
    """The index key for `kind` derived from one field key (keyed BLAKE2b as a KDF)."""
    raw = base64.urlsafe_b64decode(field_key.encode())
    return hashlib.blake2b(
        f"huzhu.blind-index.v1:{kind}".encode(), key=raw, digest_size=32
    ).digest()


def blind_index(kind: str, value: str, *, field_key: str | None = None) -> str:
    """The index of `value` (already normalised) under the current key, or under `field_key`."""
    key = _index_key(field_key or settings.FIELD_ENCRYPTION_KEY, kind)
    return hashlib.blake2b(value.encode(), key=key, digest_size=16).hexdigest()


def blind_indexes(kind: str, value: str) -> list[str]:
    """The index of `value` under every configured key, current first: what a lookup matches
    while a rotation is under way."""
    return [blind_index(kind, value, field_key=k) for k in field_keys()]


def blind_index_many(kind: str, values, *, field_key: str | None = None) -> list[str]:
    """`blind_index` of many values (one keyed hash object copied per value)."""
    key = _index_key(field_key or settings.FIELD_ENCRYPTION_KEY, kind)
    base = hashlib.blake2b(key=key, digest_size=16)
    out = []
    append = out.append
    for value in values:
        h = base.copy()
        h.update(value.encode())
        append(h.hexdigest())
    return out


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
    inner, outer = _hmac_sha256_states(signing_key)
    inner_copy, outer_copy = inner.copy, outer.copy
    b64 = binascii.b2a_base64
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
            plain_j = b"".join([p[16 * j : 16 * j + 16] for _i, p in members])
            mixed = int.from_bytes(plain_j, "big") ^ int.from_bytes(previous, "big")
            previous = aes(mixed.to_bytes(16 * n, "big"))
            columns.append(previous)
        encoded = []
        append = encoded.append
        for k in range(n):
            a, b = 16 * k, 16 * k + 16
            if blocks == 1:
                body = head + ivs[a:b] + columns[0][a:b]
            else:
                body = head + ivs[a:b] + b"".join([c[a:b] for c in columns])
            # HMAC-SHA256 from the key's precomputed inner and outer states (RFC 2104):
            # the same MAC as hmac.digest, without setting the key up again per token.
            h = inner_copy()
            h.update(body)
            mac = outer_copy()
            mac.update(h.digest())
            append(b64(body + mac.digest(), newline=False))
        # Every token of a group has the same length: translate and decode them at once.
        text = b"".join(encoded).translate(_URLSAFE).decode()
        width = len(encoded[0])
        for k, (i, _plain) in enumerate(members):
            out[i] = text[k * width : k * width + width]
    return out


@cache
def _hmac_sha256_states(key: bytes):
    """HMAC-SHA256's inner and outer hash states after the padded key (RFC 2104); copy each
    per message."""
    block = key.ljust(64, b"\0")
    return (
        hashlib.sha256(bytes(x ^ 0x36 for x in block)),
        hashlib.sha256(bytes(x ^ 0x5C for x in block)),
    )


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
    inner, outer = _hmac_sha256_states(signing_key)
    from_bytes = int.from_bytes
    out: list[str | None] = []
    for token in tokens:
        try:
            data = base64.urlsafe_b64decode(token)
        except (ValueError, TypeError):
            out.append(None)
            continue
        body, mac = data[:-32], data[-32:]
        if len(data) < 57 or data[0] != 0x80 or (len(body) - 25) % 16:
            out.append(None)
            continue
        h = inner.copy()
        h.update(body)
        expected = outer.copy()
        expected.update(h.digest())
        if not hmac.compare_digest(expected.digest(), mac):
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
    if len(field_keys()) > 1:  # a rotation under way: tokens still under an old key
        for i, value in enumerate(out):
            if value is None:
                try:
                    out[i] = decrypt_text(tokens[i])
                except (ValueError, TypeError):
                    pass
    return out

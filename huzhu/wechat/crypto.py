"""Server-message signatures and safe mode (安全模式) encryption, as WeChat documents them.

Plain mode: `signature = sha1(sorted(token, timestamp, nonce))`. Safe mode: the message
comes as `<Encrypt>` (AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[:16],
PKCS#7 padding to 32 bytes) over `random(16) + len(msg) (4 bytes, big-endian) + msg + appid`,
signed by `msg_signature = sha1(sorted(token, timestamp, nonce, encrypt))`; the reply is
encrypted and signed the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class WeChatCryptoError(ValueError):
    pass


def wechat_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(expected_parts: tuple[str, ...], signature: str) -> bool:
    return hmac.compare_digest(wechat_signature(*expected_parts), signature or "")


def _key(aes_key: str) -> bytes:
    try:
        key = base64.b64decode(aes_key + "=")
    except ValueError:
        raise WeChatCryptoError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise WeChatCryptoError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


def encrypt(message: str, *, aes_key: str, appid: str, random16: bytes | None = None) -> str:
    key = _key(aes_key)
    body = message.encode()
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + appid.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(encrypted: str, *, aes_key: str, appid: str) -> str:
    key = _key(aes_key)
    try:
        data = base64.b64decode(encrypted)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
    except ValueError:
        raise WeChatCryptoError("cannot decrypt") from None
    pad = plain[-1] if plain else 0
    if not 1 <= pad <= BLOCK:
        raise WeChatCryptoError("bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise WeChatCryptoError("too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, sender = plain[20 : 20 + length], plain[20 + length :]
    if sender.decode(errors="replace") != appid:
        raise WeChatCryptoError("message for another app id")
    return message.decode()

"""Encryption at rest for personal data, and keyed hashes for exact look-ups.

AES-256-GCM with a random nonce per value; the stored text is
"v1:" + base64(nonce + ciphertext). A separate HMAC-SHA256 key (derived from the same
master key with HKDF, so one secret to back up) gives deterministic digests for
unique constraints and "find by 身份证号" without decrypting the table.
"""
import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PREFIX = "v1:"


def _derive(info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(settings.FIELD_KEY)


@lru_cache(maxsize=1)
def _keys() -> tuple[AESGCM, bytes]:
    return AESGCM(_derive(b"dangjian field encryption")), _derive(b"dangjian lookup hash")


def encrypt(plaintext: str) -> str:
    aead, _ = _keys()
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode(), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        raise ValueError("unknown ciphertext version")
    aead, _ = _keys()
    raw = base64.b64decode(token[len(_PREFIX):])
    return aead.decrypt(raw[:12], raw[12:], None).decode()


def lookup_hash(value: str) -> str:
    _, key = _keys()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

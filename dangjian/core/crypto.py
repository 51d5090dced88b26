"""Encryption at rest for personal data, and keyed hashes for exact look-ups.

The field keys are `dangjian.keys`. Each key has a suite, chosen when it was made:
- SM4 (every key this version makes): SM4-GCM with a 16-byte key, a random 12-byte nonce and a
  16-byte tag; lookup hashes HMAC-SM3. Both sub-keys derive from the 32-byte master key with
  HKDF-SM3, so one secret is backed up.
- AES (keys made before 国密 support): AES-256-GCM and HMAC-SHA256, sub-keys by HKDF-SHA256.

A ciphertext names its suite and key: "v2:sm4gcm:<key id>:" + base64(nonce + ciphertext +
tag). The older form "v1:" + base64(nonce + ciphertext) is AES-GCM under the AES key and is
still read. A lookup hash is made with the key its row is encrypted under; `rotate-key`
recomputes both together, and while a rotation runs a look-up tries each key's hash
(`lookup_hashes`), so a value is found whichever key its row is under yet.
"""
import base64
import logging
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dangjian import keys

log = logging.getLogger(__name__)

UNREADABLE = "无法解密（密钥不匹配）"
_V1 = "v1:"
_SCHEMES = {keys.SM4: "sm4gcm", keys.AES: "aesgcm"}
_SUITES = {v: k for k, v in _SCHEMES.items()}


class NoKey(RuntimeError):
    """No field key is configured (the start-up check says what to do)."""


class DecryptError(ValueError):
    """A ciphertext that none of the configured keys opens."""


@lru_cache(maxsize=16)
def _subkeys(secret: bytes, suite: str) -> tuple[bytes, bytes]:
    if suite == keys.SM4:
        return (HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=b"dangjian field encryption sm4").derive(secret),
                HKDF(algorithm=hashes.SM3(), length=32, salt=None, info=b"dangjian lookup hash sm3").derive(secret))
    return (HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dangjian field encryption").derive(secret),
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dangjian lookup hash").derive(secret))


def active_key() -> keys.FieldKey:
    key = keys.field_keys().active
    if key is None:
        raise NoKey(f"密钥目录 {keys.key_dir()} 中没有数据加密密钥")
    return key


def prefix(key: keys.FieldKey) -> str:
    """What every ciphertext under `key` begins with."""
    return f"v2:{_SCHEMES[key.suite]}:{key.kid}:"


def encrypt(plaintext: str, key: keys.FieldKey | None = None) -> str:
    key = key or active_key()
    enc_key, _ = _subkeys(key.secret, key.suite)
    nonce = os.urandom(12)
    if key.suite == keys.SM4:
        enc = Cipher(algorithms.SM4(enc_key), modes.GCM(nonce)).encryptor()
        sealed = enc.update(plaintext.encode()) + enc.finalize() + enc.tag
    else:
        sealed = AESGCM(enc_key).encrypt(nonce, plaintext.encode(), None)
    return prefix(key) + base64.b64encode(nonce + sealed).decode()


def key_id_of(token: str) -> str | None:
    """The key id a ciphertext names (None for the old "v1:" form, which names none)."""
    parts = token.split(":", 3)
    return parts[2] if len(parts) == 4 and parts[0] == "v2" else None


def decrypt(token: str) -> str:
    """The plaintext, or DecryptError when no configured key opens it."""
    ring = keys.field_keys()
    if token.startswith(_V1):
        candidates, scheme, body = [k for k in ring.all if k.suite == keys.AES], "aesgcm", token[len(_V1):]
    else:
        parts = token.split(":", 3)
        if len(parts) != 4 or parts[0] != "v2" or parts[1] not in _SUITES:
            raise DecryptError("unknown ciphertext format")
        _, scheme, kid, body = parts
        candidates = [k for k in ring.all if k.kid == kid and _SCHEMES[k.suite] == scheme]
    if not candidates:
        raise DecryptError("no key for this ciphertext")
    raw = base64.b64decode(body)
    nonce, sealed = raw[:12], raw[12:]
    for key in candidates:
        enc_key, _ = _subkeys(key.secret, key.suite)
        try:
            if scheme == "sm4gcm":
                dec = Cipher(algorithms.SM4(enc_key), modes.GCM(nonce, sealed[-16:])).decryptor()
                return (dec.update(sealed[:-16]) + dec.finalize()).decode()
            return AESGCM(enc_key).decrypt(nonce, sealed, None).decode()
        except InvalidTag:
            continue
    raise DecryptError("the configured key does not open this ciphertext")


def read(token: str) -> str:
    """The plaintext for display: a ciphertext no key opens reads UNREADABLE (and is logged),
    never an error page."""
    try:
        return decrypt(token)
    except (DecryptError, ValueError):
        log.error("无法解密已存储的数据（密钥 %s）：请检查密钥目录 %s", key_id_of(token) or "v1", keys.key_dir())
        return UNREADABLE


def lookup_hash(value: str, key: keys.FieldKey | None = None) -> str:
    key = key or active_key()
    _, hash_key = _subkeys(key.secret, key.suite)
    mac = hmac.HMAC(hash_key, hashes.SM3() if key.suite == keys.SM4 else hashes.SHA256())
    mac.update(value.encode())
    return mac.finalize().hex()


def lookup_hashes(value: str) -> list[str]:
    """The value's hash under every configured key: rows not yet re-encrypted by a running
    rotation still carry their old key's hash."""
    return [lookup_hash(value, k) for k in keys.field_keys().all]

"""Secrets that must never live in the repository.

The Django secret key comes from DANGJIAN_SECRET_KEY_B64 or from `secret.key` in the key
directory, created once (losing it only ends sessions).

The field keys encrypt the 身份证号 at rest. They are never created here silently: a new
field key is made only on a first install, when the database holds no ciphertext and no key
check value (`dangjian.core.keycheck`). The key directory (DANGJIAN_KEY_DIR, default
~/.local/share/dangjian, outside the source tree) holds:

- `field.key`: the active key, the one new values are encrypted under;
- `field-<key id>.key`: older keys still read while `dangjian rotate-key` re-encrypts;
- `retired/field-<key id>.key`: keys a finished rotation no longer needs (kept for old backups).

A key file holds "sm4:" + base64 of 32 random bytes (SM4-GCM and HMAC-SM3, the default), or a
bare base64 key written before 国密 support (AES-256-GCM and HMAC-SHA256, still read).
DANGJIAN_FIELD_KEY, when set, is the active key in the same form and the directory's
`field.key` is not read. Losing the field keys makes every stored 身份证号 unreadable: back up
the key directory, separately from the database (docs/operations.md).
"""
import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac
from django.core.exceptions import ImproperlyConfigured

SM4 = "sm4"  # SM4-GCM, HMAC-SM3, sub-keys by HKDF-SM3: every key made by this version
AES = "aes"  # AES-256-GCM, HMAC-SHA256, sub-keys by HKDF-SHA256: keys made before
ACTIVE_FILE = "field.key"
RETIRED_DIR = "retired"
_KCV_CONSTANT = b"dangjian key check value"


def key_dir() -> Path:
    default = Path.home() / ".local" / "share" / "dangjian"
    return Path(os.environ.get("DANGJIAN_KEY_DIR", default))


def load_key(env_name: str, file_name: str) -> bytes:
    """32 random bytes, from $env_name (base64) or from the key file (created when missing:
    only for secrets whose loss costs nothing but sessions, never for the field keys)."""
    raw = os.environ.get(env_name)
    if raw:
        try:
            value = base64.urlsafe_b64decode(raw.encode())
        except ValueError:
            raise ImproperlyConfigured(f"环境变量 {env_name} 不是合法的 base64 密钥") from None
        if len(value) != 32:
            raise ImproperlyConfigured(f"环境变量 {env_name} 应为 32 字节密钥的 base64 编码")
        return value
    path = key_dir() / file_name
    if not path.exists():
        _write_new(path, base64.urlsafe_b64encode(secrets.token_bytes(32)))
    value = base64.urlsafe_b64decode(path.read_bytes().strip())
    if len(value) != 32:
        raise ImproperlyConfigured(f"密钥文件 {path} 已损坏（应为 32 字节）")
    return value


# ---- field keys ---------------------------------------------------------------------------

def _sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def key_id(secret: bytes) -> str:
    """A short public name of a key: it tells which key a ciphertext needs, not the key."""
    return _sm3(b"dangjian key id\x00" + secret).hex()[:12]


def check_value(secret: bytes) -> str:
    """Key check value: HMAC-SM3 of a constant under the key, stored beside the data."""
    mac = hmac.HMAC(secret, hashes.SM3())
    mac.update(_KCV_CONSTANT)
    return mac.finalize().hex()


@dataclass(frozen=True)
class FieldKey:
    secret: bytes = field(repr=False)
    suite: str
    source: str  # the file or the variable it came from, for messages

    @property
    def kid(self) -> str:
        return key_id(self.secret)

    @property
    def kcv(self) -> str:
        return check_value(self.secret)


@dataclass
class Keyring:
    active: FieldKey | None
    others: list[FieldKey]

    @property
    def all(self) -> list[FieldKey]:
        return ([self.active] if self.active else []) + self.others

    def get(self, kid: str) -> FieldKey | None:
        return next((k for k in self.all if k.kid == kid), None)


def encode(secret: bytes, suite: str = SM4) -> str:
    text = base64.urlsafe_b64encode(secret).decode()
    return f"{SM4}:{text}" if suite == SM4 else text


def decode(text: str, where: str) -> FieldKey:
    text = text.strip()
    suite = AES
    if text.startswith(f"{SM4}:"):
        suite, text = SM4, text[len(SM4) + 1:]
    try:
        secret = base64.urlsafe_b64decode(text.encode())
    except ValueError:
        raise ImproperlyConfigured(f"密钥 {where} 不是合法的 base64 编码") from None
    if len(secret) != 32:
        raise ImproperlyConfigured(f"密钥 {where} 已损坏（应为 32 字节）")
    return FieldKey(secret, suite, where)


_ring: Keyring | None = None


def field_keys() -> Keyring:
    """The field keys (read once per process; `forget` after a change)."""
    global _ring
    if _ring is None:
        _ring = _read_ring()
    return _ring


def forget() -> None:
    global _ring
    _ring = None


def _read_ring() -> Keyring:
    folder = key_dir()
    raw = os.environ.get("DANGJIAN_FIELD_KEY")
    active = decode(raw, "环境变量 DANGJIAN_FIELD_KEY") if raw else None
    path = folder / ACTIVE_FILE
    if active is None and path.exists():
        active = decode(path.read_text(), str(path))
    others = []
    for p in sorted(folder.glob("field-*.key")) if folder.is_dir() else ():
        k = decode(p.read_text(), str(p))
        if active is None or k.kid != active.kid:
            others.append(k)
    return Keyring(active, others)


def _write_new(path: Path, content: bytes) -> None:
    """Write a new secret file, 0600, never over an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())


def create_first_key() -> FieldKey:
    """The first field key of an install. Callers must have made sure that no data exists
    (core.keycheck): this is the only place a field key is ever created unasked."""
    _write_new(key_dir() / ACTIVE_FILE, encode(secrets.token_bytes(32)).encode())
    forget()
    return field_keys().active


def install_active(secret: bytes) -> FieldKey:
    """Make `secret` (an SM4 key) the active key; the previous active key stays readable as
    field-<id>.key until the rotation retires it. Crash-safe: the old key is copied before
    field.key is replaced (by a rename)."""
    if os.environ.get("DANGJIAN_FIELD_KEY"):
        raise ImproperlyConfigured("密钥由环境变量 DANGJIAN_FIELD_KEY 给出：请取消该变量，使用密钥目录轮换密钥")
    folder = key_dir()
    ring = field_keys()
    if ring.active is not None:
        keep = folder / f"field-{ring.active.kid}.key"
        if not keep.exists():
            _write_new(keep, encode(ring.active.secret, ring.active.suite).encode())
    tmp = folder / f"{ACTIVE_FILE}.new"
    tmp.unlink(missing_ok=True)
    _write_new(tmp, encode(secret).encode())
    os.replace(tmp, folder / ACTIVE_FILE)
    forget()
    return field_keys().active


def retire(kid: str) -> Path | None:
    """Move an older key out of the key ring (into retired/), once no data needs it."""
    path = key_dir() / f"field-{kid}.key"
    if not path.exists():
        return None
    target = key_dir() / RETIRED_DIR / path.name
    target.parent.mkdir(exist_ok=True, mode=0o700)
    os.replace(path, target)
    forget()
    return target


def key_files() -> list[Path]:
    """The files to copy when the keys are backed up."""
    folder = key_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".key")

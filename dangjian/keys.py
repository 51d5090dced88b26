"""Secrets that must never live in the repository.

Each key comes from an environment variable or, when that is unset, from a file in
DANGJIAN_KEY_DIR (default ~/.local/share/dangjian, outside the source tree), created
once with random bytes and permissions 0600. Losing the field key makes the encrypted
身份证号 unreadable: back the key directory up with the database.
"""
import base64
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def key_dir() -> Path:
    default = Path.home() / ".local" / "share" / "dangjian"
    return Path(os.environ.get("DANGJIAN_KEY_DIR", default))


def load_key(env_name: str, file_name: str) -> bytes:
    """32 random bytes, from $env_name (base64) or from the key file."""
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
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.urlsafe_b64encode(secrets.token_bytes(32)))
    value = base64.urlsafe_b64decode(path.read_bytes().strip())
    if len(value) != 32:
        raise ImproperlyConfigured(f"密钥文件 {path} 已损坏（应为 32 字节）")
    return value

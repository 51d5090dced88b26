"""Settings for the test suite: the project's own, with what tests need chosen here, so a bare
`pytest` works without any environment variable.

- Background jobs run inline (`sync`): a test sees the result of the work it started.
- The database and the keys live under var/test, away from a working installation's. A
  `DANGJIAN_DATABASE_URL` given by the caller (scripts/test-all-dbs for PostgreSQL and MariaDB)
  still wins.
- Passwords hash with MD5: Argon2 is slow on purpose and the suite creates hundreds of users;
  tests check logins and lockouts, not the hasher's cost.
"""
import os
from pathlib import Path

_VAR = Path(__file__).resolve().parent.parent / "var" / "test"
os.environ.setdefault("DANGJIAN_JOBS_MODE", "sync")
os.environ.setdefault("DANGJIAN_VAR_DIR", str(_VAR))
os.environ.setdefault("DANGJIAN_KEY_DIR", str(_VAR / "keys"))
os.environ.setdefault("DANGJIAN_DATABASE_URL", f"sqlite:///{_VAR / 'test.sqlite3'}")

from dangjian.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

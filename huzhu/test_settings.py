"""Settings for the test suite: the real settings with fixed test keys.

DATABASE_URL still comes from the environment, so `.ci/run` runs the suite on SQLite and on
PostgreSQL with the same file.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("HUZHU_FIELD_KEY", "q4b2C0Pp5Yv9bJ6Vd0o9m1cQ9a3kq2Nq3Gk7dYbXo1M=")

from huzhu.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Most tests log in with client.force_login and test what a role may do, not the second factor:
# no role must use one here. The tests of the second factor (tests/organizations/
# test_login_security.py) turn it on with the `settings` fixture.
HUZHU_SECOND_FACTOR_ROLES = []

# SQLite: the test database is a file, not Django's shared in-memory one. With an in-memory
# database Django hands the browser tests' live server the test thread's single connection, and
# a browser's parallel requests (a page and its /cms/jsi18n/ or /cms/sprite/) then break each
# other's savepoints. On a file every server thread has its own connection, as in production.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile
    from pathlib import Path

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"huzhu-test-{os.getpid()}.sqlite3")
    }

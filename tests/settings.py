"""Settings of the test run: the registry's own, with a fixed key and a fast password hasher.

Everything else (database, broker, cache) comes from the environment exactly as in
production, so CI's PostgreSQL and Redis are what the tests run on.
"""

import os

# The key only has to be stable within a run; production refuses to start without one.
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "tests-only-export-pseudonym-key-not-a-secret")

from config.settings import *  # noqa: E402,F403

# PBKDF2's many rounds cost about half a second per user created; tests check who may do
# what, not the hasher, so the whole run hashes with MD5.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test client speaks plain HTTP; production redirects to HTTPS (tests/security checks it).
SECURE_SSL_REDIRECT = False
# Most tests sign in with client.force_login (a password only); the two-factor tests turn the
# requirement on with the settings fixture (tests/security/test_two_factor.py).
REQUIRE_2FA = False

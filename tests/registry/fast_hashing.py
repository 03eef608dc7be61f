"""Import ``fast_password_hashing`` into a test module to hash test passwords with MD5.

PBKDF2 costs ~0.5 s per password on the CI machines; these tests check who may do what,
not the hasher. (An imported fixture is collected as if defined in the module.)
"""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

"""The lockout backend: django-axes' check before the password backend."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username or client before the password is checked.

    A sign-in over the network always carries its request (login page, admin, API token
    endpoint); only code on the server (a shell, the test client's ``login``) authenticates
    without one, and there no client is guessing: let the password backend decide.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

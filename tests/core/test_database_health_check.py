"""The health check of a kept PostgreSQL connection (core/db/postgresql): no round trip while
the connection is idle and quiet; Django's SELECT 1, and a fresh connection, once the server
has ended it."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import connection, connections

from core.db.postgresql import base

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL backend's own check"
)


@pytest.fixture
def kept_connection(db, monkeypatch):
    """A second connection to the test database, as a web process keeps one between requests
    (health checks on, as in settings); ``checks`` counts Django's SELECT 1 checks on it."""
    wrapper = connections.create_connection("default")
    assert isinstance(wrapper, base.DatabaseWrapper)  # settings choose this backend
    assert wrapper.settings_dict["CONN_HEALTH_CHECKS"]
    wrapper.ensure_connection()
    wrapper.checks = 0
    usable = type(wrapper).is_usable

    def counted(self):
        if self is wrapper:
            wrapper.checks += 1
        return usable(self)

    monkeypatch.setattr(type(wrapper), "is_usable", counted)
    yield wrapper
    wrapper.close()


def _next_request(wrapper) -> int:
    """What a request does with the connection: the check at its start, then a query."""
    wrapper.close_if_unusable_or_obsolete()  # request_started: the next use is checked
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_quiet_connection_is_reused_without_a_select_1(kept_connection):
    pid = kept_connection.connection.info.backend_pid
    assert [_next_request(kept_connection) for _ in range(3)] == [pid] * 3
    assert kept_connection.checks == 0


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(kept_connection):
    pid = kept_connection.connection.info.backend_pid
    params = kept_connection.get_connection_params()
    address = {k: params[k] for k in ("dbname", "user", "password", "host", "port") if k in params}
    with psycopg.connect(**address, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's goodbye reaches the socket.
    poller = select.poll()
    poller.register(kept_connection.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(50) and time.monotonic() < deadline:
        pass
    new_pid = _next_request(kept_connection)
    assert new_pid != pid
    assert kept_connection.checks == 1  # the sign of trouble made Django's own check run

"""Django's PostgreSQL backend, with the health check of a kept connection made without a
round trip when the connection shows no sign of trouble.

With persistent connections (``DB_CONN_MAX_AGE``) Django checks a connection before its
first use in each request (``CONN_HEALTH_CHECKS``) by running ``SELECT 1``: a round trip to
the server on every request, as much as the authentication's own query. Between requests an
idle connection has nothing to read, so when the server ended it (a restart, a terminated
backend, a crash: the server sends its FATAL message and closes, or the kernel delivers the
close) its socket becomes readable. The check here polls the socket without waiting; only
when something is there, or psycopg already knows the connection is closed or not idle,
does it fall back to Django's ``SELECT 1`` (which then fails, and the request opens a fresh
connection). What polling cannot see is a connection that died without a word (the
database host vanished from the network): Django's check would hang on that too; the first
query then fails, the request answers 503 and Django drops the connection at its end.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

# Anything readable (data or end of file), urgent data; POLLERR and POLLHUP always count.
_SIGNS_OF_TROUBLE = select.POLLIN | select.POLLPRI


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and self._idle_and_quiet()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _idle_and_quiet(self) -> bool:
        """The connection is open, idle, and the server has sent nothing since its last answer."""
        connection = self.connection
        try:
            if connection.closed or connection.broken:
                return False
            if connection.info.transaction_status != TransactionStatus.IDLE:
                return False
            poller = select.poll()
            poller.register(connection.fileno(), _SIGNS_OF_TROUBLE)
            return not poller.poll(0)
        except Exception:  # noqa: BLE001 - any doubt: let Django's SELECT 1 decide
            return False

"""Sending background work to the broker without making a user wait for it.

The database row of a piece of work (an analysis run, an export job) is the outbox: it is
committed first, with its state, and the message to the broker only says "look at row N".
``send`` is best effort with a short timeout, so a lock or an export request answers at
once whatever the broker's state; a row whose message did not go out (or was lost with
the broker) is found and sent again by the app's sweep (Celery beat, and each worker at
start-up). The tasks claim their row with a guarded update, so a duplicate message computes
nothing twice.

``heartbeat`` keeps a claimed row's heartbeat fresh from a thread while the task works, so
a row whose worker died (its heartbeat stops) is told apart from one that is merely slow.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django.db import close_old_connections, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

# Seconds allowed to connect to the broker, and for each read or write after that: a
# publish to a broker that is down, or up but not answering, gives up after about this.
PUBLISH_TIMEOUT = 0.5


def send(task, *args) -> bool:
    """Queue ``task(*args)``; False (logged, nothing raised) when the broker cannot take it.

    Without a broker (eager mode) the task runs here and its errors propagate as usual.
    """
    app = task.app
    if app.conf.task_always_eager:
        task.apply_async(args)
        return True
    options = {
        **(app.conf.broker_transport_options or {}),
        # One attempt: the sweep is the retry, not this request.
        "max_retries": 0,
        "socket_connect_timeout": PUBLISH_TIMEOUT,
        "socket_timeout": PUBLISH_TIMEOUT,
    }
    try:
        with app.connection_for_write(
            connect_timeout=PUBLISH_TIMEOUT, transport_options=options
        ) as conn:
            # ignore_result: nobody reads a result, and registering one would wait on the
            # result backend (the same Redis) with its own, much longer, retries.
            task.apply_async(args, connection=conn, retry=False, ignore_result=True)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep sends it later
        logger.warning("could not queue %s%s: %s (the sweep will)", task.name, args, exc)
        return False
    return True


def resend_not_taken(waiting: QuerySet, *, cutoff, dispatch, skip=()) -> list[int]:
    """Send again, after the commit, the rows of ``waiting`` never sent or sent before ``cutoff``
    and still not taken (``dispatched_at`` tells); their ids. ``skip``: ids sent already."""
    resent: list[int] = []
    never_or_long_ago = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff)
    for pk in waiting.filter(never_or_long_ago).values_list("pk", flat=True):
        if pk not in skip:
            resent.append(pk)
            transaction.on_commit(lambda pk=pk: dispatch(pk))
    return resent


@contextlib.contextmanager
def heartbeat(queryset, *, field: str = "heartbeat_at", every: float) -> Iterator[None]:
    """Touch ``field`` of the rows of ``queryset`` every ``every`` seconds while the block runs.

    The thread has its own database connection (Django's are per thread) and closes it at
    the end. A failed touch is logged and tried again next time: a database away for
    longer than the stale timeout makes the sweep re-queue the row, which the claim
    makes harmless.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    queryset.update(**{field: timezone.now()})
                except Exception:  # noqa: BLE001
                    logger.warning("heartbeat of %s failed", queryset.model.__name__)
                    close_old_connections()
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)

"""Data committed once for a whole test module, for modules whose tests only read it.

A module-scoped fixture builds the data through the services outside any test transaction;
each test still runs in its own transaction on top, so whatever a test writes (export jobs,
audit events, runs, edits) is rolled back before the next one. After the module's last test
the database is flushed (TRUNCATE on PostgreSQL, which the locked-casebook triggers allow),
so the next module starts empty, as tests/registry/test_seed_demo.py has always done.

Once built, the data are there for every later test of the module, whether it asks for the
fixture or not: a module holds only tests that are right with them there.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.management import call_command

from quality import tasks
from registry import signals

T = TypeVar("T")


def committed_for_module(django_db_blocker, build: Callable[[], T]) -> Iterator[T]:
    """Yield what ``build()`` returns, committed; flush the database afterwards (also when
    the build fails half-way, so no other module sees half a cohort)."""
    try:
        with django_db_blocker.unblock(), _no_rules_on_save():
            value = build()
        yield value
    finally:
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)


@contextmanager
def _no_rules_on_save() -> Iterator[None]:
    """Build without the data-quality check that follows each save.

    A per-test build runs inside the test's transaction, where after-commit hooks never run;
    built outside it, every save would be checked and its automatic queries would block the
    lock (the exchange cohort holds a patient over 90 on purpose: exports top-code ages).
    The lock's own hooks (the analysis run) still run, as the modules sharing a run expect.
    """
    uid = "quality.run_rules"
    signals.casebook_saved.disconnect(dispatch_uid=uid)
    try:
        yield
    finally:
        signals.casebook_saved.connect(tasks.queue_rules_for_saved_casebook, dispatch_uid=uid)

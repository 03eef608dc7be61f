"""Hooks the registry sends around locks, unlocks and casebook changes.

The analytics app connects to these to queue a recomputation; the registry
knows nothing of what listens.
"""

from django.dispatch import Signal

# Sent with patient=<Patient>, user=<User>, event=<AuditEvent> after the transaction commits.
casebook_locked = Signal()
casebook_unlocked = Signal()
# Sent with patient=<Patient>, user=<User> after marking a casebook complete commits: it is
# ready to sign (the quality app tells the centre's investigators).
casebook_completed = Signal()

# Sent after a CRF write commits, with patient=<Patient>, section=<part>, record_id=<id>,
# fields=<names whose value changed> and deleted=<bool>: data-quality checks and source
# verification listen (a verified value that changes is no longer verified).
casebook_changed = Signal()
# Sent once per patient after a transaction that changed its casebook commits, with
# patient=<Patient>: for listeners that re-check a casebook as a whole (data-quality rules).
casebook_saved = Signal()

# Sent with patient=<Patient> inside the lock's transaction, before the casebook is locked.
# Each receiver returns a list of reasons the casebook may not be locked yet (the quality app:
# its open queries); any reason refuses the lock with all of them.
casebook_lock_blockers = Signal()

# Sent with patient_ids=<list of Patient pks> INSIDE the transaction that locked or unlocked
# them, after their status changed: the analytics app writes or removes their analysis rows in
# that same transaction, so the stored rows never disagree with what is locked.
casebook_lock_changed = Signal()

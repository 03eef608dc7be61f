"""Hooks the registry sends after a lock or an unlock has committed.

The analytics app connects to these to queue a recomputation; the registry
knows nothing of what listens.
"""

from django.dispatch import Signal

# Sent with patient=<Patient>, user=<User>, event=<AuditEvent> after the transaction commits.
casebook_locked = Signal()
casebook_unlocked = Signal()

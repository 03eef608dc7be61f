"""Data management: queries (the discrepancy workflow), cohort-wide data-quality rules and
source data verification; next missing-data codes, task lists and notifications.

Sits above the registry and below analytics (whose dashboard shows the quality of the data
behind each number): it reads casebooks through the registry's selectors, corrects them
through the registry's services, and vetoes a lock through
``registry.signals.casebook_lock_blockers``; the registry imports nothing of it.
"""

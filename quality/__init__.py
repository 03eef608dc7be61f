"""Data management: queries (the discrepancy workflow), and next source data verification,
missing-data codes, cohort-wide data-quality rules, task lists and notifications.

Sits beside analytics above the registry: it reads casebooks through the registry's
selectors, corrects them through the registry's services, and vetoes a lock through
``registry.signals.casebook_lock_blockers``; the registry imports nothing of it.
"""

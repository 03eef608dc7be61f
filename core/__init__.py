"""What every app shares: the one error type and its codes, role rules, API base pieces.

``core`` imports nothing of the apps above it (registry, analytics, exchange); an
import-linter contract in the test command keeps it so.
"""

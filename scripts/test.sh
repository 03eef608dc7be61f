#!/usr/bin/env bash
# Second command: install the test dependencies and run every check: ruff, the import
# contracts (imports point one way: publication -> exchange -> analytics -> registry -> core),
# the translation check (docs/translation.md), then pytest.
# Extra arguments go to pytest. CI sets DATABASE_URL (PostgreSQL), REDIS_URL and REQUIRE_SERVICES=1.
set -euo pipefail
. "$(dirname "$0")/bootstrap.sh" requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
# Every message translated, none fuzzy, django.mo compiled from django.po (docs/translation.md).
"$(dirname "$0")/check_translations.sh"
.venv/bin/python manage.py makemigrations --check --dry-run --settings=tests.settings >/dev/null || {
  echo "Model changes without a migration: run manage.py makemigrations" >&2
  exit 1
}
# The deployment checklist with production settings (DEBUG off, throwaway secrets): every
# security warning fails the run (docs/compliance.md).
DEBUG=0 ALLOWED_HOSTS=registry.example.org \
  SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
  EXPORT_PSEUDONYM_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(40))')" \
  .venv/bin/python manage.py check --deploy --fail-level WARNING --settings=config.settings
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Second command: install the test dependencies and run every check: ruff, the import
# contracts (imports point one way: exchange -> analytics -> registry -> core), then pytest.
# Extra arguments go to pytest. CI sets DATABASE_URL (PostgreSQL), REDIS_URL and REQUIRE_SERVICES=1.
set -euo pipefail
. "$(dirname "$0")/bootstrap.sh" requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
.venv/bin/python manage.py makemigrations --check --dry-run --settings=tests.settings >/dev/null || {
  echo "Model changes without a migration: run manage.py makemigrations" >&2
  exit 1
}
exec .venv/bin/python -m pytest "$@"

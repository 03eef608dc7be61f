#!/usr/bin/env bash
# First command: install, migrate, seed the demo study and serve it on http://127.0.0.1:8000
# (SQLite and eager Celery unless DATABASE_URL / CELERY_BROKER_URL are set).
set -euo pipefail
. "$(dirname "$0")/bootstrap.sh" requirements.txt
export DEBUG="${DEBUG:-1}"
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"

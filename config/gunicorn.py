"""gunicorn settings of the web process: ``gunicorn config.wsgi -c config/gunicorn.py``.

WEB_CONCURRENCY sets the number of worker processes (default: two per core, plus one).
"""

import os

_cores = os.cpu_count() or 1


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name}: must be a whole number of at least 1, not {raw!r}")
    return int(raw)


workers = _positive("WEB_CONCURRENCY", 2 * _cores + 1)

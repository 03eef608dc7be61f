"""``python -m analytics.stats``: the engine's command line without Django (see cli.py)."""

import os
import sys

# The engine's products are thin (n × p, p ≤ ~12); OpenBLAS threads only spin on them.
# Must be set before numpy is imported; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

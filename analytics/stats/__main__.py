"""``python -m analytics.stats --patients P.csv [--adverse-events A.csv] [--plan plan.json] --out B.json``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

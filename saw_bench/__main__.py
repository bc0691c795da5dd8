"""``python -m saw_bench``: the command line (:mod:`saw_bench.cli`)."""

import sys

from saw_bench.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m analysis reproduce --out DIR``."""

import sys

from .manojlovic2021.cli import main

sys.exit(main())

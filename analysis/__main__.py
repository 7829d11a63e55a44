"""``python -m analysis reproduce --out DIR``."""

import sys

from .cli import main

sys.exit(main())

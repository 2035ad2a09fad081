"""``python -m meter.s1`` = ``p1reader-s1``."""

import sys

from .cli import main

sys.exit(main())

"""`python -m p1reader` = `p1reader`."""
import sys

from .cli import main

sys.exit(main())

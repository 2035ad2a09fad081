"""The reader tests' fixtures, defined in reader_helpers (which the tests import their helpers from)."""

from reader_helpers import broker, micropython, observer, running  # noqa: F401

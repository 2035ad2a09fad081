"""The one error base of the bench: a station, record, database, instrument or simulated bench that cannot
do its job, named with what and where (one line, exit 2, on the command line)."""


class BringupError(Exception):
    pass

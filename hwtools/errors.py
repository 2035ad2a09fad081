"""The one error base of the board package: a problem the user can act on (a bad circuit, value, library,
file or tool), named with what and where. The command line prints it as one line, exit 2; anything else
that escapes is a bug (a traceback, exit 3)."""


class HwtoolsError(Exception):
    pass

"""The base of every error meant for a user rather than a developer."""


class FwError(Exception):
    """A user-facing error: the CLI prints its message and exits with status 2.

    Subclasses carry messages that name the file, key, symbol or message at fault.
    """

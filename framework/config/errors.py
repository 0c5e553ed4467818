"""The one error type for bad configuration."""

from framework.types.errors import FwError


class ConfigError(FwError, ValueError):
    """Bad configuration. The message names the file, the key and what was expected.

    The CLI prints ``str(err)`` and exits with status 2, never a traceback.
    """

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {source}:\n{lines}")

"""The ``fw`` command line. Each sub-command lives in its own module; heavy imports
happen inside the command functions so ``fw --help`` stays fast."""

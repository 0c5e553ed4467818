"""Running the `fw` console script in-process, as a user's terminal sees it."""

from __future__ import annotations

import sys

from framework.cli.app import main


def fw(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """Run ``fw ARGS``; return (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["fw", *args])
    monkeypatch.delenv("FW_DEBUG", raising=False)
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]

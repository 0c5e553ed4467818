"""The Python example in docs/sweep.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sweep.md"


def test_doc_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)  # the example's sqlite study file lands here
    ns: dict = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), ns)
    assert ns["grid"].height == 1605 and ns["best"].height == 1
    assert (tmp_path / "sma_study.db").exists() and len(ns["study"].trials) == 30
    assert ns["mix_grid"].metrics["combo"].to_list() == [0, 1, 2, 3]  # one row per mix

"""The research notebooks (``research/*.ipynb``) run top to bottom in a real Jupyter
kernel (nbclient) on a synthetic lake of two months, plus LOBSTER's real AMZN day for
the microstructure notebook; the committed files carry no outputs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT, synthetic_lake

NOTEBOOKS = sorted((PROJECT_ROOT / "research").glob("*.ipynb"))


def test_five_notebooks_committed_without_outputs() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.outputs == [] and c.execution_count is None for c in code), \
            f"{path.name}: outputs not stripped"


@pytest.fixture(scope="module")
def research_lake(tmp_path_factory) -> Path:
    """The synthetic default's universe over 2024-01-02 .. 2024-02-29 (41 sessions),
    thinned to 1,500 trades a day so it builds in seconds."""
    return synthetic_lake(tmp_path_factory.mktemp("research_lake"), dt.date(2024, 1, 2),
                          dt.date(2024, 2, 29), 1500.0)


@pytest.mark.slow
@pytest.mark.xdist_group("notebooks")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, research_lake: Path, tmp_path: Path,
                       request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs without error and the notebook draws at least one inline plot."""
    env = {"FW_LAKE": research_lake, "FW_ROOT": PROJECT_ROOT, "FW_REPORTS": tmp_path}
    if "lobster" in path.name:  # LOBSTER's files: skips where the shared data is absent
        env["FW_SHARED_DATA"] = request.getfixturevalue("shared_data")
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))  # the kernel inherits this environment
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no inline plot"

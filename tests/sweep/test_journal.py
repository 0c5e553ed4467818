"""The grouped journal file: a group's storage operations reach the file in one write at
its end, processes writing groups at the same time keep consistent trial ids (what a
process saw is what Optuna's own backend reads back), and stored returns round-trip
exactly."""

from __future__ import annotations

import math
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import optuna
import pytest

from framework.sweep.journal import BatchedJournalBackend
from framework.sweep.results import pack_returns, trial_returns

DIST = optuna.distributions.IntDistribution(0, 10_000)


def _plain(path: Path) -> optuna.Study:
    """The study as Optuna's own journal backend reads the file."""
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(path)))
    return optuna.load_study(study_name="s", storage=storage)


def test_group_writes_once_at_its_end(tmp_path: Path) -> None:
    path = tmp_path / "s.journal"
    backend = BatchedJournalBackend(str(path))
    study = optuna.create_study(study_name="s", storage=optuna.storages.JournalStorage(backend))
    lines = path.read_bytes().count(b"\n")
    assert lines == 1  # the study, written at once outside a group
    with backend.batch():
        for k in range(3):
            trial = study.ask({"x": DIST})
            trial.set_user_attr("k", k)
            study.tell(trial, float(k))
        # nothing reached the file yet, but this process sees its own operations
        assert path.read_bytes().count(b"\n") == lines
        assert [t.value for t in study.trials] == [0.0, 1.0, 2.0]
        assert (path.parent / (path.name + ".lock")).exists()  # held for the group
    assert path.read_bytes().count(b"\n") > lines + 3
    assert not (path.parent / (path.name + ".lock")).exists()
    back = _plain(path).trials
    assert [(t.number, t.user_attrs["k"], t.value, t.params) for t in back] == [
        (t.number, t.user_attrs["k"], t.value, t.params) for t in study.trials]


def test_group_ended_by_an_error_is_still_written(tmp_path: Path) -> None:
    """The storage applied the group's operations already: they must reach the file."""
    path = tmp_path / "s.journal"
    backend = BatchedJournalBackend(str(path))
    study = optuna.create_study(study_name="s", storage=optuna.storages.JournalStorage(backend))
    with pytest.raises(RuntimeError), backend.batch():
        study.tell(study.ask({"x": DIST}), 1.0)
        raise RuntimeError("a trial runner failed")
    assert [t.value for t in _plain(path).trials] == [1.0]


def _writer(path: str, owner: int, groups: int) -> list[tuple[int, int, int]]:
    """Trials whose parameter and attribute name their writer, in groups of 5;
    (number, owner attribute, x) of every trial this process created, as it saw them."""
    backend = BatchedJournalBackend(path)
    study = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(backend))
    seen = []
    for g in range(groups):
        with backend.batch():
            trials = [study.ask({"x": optuna.distributions.IntDistribution(
                owner * 1000, owner * 1000)}) for _ in range(5)]
        with backend.batch():
            for t in trials:
                t.set_user_attr("owner", owner)
                study.tell(t, float(owner * 100 + g))
        seen += [(t.number, owner, t.params["x"]) for t in trials]
    return seen


def test_processes_writing_groups_agree_on_trial_ids(tmp_path: Path) -> None:
    path = tmp_path / "s.journal"
    optuna.create_study(study_name="s", storage=optuna.storages.JournalStorage(
        BatchedJournalBackend(str(path))))
    with get_context("spawn").Pool(3) as pool:
        seen = pool.starmap(_writer, [(str(path), k, 4) for k in (1, 2, 3)])
    back = _plain(path).trials
    assert len(back) == 60 and sorted(t.number for t in back) == list(range(60))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in back)
    # every trial's attribute, parameter and value came from the same writer
    assert all(t.params["x"] == 1000 * t.user_attrs["owner"]
               and t.value // 100 == t.user_attrs["owner"] for t in back)
    by_number = {t.number: (t.user_attrs["owner"], t.params["x"]) for t in back}
    assert all(by_number[n] == (o, x) for part in seen for n, o, x in part)


def test_returns_round_trip_exactly() -> None:
    r = np.array([0.0, -0.0123456789012345, 1e-300, 0.1 + 0.2, math.nan, -1.0])
    trial = optuna.trial.create_trial(value=0.0, user_attrs={"returns": pack_returns(r)})
    back = trial_returns(trial)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, r)  # bit for bit, NaN included

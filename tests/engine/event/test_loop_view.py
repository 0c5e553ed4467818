"""The loop's view of the state (``engine.loop_view``): the fields of a feature a run
cannot use are None (so numba compiles the loop without that feature's code), those of
one it can use are the state's own arrays; the state itself keeps every array."""

from __future__ import annotations

import numpy as np

from framework.engine.event.engine import loop_view, new_state
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.execution.fill_models.broker import BrokerFeed
from framework.risk import RiskConfig
from framework.strategy.decision import DecisionConfig


def _state(decision: DecisionConfig | None = None, execution: ExecutionConfig | None = None):
    return new_state(("AAA", "BBB"), 4, decision=decision or DecisionConfig(),
                     costs=CostConfig(), risk=RiskConfig(),
                     execution=execution or ExecutionConfig(), init_cash=1e5)


def test_default_run_leaves_out_algos_and_targets() -> None:
    st = _state()
    par, wk = loop_view(st)
    assert par.algo is None and par.algo_sym is None and par.vprof is None
    assert wk.tgt is None and wk.tgt_lot is None and wk.tgt_ts is None
    assert par.dec is st.params.dec and wk.last_close is st.work.last_close
    assert st.params.algo is not None and st.work.tgt is not None  # the state keeps them


def test_an_algo_run_keeps_the_algo_arrays() -> None:
    st = _state(execution=ExecutionConfig(algo="twap"))
    par, wk = loop_view(st)
    assert par is st.params and wk.tgt is None


def test_target_mode_and_on_bar_hooks_keep_targets() -> None:
    st = _state(decision=DecisionConfig(mode="target"))
    assert loop_view(st)[1] is st.work
    st = _state()
    assert loop_view(st, hook=object())[1] is st.work  # an on_bar strategy may set targets


def test_models_that_scan_targets_per_event_keep_them() -> None:
    for model in ("quote", "book"):
        st = _state(execution=ExecutionConfig(fill_model=model))
        assert loop_view(st)[1] is st.work
    st = _state(execution=ExecutionConfig(fill_model="quote"))
    assert loop_view(st, broker=BrokerFeed(np.zeros(0)))[1].tgt is None  # live
